#!/bin/sh
# evidence.sh BUILD_DIR — the evidence columns (README "Output"):
# mailvet_mx_ip is the mailsim address of the MX whose reply decided (the
# second MX's when the first is dead; empty without a reply),
# mailvet_checked_at is UTC ISO 8601 within the run (a greylisted address:
# its retry's time, not its first answer's), mailvet_route is `direct`, the
# --bind address or the --proxy as given without its password (empty
# without SMTP), in clean's OUTPUT and check --json alike; duplicates take
# their first row's; rows finished before a kill -9 keep all three through
# the resume; merged shards keep them byte for byte. Runs inside a private
# network namespace, the SOCKS5 proxy (microsocks) too.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
PIDS=
net_tmp '[ -n "$PIDS" ] && kill $PIDS 2>/dev/null'
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish evidence; exit 1; }
for p in sqlite3 microsocks; do
    command -v $p >/dev/null || { bad "$p is not installed (sh scripts/deps.sh)"; finish evidence; exit 1; }
done

cat > "$T/world.txt" <<'EOF'
host mx1.ev.net 127.1.0.1
domain ev.net
  mx 10 mx1.ev.net
  mailbox ann bob
host mx.deadfirst.net 127.255.0.1 dead
host mx2.second.net 127.1.0.2
domain second.net
  mx 5 mx.deadfirst.net
  mx 10 mx2.second.net
  mailbox fred
host mx.grey.net 127.1.0.3
  greylist 3
domain grey.net
  mx 10 mx.grey.net
  mailbox gina
domain gone.net
  dns nxdomain
EOF
# ROW EMAIL MX_IP ROUTED (1: an SMTP answer decided, so the route is set)
cat > "$T/expect.txt" <<'EOF'
0 ann@ev.net 127.1.0.1 1
1 nobody@ev.net 127.1.0.1 1
2 fred@second.net 127.1.0.2 1
3 x@gone.net - 0
4 bad@@ev.net - 0
5 ANN@ev.net 127.1.0.1 1
6 gina@grey.net 127.1.0.3 1
EOF
{ echo "email,n"; awk '{ print $2 "," $1 }' "$T/expect.txt"; } > "$T/list.csv"
grep -v gina "$T/list.csv" > "$T/quick.csv"          # no greylisting wait

OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 2 --command-timeout 4 --retry-schedule 4"
clean() {   # clean INPUT OUTPUT [OPTIONS]
    i=$1 o=$2
    shift 2
    # shellcheck disable=SC2086
    "$MAILVET" clean $OPTS --progress never "$i" -o "$o" "$@" > /dev/null 2>> "$T/err.txt"
}
# evidence OUTPUT: "ROW MX_IP CHECKED_AT ROUTE" per data row ("-" for
# empty); the last three fields (no commas in this list's rows)
evidence() {
    awk -F, 'NR > 1 { printf "%d %s %s %s\n", NR - 2, $(NF - 2) == "" ? "-" : $(NF - 2),
                      $(NF - 1) == "" ? "-" : $(NF - 1), $NF == "" ? "-" : $NF }' "$1"
}
# epoch ISO: the seconds of a mailvet_checked_at, empty if it does not parse
epoch() {
    case "$1" in
        [0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z)
            date -u -d "$1" +%s 2>/dev/null ;;
    esac
}
# check_rows OUTPUT ROUTE T0 T1 [ROWS]: each row's mx_ip as expect.txt says,
# its route ROUTE when an answer decided and empty otherwise, its
# checked_at a UTC ISO 8601 time within [T0, T1]
check_rows() {
    f=$1 route=$2 t0=$3 t1=$4
    evidence "$f" > "$f.ev"
    while read -r row email ip routed; do
        line=$(grep "^$row " "$f.ev")
        [ -n "$line" ] || continue                    # not in this list
        set -- $line
        [ "$2" = "$ip" ] && ok || bad "$f: $email: mx_ip $2, want $ip"
        want=-; [ "$routed" = 1 ] && want=$route
        [ "$4" = "$want" ] && ok || bad "$f: $email: route $4, want $want"
        s=$(epoch "$3")
        [ -n "$s" ] && [ "$s" -ge "$t0" ] && [ "$s" -le "$t1" ] && ok \
            || bad "$f: $email: checked_at '$3' is not UTC ISO 8601 within $t0..$t1"
    done < "$T/expect.txt"
}
field() {   # field OUTPUT.ev ROW N: field N of ROW's line
    awk -v r="$2" -v n="$3" '$1 == r { print $n }' "$1"
}

sim_start "$T/world.txt" "$T" --rcpt-log "$T/rcpt.log" || bad "mailsim did not start"

# --- direct: clean, then check --json on the same addresses
t0=$(date +%s)
clean "$T/list.csv" "$T/direct.csv"; rc=$?
t1=$(date +%s)
[ $rc -eq 0 ] && ok || bad "clean exit $rc: $(tail -3 "$T/err.txt")"
head -n 1 "$T/direct.csv" | grep -q ',mailvet_duplicate,mailvet_mx_ip,mailvet_checked_at,mailvet_route$' \
    && ok || bad "header: $(head -n 1 "$T/direct.csv")"
check_rows "$T/direct.csv" direct "$t0" "$t1"
ev=$T/direct.csv.ev
[ "$(field "$ev" 5 3)" = "$(field "$ev" 0 3)" ] && [ "$(field "$ev" 5 2)" = "$(field "$ev" 0 2)" ] \
    && ok || bad "the duplicate ANN@ev.net has not ann's evidence: $(grep '^[05] ' "$ev")"
# gina was greylisted: the deciding answer is the retry's, 4 s after the first
g=$(epoch "$(field "$ev" 6 3)") a=$(epoch "$(field "$ev" 0 3)")
[ -n "$g" ] && [ -n "$a" ] && [ $((g - a)) -ge 3 ] && ok \
    || bad "gina's checked_at ${g:-?} is not her retry's (ann's ${a:-?} + 4 s)"

sim_start "$T/world.txt" "$T" || bad "mailsim did not restart"   # forget the greylisting
t0=$(date +%s)
# shellcheck disable=SC2086
"$MAILVET" check --json $OPTS ann@ev.net nobody@ev.net fred@second.net x@gone.net bad@@ev.net \
    ANN@ev.net gina@grey.net > "$T/check.json" 2>> "$T/err.txt"; rc=$?
t1=$(date +%s)
[ $rc -eq 0 ] && ok || bad "check exit $rc: $(tail -3 "$T/err.txt")"
results_tsv json "$T/check.json" > "$T/check.tsv"
while read -r row email ip routed; do
    want=; [ "$ip" != - ] && want=$ip
    expect_tsv "$T/check.tsv" "$email" mx_ip "$want" "check: "
    want=; [ "$routed" = 1 ] && want=direct
    expect_tsv "$T/check.tsv" "$email" route "$want" "check: "
    s=$(epoch "$(tsv_field "$T/check.tsv" "$email" checked_at)")
    [ -n "$s" ] && [ "$s" -ge "$t0" ] && [ "$s" -le "$t1" ] && ok \
        || bad "check: $email: checked_at '$(tsv_field "$T/check.tsv" "$email" checked_at)' not within $t0..$t1"
done < "$T/expect.txt"

# --- --bind, and --proxy with a login: the route as given, never the password
t0=$(date +%s)
clean "$T/quick.csv" "$T/bind.csv" --bind 127.0.0.2; rc=$?
t1=$(date +%s)
[ $rc -eq 0 ] && ok || bad "--bind exit $rc: $(tail -3 "$T/err.txt")"
check_rows "$T/bind.csv" 127.0.0.2 "$t0" "$t1"
microsocks -i 127.0.0.1 -p 1081 -b 127.0.0.6 -u alice -P 's3cret' > /dev/null 2>&1 &
PIDS="$PIDS $!"
wait_port 127.0.0.1 1081 || bad "microsocks did not start"
t0=$(date +%s)
clean "$T/quick.csv" "$T/proxy.csv" --proxy socks5://alice:s3cret@127.0.0.1:1081; rc=$?
t1=$(date +%s)
[ $rc -eq 0 ] && ok || bad "--proxy exit $rc: $(tail -3 "$T/err.txt")"
check_rows "$T/proxy.csv" socks5://alice@127.0.0.1:1081 "$t0" "$t1"
grep -q s3cret "$T/proxy.csv" "$T/proxy.csv.state" && bad "the proxy password is in OUTPUT or the state" || ok
# shellcheck disable=SC2086
"$MAILVET" check --json $OPTS --proxy socks5://alice:s3cret@127.0.0.1:1081 fred@second.net \
    > "$T/check-proxy.json" 2>> "$T/err.txt"
grep -q '"mx_ip":"127.1.0.2",.*"route":"socks5://alice@127.0.0.1:1081"}$' "$T/check-proxy.json" \
    && ok || bad "check --proxy: $(cat "$T/check-proxy.json")"

# --- kill -9 once the quick rows are committed (gina waits for her retry);
# the resume, a second later at least, keeps their evidence byte for byte
sim_start "$T/world.txt" "$T" --rcpt-log "$T/kill.rcpt" || bad "mailsim did not restart"
# shellcheck disable=SC2086
"$MAILVET" clean $OPTS --progress never "$T/list.csv" -o "$T/kill.csv" > /dev/null 2>> "$T/err.txt" &
pid=$!
wait_results "$T/kill.csv.state" 5 $pid && ok || bad "the run did not commit 5 rows while running"
kill -9 $pid; wait $pid 2>/dev/null
sqlite3 -readonly "$T/kill.csv.state" "select row, coalesce(nullif(mx_ip, ''), '-'),
    strftime('%Y-%m-%dT%H:%M:%SZ', checked_at, 'unixepoch'), coalesce(nullif(route, ''), '-')
    from results order by row" | tr '|' ' ' > "$T/killed.ev"
n=$(wc -l < "$T/killed.ev")
[ "$n" -ge 5 ] && ! grep -q '^6 ' "$T/killed.ev" && ok || bad "finished at the kill: $(cat "$T/killed.ev")"
last=$(sqlite3 -readonly "$T/kill.csv.state" "select max(checked_at) from results")
i=0
while [ "$(date +%s)" -le "${last:-0}" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
clean "$T/list.csv" "$T/kill.csv"; rc=$?
[ $rc -eq 0 ] && ok || bad "resume exit $rc: $(tail -3 "$T/err.txt")"
evidence "$T/kill.csv" > "$T/kill.ev"
kept=$(sort "$T/killed.ev" "$T/kill.ev" | uniq -d | wc -l)
[ "$kept" -eq "$n" ] && ok || bad "rows finished before the kill changed: $(diff "$T/killed.ev" "$T/kill.ev")"
g=$(epoch "$(field "$T/kill.ev" 6 3)")
[ -n "$g" ] && [ "$g" -gt "${last:-0}" ] && ok || bad "gina was not decided by the resumed run: $(grep '^6 ' "$T/kill.ev")"
for a in ann@ev.net nobody@ev.net fred@second.net; do
    [ "$(grep -c "^<*$a>*\$" "$T/kill.rcpt")" -eq 1 ] && ok || bad "$a asked $(grep -c "$a" "$T/kill.rcpt") times over the kill"
done

# --- two shards merged: every row as its shard wrote it
for k in 1 2; do
    clean "$T/quick.csv" "$T/s$k.csv" --state "$T/s$k.state" --shard $k/2 || bad "shard $k/2: $(tail -2 "$T/err.txt")"
done
"$MAILVET" merge "$T/merged.csv" "$T/s1.state" "$T/s2.state" > /dev/null 2>> "$T/err.txt" \
    && ok || bad "merge: $(tail -2 "$T/err.txt")"
for k in 1 2; do tail -n +2 "$T/s$k.csv"; done | sort > "$T/shard-rows"
tail -n +2 "$T/merged.csv" | sort > "$T/merged-rows"
[ -s "$T/merged-rows" ] && cmp -s "$T/shard-rows" "$T/merged-rows" && ok \
    || bad "merged rows differ from the shards': $(diff "$T/shard-rows" "$T/merged-rows" | head -4)"
evidence "$T/merged.csv" > "$T/merged.ev"
[ "$(field "$T/merged.ev" 2 2)" = 127.1.0.2 ] && [ "$(field "$T/merged.ev" 2 4)" = direct ] && ok \
    || bad "merged: fred's evidence: $(grep '^2 ' "$T/merged.ev")"
finish evidence
