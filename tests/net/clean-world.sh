#!/bin/sh
# clean-world.sh BUILD_DIR — `mailvet clean` on a generated mailsim world
# with every behaviour mixed in (greylisting, catch-all, tarpits, dead hosts,
# drops, garbage, dripping replies, 421 caps, rate caps, recipient caps,
# STARTTLS, DNS failures…): every determinable verdict equals the ground
# truth, no host ever sees more than --per-mx connections from us, nothing
# but EHLO/MAIL/RCPT/QUIT is sent, and SIGINT mid-run exits 130 promptly.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp

"$SIM" gen --addresses 4000 --domains 400 --seed 5 --greylist-delay 2 --every-behaviour \
    --out-dir "$T/w" 2> /dev/null || bad "mailsim gen"
sim_start "$T/w/world.txt" "$T" --counters "$T/counters.json" || bad "mailsim did not start"

run() {
    "$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --smtp-port 25 --per-mx 3 \
        --connect-timeout 2 --command-timeout 4 --retry-schedule 3,3 --progress never "$@"
}
start=$(date +%s)
run "$T/w/list.csv" -o "$T/out.csv" > "$T/summary.txt" 2> "$T/err.txt"; rc=$?
[ $rc -eq 0 ] && ok || bad "clean exit $rc: $(tail -3 "$T/err.txt")"
"$SCORE" "$T/out.csv" "$T/w/truth.csv" > "$T/score.txt" 2>&1 && ok || bad "verdicts differ from the ground truth: $(tail -8 "$T/score.txt")"
grep accuracy "$T/score.txt" | sed 's/^/  /'
echo "  took $(( $(date +%s) - start )) s"

sim_counters "$T/counters.json" && ok
# the hosts' lines only (a fleet of several hosts may hold more)
peak=$(sed -n '/^"hosts":{/,/^"fleets":/p' "$T/counters.json" 2>/dev/null | grep -v '^"fleets"' \
    | grep -o '"conn_peak":[0-9]*' | cut -d: -f2 | sort -n | tail -1)
[ "${peak:-99}" -le 3 ] && ok || bad "a host saw ${peak:-no} simultaneous connections, more than --per-mx 3"
grep -q '"data_attempts":0' "$T/counters.json" 2>/dev/null && ! grep -q '"data_attempts":[1-9]' "$T/counters.json" \
    && ok || bad "DATA/VRFY/EXPN was sent (or no counters)"
grep -q "Hosts that blocked or timed out the verifier" "$T/summary.txt" && ok || bad "summary lists blocking hosts"

# SIGINT in the middle: exit 130 within a few seconds, resumable. A fresh
# mailsim (greylisting anew) and a retry schedule of 60 s keep the
# greylisted rows pending, so the run cannot end before the signal, which
# comes once results are committed.
rm -f "$T/out2.csv"*
sim_start "$T/w/world.txt" "$T" || bad "mailsim did not restart"
rows=$(( $(wc -l < "$T/w/list.csv") - 1 ))
( exec "$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --smtp-port 25 --per-mx 3 \
    --connect-timeout 2 --command-timeout 4 --retry-schedule 60 --progress never \
    "$T/w/list.csv" -o "$T/out2.csv" > /dev/null 2> "$T/int.err" ) &
pid=$!
wait_results "$T/out2.csv.state" 100 $pid && ok || bad "the run to interrupt committed no 100 results within 60 s"
n=$(state_results "$T/out2.csv.state")
[ "$n" -lt "$rows" ] && ok || bad "the run to interrupt had finished all $rows rows"
kill -INT $pid
t0=$(date +%s)
wait $pid; rc=$?
[ $rc -eq 130 ] && ok || bad "SIGINT exit $rc, want 130"
[ $(( $(date +%s) - t0 )) -le 5 ] && ok || bad "SIGINT took more than 5 s"
grep -q "rerun the same command to resume" "$T/int.err" && ok || bad "interrupt message: $(cat "$T/int.err")"
[ ! -e "$T/out2.csv" ] && ok || bad "an interrupted run left OUTPUT"
finish clean-world
