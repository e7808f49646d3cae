#!/bin/sh
# doctor.sh BUILD_DIR — `mailvet doctor` inside a private network namespace:
# dnsmasq (127.0.0.1:53) serves the HELO names with their A and PTR records,
# the --from domains with and without MX and SPF, and the --target domains'
# MX; mailsim (its own DNS moved to 127.0.0.1:5353, unused) plays the SMTP
# servers on port 25: a good one, a dead address, a tarpit, one whose banner
# refuses us and one that rejects EHLO. Loopback addresses count as this
# host's (--allow-private-mx). Ends with "doctor: N passed, M failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
PATH=$PATH:/usr/sbin:/sbin

command -v dnsmasq >/dev/null || { echo "doctor: dnsmasq is not installed (make deps)"; bad dnsmasq; finish doctor; exit 1; }
[ -x "$SIM" ] || { echo "doctor: $SIM not built"; bad mailsim; finish doctor; exit 1; }

T=$(mktemp -d /tmp/mailvet-doctor.XXXXXX)
cleanup() {
    [ -n "$SIMPID" ] && kill "$SIMPID" 2>/dev/null && wait "$SIMPID" 2>/dev/null
    [ -s "$T/dnsmasq.pid" ] && kill "$(cat "$T/dnsmasq.pid")" 2>/dev/null
    rm -rf "$T"
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT INT TERM
# this host's addresses besides 127.0.0.1 (127.0.0.77 stays someone else's)
for ip in 127.0.0.2 127.0.0.3 127.0.0.4; do ip addr add $ip/8 dev lo 2>/dev/null; done

cat >"$T/dnsmasq.conf" <<CONF
port=53
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
user=root
pid-file=$T/dnsmasq.pid
local=/test/
local=/127.in-addr.arpa/
local=/ip6.arpa/
# HELO names. good: A and PTR agree (host-record makes both)
host-record=good.doctor.test,127.0.0.1
# mismatch: A 127.0.0.2, whose PTR names other.doctor.test (which resolves back)
address=/mismatch.doctor.test/127.0.0.2
host-record=other.doctor.test,127.0.0.2
# nofc: A 127.0.0.3, whose PTR names a name without address
address=/nofc.doctor.test/127.0.0.3
ptr-record=3.0.0.127.in-addr.arpa,ghost.doctor.test
# noptr: A 127.0.0.4, no PTR at all
address=/noptr.doctor.test/127.0.0.4
# elsewhere: an address that is not this host's
host-record=elsewhere.doctor.test,127.0.0.77
# --from domains
mx-host=good.doctor.test,mx.target.test,10
txt-record=good.doctor.test,"v=spf1 a:good.doctor.test -all"
mx-host=nospf.doctor.test,mx.target.test,10
txt-record=nospf.doctor.test,"google-site-verification=abc"
mx-host=twospf.doctor.test,mx.target.test,10
txt-record=twospf.doctor.test,"v=spf1 -all"
txt-record=twospf.doctor.test,"V=SPF1 a -all"
txt-record=nomx.doctor.test,"v=spf1 -all"
# --target domains and their MX hosts (mailsim behind each address)
mx-host=target.test,mx.target.test,10
host-record=mx.target.test,127.0.0.5
mx-host=dead-target.test,mx.dead-target.test,10
address=/mx.dead-target.test/127.255.0.9
mx-host=retry-target.test,mx.dead-target.test,10
mx-host=retry-target.test,mx.target.test,20
mx-host=tarpit-target.test,mx.tarpit-target.test,10
address=/mx.tarpit-target.test/127.0.0.6
mx-host=blocked-target.test,mx.blocked-target.test,10
address=/mx.blocked-target.test/127.0.0.7
mx-host=badehlo-target.test,mx.badehlo-target.test,10
address=/mx.badehlo-target.test/127.0.0.8
CONF
dnsmasq --conf-file="$T/dnsmasq.conf" --log-facility="$T/dnsmasq.log" 2>"$T/dnsmasq.err" ||
    { cat "$T/dnsmasq.err"; bad "dnsmasq start"; finish doctor; exit 1; }

cat >"$T/world.txt" <<'WORLD'
host mx.target.test 127.0.0.5
host mx.dead-target.test 127.255.0.9 dead
host mx.tarpit-target.test 127.0.0.6
  tarpit
host mx.blocked-target.test 127.0.0.7
  block banner 554 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org
host mx.badehlo-target.test 127.0.0.8
  block ehlo 550 5.7.1 Helo command rejected: Host not found
WORLD
sim_start "$T/world.txt" "$T" --dns 127.0.0.1:5353 --idle-timeout 30 --counters "$T/counters.json" ||
    { cat "$T/sim.log"; bad "mailsim start"; finish doctor; exit 1; }

# doctor ARGS…: run it into $T/out, exit code in $rc
doctor() {
    timeout 60 "$MAILVET" doctor --dns 127.0.0.1 --allow-private-mx --connect-timeout 2 \
        --command-timeout 2 "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ -n "${VERBOSE:-}" ] && cat "$T/out" "$T/err"
}
# want_rc NAME CODE
want_rc() {
    if [ "$rc" -eq "$2" ]; then ok; else bad "$1: exit $rc, want $2"; cat "$T/out" "$T/err"; fi
}
# want_line NAME LEVEL CHECK REGEX: the CHECK line has LEVEL and matches REGEX
want_line() {
    line=$(grep -E "^[A-Z]+ +$3 " "$T/out" | head -n1)
    if printf '%s\n' "$line" | grep -Eq "^$2 +$3 .*$4"; then ok
    else bad "$1: want '$2 $3 …$4', got: ${line:-no $3 line}"; fi
}
# want_fix NAME REGEX: some fix line matches
want_fix() {
    if grep -E '^ +fix: ' "$T/out" | grep -Eq -- "$2"; then ok
    else bad "$1: no fix line like /$2/"; cat "$T/out"; fi
}

# --- everything right ---------------------------------------------------------
doctor --target target.test --helo good.doctor.test
want_rc "all good" 0
want_line "all good: port 25" OK port25 'mx\.target\.test \[127\.0\.0\.5\]:25 answered in [0-9.]+ s: "220 .*"; EHLO good\.doctor\.test: 250'
want_line "all good: helo" OK helo 'good\.doctor\.test resolves to 127\.0\.0\.1 \(this host\)'
want_line "all good: ptr" OK ptr '127\.0\.0\.1 -> good\.doctor\.test -> 127\.0\.0\.1 \(forward-confirmed\)'
want_line "all good: from-mx" OK from-mx 'good\.doctor\.test has MX mx\.target\.test'
want_line "all good: spf" OK spf 'has SPF "v=spf1 a:good\.doctor\.test -all"'
grep -q '^doctor: 5 OK, 0 WARN, 0 FAIL$' "$T/out" && ok || bad "all good: tally"
grep -q '^ *fix:' "$T/out" && bad "all good: no fix lines" || ok
# what the server saw: one connection, EHLO and QUIT, never MAIL/RCPT/DATA
sim_counters "$T/counters.json"
host=$(tr -d '\n' <"$T/counters.json" 2>/dev/null | grep -o '"mx.target.test":{[^}]*}')
case $host in
    *'"connections":1,'*'"commands":2,"rcpt":0,'*'"data_attempts":0'*) ok ;;
    *) bad "all good: server saw more than EHLO and QUIT: ${host:-no counters}" ;;
esac

# --- port 25 ------------------------------------------------------------------
doctor --target dead-target.test --helo good.doctor.test
want_rc "dead MX" 1
want_line "dead MX" FAIL port25 'no route to mx\.dead-target\.test \[127\.255\.0\.9\]:25'
want_fix "dead MX: port-25 advice" 'port 25 blocked\? cloud providers block outbound port 25.*--proxy socks5://'
want_line "dead MX: helo still checked" OK helo 'good\.doctor\.test'

doctor --target target.test --helo good.doctor.test --smtp-port 2626
want_rc "nothing listens" 1
want_line "nothing listens" FAIL port25 'connection to mx\.target\.test \[127\.0\.0\.5\]:2626 refused'
want_fix "nothing listens: advice" 'port 25 blocked\?'

doctor --target retry-target.test --helo good.doctor.test
want_rc "second MX after a dead first" 0
want_line "second MX after a dead first" OK port25 'mx\.target\.test \[127\.0\.0\.5\]:25 answered'

start=$(date +%s)
doctor --target tarpit-target.test --helo good.doctor.test --command-timeout 1
took=$(( $(date +%s) - start ))
want_rc "tarpit" 1
want_line "tarpit" FAIL port25 'connected to mx\.tarpit-target\.test \[127\.0\.0\.6\]:25 in [0-9.]+ s but no banner within 1 s'
[ "$took" -le 10 ] && ok || bad "tarpit: took ${took}s, want the 1 s banner timeout"

doctor --target blocked-target.test --helo good.doctor.test
want_rc "banner refuses" 1
want_line "banner refuses" FAIL port25 'refused this host: "554 5\.7\.1 Service unavailable; client host blocked'
want_fix "banner refuses: blocklist advice" 'blocklist'

doctor --target badehlo-target.test --helo good.doctor.test
want_rc "EHLO rejected is a warning" 0
want_line "EHLO rejected" WARN port25 'but EHLO good\.doctor\.test got "550 5\.7\.1 Helo command rejected'

doctor --target nxdomain-target.test --helo good.doctor.test
want_rc "target without MX" 1
want_line "target without MX" FAIL port25 "cannot find --target nxdomain-target\.test's mail server: nxdomain"

# --- HELO name and PTR --------------------------------------------------------
doctor --target target.test --helo mismatch.doctor.test --from verify@good.doctor.test
want_rc "PTR names another (confirmed) name" 0
want_line "mismatch: helo" OK helo 'mismatch\.doctor\.test resolves to 127\.0\.0\.2 \(this host\)'
want_line "mismatch: ptr" WARN ptr '127\.0\.0\.2 -> other\.doctor\.test -> 127\.0\.0\.2 \(forward-confirmed\), but the HELO name is mismatch\.doctor\.test'
want_fix "mismatch: fix" 'use --helo other\.doctor\.test'

doctor --target target.test --helo nofc.doctor.test --from verify@good.doctor.test
want_rc "PTR not forward-confirmed" 1
want_line "nofc: ptr" FAIL ptr 'the PTR of 127\.0\.0\.3 is ghost\.doctor\.test, which does not resolve back'

doctor --target target.test --helo noptr.doctor.test --from verify@good.doctor.test
want_rc "no PTR" 1
want_line "noptr: ptr" FAIL ptr '127\.0\.0\.4 has no PTR record'
want_fix "noptr: fix" 'set its PTR to noptr\.doctor\.test'

doctor --target target.test --helo elsewhere.doctor.test --from verify@good.doctor.test
want_rc "HELO elsewhere" 1
want_line "elsewhere: helo" FAIL helo 'elsewhere\.doctor\.test resolves to 127\.0\.0\.77, not to this host \(127\.0\.0\.1'
want_line "elsewhere: ptr names a usable name" WARN ptr '127\.0\.0\.1 -> good\.doctor\.test -> 127\.0\.0\.1 \(forward-confirmed\), but the HELO name is elsewhere\.doctor\.test \[the HELO name does not resolve to this host'
want_fix "elsewhere: use the PTR name" 'use --helo good\.doctor\.test'

doctor --target target.test --helo nope.doctor.test --from verify@good.doctor.test
want_rc "HELO without address" 1
want_line "nope: helo" FAIL helo 'nope\.doctor\.test has no A or AAAA record \(NXDOMAIN\)'

doctor --target target.test --helo localhost --from verify@good.doctor.test
want_rc "HELO not a FQDN" 1
want_line "localhost: helo" FAIL helo "HELO name 'localhost' is not a fully qualified domain name"
want_fix "localhost: use the PTR name" 'use --helo good\.doctor\.test, or set the PTR of 127\.0\.0\.1 to this host.s name'

# --bind: this host's address is the bound one (the port-25 line depends on
# whether conn_connect_via supports --bind yet, so it is not asserted)
doctor --target target.test --helo good.doctor.test --bind 127.0.0.2
want_line "bind: helo" FAIL helo 'resolves to 127\.0\.0\.1, not to this host \(127\.0\.0\.2\)'
want_line "bind: ptr of the bound address" WARN ptr '127\.0\.0\.2 -> other\.doctor\.test'

# --proxy: nothing listens there (or the route is not supported yet): FAIL
doctor --target target.test --helo good.doctor.test --proxy socks5://127.0.0.1:1081
want_rc "dead proxy" 1
want_line "dead proxy: port25" FAIL port25 'via socks5://127\.0\.0\.1:1081: '
want_line "proxy: helo cannot see the exit address" WARN helo 'connections leave through the proxy'

# --- --from domain --------------------------------------------------------------
doctor --target target.test --helo good.doctor.test --from verify@nospf.doctor.test
want_rc "no SPF is a warning" 0
want_line "nospf: from-mx" OK from-mx 'nospf\.doctor\.test has MX'
want_line "nospf: spf" WARN spf 'nospf\.doctor\.test has no SPF record'
want_fix "nospf: fix" 'TXT record "v=spf1 a:good\.doctor\.test -all" at nospf\.doctor\.test'

doctor --target target.test --helo good.doctor.test --from verify@twospf.doctor.test
want_line "two SPF records" WARN spf 'twospf\.doctor\.test has 2 SPF records'

doctor --target target.test --helo good.doctor.test --from verify@nomx.doctor.test
want_rc "from without MX is a warning" 0
want_line "nomx: from-mx" WARN from-mx 'nomx\.doctor\.test cannot receive mail \(no MX, A or AAAA records\)'
want_line "nomx: spf" OK spf 'v=spf1 -all'

doctor --target target.test --helo good.doctor.test --from verify@gone.doctor.test
want_line "from NXDOMAIN" WARN from-mx 'gone\.doctor\.test does not exist'
want_line "from NXDOMAIN: spf" WARN spf 'gone\.doctor\.test has no SPF record'

# --- default HELO: this host's name (as check would send it) --------------------
doctor --target target.test
want_line "default HELO is the host name" '[A-Z]+' helo "$(hostname | sed 's/\./\\./g')"
grep -q "^mailvet doctor: HELO $(hostname), MAIL FROM <verify@$(hostname)>" "$T/out" && ok ||
    bad "default identity: $(head -n1 "$T/out")"

# --- a resolver that never answers: bounded, and the lookups say so -------------
start=$(date +%s)
timeout 60 "$MAILVET" doctor --dns 127.0.0.1:5399 --allow-private-mx --target target.test \
    --helo good.doctor.test >"$T/out" 2>"$T/err"
rc=$? took=$(( $(date +%s) - start ))
want_rc "dead resolver" 1
[ "$took" -le 30 ] && ok || bad "dead resolver: took ${took}s"
want_line "dead resolver: helo" WARN helo 'could not resolve good\.doctor\.test'

finish doctor
