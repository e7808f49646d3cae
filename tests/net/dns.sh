#!/bin/sh
# dns.sh BUILD_DIR — src/dns.c (through BUILD_DIR/net/test_dns) against a real
# dnsmasq, inside a private network namespace that has only loopback: every
# query goes to 127.0.0.x or ::1 and nothing can leave the machine. Needs root
# and dnsmasq (Debian package). Ends with "dns: N passed, M failed".
#
# The world (dnsmasq on 127.0.0.1:53 and [::1]:53, authoritative for .com):
#   a second dnsmasq on 127.0.0.2 answers REFUSED (no upstream), and
#   127.0.0.9 is a black hole (nothing listens: dnsmasq never answers).
set -u
build=${1:?usage: dns.sh BUILD_DIR}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
bin=$build/net/test_dns
lookup_bin=$build/net/test_dns_lookup

if [ "${DNS_SH_NS:-}" != 1 ]; then
    for b in "$bin" "$lookup_bin"; do
        if [ ! -x "$b" ]; then
            echo "dns: $b not built"; echo "dns: 0 passed, 1 failed"; exit 1
        fi
    done
    if ! command -v dnsmasq >/dev/null 2>&1 && [ ! -x /usr/sbin/dnsmasq ]; then
        echo "dns: dnsmasq missing (apt-get install dnsmasq)"; echo "dns: 0 passed, 1 failed"; exit 1
    fi
    DNS_SH_NS=1 exec unshare -n sh "$0" "$build"
fi

PATH=$PATH:/usr/sbin:/sbin
ip link set lo up
tmp=$(mktemp -d /tmp/mailvet-dns.XXXXXX)
cleanup() {
    for p in "$tmp"/*.pid; do
        [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cat >"$tmp/world.conf" <<'EOF'
port=53
listen-address=127.0.0.1
listen-address=::1
bind-interfaces
no-resolv
no-hosts
user=root
log-queries
local=/com/
local=/net/
# MX order by preference (config order deliberately scrambled)
mx-host=example-mx.com,mx2.example-mx.com,20
mx-host=example-mx.com,mx1.example-mx.com,10
host-record=mx1.example-mx.com,127.0.0.11
host-record=mx2.example-mx.com,127.0.0.12
# public addresses: IPv4 first, then IPv6 (never dialled, only resolved)
mx-host=public-mx.com,mx.public-mx.com,10
host-record=mx.public-mx.com,2606:4700::1111,8.8.8.8
# the private MX host is dropped, the public one kept
mx-host=mixed-mx.com,priv.mixed-mx.com,10
mx-host=mixed-mx.com,pub.mixed-mx.com,20
host-record=priv.mixed-mx.com,10.1.2.3
host-record=pub.mixed-mx.com,1.2.3.4
# implicit MX (A only)
host-record=implicit-a.com,127.0.0.13
host-record=implicit-pub.com,8.8.4.4
# NODATA: exists, no MX, no A/AAAA
txt-record=txt-only.com,"v=spf1 -all"
# null MX (RFC 7505)
mx-host=null-mx.com,.,0
# MX host behind a CNAME
mx-host=cname-mx.com,alias.cname-mx.com,10
cname=alias.cname-mx.com,real.cname-mx.net
host-record=real.cname-mx.net,127.0.0.14
# IPv6-only MX hosts
mx-host=v6-mx.com,mx.v6-mx.com,10
host-record=mx.v6-mx.com,::1
mx-host=v6pub-mx.com,mx.v6pub-mx.com,10
host-record=mx.v6pub-mx.com,2001:4860:4860::8888
# MX hosts that do not resolve
mx-host=dangling-mx.com,nohost.dangling-mx.com,10
mx-host=partial-mx.com,nohost.partial-mx.com,10
mx-host=partial-mx.com,mx1.example-mx.com,20
# more MX records than DNS_MAX_MX (8)
mx-host=many-mx.com,m10.many-mx.com,10
mx-host=many-mx.com,m9.many-mx.com,9
mx-host=many-mx.com,m8.many-mx.com,8
mx-host=many-mx.com,m7.many-mx.com,7
mx-host=many-mx.com,m6.many-mx.com,6
mx-host=many-mx.com,m5.many-mx.com,5
mx-host=many-mx.com,m4.many-mx.com,4
mx-host=many-mx.com,m3.many-mx.com,3
mx-host=many-mx.com,m2.many-mx.com,2
mx-host=many-mx.com,m1.many-mx.com,1
host-record=m1.many-mx.com,127.0.0.31
host-record=m2.many-mx.com,127.0.0.32
host-record=m3.many-mx.com,127.0.0.33
host-record=m4.many-mx.com,127.0.0.34
host-record=m5.many-mx.com,127.0.0.35
host-record=m6.many-mx.com,127.0.0.36
host-record=m7.many-mx.com,127.0.0.37
host-record=m8.many-mx.com,127.0.0.38
host-record=m9.many-mx.com,127.0.0.39
host-record=m10.many-mx.com,127.0.0.40
# failures: a black hole (timeout) and a server that answers REFUSED
server=/blackhole-mx.com/127.0.0.9
server=/refused-mx.com/127.0.0.2
mx-host=hosterr-mx.com,mx.blackhole-mx.com,10
EOF
# dns_lookup (addresses, PTR, TXT): caps and record shapes (dnsmasq's lines
# stop near 1,024 bytes: longer TXT records are tested in tests/unit)
{
    echo "local=/in-addr.arpa/"
    echo "local=/ip6.arpa/"
    echo "host-record=both.lookup.com,127.0.2.1,2001:db8::53"
    i=1
    while [ $i -le 20 ]; do
        echo "host-record=many.lookup.com,127.0.3.$i"
        echo "txt-record=manytxt.lookup.com,\"record $i\""
        i=$((i + 1))
    done
    echo "ptr-record=1.4.0.127.in-addr.arpa,one.lookup.com"
    echo "ptr-record=1.4.0.127.in-addr.arpa,two.lookup.com"
    echo 'txt-record=spf.lookup.com,"v=spf1 ip4:192.0.2.1"," -all"'
    echo 'txt-record=spf.lookup.com,"second record"'
    s240=$(printf "%240s" "" | tr " " x)
    echo "txt-record=long.lookup.com,\"$s240\",\"$s240\",\"$s240\",\"$s240\""
} >>"$tmp/world.conf"
cat >"$tmp/refuser.conf" <<'EOF'
port=53
listen-address=127.0.0.2
bind-interfaces
no-resolv
no-hosts
user=root
EOF

dnsmasq -C "$tmp/world.conf" --pid-file="$tmp/world.pid" --log-facility="$tmp/world.log" ||
    { echo "dns: dnsmasq failed to start"; echo "dns: 0 passed, 1 failed"; exit 1; }
dnsmasq -C "$tmp/refuser.conf" --pid-file="$tmp/refuser.pid" --log-facility="$tmp/refuser.log" ||
    { echo "dns: second dnsmasq failed to start"; echo "dns: 0 passed, 1 failed"; exit 1; }
i=0
while [ ! -s "$tmp/world.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "     $l"; done; }

# run NAME ARGS... : run test_dns, keep its output in $out, check its status
run() {
    name=$1; shift
    out=$(timeout 60 "$bin" "$@" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then ok "$name: test_dns exit 0"; else bad "$name: test_dns exit $rc" "$out"; fi
}
# expect NAME LINE : $out has exactly this line
expect() {
    if printf '%s\n' "$out" | grep -Fxq -- "$2"; then ok "$1"
    else bad "$1" "want: $2" "got:  $(printf '%s\n' "$out" | grep -F -- "${2%% *} " | head -n1)"; fi
}
# expect_re NAME REGEX : some line of $out matches
expect_re() {
    if printf '%s\n' "$out" | grep -Eq -- "$2"; then ok "$1"
    else bad "$1" "want /$2/" "$out"; fi
}
queries() { grep -c "query\[$1\] $2 from" "$tmp/world.log"; }

Q='--timeout 200 --tries 2'

# --- with --allow-private: the loopback world is dialable ---------------------
run "allow-private" $Q --allow-private 127.0.0.1 example-mx.com implicit-a.com txt-only.com \
    nope-nx.com null-mx.com cname-mx.com v6-mx.com dangling-mx.com partial-mx.com many-mx.com \
    Example-MX.com. blackhole-mx.com refused-mx.com hosterr-mx.com
expect "MX order by preference" \
    'example-mx.com ok implicit=0 mx=10:mx1.example-mx.com(127.0.0.11) 20:mx2.example-mx.com(127.0.0.12) detail=""'
expect "case and trailing dot ignored" \
    'Example-MX.com. ok implicit=0 mx=10:mx1.example-mx.com(127.0.0.11) 20:mx2.example-mx.com(127.0.0.12) detail=""'
expect "implicit MX (A only)" 'implicit-a.com ok implicit=1 mx=0:implicit-a.com(127.0.0.13) detail=""'
expect "NODATA -> no_mail_server" 'txt-only.com no_mail_server implicit=1 mx= detail="no MX, A or AAAA records"'
expect "NXDOMAIN" 'nope-nx.com nxdomain implicit=0 mx= detail="NXDOMAIN nope-nx.com"'
expect "null MX" 'null-mx.com null_mx implicit=0 mx= detail="null MX (RFC 7505)"'
expect "CNAME'd MX host" 'cname-mx.com ok implicit=0 mx=10:alias.cname-mx.com(127.0.0.14) detail=""'
expect "IPv6-only MX host" 'v6-mx.com ok implicit=0 mx=10:mx.v6-mx.com(::1) detail=""'
expect "MX host without address -> no_mail_server" \
    'dangling-mx.com no_mail_server implicit=0 mx= detail="no MX host has an address"'
expect "unresolvable MX host dropped" \
    'partial-mx.com ok implicit=0 mx=20:mx1.example-mx.com(127.0.0.11) detail=""'
expect "at most 8 MX, lowest preferences" \
    'many-mx.com ok implicit=0 mx=1:m1.many-mx.com(127.0.0.31) 2:m2.many-mx.com(127.0.0.32) 3:m3.many-mx.com(127.0.0.33) 4:m4.many-mx.com(127.0.0.34) 5:m5.many-mx.com(127.0.0.35) 6:m6.many-mx.com(127.0.0.36) 7:m7.many-mx.com(127.0.0.37) 8:m8.many-mx.com(127.0.0.38) detail=""'
expect "timeout -> dns_error" 'blackhole-mx.com dns_error implicit=0 mx= detail="timeout for MX blackhole-mx.com"'
expect "REFUSED -> dns_error" 'refused-mx.com dns_error implicit=0 mx= detail="REFUSED for MX refused-mx.com"'
expect "MX host lookup timeout -> dns_error" \
    'hosterr-mx.com dns_error implicit=0 mx= detail="timeout for A mx.blackhole-mx.com"'
n=$(queries MX example-mx.com)
if [ "$n" -eq 1 ]; then ok "one MX query for 3 asks (coalesced + cached)"; else bad "coalescing: $n MX queries for example-mx.com, want 1"; fi
n=$(queries A mx1.example-mx.com)
if [ "$n" -eq 1 ]; then ok "shared MX host resolved once"; else bad "host cache: $n A queries for mx1.example-mx.com, want 1"; fi
n=$(queries MX refused-mx.com)
if [ "$n" -eq 2 ]; then ok "REFUSED asked again (--tries 2)"; else bad "REFUSED retries: $n MX queries, want 2"; fi

# --- one at a time, then from the cache: same answers ---------------------------
run "serial asks" $Q --serial --allow-private 127.0.0.1 example-mx.com implicit-a.com \
    nope-nx.com null-mx.com cname-mx.com partial-mx.com example-mx.com refused-mx.com
expect "serial: MX order" \
    'example-mx.com ok implicit=0 mx=10:mx1.example-mx.com(127.0.0.11) 20:mx2.example-mx.com(127.0.0.12) detail=""'
expect "serial: NXDOMAIN" 'nope-nx.com nxdomain implicit=0 mx= detail="NXDOMAIN nope-nx.com"'

# --- default: non-public addresses are refused --------------------------------
run "public only" $Q 127.0.0.1 example-mx.com implicit-a.com public-mx.com mixed-mx.com \
    implicit-pub.com v6-mx.com v6pub-mx.com
expect "private MX -> unroutable" \
    'example-mx.com unroutable implicit=0 mx= detail="every MX address is not public"'
expect "private implicit MX -> unroutable" \
    "implicit-a.com unroutable implicit=1 mx= detail=\"the domain's addresses are not public\""
expect "public MX, IPv4 then IPv6" \
    'public-mx.com ok implicit=0 mx=10:mx.public-mx.com(8.8.8.8,2606:4700::1111) detail=""'
expect "private MX host dropped, public kept" \
    'mixed-mx.com ok implicit=0 mx=20:pub.mixed-mx.com(1.2.3.4) detail=""'
expect "public implicit MX" 'implicit-pub.com ok implicit=1 mx=0:implicit-pub.com(8.8.4.4) detail=""'
expect "::1 MX -> unroutable" 'v6-mx.com unroutable implicit=0 mx= detail="every MX address is not public"'
expect "public IPv6-only MX" 'v6pub-mx.com ok implicit=0 mx=10:mx.v6pub-mx.com(2001:4860:4860::8888) detail=""'

# --- servers -------------------------------------------------------------------
run "dead server" $Q 127.0.0.1:5399 example-mx.com
expect_re "nothing listening -> dns_error" '^example-mx.com dns_error implicit=0 mx= detail="(server unreachable|timeout) for MX example-mx.com"$'
run "server list, first dead" $Q --allow-private 127.0.0.1:5399,127.0.0.1:53 example-mx.com
expect_re "second server used" '^example-mx.com ok implicit=0 mx=10:mx1'
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then
    run "IPv6 server" $Q --allow-private '[::1]:53' cname-mx.com
    expect "[::1]:53 works" 'cname-mx.com ok implicit=0 mx=10:alias.cname-mx.com(127.0.0.14) detail=""'
    run "IPv6 server, no port" $Q --allow-private '[::1]' cname-mx.com
    expect "[::1] works" 'cname-mx.com ok implicit=0 mx=10:alias.cname-mx.com(127.0.0.14) detail=""'
fi
run "blanks in server list" $Q --allow-private ' 127.0.0.1:5399 , 127.0.0.1 ' null-mx.com
expect "blanks around commas" 'null-mx.com null_mx implicit=0 mx= detail="null MX (RFC 7505)"'
for s in not-an-address 127.0.0.1:99999 127.0.0.1: '[::1' '127.0.0.1,,127.0.0.2' ''; do
    out=$("$bin" "$s" example.com 2>&1); rc=$?
    if [ $rc -eq 2 ] && printf '%s\n' "$out" | grep -q '^dns_new: --dns'; then ok "bad --dns '$s' refused"
    else bad "bad --dns '$s' refused (exit $rc)" "$out"; fi
done

# --- dns_close with lookups in flight ------------------------------------------
run "close early" --timeout 2000 --close-early 127.0.0.1 blackhole-mx.com example-mx.com
expect "cancelled in flight (timeout)" 'blackhole-mx.com dns_error implicit=0 mx= detail="cancelled"'
expect "cancelled in flight (answerable)" 'example-mx.com dns_error implicit=0 mx= detail="cancelled"'

# --- a burst: more lookups than DNS_MAX_INFLIGHT (256) at once -----------------
burst=$(i=1; while [ $i -le 1500 ]; do echo "burst-$i.com"; i=$((i + 1)); done)
run "burst of 1500 domains" $Q 127.0.0.1 $burst example-mx.com
n=$(printf '%s\n' "$out" | grep -c '^burst-[0-9]*\.com nxdomain ')
if [ "$n" -eq 1500 ]; then ok "1500 NXDOMAIN answered, none lost"; else bad "burst: $n of 1500 NXDOMAIN" "$(printf '%s\n' "$out" | grep -v nxdomain | head -n3)"; fi
# a name's follow-up questions (its MX host's addresses) go before the MX
# questions of names asked after it: asked first, example-mx.com is done
# among the first answers, not after the 1500 MX questions behind it. Up to
# three tries: dnsmasq may drop a query of the first burst of 256, and its
# retry comes after everything else (in one line, every try gives ~1440).
ranks=
for try in 1 2 3; do
    out=$(timeout 60 "$bin" --ranks $Q 127.0.0.1 example-mx.com $burst 2>&1)
    r=$(printf '%s\n' "$out" | sed -n 's/^rank example-mx\.com \([0-9]*\)$/\1/p')
    ranks="$ranks ${r:-never}"
    [ -n "$r" ] && [ "$r" -le 300 ] && break
done
if [ -n "$r" ] && [ "$r" -le 300 ]; then ok "follow-up first: answer $r of 1501 (tries:$ranks)"
else bad "follow-up first: example-mx.com answered$ranks of 1501"; fi
run "close with 1500 in line" --close-early 127.0.0.1 $burst
n=$(printf '%s\n' "$out" | grep -c 'detail="cancelled"$')
if [ "$n" -eq 1500 ]; then ok "1500 cancelled once each"; else bad "close: $n of 1500 cancelled"; fi

# --- dns_lookup: addresses, PTR, TXT ---------------------------------------------
# lrun NAME ARGS... : run test_dns_lookup into $out
lrun() {
    name=$1; shift
    out=$(timeout 60 "$lookup_bin" "$@" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then ok "$name: test_dns_lookup exit 0"; else bad "$name: test_dns_lookup exit $rc" "$out"; fi
}
lrun "lookups" $Q 127.0.0.1 addrs:both.lookup.com addrs:many.lookup.com addrs:alias.cname-mx.com \
    addrs:txt-only.com addrs:nope-nx.com addrs:blackhole-mx.com addrs:refused-mx.com \
    ptr:127.0.2.1 ptr:2001:db8::53 ptr:127.0.4.1 ptr:127.0.9.9 ptr:not-an-ip \
    txt:spf.lookup.com txt:long.lookup.com txt:manytxt.lookup.com txt:example-mx.com txt:nope-nx.com
expect "A then AAAA" 'addrs both.lookup.com ok cut=0 127.0.2.1,2001:db8::53 detail=""'
expect_re "16 addresses kept of 20" '^addrs many\.lookup\.com ok cut=1 (127\.0\.3\.[0-9]+,){15}127\.0\.3\.[0-9]+ detail=""$'
expect "address behind a CNAME" 'addrs alias.cname-mx.com ok cut=0 127.0.0.14 detail=""'
expect "no address -> nodata" 'addrs txt-only.com nodata cut=0  detail="no A record for txt-only.com"'
expect "addresses of NXDOMAIN" 'addrs nope-nx.com nxdomain cut=0  detail="NXDOMAIN nope-nx.com"'
expect "addresses: timeout" 'addrs blackhole-mx.com error cut=0  detail="timeout for A blackhole-mx.com"'
expect "addresses: REFUSED" 'addrs refused-mx.com error cut=0  detail="REFUSED for A refused-mx.com"'
expect "PTR of IPv4" 'ptr 127.0.2.1 ok cut=0 both.lookup.com detail=""'
expect "PTR of IPv6" 'ptr 2001:db8::53 ok cut=0 both.lookup.com detail=""'
expect_re "two PTR names" '^ptr 127\.0\.4\.1 ok cut=0 (one\.lookup\.com,two\.lookup\.com|two\.lookup\.com,one\.lookup\.com) detail=""$'
expect "no PTR" 'ptr 127.0.9.9 nxdomain cut=0  detail="NXDOMAIN 9.9.0.127.in-addr.arpa"'
expect "PTR of a non-address" 'ptr not-an-ip error cut=0  detail="not an IP address"'
expect_re "TXT strings joined, records apart" '^txt spf\.lookup\.com ok cut=0 ( ?(25/0:"v=spf1 ip4:192\.0\.2\.1 -all"|13/0:"second record")){2} detail=""$'
expect_re "long TXT: four strings joined" '^txt long\.lookup\.com ok cut=0 960/0:"x{40}\.\.\." detail=""$'
expect_re "16 TXT records kept of 20" '^txt manytxt\.lookup\.com ok cut=1( [0-9]+/0:"record [0-9]+"){16} detail=""$'
expect "no TXT -> nodata" 'txt example-mx.com nodata cut=0 detail="no TXT record for example-mx.com"'
expect "TXT of NXDOMAIN" 'txt nope-nx.com nxdomain cut=0 detail="NXDOMAIN nope-nx.com"'
lrun "lookups, closed early" --timeout 2000 --close-early 127.0.0.1 addrs:blackhole-mx.com \
    ptr:127.0.2.1 txt:spf.lookup.com
expect "addresses cancelled" 'addrs blackhole-mx.com error cut=0  detail="cancelled"'
expect "PTR cancelled" 'ptr 127.0.2.1 error cut=0  detail="cancelled"'
expect "TXT cancelled" 'txt spf.lookup.com error cut=0 detail="cancelled"'

echo "dns: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
