#!/bin/sh
# tarpit.sh BUILD_DIR — SPEC "Provider fleets and defences": tarpits that
# hold every refusal to RCPT (world-tarpit.txt: Exchange's fixed 5 s, and
# an Exim delay ACL growing 1 s per refusal of the session) judge the
# session, never a mailbox, and must not make a run slow without bound.
# Each domain has 14 addresses, 4 existing and 10 unknown, unknown ones
# first. With the default timeouts and retry schedule, check and clean
# both give every address its true verdict, none unknown, within BOUND
# seconds (asking them all in one session would take 55 s at Exchange,
# 66 s at the Exim one); no address is asked more than twice (the session
# that met the tarpit, and the one that answered). Runs inside a private
# network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish tarpit; exit 1; }
BOUND=35
OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net"

ADDRS=""
for d in exchangeish.com eximdelay.com; do
    for u in nobody1 nobody2 nobody3 nobody4 nobody5 alice nobody6 nobody7 bob nobody8 nobody9 \
             carol nobody10 dave; do
        ADDRS="$ADDRS $u@$d"
    done
done
{ echo email; for a in $ADDRS; do echo "$a"; done; } > "$T/list.csv"

# run SIDE COMMAND...: one run against a fresh mailsim, timed; its output in
# $T/SIDE.out, errors in $T/SIDE.err, mailsim's counters in
# $T/SIDE.counters and the RCPTs it was asked in $T/SIDE.rcpts
run() {
    side=$1
    shift
    sim_start "$HERE/world-tarpit.txt" "$T" --counters "$T/$side.counters" --rcpt-log "$T/$side.rcpts" \
        || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; finish tarpit; exit 1; }
    t0=$(date +%s)
    timeout $((BOUND * 2)) "$@" > "$T/$side.out" 2> "$T/$side.err"
    rc=$?
    secs=$(($(date +%s) - t0))
    echo "  $side: exit $rc in $secs s"
    [ $rc -eq 0 ] && ok || bad "$side: exit $rc: $(tail -3 "$T/$side.err")"
    [ $secs -lt $BOUND ] && ok || bad "$side: $secs s, bound $BOUND s"
    sim_counters "$T/$side.counters" || return
    for h in mx.exchangeish.com mx.eximdelay.com; do
        line=$(grep -F "\"$h\":{" "$T/$side.counters" | head -n1)
        c=$(printf '%s' "$line" | sed -n 's/.*"connections":\([0-9]*\).*/\1/p')
        held=$(printf '%s' "$line" | sed -n 's/.*"rcpt_tarpitted":\([0-9]*\).*/\1/p')
        echo "  $side $h: $c connections, $held refusals held"
    done
    most=$(sort "$T/$side.rcpts" | uniq -c | sort -rn | head -n1)
    [ "${most%% [a-z]*}" -le 2 ] 2>/dev/null && ok || bad "$side: an address asked more than twice: $most"
}

# verdicts SIDE TSV: the true verdict of each address, none unknown
verdicts() {
    for a in $ADDRS; do
        case $a in nobody*) want=mailbox_not_found ;; *) want=accepted ;; esac
        expect_tsv "$2" "$a" reason "$want" "$1: "
    done
    n=$(awk -F '\t' '$2 == "status" && $3 == "unknown"' "$2" | wc -l)
    [ "$n" -eq 0 ] && ok || bad "$1: $n addresses unknown"
}

# shellcheck disable=SC2086
run check "$MAILVET" check $OPTS --json $ADDRS
results_tsv json "$T/check.out" > "$T/check.tsv"
verdicts check "$T/check.tsv"

# shellcheck disable=SC2086
run clean "$MAILVET" clean $OPTS --progress never "$T/list.csv" -o "$T/out.csv"
[ -f "$T/out.csv" ] && results_tsv csv "$T/out.csv" > "$T/clean.tsv" || : > "$T/clean.tsv"
verdicts clean "$T/clean.tsv"
finish tarpit
