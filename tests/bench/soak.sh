#!/bin/sh
# soak.sh MAILVET MAILSIM SCORE [ADDRESSES] [DOMAINS] [CAP_MB] [KIND] — a long
# run under a memory cap: `mailvet clean` on a generated world (default
# 1,000,000 addresses over 50,000 domains, the bench mix) with its address
# space capped (prlimit --as, default 2048 MiB) and its RSS sampled every
# second. Prints RSS at each tenth of the run and fails unless RSS
# plateaus: the peak of the last half may exceed the peak of the first half
# by at most 10% (a leak or a per-row structure shows up as steady growth).
# KIND b2b (issue 15): the bench's company-list world (world.sh b2b) and its
# options, by default 1,000,000 addresses over 800,000 domains; there memory
# must be flat in distinct domains: at most +5% in the second half, and a
# peak of at most 200 MiB.
# Runs inside its own private network namespace (`make soak`).
set -eu
if [ -z "${MAILVET_IN_NETNS:-}" ]; then
    MAILVET_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
ip link set lo up
MAILVET=$1 SIM=$2 SCORE=$3 KIND=${7:-zipf}
N=${4:-1000000} CAP=${6:-2048}
case $KIND in
zipf) D=${5:-50000} GROWTH=10 PEAK=0 ;;
b2b) D=${5:-800000} GROWTH=5 PEAK=200 ;;
*) echo "soak: unknown world kind $KIND (zipf, b2b)" >&2; exit 2 ;;
esac
T=$(mktemp -d)
SIMPID=
trap '[ -n "$SIMPID" ] && kill $SIMPID 2>/dev/null; rm -rf "$T"' EXIT
zero=nxdomain=0,servfail=0,dnsdrop=0,nullmx=0,nodata=0,aonly=0,banner554=0,block=0,tls=0,drop=0,garbage=0,drip=0,slowdns=0,ratecap=0,rcptcap=0,conncap=0,shared=0,outlook=0
if [ "$KIND" = b2b ]; then
    "$SIM" gen --addresses "$N" --domains "$D" --seed 3 --zipf 0 --giants 0 --tail-latency 20 \
        --tail-conn-cap 5 --shared-providers 8 --shared-mx 8 \
        --mix "$zero,catchall=5,greylist=0,tarpit=0,dead=2,shared=50" --out-dir "$T/w" > /dev/null
    RUN="--concurrency 2000 --per-mx 10 --per-provider 80"
else
    "$SIM" gen --addresses "$N" --domains "$D" --seed 3 --giant-latency 20 --tail-latency 20 \
        --giant-conn-cap 5 --tail-conn-cap 5 --giant-rcpt-cap 100 --greylist-delay 5 \
        --mix "catchall=5,greylist=10,tarpit=2,dead=2,$zero" --out-dir "$T/w" > /dev/null
    RUN="--per-mx 5"
fi
"$SIM" serve --world "$T/w/world.txt" --dns 127.0.0.1:53 --smtp-port 25 \
    --ready-file "$T/ready" 2> "$T/sim.log" &
SIMPID=$!
i=0; while [ ! -f "$T/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

start=$(date +%s)
# shellcheck disable=SC2086
prlimit --as=$((CAP * 1024 * 1024)) "$MAILVET" clean --dns 127.0.0.1 --allow-private-mx \
    --smtp-port 25 --retry-schedule 6,12 --rcpt-per-session 100 $RUN --per-domain 10 \
    --connect-timeout 5 --command-timeout 10 --progress never "$T/w/list.csv" -o "$T/out.csv" \
    > "$T/summary.txt" 2> "$T/err.txt" &
pid=$!
: > "$T/rss"
while kill -0 $pid 2> /dev/null; do
    rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$pid/status 2> /dev/null || true)
    [ -n "$rss" ] && echo "$(( $(date +%s) - start )) $rss" >> "$T/rss"
    sleep 1
done
rc=0; wait $pid || rc=$?
[ $rc -eq 0 ] || { echo "soak: mailvet exit $rc: $(tail -3 "$T/err.txt")"; echo "soak: 0 passed, 1 failed"; exit 1; }
acc=$("$SCORE" "$T/out.csv" "$T/w/truth.csv" --quiet | sed -n 's/^accuracy: .*(\([0-9.]*%\)).*/\1/p')
echo "soak ($KIND): $N addresses, $D domains, address space capped at $CAP MiB, $(( $(date +%s) - start )) s, accuracy $acc"
awk -v growth="$GROWTH" -v peak="$PEAK" '{ t[NR] = $1; r[NR] = $2 }
END {
    n = NR
    printf "  %-10s %8s %10s\n", "progress", "time s", "RSS MiB"
    for (k = 1; k <= 10; k++) {
        i = int(n * k / 10); if (i < 1) i = 1
        printf "  %9d%% %8d %10.1f\n", k * 10, t[i], r[i] / 1024
    }
    for (i = 1; i <= n; i++) {
        if (i <= n / 2) { if (r[i] > first) first = r[i] } else if (r[i] > last) last = r[i]
    }
    printf "  peak RSS: first half %.1f MiB, second half %.1f MiB (%+.1f%%)\n",
        first / 1024, last / 1024, first ? 100 * (last - first) / first : 0
    if (last > first * (1 + growth / 100)) {
        printf "soak: 0 passed, 1 failed (RSS grows more than %d%%)\n", growth; exit 1 }
    if (peak && (first > last ? first : last) > peak * 1024) {
        printf "soak: 0 passed, 1 failed (peak RSS above %d MiB)\n", peak; exit 1 }
    print "soak: 1 passed, 0 failed"
}' "$T/rss"
