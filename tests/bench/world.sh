#!/bin/sh
# world.sh NAME ADDRESSES DOMAINS MAILVET MAILSIM SCORE [KIND] — one bench row
# against a generated mailsim world. Runs inside its own private network
# namespace; prints one table row.
#
# KIND zipf (default; issue 5's mix): Zipf domains, 20 ms replies, per-host
#   cap 5 with 421 beyond it, 100 recipients per session, 10% of domains
#   greylisting for 5 s, 5% catch-all, 2% tarpits, 2% dead hosts; mailvet
#   --per-mx 5 --concurrency 1000 (its default).
# KIND b2b (DESIGN.md "The ideal time of a world"): about 1.25 addresses per
#   domain (Zipf exponent 0, no giants), half of the domains on 8 provider
#   fleets of 8 MX hosts each (conn-cap 10, rcpt-cap 50), the others on
#   their own host (conn-cap 5), 20 ms replies, no greylisting, 5% catch-all,
#   2% dead hosts (no tarpits: each would hold a --concurrency slot for the
#   command timeout and measure that rather than the scheduler); mailvet
#   --concurrency 2000 --rcpt-per-session 100 --per-mx 10 (a fleet host's
#   cap), --per-provider 80 (a fleet's 8 hosts × 10). The ideal gets the
#   same --concurrency and --per-provider: its global term (sum of
#   connection-seconds / 2000) or a fleet's (its sum / 80) sets it.
# KIND fleet (issue 16): Zipf domains whose small ones are 85% on 5 shared
#   provider hosts (mx1.hostproviderK.net, conn-cap 5, rcpt-cap 100), 20 ms
#   replies, 10% of the other small domains greylisting for 5 s; mailvet
#   --per-mx 5 --rcpt-per-session 100: a session to a shared host carries
#   recipients of many domains.
# Columns: those of the world rows, then peak conns (mailsim's highest number
# of simultaneously open SMTP connections, all hosts), the sessions mailvet
# kept open (median and most of its per-second timeline, MAILVET_TIMELINE),
# the most DNS queries it had in flight, the connections it made and the
# fewest sessions the list needs (mailsim ideal's sum of S_h), the CPU
# seconds of mailvet and of mailsim, and the bound's busy share and ms per
# reply (below).
set -eu
[ -n "${BENCH_TRACE:-}" ] && set -x
if [ -z "${MAILVET_IN_NETNS:-}" ]; then
    MAILVET_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
ip link set lo up
NAME=$1 N=$2 D=$3 MAILVET=$4 SIM=$5 SCORE=$6 KIND=${7:-zipf}
T=$(mktemp -d)
trap '[ -n "$SIMPID" ] && kill $SIMPID 2>/dev/null; rm -rf "$T"' EXIT
SIMPID=
zero=nxdomain=0,servfail=0,dnsdrop=0,nullmx=0,nodata=0,aonly=0,banner554=0,block=0,tls=0,drop=0,garbage=0,drip=0,slowdns=0,ratecap=0,rcptcap=0,conncap=0,shared=0,outlook=0
case $KIND in
zipf)
    "$SIM" gen --addresses "$N" --domains "$D" --seed 1 --giant-latency 20 --tail-latency 20 \
        --giant-conn-cap 5 --tail-conn-cap 5 --giant-rcpt-cap 100 --greylist-delay 5 \
        --mix "catchall=5,greylist=10,tarpit=2,dead=2,$zero" --out-dir "$T/w" > /dev/null 2>&1
    CONC=1000 PERMX=5 PERPROV=50 ;;
b2b)
    "$SIM" gen --addresses "$N" --domains "$D" --seed 1 --zipf 0 --giants 0 --tail-latency 20 \
        --tail-conn-cap 5 --shared-providers 8 --shared-mx 8 \
        --mix "$zero,catchall=5,greylist=0,tarpit=0,dead=2,shared=50" --out-dir "$T/w" > /dev/null 2>&1
    CONC=2000 PERMX=10 PERPROV=80 ;;
fleet)
    "$SIM" gen --addresses "$N" --domains "$D" --seed 1 --giant-latency 20 --tail-latency 20 \
        --giant-conn-cap 5 --tail-conn-cap 5 --giant-rcpt-cap 100 --greylist-delay 5 \
        --shared-providers 5 --shared-mx 1 --shared-conn-cap 5 --shared-rcpt-cap 100 \
        --mix "$zero,catchall=5,greylist=10,tarpit=0,dead=2,shared=85" --out-dir "$T/w" > /dev/null 2>&1
    CONC=1000 PERMX=5 PERPROV=50 ;;
*) echo "world.sh: unknown world kind $KIND (zipf, b2b, fleet)" >&2; exit 2 ;;
esac
ideal=$("$SIM" ideal --world "$T/w/world.txt" --list "$T/w/list.csv" --per-mx $PERMX --concurrency $CONC \
    --per-provider $PERPROV --verbose 2> "$T/ideal.txt")
isess=$(sed -n 's/.*connection-seconds; \([0-9]*\) sessions.*/\1/p' "$T/ideal.txt")
"$SIM" serve --world "$T/w/world.txt" --dns 127.0.0.1:53 --smtp-port 25 --counters "$T/counters.json" \
    --conn-log "$T/conns.log" --ready-file "$T/ready" 2> "$T/sim.log" &
SIMPID=$!
i=0; while [ ! -f "$T/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
MAILVET_TIMELINE="$T/timeline.tsv" /usr/bin/time -f '%e %U %S %M' -o "$T/time" "$MAILVET" clean --dns 127.0.0.1 --allow-private-mx \
    --smtp-port 25 --retry-schedule 6,12 --rcpt-per-session 100 --per-mx $PERMX --per-domain 10 --per-provider $PERPROV \
    --concurrency $CONC --connect-timeout 5 --command-timeout 10 --progress never "$T/w/list.csv" -o "$T/out.csv" \
    > "$T/summary.txt" 2> "$T/err.txt" || { cat "$T/err.txt" >&2; exit 1; }
# mailsim's own CPU seconds (user + system): on two cores it shares the
# machine with mailvet, so a world it cannot serve faster shows here
simcpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' /proc/$SIMPID/stat)
kill $SIMPID; wait $SIMPID 2>/dev/null || true; SIMPID=
acc=$("$SCORE" "$T/out.csv" "$T/w/truth.csv" --quiet | sed -n 's/^accuracy: \([0-9]*\/[0-9]*\) .*(\([0-9.]*%\)).*/\2 (\1)/p')
conns=$(sed -n 's/.*"total":{"connections":\([0-9]*\).*/\1/p' "$T/counters.json")
s421=$(sed -n 's/.*"total":{[^}]*"sent_421":\([0-9]*\).*/\1/p' "$T/counters.json")
peak=$(sed -n 's/.*"total":{[^}]*"conn_peak":\([0-9]*\).*/\1/p' "$T/counters.json")
read -r wall user sys rss < "$T/time"
# The bound (what the ideal names its bottleneck: a host, a fleet or
# --concurrency): the share of the wall time its C connections were open
# (mailsim's --conn-log) and their connection-seconds per reply. A share
# near 100% says the scheduler kept the bound full; what is left of the
# ratio is then in the replies (TLS, the simulator's own timer lag).
bound=$(sed -n 's/.*; bottleneck \(.*\)$/\1/p' "$T/ideal.txt")
bcap=$(awk -v b="$bound" '$1 == b { sub(/^C=/, "", $5); print $5 }' "$T/ideal.txt")
case $bound in
--concurrency) bcap=$CONC ;;
*) [ -n "$bcap" ] || bcap=$PERPROV ;;   # a fleet: --per-provider holds it
esac
busy=$(awk -v b="$bound" -v c="$bcap" -v w="$wall" '
    b == "--concurrency" || $1 == b || substr($1, length($1) - length(b)) == "." b {
        t += $3 - $2; n += $4 }
    END { if (t > 0 && c > 0 && w > 0) printf "%.1f%% %.1f", 100 * t / (c * w), n ? 1000 * t / n : 0
          else printf "-" }' "$T/conns.log")
# BENCH_KEEP=DIR keeps the run's counters, timeline and summary for a look
[ -n "${BENCH_KEEP:-}" ] && mkdir -p "$BENCH_KEEP" &&
    cp "$T/counters.json" "$T/timeline.tsv" "$T/summary.txt" "$T/ideal.txt" "$T/conns.log" "$BENCH_KEEP/"
# open sessions: median and most over the timeline's seconds; DNS in flight: most
open=$(awk -F'\t' 'NR > 1 && $1 != "t_s" { print $2 }' "$T/timeline.tsv" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR) printf "%d/%d", v[int((NR + 1) / 2)], v[NR]; else printf "-" }')
dnsmax=$(awk -F'\t' 'NR > 1 && $1 != "t_s" && $4 > m { m = $4 } END { print m + 0 }' "$T/timeline.tsv")
awk -v n="$NAME" -v a="$N" -v d="$D" -v w="$wall" -v i="$ideal" -v u="$user" -v s="$sys" -v r="$rss" \
    -v acc="$acc" -v c="${conns:-0}" -v x="${s421:-0}" -v p="${peak:-0}" -v o="$open" -v q="$dnsmax" \
    -v is="${isess:-0}" -v sc="$simcpu" -v bb="$busy" 'BEGIN {
    cpu = u + s
    printf "| %-9s | %9d | %7d | %7.1f | %7.1f | %5.2f | %8.0f | %8.4f | %6.1f | %-22s | %12.2f | %10d | %11s | %7d | %7d | %7d (%.2f) | %5.1f / %5.1f | %12s |\n",
        n, a, d, w, i, w / i, a / w, cpu * 1000 / a, r / 1024, acc, c ? 1000 * x / c : 0, p, o, q, c, is, is ? c / is : 0, cpu, sc, bb }'
