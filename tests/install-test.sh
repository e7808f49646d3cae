#!/bin/sh
# install-test.sh — `make install PREFIX=…` into a temporary prefix, then run
# the installed binary from elsewhere: it must find its data files and man page.
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2"; fi; }
make -s install PREFIX="$T/usr" >/dev/null 2>"$T/err" || cat "$T/err"
check '[ -x "$T/usr/bin/mailvet" ]' "binary installed"
check '[ -f "$T/usr/share/mailvet/disposable.txt" ] && [ -f "$T/usr/share/mailvet/SOURCES.md" ]' "data installed with its SOURCES.md"
check '[ -f "$T/usr/share/man/man1/mailvet.1" ]' "man page installed"
check 'man -l "$T/usr/share/man/man1/mailvet.1" 2>/dev/null | grep -q "verify email addresses" || ! command -v man >/dev/null' "man page renders"
out=$(cd / && env -u MAILVET_DATA "$T/usr/bin/mailvet" check --level syntax --json x@mailinator.com)
check 'echo "$out" | grep -q "\"reason\":\"disposable\""' "installed binary finds its data ($out)"
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
