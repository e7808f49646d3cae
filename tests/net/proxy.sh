#!/bin/sh
# proxy.sh BUILD_DIR — `mailvet check` through real SOCKS5 proxies (microsocks
# without and with a login, dante) and from --bind source addresses, against
# mailsim. Each proxy connects out from its own 127.x address, so mailsim's
# per-source counters show which route every connection took and that each
# (source, MX) pair stayed within --per-mx. Also: a pool with a dead proxy,
# a pool of dead proxies, a rejected login, --per-proxy. Runs inside a
# private network namespace (the proxies too): nothing leaves loopback.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish proxy; exit 1; }
for p in microsocks danted; do
    command -v $p >/dev/null || { bad "$p is not installed (sh scripts/deps.sh)"; finish proxy; exit 1; }
done

T=$(mktemp -d)
PIDS=
cleanup() {
    for p in $PIDS $SIMPID; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

# ---- the world: six domains on one slow MX (parallel sessions), one per verdict
{
    echo "host mx.hub.net 127.1.0.1"
    echo "  latency 150"
    echo "  starttls offer"
    for d in a b c d e f; do
        printf 'domain %s.net\n  mx 10 mx.hub.net\n  mailbox u\n' $d
    done
    cat <<'EOF'
host mx.edge.net 127.1.0.2
  style gmail
domain edge.net
  mx 10 mx.edge.net
  mailbox alice
  full carol
  disabled dave
host mx.catch.net 127.1.0.3
domain catch.net
  mx 10 mx.catch.net
  catch-all
host mx.dead.net 127.255.0.1 dead
domain dead.net
  mx 10 mx.dead.net
host mx.backup.net 127.1.0.4
domain fallback.net
  mx 5 mx.dead.net
  mx 10 mx.backup.net
  mailbox fred
host mx.block.net 127.1.0.5
  block rcpt 550 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org
domain block.net
  mx 10 mx.block.net
host mx.tarpit.net 127.1.0.6
  tarpit
domain tarpit.net
  mx 10 mx.tarpit.net
domain gone.net
  dns nxdomain
EOF
} > "$T/world.txt"
ADDRS="u@a.net u@b.net u@c.net u@d.net u@e.net u@f.net alice@edge.net nobody@edge.net
carol@edge.net dave@edge.net anyone@catch.net x@dead.net fred@fallback.net b@block.net
t@tarpit.net a@gone.net"

# ---- the proxies, each with its own outgoing source address
start() { "$@" >>"$T/proxies.log" 2>&1 & PIDS="$PIDS $!"; }
start microsocks -i 127.0.0.4 -p 1080 -b 127.0.0.5
start microsocks -i 127.0.0.6 -p 1080 -b 127.0.0.7 -u alice -P 's3cr3t:@x'
cat > "$T/danted.conf" <<EOF
logoutput: $T/danted.log
internal: 127.0.0.8 port = 1080
external: 127.0.0.9
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
    from: 127.0.0.0/8 to: 0.0.0.0/0
}
socks pass {
    from: 127.0.0.0/8 to: 0.0.0.0/0
    command: connect
}
EOF
start danted -f "$T/danted.conf" -p "$T/danted.pid" -N 1
for ip in 127.0.0.4 127.0.0.6 127.0.0.8; do
    wait_port $ip 1080 || bad "no proxy listening on $ip:1080: $(cat "$T/proxies.log")"
done
PLAIN=socks5://127.0.0.4:1080
LOGIN='socks5://alice:s3cr3t%3A%40x@127.0.0.6:1080'
DANTE=socks5://127.0.0.8:1080
DEAD1=socks5://127.0.0.1:9
DEAD2=socks5://127.0.0.1:11

# ---- helpers
# run NAME [OPTIONS...]: fresh mailsim (fresh counters), then check every
# address; NAME.json, NAME.err, NAME.rc and NAME.counters in $T
run() {
    n=$1
    shift
    sim_start "$T/world.txt" "$T" --counters "$T/$n.counters" || { bad "mailsim did not start"; return; }
    # shellcheck disable=SC2086
    "$MAILVET" check --json --dns 127.0.0.1 --allow-private-mx --smtp-port 25 \
        --helo verifier.example.net --connect-timeout 2 --command-timeout 2 --retry-schedule 1 \
        "$@" $ADDRS > "$T/$n.json" 2> "$T/$n.err"
    echo $? > "$T/$n.rc"
    sim_counters "$T/$n.counters"
}

# verdicts FILE: "input status reason accept_all mx smtp_code", one a line, sorted
verdicts() {
    sed -E 's/^\{"input":"([^"]*)".*"status":"([^"]*)","reason":"([^"]*)".*"accept_all":([a-z]*),"mx":("[^"]*"|null),"smtp_code":([0-9]+|null).*/\1 \2 \3 \4 \5 \6/' "$1" | sort
}

same_verdicts() {
    if [ "$(verdicts "$T/$1.json")" = "$(verdicts "$T/direct.json")" ] && [ -s "$T/$1.json" ]; then
        ok
    else
        bad "$1: verdicts differ from the direct run:"
        verdicts "$T/direct.json" > "$T/a.txt"
        verdicts "$T/$1.json" > "$T/b.txt"
        diff "$T/a.txt" "$T/b.txt" | head -20
        head -5 "$T/$1.err"
    fi
}

exit_code() {
    [ "$(cat "$T/$1.rc")" = "$2" ] && ok || bad "$1: exit $(cat "$T/$1.rc"), want $2: $(head -5 "$T/$1.err")"
}

# per_source NAME SOURCE FIELD: FIELD over SOURCE's hosts ("connections": sum,
# "conn_peak": highest), from the "sources" section of NAME's counters
per_source() {
    grep "^\"$2\":{" "$T/$1.counters" | grep -o "\"$3\":[0-9]*" | cut -d: -f2 |
        awk -v f="$3" '{ if (f == "conn_peak") { if ($1 > m) m = $1 } else m += $1 } END { print m + 0 }'
}

# pair NAME SOURCE HOST FIELD: one (source, host) counter (0 when none)
pair() {
    v=$(grep "^\"$2\":{" "$T/$1.counters" | grep -o "\"$3\":{[^}]*}" | grep -o "\"$4\":[0-9]*" | cut -d: -f2)
    echo "${v:-0}"
}

# through NAME SOURCE: the connections came from SOURCE only, and its peak
# at the shared MX was within --per-mx 2
through() {
    c=$(per_source "$1" "$2" connections)
    [ "$c" -gt 0 ] && ok || bad "$1: no connection from $2: $(tail -5 "$T/$1.counters")"
    others=$(grep -c '^"127\.[0-9.]*":{' "$T/$1.counters")
    [ "$others" -eq 1 ] && ok || bad "$1: connections from other sources than $2: $(tail -5 "$T/$1.counters")"
    peak=$(pair "$1" "$2" mx.hub.net conn_peak)
    [ "$peak" -ge 1 ] && [ "$peak" -le 2 ] && ok || bad "$1: peak at mx.hub.net from $2 is $peak (--per-mx 2)"
}

# ---- direct: the reference verdicts
run direct --per-mx 2
exit_code direct 0
O=$T/direct.json
expect_field "$O" u@a.net reason '"accepted"'
expect_field "$O" nobody@edge.net reason '"mailbox_not_found"'
expect_field "$O" carol@edge.net reason '"mailbox_full"'
expect_field "$O" dave@edge.net reason '"mailbox_disabled"'
expect_field "$O" anyone@catch.net reason '"accept_all"'
expect_field "$O" x@dead.net reason '"no_connect"'
expect_field "$O" fred@fallback.net mx '"mx.backup.net"'
expect_field "$O" b@block.net reason '"blocked"'
expect_field "$O" t@tarpit.net reason '"timeout"'
expect_field "$O" a@gone.net reason '"invalid_domain"'
[ "$(verdicts "$O" | wc -l)" -eq 16 ] && ok || bad "direct: want 16 verdicts: $(cat "$T/direct.err")"
through direct 127.0.0.1

# ---- through each proxy: the same verdicts, every connection from the proxy
run plain --per-mx 2 --proxy "$PLAIN"
exit_code plain 0
same_verdicts plain
through plain 127.0.0.5

run login --per-mx 2 --proxy "$LOGIN"
exit_code login 0
same_verdicts login
through login 127.0.0.7
grep -q 's3cr3t' "$T/login.err" && bad "login: the password shows on stderr" || ok

run dante --per-mx 2 --proxy "$DANTE"
exit_code dante 0
same_verdicts dante
through dante 127.0.0.9

# ---- a pool with a dead proxy: every verdict still, the failure on stderr
run pool --per-mx 2 --proxy "$DEAD1,$PLAIN"
exit_code pool 0
same_verdicts pool
grep -q "proxy $DEAD1: connection refused" "$T/pool.err" && ok \
    || bad "pool: the dead proxy is not reported: $(cat "$T/pool.err")"
through pool 127.0.0.5

# ---- only dead proxies: exit 1, every route named, no verdict made up
run deadpool --proxy "$DEAD1,$DEAD2"
exit_code deadpool 1
[ -s "$T/deadpool.json" ] && bad "deadpool: verdicts printed: $(head -3 "$T/deadpool.json")" || ok
grep -q "every route failed" "$T/deadpool.err" && grep -q "proxy $DEAD1: connection refused" "$T/deadpool.err" \
    && grep -q "proxy $DEAD2: connection refused" "$T/deadpool.err" && ok \
    || bad "deadpool: unclear message: $(cat "$T/deadpool.err")"
[ "$(per_source deadpool 127.0.0.1 connections)" -eq 0 ] && ok || bad "deadpool: went direct instead"

# ---- a rejected login is the route's failure, not a verdict
run wrong --proxy 'socks5://alice:wrong@127.0.0.6:1080'
exit_code wrong 1
[ -s "$T/wrong.json" ] && bad "wrong: verdicts printed: $(head -3 "$T/wrong.json")" || ok
grep -q "proxy socks5://alice@127.0.0.6:1080: authentication rejected" "$T/wrong.err" && ok \
    || bad "wrong: no 'authentication rejected': $(cat "$T/wrong.err")"
grep -q "wrong" "$T/wrong.err" && bad "wrong: the password shows on stderr" || ok

# ---- --bind: both source addresses used, each within --per-mx
run bind --per-mx 2 --bind 127.0.0.2,127.0.0.3
exit_code bind 0
same_verdicts bind
for src in 127.0.0.2 127.0.0.3; do
    [ "$(per_source bind $src connections)" -gt 0 ] && ok || bad "bind: $src unused: $(tail -4 "$T/bind.counters")"
    peak=$(pair bind $src mx.hub.net conn_peak)
    [ "$peak" -le 2 ] && ok || bad "bind: peak at mx.hub.net from $src is $peak (--per-mx 2)"
done
[ "$(per_source bind 127.0.0.1 connections)" -eq 0 ] && ok || bad "bind: connections from 127.0.0.1"

# ---- --per-proxy: one session at a time through the proxy; without it,
# the same run goes wider (so the cap is what held it)
run wide --per-mx 5 --proxy "$PLAIN"
peak=$(pair wide 127.0.0.5 mx.hub.net conn_peak)
[ "$peak" -ge 3 ] && ok || bad "wide: peak at mx.hub.net is $peak, want >= 3 (the test needs parallel sessions)"
run capped --per-mx 5 --per-proxy 1 --proxy "$PLAIN"
exit_code capped 0
same_verdicts capped
peak=$(per_source capped 127.0.0.5 conn_peak)
[ "$peak" -eq 1 ] && ok || bad "capped: peak from the proxy is $peak with --per-proxy 1"

finish proxy
