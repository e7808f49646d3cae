#!/bin/sh
# cache.sh BUILD_DIR — the verdict cache across runs (--cache, --max-age,
# mailvet cache stats|prune) against mailsim, whose counters (SMTP
# connections, DNS queries) and RCPT log show what was asked:
#   - a second run over the same list opens no SMTP connection and asks no
#     DNS query, and writes rows identical to the first run's but for
#     mailvet_route (cache); the summary, JSON and HTML reports count them;
#   - --max-age 0 probes everything again; entries made older than the
#     ages (timestamps edited with sqlite3) are probed again, an accept-all
#     domain with its catch-all probe;
#   - a list half old, half new probes only the new half (no catch-all probe
#     for a known domain, no DNS for a known-gone domain);
#   - unknowns are never reused; --level dns keeps and reuses DNS verdicts only;
#   - two runs sharing one new cache at once both finish, and both stored;
#   - a run whose cache another program locks for long warns and finishes;
#   - a run interrupted (SIGINT) and resumed writes the OUTPUT of an
#     uninterrupted run from the same cache;
#   - check --cache reuses and stores like clean;
#   - a cache that is not SQLite, a foreign SQLite file, a damaged one and a
#     locked one are refused with exit 2 and left as they were;
#   - cache stats and prune.
# Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp 'kill $PA $PB $PR $LOCKPID 2>/dev/null; exec 3>&- 2>/dev/null'
PA= PB= PR= LOCKPID=
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish cache; exit 1; }
command -v sqlite3 >/dev/null || { bad "sqlite3 is not installed (make deps)"; finish cache; exit 1; }

cat > "$T/world.txt" <<'EOF'
host mx.ok.com 127.1.0.1
domain ok.com
  mx 10 mx.ok.com
  mailbox alice bob carol dave erin
  full fred
  disabled dan
host mx.catch.com 127.1.0.2
domain catch.com
  mx 10 mx.catch.com
  catch-all
domain nullmx.com
  null-mx
domain nomail.com
host mx.other.com 127.1.0.3
domain other.com
  mx 10 mx.other.com
  mailbox ann ben cat
host mx.block.com 127.1.0.4
  block rcpt 550 5.7.1 Service unavailable; client [127.0.0.1] blocked using zen.spamhaus.org
domain block.com
  mx 10 mx.block.com
  mailbox bo
host mx.slow.com 127.1.0.5
  latency 100
domain slow.com
  mx 10 mx.slow.com
  mailbox s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12
EOF
cat > "$T/list.csv" <<'EOF'
email,n
alice@ok.com,1
bob@ok.com,2
nobody@ok.com,3
fred@ok.com,4
dan@ok.com,5
x@catch.com,6
y@catch.com,7
z@gone.com,8
w@nullmx.com,9
v@nomail.com,10
ann@other.com,11
bad@@x,12
ALICE@ok.com,13
EOF
C=$T/verdicts.db

sim() {   # a fresh mailsim: fresh counters, an empty RCPT log
    : > "$T/rcpt.log"
    sim_start "$T/world.txt" "$T" --counters "$T/counters.json" --rcpt-log "$T/rcpt.log" \
        || bad "mailsim did not start: $(tail -3 "$T/sim.log")"
}
counter() {   # counter SECTION NAME: from a fresh counters dump
    sim_counters "$T/counters.json" || { echo -1; return; }
    sim_counter "$T/counters.json" "$1" "$2"
}
OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 5 --command-timeout 10 --retry-schedule 1"
clean() {   # clean NAME INPUT [OPTIONS]: OUTPUT $T/out-NAME.csv, summary $T/NAME.txt, exit code in $rc
    n=$1 i=$2
    shift 2
    # shellcheck disable=SC2086
    "$MAILVET" clean $OPTS --progress never "$i" -o "$T/out-$n.csv" "$@" > "$T/$n.txt" 2> "$T/$n.err"
    rc=$?
    [ $rc -eq 0 ] && ok || bad "$n: exit $rc: $(tail -3 "$T/$n.err")"
}
route() {   # route NAME EMAIL: mailvet_route of EMAIL's row (the first column) in $T/out-NAME.csv
    awk -F, -v e="$2" '$1 == e { print $NF; exit }' "$T/out-$1.csv"
}
no_route() { sed 's/,[^,]*$//' "$1"; }     # OUTPUT without its last column (mailvet_route)
asked() { grep -ci "^<*$1>*\$" "$T/rcpt.log"; }   # RCPTs mailsim got for ADDRESS
probes() { grep -c "^<*mailvet-[0-9a-f]*@$1>*\$" "$T/rcpt.log"; }   # catch-all probes at DOMAIN

# --- 1. the first run fills the cache (0600)
sim
clean first "$T/list.csv" --cache "$C"
[ "$(stat -c %a "$C")" = 600 ] && ok || bad "cache mode $(stat -c %a "$C"), want 600"
[ "$(route first alice@ok.com)" = direct ] && ok || bad "first run: alice's route $(route first alice@ok.com)"
n=$(sqlite3 -readonly "$C" "select count(*) from mailboxes")
[ "$n" -eq 11 ] && ok || bad "cache has $n mailbox verdicts, want 11 (13 rows - syntax - duplicate)"

# --- 2. the same list again: nothing asked, rows identical but for the route
sim
clean second "$T/list.csv" --cache "$C"
conns=$(counter total connections) dnsq=$(counter dns queries)
[ "$conns" = 0 ] && ok || bad "second run opened $conns SMTP connections, want 0"
[ "$dnsq" = 0 ] && ok || bad "second run asked $dnsq DNS queries, want 0"
[ ! -s "$T/rcpt.log" ] && ok || bad "second run asked: $(tr '\n' ' ' < "$T/rcpt.log")"
# (the syntax row is screened again, so its mailvet_checked_at is this run's)
no_route "$T/out-first.csv" | grep -v '^bad@@x,' > "$T/a.txt"
no_route "$T/out-second.csv" | grep -v '^bad@@x,' > "$T/b.txt"
cmp -s "$T/a.txt" "$T/b.txt" && ok || { bad "second run's rows differ beyond mailvet_route:"; diff "$T/a.txt" "$T/b.txt" | head -6; }
nc=$(tail -n +2 "$T/out-second.csv" | awk -F, '$NF == "cache"' | wc -l)
[ "$nc" -eq 12 ] && ok || bad "second run: $nc rows with route cache, want 12 (all but the syntax row)"
[ "$(route second bad@@x)" = "" ] && ok || bad "a syntax row names no route"
grep -q "^From the verdict cache: 11 rows (not probed again" "$T/second.txt" && ok \
    || bad "summary: $(grep -i cache "$T/second.txt" || echo no cache line)"
"$MAILVET" report --format json "$T/out-second.csv.state" > "$T/second.json"
grep -q '"cache":{"rows":11,"age_median_s":[0-9]*,"age_oldest_s":[0-9]*}' "$T/second.json" && ok \
    || bad "JSON report: $(grep -o '"cache":{[^}]*}' "$T/second.json")"
"$MAILVET" report --format html -o "$T/second.html" "$T/out-second.csv.state"
grep -q 'id="cache_rows">11<' "$T/second.html" && grep -q 'id="cache_age">' "$T/second.html" && ok \
    || bad "HTML report has no cache rows / ages"
"$MAILVET" report --format json "$T/out-first.csv.state" | grep -q '"cache":{"rows":0,"age_median_s":null' \
    && ok || bad "JSON report of a run without cache hits"

# the ages: an answer made 3 days older shows in the report of a run that reuses it
sqlite3 "$C" "update mailboxes set checked_at = checked_at - 3*86400 where email = 'bob@ok.com'"
sim
clean aged "$T/list.csv" --cache "$C"
grep -q "^From the verdict cache: 11 rows (not probed again; their answers were [0-9]* s old at the median, 3 days at the oldest" \
    "$T/aged.txt" && ok || bad "aged summary: $(grep -i cache "$T/aged.txt")"
[ "$(awk -F, '$1 == "bob@ok.com" { print $(NF-1) }' "$T/out-aged.csv")" != \
  "$(awk -F, '$1 == "bob@ok.com" { print $(NF-1) }' "$T/out-first.csv")" ] && ok \
    || bad "bob's mailvet_checked_at is not the cached (edited) time"

# --- 3. --max-age 0: everything is asked again (and stored anew)
sim
clean zero "$T/list.csv" --cache "$C" --max-age 0
for a in alice@ok.com bob@ok.com nobody@ok.com fred@ok.com dan@ok.com x@catch.com ann@other.com; do
    [ "$(asked "$a")" -eq 1 ] && ok || bad "--max-age 0: $a asked $(asked "$a") times, want 1"
done
[ "$(counter dns queries)" -gt 0 ] && ok || bad "--max-age 0 asked no DNS"
grep -q ',cache$' "$T/out-zero.csv" && bad "--max-age 0 reused a cached verdict" || ok
mask_time "$T/out-first.csv" > "$T/a.txt"; mask_time "$T/out-zero.csv" > "$T/b.txt"
cmp -s "$T/a.txt" "$T/b.txt" && ok || { bad "--max-age 0 rows differ from the first run's"; diff "$T/a.txt" "$T/b.txt" | head -4; }

# --- 4. expired entries are asked again: alice and nobody 31 days old,
# catch.com's accept-all fact and x's verdict 8 days old (the domain age is 7)
sqlite3 "$C" "update mailboxes set checked_at = checked_at - 31*86400 where email in ('alice@ok.com', 'nobody@ok.com');
              update mailboxes set checked_at = checked_at - 8*86400 where email = 'x@catch.com';
              update domains set checked_at = checked_at - 8*86400 where domain = 'catch.com'"
sim
clean expired "$T/list.csv" --cache "$C"
for a in alice@ok.com nobody@ok.com x@catch.com; do
    [ "$(asked "$a")" -eq 1 ] && ok || bad "expired: $a asked $(asked "$a") times, want 1"
    [ "$(route expired "$a")" = direct ] && ok || bad "expired: $a's route $(route expired "$a")"
done
for a in bob@ok.com fred@ok.com dan@ok.com y@catch.com ann@other.com; do
    [ "$(asked "$a")" -eq 0 ] && ok || bad "expired: fresh $a was asked"
    [ "$(route expired "$a")" = cache ] && ok || bad "expired: $a's route $(route expired "$a")"
done
[ "$(probes catch.com)" -eq 1 ] && ok || bad "expired accept-all fact: $(probes catch.com) catch-all probes at catch.com, want 1"
[ "$(probes ok.com)" -eq 0 ] && ok || bad "ok.com's fresh fact: $(probes ok.com) catch-all probes, want 0"
grep -q '^x@catch.com,.*,risky,accept_all,' "$T/out-expired.csv" && ok || bad "x@catch.com is not accept_all after its probe"

# --- 5. half old, half new: only the new half is asked
cat > "$T/half.csv" <<'EOF'
email
alice@ok.com
bob@ok.com
fred@ok.com
ann@other.com
carol@ok.com
dave@ok.com
cat@other.com
new@catch.com
new@gone.com
EOF
sim
clean half "$T/half.csv" --cache "$C"
for a in alice@ok.com bob@ok.com fred@ok.com ann@other.com; do
    [ "$(asked "$a")" -eq 0 ] && ok || bad "half: old $a was asked"
    [ "$(route half "$a")" = cache ] && ok || bad "half: old $a's route $(route half "$a")"
done
for a in carol@ok.com dave@ok.com cat@other.com new@catch.com; do
    [ "$(asked "$a")" -eq 1 ] && ok || bad "half: new $a asked $(asked "$a") times, want 1"
    [ "$(route half "$a")" = direct ] && ok || bad "half: new $a's route $(route half "$a")"
done
[ "$(wc -l < "$T/rcpt.log")" -eq 4 ] && ok || bad "half: $(wc -l < "$T/rcpt.log") RCPTs, want the 4 new addresses only (no catch-all probe): $(tr '\n' ' ' < "$T/rcpt.log")"
grep -q '^new@gone.com,new@gone.com,undeliverable,invalid_domain,.*,cache$' "$T/out-half.csv" && ok \
    || bad "half: new@gone.com not decided by the cached NXDOMAIN: $(grep new@gone "$T/out-half.csv")"
grep -q '^new@catch.com,.*,risky,accept_all,' "$T/out-half.csv" && ok || bad "half: new@catch.com is not accept_all (from the cached fact)"
# new addresses of domains known to have no mail: decided without DNS
printf 'email\nnew2@gone.com\nnew3@nullmx.com\nnew4@nomail.com\n' > "$T/gone.csv"
sim
clean gone "$T/gone.csv" --cache "$C"
[ "$(counter dns queries)" = 0 ] && ok || bad "new addresses of gone domains asked DNS"
[ "$(grep -c ',undeliverable,\(invalid_domain\|null_mx\|no_mail_server\),.*,cache$' "$T/out-gone.csv")" -eq 3 ] \
    && ok || bad "gone domains' new addresses: $(tail -n +2 "$T/out-gone.csv")"

# --level dns keeps and reuses only the DNS verdicts; a later smtp run
# reuses those and asks the mailboxes
C3=$T/dns.db
sim
clean dns1 "$T/list.csv" --level dns --cache "$C3"
clean dns2 "$T/list.csv" --level dns --cache "$C3"
for a in z@gone.com w@nullmx.com v@nomail.com; do
    [ "$(route dns2 "$a")" = cache ] && ok || bad "--level dns: $a's route $(route dns2 "$a"), want cache"
done
grep -q '^alice@ok.com,.*,unknown,unverified,.*,$' "$T/out-dns2.csv" && ok || bad "--level dns: alice reused something"
clean dns3 "$T/list.csv" --cache "$C3"
[ "$(route dns3 z@gone.com)" = cache ] && [ "$(route dns3 alice@ok.com)" = direct ] && ok \
    || bad "smtp after dns: gone $(route dns3 z@gone.com), alice $(route dns3 alice@ok.com)"

# --- 6. unknowns are never reused
printf 'email\nbo@block.com\n' > "$T/unknown.csv"
sim
clean unknown1 "$T/unknown.csv" --cache "$C"
clean unknown2 "$T/unknown.csv" --cache "$C"
[ "$(asked bo@block.com)" -eq 2 ] && ok || bad "a blocked (unknown) verdict was reused: asked $(asked bo@block.com) times over two runs"
grep -q ',unknown,blocked,.*,direct$' "$T/out-unknown2.csv" && ok || bad "unknown row: $(tail -1 "$T/out-unknown2.csv")"

# --- 7. two runs sharing one new cache at once
C2=$T/shared.db
{ echo email; for i in 1 2 3 4 5 6; do echo "s$i@slow.com"; done; echo carol@ok.com; } > "$T/la.csv"
{ echo email; for i in 7 8 9 10 11 12; do echo "s$i@slow.com"; done; echo ben@other.com; } > "$T/lb.csv"
sim
# shellcheck disable=SC2086
( exec "$MAILVET" clean $OPTS --progress never --rcpt-per-session 2 --cache "$C2" "$T/la.csv" -o "$T/la.out.csv" > /dev/null 2> "$T/la.err" ) &
PA=$!
# shellcheck disable=SC2086
( exec "$MAILVET" clean $OPTS --progress never --rcpt-per-session 2 --cache "$C2" "$T/lb.csv" -o "$T/lb.out.csv" > /dev/null 2> "$T/lb.err" ) &
PB=$!
i=0                        # both have begun (their state files exist) ...
while { [ ! -f "$T/la.out.csv.state" ] || [ ! -f "$T/lb.out.csv.state" ]; } && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
done
kill -0 $PA 2>/dev/null && kill -0 $PB 2>/dev/null && ok || bad "the two runs did not run at once"
wait $PA; ra=$?; wait $PB; rb=$?; PA= PB=
[ $ra -eq 0 ] && [ $rb -eq 0 ] && ok || bad "shared cache: exits $ra and $rb: $(tail -2 "$T/la.err" "$T/lb.err")"
nd=$(cat "$T/la.out.csv" "$T/lb.out.csv" | grep -c ',deliverable,accepted,.*,direct$')
[ "$nd" -eq 14 ] && ok || bad "shared cache: $nd deliverable rows, want 14"
n=$(sqlite3 -readonly "$C2" "select count(*) from mailboxes")
[ "$n" -eq 14 ] && ok || bad "shared cache holds $n verdicts, want 14 (both runs')"
tail -n +2 "$T/lb.csv" > "$T/both.rows"
{ cat "$T/la.csv"; cat "$T/both.rows"; } > "$T/both.csv"
sim
clean both "$T/both.csv" --cache "$C2"
[ "$(counter total connections)" = 0 ] && ok || bad "after the shared runs, a run over both lists still connected"

# --- 7b. the cache locked by another program while a run writes to it:
# the writer's transaction fails after its busy wait, a warning says so,
# and the run finishes with every verdict in OUTPUT
C4=$T/busy.db
{ echo email; for i in 1 2 3 4 5 6 7 8; do echo "s$i@slow.com"; done; } > "$T/busy.csv"
sim
# shellcheck disable=SC2086
( exec "$MAILVET" clean $OPTS --progress never --rcpt-per-session 1 --per-mx 1 --cache "$C4" \
    "$T/busy.csv" -o "$T/out-busy.csv" > /dev/null 2> "$T/busy.err" ) &
PR=$!
i=0                        # the run has opened its cache (the state comes after it)
while [ ! -f "$T/out-busy.csv.state" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
mkfifo "$T/busy.fifo"
sqlite3 "$C4" < "$T/busy.fifo" > /dev/null 2>&1 &
LOCKPID=$!
exec 3> "$T/busy.fifo"
printf '%s\n' ".timeout 5000" "BEGIN IMMEDIATE; INSERT INTO domains VALUES('held.com', 'null_mx', 1, 0);" >&3
i=0                        # until the run says its write failed (its busy wait is 10 s)
while ! grep -q "cannot write the verdict cache" "$T/busy.err" && kill -0 $PR 2>/dev/null && [ $i -lt 300 ]; do
    sleep 0.1; i=$((i + 1))
done
grep -q "warning: cannot write the verdict cache $C4 (database is locked)" "$T/busy.err" && ok \
    || bad "no warning while the cache was locked: $(cat "$T/busy.err")"
echo "ROLLBACK;" >&3
exec 3>&-
wait $LOCKPID; LOCKPID=
wait $PR; rc=$?; PR=
[ $rc -eq 0 ] && ok || bad "run with a locked cache: exit $rc: $(tail -2 "$T/busy.err")"
[ "$(grep -c ',deliverable,accepted,.*,direct$' "$T/out-busy.csv")" -eq 8 ] && ok \
    || bad "run with a locked cache: OUTPUT lacks verdicts"
# 8 verdicts and slow.com's catch-all answer: what the cache has and the
# count of what it lost add up to them
lost=$(sed -n 's/^mailvet: warning: \([0-9]*\) records of this run were not written to the verdict cache.*/\1/p' "$T/busy.err")
n=$(sqlite3 -readonly "$C4" "select (select count(*) from mailboxes) + (select count(*) from domains)")
[ -n "$lost" ] && [ "$lost" -gt 0 ] && [ $((n + lost)) -eq 9 ] && ok \
    || bad "locked cache: $n entries, '$lost' said lost, want 9 in all: $(tail -2 "$T/busy.err")"

# --- 8. resume with a cache: the OUTPUT of an uninterrupted run. Both
# start from the same cache (list.csv's rows in it, slow.com's not); the
# slow rows take a session each, one at a time, so there is time to stop.
{ cat "$T/list.csv"; for i in 1 2 3 4 5 6 7 8; do echo "s$i@slow.com,$((20 + i))"; done; } > "$T/resume.csv"
cp "$C" "$T/ref.db"; cp "$C" "$T/res.db"; cp "$C" "$T/refc.db"
sim
clean ref "$T/resume.csv" --rcpt-per-session 1 --per-mx 1 --cache "$T/ref.db"
# shellcheck disable=SC2086
( exec "$MAILVET" clean $OPTS --progress never --rcpt-per-session 1 --per-mx 1 --cache "$T/res.db" \
    "$T/resume.csv" -o "$T/out-res.csv" > /dev/null 2> "$T/res.err" ) &
PR=$!
# 12 results come at once (11 from the cache, the syntax row); then 2 slow ones
if wait_results "$T/out-res.csv.state" 14 $PR; then ok; else bad "the run to interrupt ended before 14 results"; fi
kill -INT $PR 2>/dev/null
wait $PR; rc=$?; PR=
[ $rc -eq 130 ] && ok || bad "interrupted run: exit $rc, want 130"
done_rows=$(state_results "$T/out-res.csv.state")
[ "$done_rows" -lt 20 ] && ok || bad "the interrupted run had finished every row ($done_rows)"
clean res "$T/resume.csv" --rcpt-per-session 1 --per-mx 1 --cache "$T/res.db"
grep -q "resuming from" "$T/res.err" && ok || bad "the second run did not resume"
mask_time "$T/out-ref.csv" > "$T/a.txt"; mask_time "$T/out-res.csv" > "$T/b.txt"
cmp -s "$T/a.txt" "$T/b.txt" && ok || { bad "resumed OUTPUT differs from the uninterrupted one's:"; diff "$T/a.txt" "$T/b.txt" | head -6; }
nc=$(grep -c ',cache$' "$T/out-res.csv")
[ "$nc" -eq 12 ] && [ "$(grep -c ',cache$' "$T/out-ref.csv")" -eq 12 ] && ok || bad "resume: $nc cache rows, want 12 in both"

# --- 9. check --cache
sim
"$MAILVET" check --json $OPTS --cache "$C" alice@ok.com z@gone.com erin@ok.com > "$T/check1.json" 2> "$T/check.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "check --cache: exit $rc: $(cat "$T/check.err")"
expect_field "$T/check1.json" alice@ok.com route '"cache"'
expect_field "$T/check1.json" z@gone.com route '"cache"'
expect_field "$T/check1.json" erin@ok.com route '"direct"'
[ "$(asked alice@ok.com)" -eq 0 ] && [ "$(asked erin@ok.com)" -eq 1 ] && ok || bad "check --cache asked: $(tr '\n' ' ' < "$T/rcpt.log")"
"$MAILVET" check --json $OPTS --cache "$C" erin@ok.com > "$T/check2.json" 2>> "$T/check.err"
expect_field "$T/check2.json" erin@ok.com route '"cache"'
[ "$(asked erin@ok.com)" -eq 1 ] && ok || bad "check stored nothing: erin asked again"
sed 's/"route":"[a-z]*"//' "$T/check1.json" | grep erin > "$T/a.txt"
sed 's/"route":"[a-z]*"//' "$T/check2.json" > "$T/b.txt"
cmp -s "$T/a.txt" "$T/b.txt" && ok || bad "check: the cached answer differs: $(cat "$T/a.txt" "$T/b.txt")"

# --- 10. refused caches, left as they were
refused() {   # refused WHAT FILE TEXT: clean and check refuse FILE with exit 2 and TEXT
    cp "$2" "$T/before"
    "$MAILVET" clean $OPTS --progress never --cache "$2" "$T/list.csv" -o "$T/refused.csv" \
        > /dev/null 2> "$T/refused.err"
    rc=$?
    [ $rc -eq 2 ] && ok || bad "$1: clean exit $rc, want 2"
    grep -qF "$2" "$T/refused.err" && grep -q "$3" "$T/refused.err" && ok \
        || bad "$1: message: $(cat "$T/refused.err")"
    [ ! -e "$T/refused.csv.state" ] && ok || bad "$1: a state file was made before the cache was refused"
    "$MAILVET" check $OPTS --cache "$2" alice@ok.com > /dev/null 2> "$T/refused.err"
    rc=$?
    [ $rc -eq 2 ] && ok || bad "$1: check exit $rc, want 2"
    cmp -s "$2" "$T/before" && ok || bad "$1: the file was changed"
}
# shellcheck disable=SC2086
"$MAILVET" clean $OPTS --progress never --cache "$T/same.csv" "$T/list.csv" -o "$T/same.csv" \
    > /dev/null 2> "$T/same.err"; rc=$?
[ $rc -eq 2 ] && grep -q "same.csv is OUTPUT" "$T/same.err" && [ ! -e "$T/same.csv" ] && ok \
    || bad "--cache OUTPUT: exit $rc: $(cat "$T/same.err")"
cp "$T/list.csv" "$T/notdb.csv"
refused "a CSV file" "$T/notdb.csv" "not an SQLite database"
sqlite3 "$T/foreign.db" "create table t(x); insert into t values(1)"
refused "a foreign SQLite file" "$T/foreign.db" "not a mailvet cache"
"$MAILVET" cache stats "$T/foreign.db" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "cache stats of a foreign file: exit $rc"
cp "$T/refc.db" "$T/damaged.db"
size=$(stat -c %s "$T/damaged.db")
[ "$size" -ge 8192 ] && ok || bad "the cache to damage is $size bytes"
printf 'this page is overwritten by a test to damage the b-tree...........' \
    | dd of="$T/damaged.db" bs=1 seek=4096 conv=notrunc 2>/dev/null
refused "a damaged cache" "$T/damaged.db" "is damaged"
# locked: another program holds the write lock (BEGIN IMMEDIATE) until told to stop
mkfifo "$T/lock.fifo"
sqlite3 "$T/refc.db" < "$T/lock.fifo" > /dev/null 2>&1 &
LOCKPID=$!
exec 3> "$T/lock.fifo"
# (the holder waits for the probe below rather than fail to take the lock)
printf '%s\n' ".timeout 5000" "BEGIN IMMEDIATE; INSERT INTO domains VALUES('held.com', 'null_mx', 1, 0);" >&3
i=0
while sqlite3 -cmd ".timeout 0" "$T/refc.db" "BEGIN IMMEDIATE; ROLLBACK;" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
done
[ $i -lt 100 ] && ok || bad "the lock holder never took the lock"
"$MAILVET" clean $OPTS --progress never --cache "$T/refc.db" "$T/list.csv" -o "$T/locked.csv" \
    > /dev/null 2> "$T/locked.err"
rc=$?
[ $rc -eq 2 ] && ok || bad "locked cache: clean exit $rc, want 2"
grep -q "refc.db is locked by another program" "$T/locked.err" && ok || bad "locked: $(cat "$T/locked.err")"
echo "ROLLBACK;" >&3
exec 3>&-
wait $LOCKPID; LOCKPID=
[ "$(sqlite3 -readonly "$T/refc.db" "select count(*) from domains where domain = 'held.com'")" = 0 ] && ok \
    || bad "the lock holder's row is there"

# --- 11. stats and prune
"$MAILVET" cache stats "$C" > "$T/stats.txt" 2>&1; rc=$?
[ $rc -eq 0 ] && ok || bad "cache stats: exit $rc: $(cat "$T/stats.txt")"
total=$(sqlite3 -readonly "$C" "select count(*) from mailboxes")
grep -q "^Mailbox verdicts: $total\$" "$T/stats.txt" && ok || bad "stats: $(head -3 "$T/stats.txt")"
grep -q "^  undeliverable   mailbox_not_found  *1\$" "$T/stats.txt" && ok || bad "stats has no mailbox_not_found line"
grep -q "^Domain facts: " "$T/stats.txt" && grep -q "ages: oldest" "$T/stats.txt" && ok || bad "stats: no domain facts / ages"
sqlite3 "$C" "update mailboxes set checked_at = checked_at - 40*86400 where email = 'ann@other.com'"
"$MAILVET" cache prune --max-age 30d "$C" > "$T/prune.txt" 2>&1; rc=$?
[ $rc -eq 0 ] && ok || bad "cache prune: exit $rc: $(cat "$T/prune.txt")"
grep -q "^Pruned 1 mailbox verdicts older than 30 days" "$T/prune.txt" && ok || bad "prune: $(cat "$T/prune.txt")"
[ "$(sqlite3 -readonly "$C" "select count(*) from mailboxes where email = 'ann@other.com'")" = 0 ] && ok \
    || bad "prune left ann@other.com"
"$MAILVET" cache prune --max-age 1x "$C" > /dev/null 2> "$T/prune.err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--max-age must be" "$T/prune.err" && ok || bad "prune --max-age 1x: exit $rc: $(cat "$T/prune.err")"
"$MAILVET" cache prune --max-age 0 "$C" > "$T/prune.txt" 2>&1
[ "$(sqlite3 -readonly "$C" "select (select count(*) from mailboxes) + (select count(*) from domains)")" = 0 ] \
    && ok || bad "prune --max-age 0 left entries: $(cat "$T/prune.txt")"
"$MAILVET" cache stats "$C" | grep -q "^Mailbox verdicts: 0$" && ok || bad "stats after pruning all"

finish cache
