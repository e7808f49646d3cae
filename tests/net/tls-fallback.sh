#!/bin/sh
# tls-fallback.sh BUILD_DIR — SPEC --starttls: with auto, a host whose
# STARTTLS handshake fails is asked again in cleartext on a new connection,
# as Postfix and Exim do as senders, so its mailboxes get real verdicts;
# with require they are tls_error. mailsim's `starttls broken` host
# (world-tls.txt) answers 220 to STARTTLS and closes. check and clean alike.
# Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish tls-fallback; exit 1; }
OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 1 --command-timeout 2 --retry-schedule 2,2"
ADDRS="ann@brokentls.com bea@brokentls.com nobody@brokentls.com"

sim_start "$HERE/world-tls.txt" "$T" || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; finish tls-fallback; exit 1; }
# shellcheck disable=SC2086
timeout 60 "$MAILVET" check $OPTS --json $ADDRS > "$T/auto.json" 2> "$T/auto.err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "check --starttls auto: exit $rc: $(tail -3 "$T/auto.err")"
for a in ann bea; do
    grep -q "\"input\":\"$a@brokentls.com\".*\"status\":\"deliverable\"" "$T/auto.json" && ok \
        || bad "auto: $a is not deliverable: $(grep "$a@" "$T/auto.json" | head -c 300)"
done
grep -q '"input":"nobody@brokentls.com".*"reason":"mailbox_not_found"' "$T/auto.json" && ok \
    || bad "auto: nobody is not mailbox_not_found"
grep -q 'tls_error' "$T/auto.json" && bad "auto: a tls_error verdict" || ok

# shellcheck disable=SC2086
timeout 60 "$MAILVET" check $OPTS --json --starttls require $ADDRS > "$T/req.json" 2> "$T/req.err"
[ "$(grep -c '"reason":"tls_error"' "$T/req.json")" -eq 3 ] && ok \
    || bad "require: not every address tls_error: $(head -c 300 "$T/req.json")"

echo email > "$T/list.csv"
for a in $ADDRS; do echo "$a" >> "$T/list.csv"; done
sim_start "$HERE/world-tls.txt" "$T" || { bad "mailsim did not start"; finish tls-fallback; exit 1; }
# shellcheck disable=SC2086
timeout 60 "$MAILVET" clean $OPTS --progress never "$T/list.csv" -o "$T/out.csv" > /dev/null 2> "$T/clean.err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "clean: exit $rc: $(tail -3 "$T/clean.err")"
[ "$(grep -c ',deliverable,accepted,' "$T/out.csv")" -eq 2 ] && ok || bad "clean: not 2 deliverable: $(cat "$T/out.csv" | cut -d, -f1-4)"
grep -q ',undeliverable,mailbox_not_found,' "$T/out.csv" && ok || bad "clean: nobody not mailbox_not_found"
# the report says what was learned: this host is asked in cleartext
"$MAILVET" report "$T/out.csv.state" > "$T/report.txt" 2>&1
grep -q "1 STARTTLS failures asked again in cleartext" "$T/report.txt" && ok || bad "report: no TLS fallback count: $(grep -i learned "$T/report.txt")"
grep -q "^  mx.brokentls.com: STARTTLS failed, asked in cleartext" "$T/report.txt" && ok || bad "report: the host is not named: $(grep -A3 -i learned "$T/report.txt")"
finish tls-fallback
