#!/bin/sh
# shard.sh BUILD_DIR — `clean --shard K/N` and `mailvet merge` on a mailsim
# world: three shards run one after another and merged give an OUTPUT
# byte-identical to a single run's but for mailvet_checked_at (another run,
# another time), and holding each shard's rows byte for byte, their
# evidence included; no domain is probed by two shards (the
# RCPT log of each run, catch-all probes included); each shard's OUTPUT
# holds only its rows; merge refuses incomplete, duplicated, foreign or
# mismatched sets with a clear message; a state is not resumed with another
# shard.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp

# Behaviours whose verdicts and attempt counts do not depend on timing
# (not: drops of a share of sessions, rate caps, tarpits, slow DNS...).
"$SIM" gen --addresses 1500 --domains 150 --seed 11 --greylist-delay 1 \
    --mix catchall=10,greylist=10,nxdomain=5,nullmx=5,nodata=5,aonly=5,dead=5,banner554=5,block=5,tls=5,shared=10,rcptcap=5,drop=0,garbage=0,drip=0,tarpit=0,slowdns=0,ratecap=0,conncap=0,servfail=0,dnsdrop=0 \
    --out-dir "$T/w" 2> /dev/null || bad "mailsim gen"
LIST=$T/w/list.csv

run() {
    "$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --smtp-port 25 --per-mx 3 \
        --connect-timeout 2 --command-timeout 4 --retry-schedule 2,2 --progress never "$@"
}

# fresh_sim NAME: a new mailsim (fresh greylist memory) logging RCPTs to $T/NAME.rcpt
fresh_sim() {
    sim_start "$T/w/world.txt" "$T" --rcpt-log "$T/$1.rcpt" || bad "mailsim did not start"
}

fresh_sim single
run "$LIST" -o "$T/single.csv" --state "$T/single.state" > /dev/null 2> "$T/single.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "single run exit $rc: $(tail -3 "$T/single.err")"

for k in 1 2 3; do
    fresh_sim "s$k"
    run "$LIST" -o "$T/s$k.csv" --state "$T/s$k.state" --shard "$k/3" > "$T/s$k.out" 2> "$T/s$k.err"
    rc=$?
    [ $rc -eq 0 ] && ok || bad "shard $k/3 exit $rc: $(tail -3 "$T/s$k.err")"
done
kill $SIMPID; wait $SIMPID 2>/dev/null; SIMPID=

"$MAILVET" merge "$T/merged.csv" "$T/s2.state" "$T/s3.state" "$T/s1.state" > "$T/merge.out" 2> "$T/merge.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "merge exit $rc: $(cat "$T/merge.err")"
same_but_time "$T/single.csv" "$T/merged.csv" > "$T/merged.diff" && ok \
    || bad "merged OUTPUT differs from the single run: $(cat "$T/merged.diff")"
for k in 1 2 3; do tail -n +2 "$T/s$k.csv"; done | sort > "$T/shard-rows"
tail -n +2 "$T/merged.csv" | sort > "$T/merged-rows"
cmp -s "$T/shard-rows" "$T/merged-rows" && ok \
    || bad "merged rows are not the shards' rows byte for byte: $(diff "$T/shard-rows" "$T/merged-rows" | head -4)"
grep -q "By status" "$T/merge.out" && ok || bad "merge prints no summary: $(head -3 "$T/merge.out")"

# Each shard's OUTPUT: the header plus its own rows; together every row once.
rows=$(( $(wc -l < "$LIST") - 1 ))
sum=0
for k in 1 2 3; do sum=$(( sum + $(wc -l < "$T/s$k.csv") - 1 )); done
[ "$sum" -eq "$rows" ] && ok || bad "shard outputs hold $sum rows, the list has $rows"
for k in 1 2 3; do
    n=$(( $(wc -l < "$T/s$k.csv") - 1 ))
    [ "$n" -gt 0 ] && [ "$n" -lt "$rows" ] && ok || bad "shard $k holds $n of $rows rows"
done

# No domain was probed by two shards: the domains in each run's RCPTs.
for k in 1 2 3; do
    sed 's/.*@//' "$T/s$k.rcpt" | tr 'A-Z' 'a-z' | sort -u > "$T/s$k.domains"
done
[ -s "$T/s1.domains" ] && [ -s "$T/s2.domains" ] && [ -s "$T/s3.domains" ] && ok || bad "a shard sent no RCPT at all"
dup=$(cat "$T/s1.domains" "$T/s2.domains" "$T/s3.domains" | sort | uniq -d | head -3)
[ -z "$dup" ] && ok || bad "domains probed by two shards: $dup"
single_domains=$(sed 's/.*@//' "$T/single.rcpt" | tr 'A-Z' 'a-z' | sort -u | wc -l)
all=$(cat "$T/s1.domains" "$T/s2.domains" "$T/s3.domains" | wc -l)
[ "$all" -eq "$single_domains" ] && ok || bad "shards probed $all domains, the single run $single_domains"

# merge refuses what is not one complete set
expect_refusal() {   # WHAT PATTERN ARGS...
    what=$1 pat=$2
    shift 2
    "$MAILVET" merge "$T/bad.csv" "$@" > /dev/null 2> "$T/bad.err"
    rc=$?
    [ $rc -eq 2 ] && grep -q "$pat" "$T/bad.err" && [ ! -e "$T/bad.csv" ] && ok ||
        bad "merge with $what: exit $rc, $(cat "$T/bad.err")"
}
expect_refusal "a missing shard" "give every shard" "$T/s1.state" "$T/s2.state"
expect_refusal "a shard twice" "both shard 2/3" "$T/s1.state" "$T/s2.state" "$T/s2.state"
expect_refusal "an unsharded state" "not made with --shard" "$T/single.state" "$T/s2.state" "$T/s3.state"
head -n 100 "$LIST" > "$T/other.csv"
expect_refusal "another INPUT" "not the INPUT" --input "$T/other.csv" "$T/s1.state" "$T/s2.state" "$T/s3.state"

# a shard's state is not resumed as another shard
fresh_sim again
run "$LIST" -o "$T/s1.csv" --state "$T/s1.state" --shard 2/3 > /dev/null 2> "$T/wrong.err"
rc=$?
[ $rc -eq 2 ] && grep -q "shard" "$T/wrong.err" && ok || bad "state of 1/3 resumed as 2/3: exit $rc, $(cat "$T/wrong.err")"
"$MAILVET" clean --shard 4/3 "$LIST" -o "$T/x.csv" 2> "$T/usage.err"
rc=$?
[ $rc -eq 2 ] && grep -q "K/N" "$T/usage.err" && ok || bad "--shard 4/3 accepted: exit $rc"
finish shard
