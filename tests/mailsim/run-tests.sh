#!/bin/bash
# run-tests.sh — mailsim's own tests: every DNS and SMTP behaviour of the
# world file proved with real clients (dig, a c-ares client, swaks, and
# raw SMTP dialogs over bash's /dev/tcp), plus gen, ideal, the demo world
# and a load check. Runs itself inside a private network namespace
# (unshare -n); nothing leaves loopback. Ends with "mailsim: N passed, M failed".
#
# env: MAILSIM_BIN   binary under test (default: mailsim-asan if built, else mailsim)
#      MAILSIM_LOAD  0 to skip the load checks (default 1)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FAST=$HERE/mailsim
BIN=${MAILSIM_BIN:-$HERE/mailsim-asan}
[ -x "$BIN" ] || BIN=$FAST
PORT=2525
DNS=127.0.0.1:5353

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | head -25 | sed 's/^/    | /'
    return 0
}
# expect NAME OUTPUT REGEX: OUTPUT matches the extended regex
expect() { if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else bad "$1" "$2"; fi; }
expect_not() { if printf '%s\n' "$2" | grep -Eq -- "$3"; then bad "$1" "$2"; else ok "$1"; fi; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

if [ "${MAILSIM_IN_NS:-}" != 1 ]; then
    # --- outside the namespace: the guard must refuse to start -----------
    if [ ! -x "$FAST" ]; then echo "mailsim: build tests/mailsim/mailsim first"; echo "mailsim: 0 passed, 1 failed"; exit 1; fi
    if [ "$(ls /sys/class/net | wc -l)" -gt 1 ]; then
        out=$(timeout 5 "$FAST" serve --world "$HERE/t/world.txt" --dns 127.0.0.1:5399 --smtp-port 2599 2>&1)
        rc=$?
        if [ $rc = 2 ] && printf '%s' "$out" | grep -q "refusing to start"; then
            pre_pass=1; pre_fail=0; echo "ok - serve refuses to start outside a private namespace"
        else
            pre_pass=0; pre_fail=1; echo "FAIL - serve refuses to start outside a private namespace (rc=$rc)"
        fi
    else
        pre_pass=0; pre_fail=0; echo "skip - namespace guard (this host has only lo)"
    fi
    exec unshare -n env MAILSIM_IN_NS=1 PRE_PASS=$pre_pass PRE_FAIL=$pre_fail bash "$0" "$@"
fi
pass=${PRE_PASS:-0}
fail=${PRE_FAIL:-0}
ip link set lo up

T=$(mktemp -d /tmp/mailsim-test.XXXXXX)
SIM=
cleanup() {
    [ -n "$SIM" ] && kill "$SIM" 2>/dev/null && wait "$SIM" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1

start_sim() { # start_sim WORLD [binary] [extra serve options...]
    local world=$1 bin=${2:-$BIN}
    shift; [ $# -gt 0 ] && shift
    rm -f "$T/ready"
    "$bin" serve --world "$world" --dns $DNS --smtp-port $PORT --ready-file "$T/ready" \
        --counters "$T/counters.json" "$@" 2>>"$T/sim.log" &
    SIM=$!
    for _ in $(seq 100); do [ -f "$T/ready" ] && return 0; sleep 0.1; done
    echo "mailsim did not become ready:"; cat "$T/sim.log"; return 1
}
stop_sim() { kill "$SIM" 2>/dev/null; wait "$SIM" 2>/dev/null; SIM=; }
dump() { rm -f "$T/counters.json"; kill -USR1 "$SIM"; for _ in $(seq 50); do [ -f "$T/counters.json" ] && return; sleep 0.05; done; }
# counter HOST|total FIELD   (after dump)
counter() {
    grep -F "\"$1\":{" "$T/counters.json" 2>/dev/null | head -1 | sed "s/^.*\"$1\":{//" |
        grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2
}
D() { dig +time=2 +tries=1 @127.0.0.1 -p 5353 "$@" 2>&1; }

# read_reply FD: prints one (multi-line) reply; TIMEOUT-OR-EOF if none
read_reply() {
    local line
    while IFS= read -r -t "${RT:-5}" line <&"$1"; do
        line=${line%$'\r'}
        printf '%s\n' "$line"
        [ "${line:3:1}" = "-" ] || return 0
    done
    echo "TIMEOUT-OR-EOF"
}
# smtp IP [COMMAND...]: a raw dialog, one command after each reply
smtp() {
    local ip=$1 fd
    shift
    if ! exec {fd}<>"/dev/tcp/$ip/$PORT"; then echo "CONNECT-FAILED"; return; fi 2>/dev/null
    read_reply $fd
    local c
    for c in "$@"; do
        printf '%s\r\n' "$c" >&$fd 2>/dev/null
        read_reply $fd
    done
    exec {fd}>&-
}
SW() { swaks --server "$1" --port $PORT --from verify@checker.org --quit-after RCPT --timeout 10 "${@:2}" 2>&1; }

echo "# building the c-ares client"
if cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$T/ares_mx" "$HERE/t/ares_mx.c" -lcares 2>"$T/cc.log"; then
    ok "c-ares test client builds"
else
    bad "c-ares test client builds" "$(cat "$T/cc.log")"
fi
ARES() { "$T/ares_mx" "$DNS" "$@" 2>&1; }

# ---------------------------------------------------------------- world file
echo "# world file"
printf 'host a.example.com 127.1.0.1\n  latency abc\n' >"$T/bad.txt"
out=$("$FAST" serve --world "$T/bad.txt" --i-know-this-is-not-a-namespace 2>&1)
expect "a bad world file is reported with FILE:LINE" "$out" "bad.txt:2: expected a non-negative integer"
printf 'domain x.com\n  frobnicate\n' >"$T/bad2.txt"
out=$("$FAST" serve --world "$T/bad2.txt" 2>&1)
expect "an unknown keyword is reported" "$out" "bad2.txt:2: unknown domain keyword: frobnicate"

start_sim "$HERE/t/world.txt" || exit 1

# ---------------------------------------------------------------- DNS
echo "# DNS over UDP and TCP (dig and c-ares)"
out=$(D +short bigmail0.com MX)
expect "MX records with preferences" "$out" "^10 mx1.bigmail0.com.$"
expect "MX second preference" "$out" "^20 mx2.bigmail0.com.$"
expect "A record of an MX host" "$(D +short mx1.bigmail0.com A)" "^127.1.0.1$"
expect "AAAA record" "$(D +short aonly.net AAAA)" "^::1$"
expect "A-only domain has no MX (NODATA)" "$(D aonly.net MX)" "status: NOERROR.*|ANSWER: 0"
out=$(D alias-mail.com MX)
expect "CNAME is answered with the target's records" "$out" "alias-mail.com.*CNAME.*bigmail0.com"
expect "CNAME chain carries the MX" "$out" "^bigmail0.com.*MX.*10 mx1.bigmail0.com"
expect "unknown name is NXDOMAIN" "$(D nosuchdomain.com MX)" "status: NXDOMAIN"
expect "dns nxdomain is NXDOMAIN" "$(D nxdomain.com MX)" "status: NXDOMAIN"
out=$(D bare.org MX)
expect "an empty name answers NODATA" "$out" "status: NOERROR.*"
expect "NODATA has no answer" "$out" "ANSWER: 0"
expect "null MX is MX 0 ." "$(D nullmx.com MX)" "nullmx.com.[[:space:]]+300[[:space:]]+IN[[:space:]]+MX[[:space:]]+0 \.$"
expect "SERVFAIL" "$(D servfail.com MX)" "status: SERVFAIL"
t0=$(now_ms); out=$(D +short slowdns.com MX); t1=$(now_ms)
if [ $((t1 - t0)) -ge 650 ] && printf '%s' "$out" | grep -q "mx.slow.org"; then ok "a delayed answer arrives after its delay ($((t1 - t0)) ms)"; else bad "delayed answer" "$out $((t1 - t0)) ms"; fi
expect "a dropped query gets no answer" "$(D dropdns.com MX)" "timed out|no servers could be reached"
expect "dns truncate sets TC over UDP" "$(D +ignore +notcp big.com MX)" "flags: qr aa tc"
expect "dig retries a truncated answer over TCP" "$(D big.com MX)" "^big.com.*MX.*10 mx1.bigmail0.com"
expect "queries over TCP" "$(D +tcp +short bigmail0.com MX)" "^10 mx1.bigmail0.com.$"
expect "names are case-insensitive" "$(D +short BigMail0.COM MX)" "^10 mx1.bigmail0.com.$"
out=$(ARES bigmail0.com mx)
expect "c-ares: MX" "$out" "^10 mx1.bigmail0.com$"
expect "c-ares: null MX" "$(ARES nullmx.com mx)" "^0 \.$"
expect "c-ares: NXDOMAIN" "$(ARES nxdomain.com mx)" "ERROR.*(not find|NOTFOUND|Domain name not found)"
expect "c-ares: NODATA" "$(ARES bare.org mx)" "ERROR.*(no data|NODATA|DNS server returned answer with no data)"
expect "c-ares: SERVFAIL" "$(ARES servfail.com mx)" "ERROR.*(SERVFAIL|server failure|Server failed|Could not contact DNS servers)"
expect "c-ares: A of an MX host" "$(ARES mx.grey.net a)" "^127.1.0.4$"
expect "c-ares: AAAA" "$(ARES aonly.net aaaa)" "^::1$"
expect "c-ares: truncated answer retried over TCP" "$(ARES big.com mx)" "^10 mx1.bigmail0.com$"
dump
n=$(counter dns tcp_queries)
if [ "${n:-0}" -ge 2 ]; then ok "DNS counters count TCP queries ($n)"; else bad "DNS counters count TCP queries" "$(cat "$T/counters.json")"; fi
n=$(grep -o '"dropped":[0-9]*' "$T/counters.json" | cut -d: -f2)
if [ "${n:-0}" -ge 1 ]; then ok "DNS counters count dropped queries"; else bad "dropped counter" "$(cat "$T/counters.json")"; fi

# ---------------------------------------------------------------- SMTP
echo "# SMTP: mailboxes and replies"
out=$(SW 127.1.0.1 --to alice@bigmail0.com)
expect "swaks: existing mailbox is accepted" "$out" "<-  250 2.1.5 OK"
expect "the dialled host is learned from the local address" "$out" "<-  220 mx1.bigmail0.com ESMTP"
out=$(SW 127.1.0.1 --to nobody@bigmail0.com)
expect "unknown mailbox: provider-style multi-line 550 5.1.1" "$out" "550-5.1.1 The email account"
expect "multi-line reply ends with a final line" "$out" "550 5.1.1  https://support.google.com"
expect "full mailbox: 452 4.2.2" "$(SW 127.1.0.1 --to carol@bigmail0.com)" "<~?\*\* 452.4.2.2"
expect "disabled mailbox: 550 5.2.1" "$(SW 127.1.0.1 --to dave@bigmail0.com)" "<\*\* 550.5.2.1"
expect "the secondary MX knows the same mailboxes" "$(SW 127.1.0.2 --to bob@bigmail0.com)" "<-  250 2.1.5"
expect "a CNAME'd domain is served by its target's MX" "$(SW 127.1.0.1 --to alice@alias-mail.com)" "<-  250 2.1.5"
expect "catch-all accepts anything" "$(SW 127.1.0.3 --to zq8x7w@catchall.com)" "<-  250 2.1.5"
expect "a domain the host does not serve: relay denied" "$(SW 127.1.0.3 --to alice@bigmail0.com)" "<\*\* 554 5.7.1 .*Relay access denied"
expect "outlook-style unknown mailbox" "$(SW 127.1.0.16 --to nobody@outlook.com)" "550 5.5.0 Requested action not taken: mailbox unavailable"
expect "outlook-style existing mailbox" "$(SW 127.1.0.16 --to olivia@outlook.com)" "250 2.1.5 Recipient OK"
out=$(swaks --server ::1 --port $PORT --from v@checker.org --to andy@aonly.net --quit-after RCPT 2>&1)
expect "::1 is served (AAAA worlds)" "$out" "<-  250 2.1.5"
expect "::1 is learned as its host" "$out" "220 aonly.net ESMTP"
expect "an A-only domain is served by its implicit MX" "$(SW 127.1.0.18 --to andy@aonly.net)" "<-  250 2.1.5"
expect "a host with two addresses answers on both" "$(SW 127.1.0.20 --to max@multi.com)" "<-  250 2.1.5"
out=$(smtp 127.1.0.3 "EHLO c.org" "MAIL FROM:<a@c.org>" "RCPT TO:<x@catchall.com>" "DATA" "VRFY x" "QUIT")
expect "DATA is refused" "$out" "^502 5.5.1 Error: mailsim refuses DATA"
expect "QUIT says bye" "$out" "^221 2.0.0 Bye"
out=$(smtp 127.1.0.3 "RCPT TO:<x@catchall.com>" "MAIL FROM:<a@c.org>" "EHLO c.org" "RCPT TO:<x@catchall.com>")
expect "commands out of order get 503" "$out" "^503 5.5.1 Error: need MAIL command"
expect "MAIL before EHLO gets 503" "$out" "^503 5.5.1 Error: send HELO/EHLO first"
long=$(head -c 3000 /dev/zero | tr '\0' a)
out=$(smtp 127.1.0.3 "EHLO $long" "NOOP")
expect "an over-long command line gets 500" "$out" "^500 5.5.2 Error: line too long"
expect "the session continues after an over-long line" "$out" "^250 2.0.0 Ok"

echo "# SMTP: greylisting"
out=$(smtp 127.1.0.4 "EHLO c.org" "MAIL FROM:<a@c.org>" "RCPT TO:<ann@grey.net>" "RCPT TO:<nobody@grey.net>")
expect "greylisting: first attempt 450 4.2.0 (postgrey text)" "$out" "^450 4.2.0 <ann@grey.net>: Recipient address rejected: Greylisted"
expect "greylisting: an unknown mailbox is still 550" "$out" "^550 5.1.1 <nobody@grey.net>"
out=$(smtp 127.1.0.4 "EHLO c.org" "MAIL FROM:<a@c.org>" "RCPT TO:<ann@grey.net>")
expect "greylisting: a retry before the delay is still 450" "$out" "^450 4.2.0"
sleep 2.1
out=$(smtp 127.1.0.4 "EHLO c.org" "MAIL FROM:<a@c.org>" "RCPT TO:<ann@grey.net>" "RSET" "MAIL FROM:<other@c.org>" "RCPT TO:<ann@grey.net>")
expect "greylisting: accepted once the delay has passed" "$out" "^250 2.1.5 Ok"
expect "greylisting: per sender+recipient (another sender waits)" "$out" "^450 4.2.0"
out=$(smtp 127.1.0.17 "EHLO c.org" "MAIL FROM:<a@c.org>" "RCPT TO:<gus@grey451.net>")
expect "greylisting 451 names the seconds to wait" "$out" "^451 4.7.1 .*try again in (29|30) seconds"
dump
expect "greylist hits are counted" "$(counter mx.grey.net greylist_hits)" "^3$"

echo "# SMTP: latency, caps, politeness"
t0=$(now_ms); out=$(smtp 127.1.0.5 "EHLO c.org" "MAIL FROM:<a@c.org>" "RCPT TO:<sam@slow.org>" "QUIT"); t1=$(now_ms)
if [ $((t1 - t0)) -ge 1450 ] && printf '%s' "$out" | grep -q "^250 2.1.5"; then ok "reply latency: 5 replies x 300 ms ($((t1 - t0)) ms)"; else bad "reply latency" "$out $((t1 - t0))"; fi
exec {c1}<>/dev/tcp/127.1.0.1/$PORT; exec {c2}<>/dev/tcp/127.1.0.1/$PORT; exec {c3}<>/dev/tcp/127.1.0.1/$PORT
b="$(read_reply $c1)$(read_reply $c2)$(read_reply $c3)"
out=$(smtp 127.1.0.1 "EHLO c.org")
expect "connection cap: 3 connections are served" "$b" "^220 .*220 .*220 "
expect "connection cap: the 4th gets 421" "$out" "^421-4.7.0 Try again later, closing connection"
expect "connection cap: the 421 connection is closed" "$out" "TIMEOUT-OR-EOF"
exec {c1}>&- {c2}>&- {c3}>&-
sleep 0.2
expect "connection cap: a slot frees when a connection ends" "$(smtp 127.1.0.1 "QUIT")" "^220 mx1"
dump
expect "counters: 421s sent" "$(counter mx1.bigmail0.com sent_421)" "^1$"
expect "counters: peak simultaneous connections" "$(counter mx1.bigmail0.com conn_peak)" "^4$"
o1=$(smtp 127.1.0.6 "QUIT"); o2=$(smtp 127.1.0.6 "QUIT"); o3=$(smtp 127.1.0.6 "QUIT")
expect "connections per minute: within the cap" "$(printf '%s\n%s\n' "$o1" "$o2" | grep -c '^220 mx.rate.com')" "^2$"
expect "connections per minute: beyond it 421" "$o3" "^421 4.7.0 mx.rate.com Error: too much connection rate"
dump
expect "counters: 421s for the rate cap" "$(counter mx.rate.com sent_421_rate)" "^1$"
out=$(smtp 127.1.0.1 "EHLO c.org" "MAIL FROM:<a@c.org>" "RCPT TO:<alice@bigmail0.com>" "RCPT TO:<bob@bigmail0.com>" "RCPT TO:<x@bigmail0.com>" "RCPT TO:<alice@bigmail0.com>")
expect "recipients per session: beyond the cap 452 4.5.3" "$out" "^452-4.5.3 Your message has too many recipients"
expect "recipients per session: up to the cap answered" "$(printf '%s\n' "$out" | grep -c '^250 2.1.5')" "^2$"
out=$(smtp 127.1.0.3 "EHLO c.org")
expect "PIPELINING is advertised by default" "$out" "^250-PIPELINING"
out=$(swaks --server 127.1.0.3 --port $PORT --from a@c.org --to a@catchall.com,b@catchall.com --pipeline --quit-after RCPT 2>&1)
expect "pipelined commands are answered in order" "$out" "250 2.1.5 Ok"
expect_not "pipelining: no errors" "$out" "<\*\*"
out=$(smtp 127.1.0.8 "EHLO c.org")
expect "pipelining off: not advertised" "$(printf '%s\n' "$out" | grep -c PIPELINING)" "^0$"

echo "# SMTP: STARTTLS"
expect "STARTTLS offered is advertised" "$out" "^250-STARTTLS"
out=$(smtp 127.1.0.7 "EHLO c.org" "MAIL FROM:<a@c.org>")
expect "STARTTLS required: MAIL without TLS gets 530" "$out" "^530 5.7.0 Must issue a STARTTLS command first"
out=$(SW 127.1.0.7 --to tom@tls.com --tls)
expect "STARTTLS required: swaks with TLS is accepted" "$out" "<~  250 2.1.5"
expect "STARTTLS: TLS is really negotiated" "$out" "TLS started"
expect "STARTTLS offered: swaks --tls works" "$(SW 127.1.0.8 --to olga@offer.com --tls)" " ~> RCPT TO:<olga@offer.com>"
out=$(echo QUIT | timeout 10 openssl s_client -connect 127.1.0.7:$PORT -starttls smtp -brief 2>&1)
expect "STARTTLS: openssl sees the self-signed certificate" "$out" "CN ?= ?mailsim"
dump
n=$(counter mx.tls.com tls_handshakes)
if [ "${n:-0}" -ge 2 ]; then ok "counters: TLS handshakes ($n)"; else bad "counters: TLS handshakes" "$(cat "$T/counters.json")"; fi

echo "# SMTP: hostile and broken servers"
t0=$(now_ms); out=$(RT=2 smtp 127.1.0.9); t1=$(now_ms)
expect "tarpit: no banner within 2 s" "$out" "^TIMEOUT-OR-EOF$"
out=$(smtp 127.1.0.10 "EHLO c.org" "MAIL FROM:<a@c.org>" "QUIT")
expect "554 banner" "$out" "^554 5.7.1 mx.banned.com ESMTP not accepting messages"
expect "after a 554 banner commands get 503" "$out" "^503 5.5.1 Error: access denied"
expect "after a 554 banner QUIT still works" "$out" "^221 "
out=$(SW 127.1.0.11 --to sue@spamhaus.com)
expect "5.7.1 policy block with a blocklist text" "$out" "550 5.7.1 Service unavailable; Client host \[127.0.0.1\] blocked using zen.spamhaus.org"
out=$(smtp 127.1.0.12 "EHLO c.org" "MAIL FROM:<a@c.org>" "RCPT TO:<dan@drop.com>" "NOOP")
expect "drop: the connection is dropped at RCPT without a reply" "$out" "^250 2.1.0 Ok
TIMEOUT-OR-EOF"
expect "garbage: a non-SMTP banner" "$(smtp 127.1.0.13 | od -c | head -3)" "026 003 001"
out=$(smtp 127.1.0.14 "EHLO c.org")
len=$(printf '%s\n' "$out" | awk '{ if (length($0) > m) m = length($0) } END { print m }')
if [ "$len" -gt 4000 ]; then ok "over-long line in the EHLO reply ($len chars)"; else bad "over-long line" "$len"; fi
expect "the real EHLO reply follows the long line" "$out" "^250 SMTPUTF8"
t0=$(now_ms)
out=$(smtp 127.1.0.21 "EHLO c.org" "MAIL FROM:<a@c.org>" "RCPT TO:<tia@tarpitex.com>" "RCPT TO:<x@tarpitex.com>" \
      "RCPT TO:<tia@tarpitex.com>" "RCPT TO:<y@tarpitex.com>" "QUIT")
t1=$(now_ms)
expect "rcpt-tarpit: the refusals still come" "$(printf '%s\n' "$out" | grep -c '^550 5.1.1')" "^2$"
if [ $((t1 - t0)) -ge 1100 ] && [ $((t1 - t0)) -lt 3000 ]; then ok "rcpt-tarpit: refusals held 400 + 700 ms, acceptances not ($((t1 - t0)) ms)"; else bad "rcpt-tarpit: held" "$((t1 - t0)) ms"; fi
t0=$(now_ms); out=$(smtp 127.1.0.21 "EHLO c.org" "MAIL FROM:<a@c.org>" "RCPT TO:<z@tarpitex.com>" "QUIT"); t1=$(now_ms)
if [ $((t1 - t0)) -ge 400 ] && [ $((t1 - t0)) -lt 700 ]; then ok "rcpt-tarpit: a new session starts from 400 ms again ($((t1 - t0)) ms)"; else bad "rcpt-tarpit: per session" "$((t1 - t0)) ms"; fi
t0=$(now_ms); out=$(smtp 127.1.0.15 "EHLO c.org" "QUIT"); t1=$(now_ms)
chars=$(printf '%s' "$out" | wc -c)
if [ $((t1 - t0)) -ge $((chars * 2)) ] && printf '%s' "$out" | grep -q "^221"; then ok "drip: replies arrive a byte at a time ($chars bytes in $((t1 - t0)) ms)"; else bad "drip" "$out $((t1 - t0)) ms"; fi
t0=$(now_ms); out=$(smtp 127.255.0.1); t1=$(now_ms)
if [ "$out" = CONNECT-FAILED ] && [ $((t1 - t0)) -lt 1000 ]; then ok "dead host: connection fails at once"; else bad "dead host" "$out"; fi
expect "dead host: no route to host" "$(swaks --server 127.255.0.1 --port $PORT --to a@dead.com 2>&1)" "No route to host|unreachable|Connection refused"

echo "# counters"
for src in 127.0.0.2 127.0.0.2 127.0.0.3; do
    swaks --server 127.1.0.3 --port $PORT --local-interface $src --from a@c.org --to x@catchall.com \
        --quit-after RCPT >/dev/null 2>&1
done
dump
expect "counters per source: connections and peak of one (source, host)" \
    "$(grep '^"127.0.0.2":{' "$T/counters.json")" '^"127.0.0.2":\{"mx.catchall.com":\{"connections":2,"conn_peak":1\}\},$'
expect "counters per source: another source apart" \
    "$(grep '^"127.0.0.3":{' "$T/counters.json")" '^"127.0.0.3":\{"mx.catchall.com":\{"connections":1,"conn_peak":1\}\}'
expect "counters per source: overflow is zero" "$(grep -o '"sources_overflow":[0-9]*' "$T/counters.json")" ':0$'
expect "counters file is JSON with totals" "$(head -c 200 "$T/counters.json")" '^\{"dns":\{"queries":[0-9]+'
expect "counters count commands" "$(counter total commands)" "^[1-9][0-9]+$"
expect "counters count tarpitted connections" "$(counter mx.tarpit.com tarpitted)" "^1$"
expect "counters count held refusals" "$(counter mx.tarpitex.com rcpt_tarpitted)" "^3$"
expect "counters count drops" "$(counter mx.drop.com drops)" "^1$"
expect "counters count DATA/VRFY attempts" "$(counter mx.catchall.com data_attempts)" "^2$"
stop_sim
expect "counters are written at exit" "$(cat "$T/counters.json" 2>&1)" '"total":\{"connections":[1-9]'

echo "# connection log"
start_sim "$HERE/t/world.txt" "$BIN" --conn-log "$T/conns.log" || exit 1
smtp 127.1.0.5 "EHLO checker.org" "QUIT" >/dev/null   # mx.slow.org: 300 ms a reply
stop_sim
line=$(grep '^mx.slow.org ' "$T/conns.log")
expect "conn-log: one line a connection, its host and replies (banner, EHLO, QUIT)" "$line" \
    '^mx\.slow\.org [0-9]+\.[0-9]{6} [0-9]+\.[0-9]{6} 3$'
expect "conn-log: the connection lasted its three 300 ms replies" \
    "$(printf '%s\n' "$line" | awk '{ d = $3 - $2; print (d >= 0.9 && d < 5) ? "ok" : "bad " d }')" '^ok$'

if [ "$(type -t extra_tests)" = function ]; then extra_tests; fi
[ -f "$HERE/t/more-tests.sh" ] && . "$HERE/t/more-tests.sh"
[ -f "$HERE/t/hostile-tests.sh" ] && . "$HERE/t/hostile-tests.sh"

echo "# sanitizers"
if grep -Eq "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$T/sim.log"; then
    bad "no sanitizer reports from mailsim" "$(grep -E -A5 "AddressSanitizer|runtime error" "$T/sim.log")"
else
    ok "no sanitizer reports from mailsim ($(basename "$BIN"))"
fi

echo "mailsim: $pass passed, $fail failed"
[ "$fail" = 0 ]
