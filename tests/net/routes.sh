#!/bin/sh
# routes.sh BUILD_DIR — `mailvet clean` over several routes, on a mailsim
# world: --bind over three 127.x source addresses and --proxy over real
# SOCKS5 servers (Debian's microsocks, each connecting out from its own
# address) give the same OUTPUT as a direct run but for the time and the
# route, and mailvet_route names the routes given (a proxy without its
# password), the dead proxy never; mailsim's per-source
# counters show every route used and each (source, MX) pair within
# --per-mx; a dead proxy in the pool is dropped and its work moves to the
# others; a pool of dead proxies stops the run (exit 1, no verdicts made up)
# and a rerun through a working proxy resumes and completes.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
PIDS=
net_tmp '[ -n "$PIDS" ] && kill $PIDS 2>/dev/null'

if ! command -v microsocks > /dev/null; then
    bad "microsocks is not installed (scripts/packages.txt)"
    finish routes
    exit 1
fi
"$SIM" gen --addresses 1500 --domains 120 --seed 17 \
    --mix greylist=0,servfail=0,dnsdrop=0,dead=0,tarpit=0,drop=0,garbage=0,drip=0,slowdns=0,ratecap=0,conncap=0 \
    --out-dir "$T/w" 2> /dev/null || bad "mailsim gen"
LIST=$T/w/list.csv
rows=$(( $(wc -l < "$LIST") - 1 ))
PER_MX=2
run() {
    "$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --smtp-port 25 --per-mx $PER_MX \
        --connect-timeout 2 --command-timeout 4 --retry-schedule 1 --progress never "$@"
}
# counters NAME: mailsim's counters after a fresh run named NAME
sim_fresh() {
    sim_start "$T/w/world.txt" "$T" --counters "$T/$1.json" || bad "mailsim did not start"
}
sim_stop() {
    kill $SIMPID; wait $SIMPID 2> /dev/null; SIMPID=
}
# sources_ok JSON ADDR...: each ADDR opened connections, and no (source, MX)
# pair went above --per-mx at once
# routes_are OUTPUT ROUTE...: the non-empty mailvet_route values of OUTPUT
# (the last column) are exactly the ROUTEs given
routes_are() {
    f=$1
    shift
    got=$(tail -n +2 "$f" | sed 's/.*,//' | grep -v '^$' | sort -u | tr '\n' ' ')
    want=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
    [ "$got" = "$want" ] && ok || bad "$f: routes '$got', want '$want'"
}
sources_ok() {
    json=$1
    shift
    sed -n '/"sources":{/,/"sources_overflow"/p' "$json" > "$json.src"
    for a in "$@"; do
        n=$(grep "^\"$a\":" "$json.src" | grep -o '"connections":[0-9]*' | cut -d: -f2 |
            awk '{ s += $1 } END { print s + 0 }')
        [ "$n" -gt 0 ] && ok || bad "source $a opened no connection ($(cat "$json.src"))"
    done
    peak=$(grep -o '"conn_peak":[0-9]*' "$json.src" | cut -d: -f2 | sort -n | tail -1)
    [ "${peak:-99}" -le $PER_MX ] && ok || bad "a (source, MX) pair had ${peak:-no} connections at once, above --per-mx $PER_MX"
}

sim_fresh direct
run "$LIST" -o "$T/ref.csv" > /dev/null 2> "$T/ref.err" && ok || bad "direct run: $(tail -2 "$T/ref.err")"
sim_stop

# --bind: three source addresses
sim_fresh bind
run "$LIST" -o "$T/bind.csv" --bind 127.0.0.2,127.0.0.3,127.0.0.4 > /dev/null 2> "$T/bind.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "--bind run exit $rc: $(tail -2 "$T/bind.err")"
sim_stop
routes_are "$T/ref.csv" direct
same_but_time "$T/ref.csv" "$T/bind.csv" route > "$T/bind.diff" && ok \
    || bad "--bind OUTPUT differs from the direct run: $(cat "$T/bind.diff")"
routes_are "$T/bind.csv" 127.0.0.2 127.0.0.3 127.0.0.4
sources_ok "$T/bind.json" 127.0.0.2 127.0.0.3 127.0.0.4

# --proxy: two microsocks (out from 127.0.0.5 and .6, the second with a
# login) and a dead one (nothing listens on 1099)
microsocks -i 127.0.0.1 -p 1080 -b 127.0.0.5 > /dev/null 2>&1 &
PIDS="$PIDS $!"
microsocks -i 127.0.0.1 -p 1081 -b 127.0.0.6 -u alice -P 's3cret' > /dev/null 2>&1 &
PIDS="$PIDS $!"
wait_port 127.0.0.1 1080 && wait_port 127.0.0.1 1081 || bad "microsocks did not start"
sim_fresh proxy
run "$LIST" -o "$T/proxy.csv" \
    --proxy socks5://127.0.0.1:1080,socks5://alice:s3cret@127.0.0.1:1081,socks5://127.0.0.1:1099 \
    > /dev/null 2> "$T/proxy.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "--proxy run exit $rc: $(tail -2 "$T/proxy.err")"
sim_stop
same_but_time "$T/ref.csv" "$T/proxy.csv" route > "$T/proxy.diff" && ok \
    || bad "--proxy OUTPUT differs from the direct run: $(cat "$T/proxy.diff")"
routes_are "$T/proxy.csv" socks5://127.0.0.1:1080 socks5://alice@127.0.0.1:1081
grep -q "s3cret" "$T/proxy.csv" "$T/proxy.csv.state" && bad "a proxy password is in OUTPUT or the state" || ok
sources_ok "$T/proxy.json" 127.0.0.5 127.0.0.6
grep -q "route socks5://127.0.0.1:1099 failed" "$T/proxy.err" && ok || bad "the dead proxy was not reported: $(cat "$T/proxy.err")"
grep -q "s3cret" "$T/proxy.err" && bad "a proxy password was printed" || ok

# every proxy dead: exit 1, nothing made up; a rerun through a live proxy resumes
sim_fresh dead
run "$LIST" -o "$T/dead.csv" --proxy socks5://127.0.0.1:1098,socks5://127.0.0.1:1099 \
    > /dev/null 2> "$T/dead.err"
rc=$?
[ $rc -eq 1 ] && ok || bad "all proxies dead: exit $rc, want 1: $(tail -2 "$T/dead.err")"
grep -q "every route failed" "$T/dead.err" && ok || bad "all proxies dead: message: $(tail -2 "$T/dead.err")"
[ ! -e "$T/dead.csv" ] && ok || bad "all proxies dead: OUTPUT written"
smtp_rows=$(sqlite3 "$T/dead.csv.state" "select count(*) from results where smtp_code > 0 or reason in ('no_connect','timeout')")
[ "$smtp_rows" -eq 0 ] && ok || bad "all proxies dead: $smtp_rows SMTP verdicts made up"
run "$LIST" -o "$T/dead.csv" --proxy socks5://127.0.0.1:1080 > /dev/null 2> "$T/dead2.err"
rc=$?
[ $rc -eq 0 ] && grep -q resuming "$T/dead2.err" && ok || bad "rerun through a live proxy: exit $rc, $(tail -2 "$T/dead2.err")"
same_but_time "$T/ref.csv" "$T/dead.csv" route > "$T/dead.diff" && ok \
    || bad "resumed OUTPUT differs from the direct run: $(cat "$T/dead.diff")"
routes_are "$T/dead.csv" socks5://127.0.0.1:1080
finish routes
