#!/bin/sh
# demo.sh BINARY — `make demo`: clean the bundled sample list against the
# bundled simulated mail world (data/demo), score it against the world's
# ground truth, and print the summary. mailsim plays every DNS and SMTP
# server inside a private network namespace, so nothing leaves the machine.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${DEMO_OUT:-$(mktemp -d)}
if [ "$(id -u)" -ne 0 ] || ! unshare -n true 2>/dev/null; then
    echo "demo: needs root and 'unshare -n' for a private network namespace" >&2
    exit 1
fi
cd "$TOP"
echo "\$ mailvet clean data/demo/list.csv -o $OUT/list.cleaned.csv   (against data/demo/world.txt)"
MAILVET="$BIN" OUT="$OUT" tests/mailsim/with-world.sh data/demo/world.txt sh -c '
    "$MAILVET" clean --dns "$MAILSIM_DNS" --smtp-port "$MAILSIM_SMTP_PORT" --allow-private-mx \
        --helo demo.mailvet.example --retry-schedule 6,6 --connect-timeout 3 --command-timeout 5 \
        --progress never --report "$OUT/report.html" data/demo/list.csv -o "$OUT/list.cleaned.csv"' \
    > "$OUT/summary.txt" 2>/dev/null
echo "First rows of $OUT/list.cleaned.csv:"
head -n 4 "$OUT/list.cleaned.csv" | cut -c1-200
echo
# Score against the world's ground truth (rows whose truth is determinable).
build/rel/tools/score "$OUT/list.cleaned.csv" data/demo/truth.csv || true
echo
cat "$OUT/summary.txt"
echo
echo "HTML report: $OUT/report.html   (state file: $OUT/list.cleaned.csv.state; 'mailvet report' renders it again)"
