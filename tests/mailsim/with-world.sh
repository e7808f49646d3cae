#!/bin/bash
# with-world.sh — run a command against a mailsim world, inside a private
# network namespace (nothing leaves loopback).
#
#   tests/mailsim/with-world.sh WORLD [COMMAND [ARGS...]]
#
# Starts `mailsim serve` on DNS 127.0.0.1:53 and SMTP port 25 (override with
# MAILSIM_DNS=ADDR:PORT, MAILSIM_SMTP_PORT=N), waits until it is ready, runs
# COMMAND (default: an interactive shell) with MAILSIM_DNS, MAILSIM_SMTP_PORT
# and MAILSIM_COUNTERS exported, then stops mailsim and prints its counters
# file path. Example (make demo):
#   tests/mailsim/with-world.sh data/demo/world.txt sh -c \
#     './mailvet clean --dns $MAILSIM_DNS --smtp-port $MAILSIM_SMTP_PORT --allow-private-mx \
#        --retry-schedule 6,6,6 data/demo/list.csv -o /tmp/demo-out.csv'
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 WORLD [COMMAND...]" >&2; exit 2; }
if [ "${MAILSIM_IN_NS:-}" != 1 ]; then
    exec unshare -n env MAILSIM_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
WORLD=$1
shift
export MAILSIM_DNS=${MAILSIM_DNS:-127.0.0.1:53} MAILSIM_SMTP_PORT=${MAILSIM_SMTP_PORT:-25}
DIR=$(mktemp -d /tmp/mailsim-world.XXXXXX)
export MAILSIM_COUNTERS=$DIR/counters.json
"$HERE/mailsim" serve --world "$WORLD" --dns "$MAILSIM_DNS" --smtp-port "$MAILSIM_SMTP_PORT" \
    --ready-file "$DIR/ready" --counters "$MAILSIM_COUNTERS" 2>"$DIR/mailsim.log" &
SIM=$!
for _ in $(seq 100); do [ -f "$DIR/ready" ] && break; sleep 0.1; done
[ -f "$DIR/ready" ] || { cat "$DIR/mailsim.log" >&2; kill $SIM; exit 1; }
if [ $# -gt 0 ]; then "$@"; else "${SHELL:-bash}"; fi
rc=$?
kill $SIM
wait $SIM 2>/dev/null
echo "mailsim counters: $MAILSIM_COUNTERS" >&2
exit $rc
