#!/bin/sh
# exim.sh BUILD_DIR — mailvet against a real Exim 4 from Debian, configured
# the way Debian ships it, inside a private network namespace: the config is
# Debian's exim4.conf.template with the macros update-exim4.conf writes for
# an "internet site" (so Debian's default RCPT ACL, including "550 Rejected
# for too many bad recipients" past 10 recipients with fewer than half
# accepted), plus two routers: ex-boxes.com's virtual mailboxes (a local
# part file) and ex-catchall.com, which takes any local part. Unknown local
# parts get Exim's "550 Unrouteable address". dnsmasq serves the MX records.
# Exim conflicts with postfix as a package: scripts/debroot.sh unpacks it
# under build/debroot/ (make deps) and adds its Debian-exim user.
# mailvet connects from 127.0.0.50 (--bind), not 127.0.0.1, which Debian's
# config lets relay (and so accept any recipient).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
DEBROOT=${DEBROOT:-$TOP/build/debroot}
EXIM=$DEBROOT/usr/sbin/exim4
START=$(date +%s)

command -v dnsmasq >/dev/null || { bad "dnsmasq is not installed (make deps)"; finish exim; exit 1; }
debroot_need "$EXIM" exim

EXIMPID=
net_tmp '[ -n "$EXIMPID" ] && { kill $EXIMPID; wait $EXIMPID; } 2>/dev/null
[ -f "$T/dnsmasq.pid" ] && kill "$(cat "$T/dnsmasq.pid")" 2>/dev/null'
chmod 755 "$T"
for ip in 127.0.0.5 127.0.0.50; do ip addr add $ip/8 dev lo 2>/dev/null; done

# --- DNS: dnsmasq answers for the test domains only, NXDOMAIN for the rest
dns_start "$T" "mx-host=ex-boxes.com,mx.ex-boxes.com,10
mx-host=ex-catchall.com,mx.ex-boxes.com,10
host-record=mx.ex-boxes.com,127.0.0.5" || bad "dnsmasq start"

# --- Exim: Debian's template behind the macros update-exim4.conf seeds for
# dc_eximconfig_configtype=internet, dc_other_hostnames=the two domains,
# dc_local_interfaces=127.0.0.5, dc_relay_nets empty; paths under $T; the
# connection log on (mainlog's "SMTP connection from", counted below).
E=$T/exim
mkdir -p "$E/spool" "$E/log"
chown Debian-exim:Debian-exim "$E/spool" "$E/log"
printf 'alice\nbob\ncarol\ndave\nerin\nfrank\n' > "$E/vmailbox"
{
    cat <<MACROS
CONFDIR = $E
SPOOLDIR = $E/spool
MAIN_HARDCODE_PRIMARY_HOSTNAME = mx.ex-boxes.com
MAIN_LOCAL_INTERFACES = 127.0.0.5
MAIN_LOCAL_DOMAINS = @:localhost:ex-boxes.com:ex-catchall.com
MAIN_RELAY_TO_DOMAINS =
ETC_MAILNAME = mx.ex-boxes.com
LOCAL_DELIVERY = mail_spool
MAIN_RELAY_NETS = : 127.0.0.1 : ::::1
DCreadhost =
DCsmarthost =
DC_eximconfig_configtype = internet
DCconfig_internet = 1
MAIN_LOG_SELECTOR = +smtp_protocol_error +smtp_syntax_error +tls_certificate_verified +tls_peerdn +smtp_connection
log_file_path = $E/log/%slog
pid_file_path = $E/exim.pid
MACROS
    sed -e "s|^exim_path = .*|exim_path = $EXIM|" -e '/^begin routers/r /dev/stdin' \
        "$DEBROOT/etc/exim4/exim4.conf.template" <<'ROUTERS'

ex_boxes:
  driver = redirect
  domains = ex-boxes.com
  local_parts = lsearch;CONFDIR/vmailbox
  data = :blackhole:

ex_catchall:
  driver = redirect
  domains = ex-catchall.com
  data = :blackhole:
ROUTERS
} > "$E/exim.conf"
"$EXIM" -C "$E/exim.conf" -bV > "$T/exim.bv" 2>&1 || bad "exim -bV: $(tail -3 "$T/exim.bv")"
"$EXIM" -C "$E/exim.conf" -bdf > "$T/exim.out" 2>&1 &
EXIMPID=$!
wait_port 127.0.0.5 25 || bad "exim listens on 127.0.0.5:25: $(cat "$T/exim.out" "$E/log/paniclog" 2>/dev/null | tail -3)"

# conns: SMTP connections Exim has logged so far; refusals: its ACL's
logcount() { n=$(grep -c "$1" "$E/log/mainlog" 2>/dev/null); echo "${n:-0}"; }
conns() { logcount 'SMTP connection from .* (TCP/IP connection count = '; }
refusals() { logcount 'Rejected for too many bad recipients'; }
phase() {   # phase NAME: what Exim saw since the last phase
    c=$(conns) r=$(refusals)
    echo "exim: $1: $((c - C0)) SMTP connections, $((r - R0)) 'too many bad recipients' refusals"
    C0=$c R0=$r
}
C0=0 R0=0
OPTS="--dns 127.0.0.1 --allow-private-mx --bind 127.0.0.50 --smtp-port 25 \
--helo verifier.ex-test.com --connect-timeout 3 --command-timeout 5 --retry-schedule 2,2"

# --- single addresses: Exim's own words
# shellcheck disable=SC2086
timeout 60 "$MAILVET" check $OPTS --json alice@ex-boxes.com ghost@ex-boxes.com anyone@ex-catchall.com \
    > "$T/one.json" 2> "$T/one.err" || bad "check: exit $?: $(tail -3 "$T/one.err")"
expect_field "$T/one.json" alice@ex-boxes.com status '"deliverable"'
expect_field "$T/one.json" alice@ex-boxes.com reason '"accepted"'
expect_field "$T/one.json" alice@ex-boxes.com accept_all false
expect_field "$T/one.json" ghost@ex-boxes.com status '"undeliverable"'
expect_field "$T/one.json" ghost@ex-boxes.com reason '"mailbox_not_found"'
expect_field "$T/one.json" ghost@ex-boxes.com smtp_code 550
expect_field "$T/one.json" ghost@ex-boxes.com smtp_enhanced '""'
expect_field "$T/one.json" anyone@ex-catchall.com status '"risky"'
expect_field "$T/one.json" anyone@ex-catchall.com reason '"accept_all"'
grep -q 'Unrouteable address' "$T/one.json" && ok || bad "ghost's deciding reply is not Exim's 550 Unrouteable address: $(grep ghost "$T/one.json")"
grep -q 'rejected RCPT <ghost@ex-boxes.com>: Unrouteable address' "$E/log/mainlog" && ok \
    || bad "exim logged no Unrouteable refusal of ghost"
grep -q ' X=TLS' "$E/log/mainlog" && ok || bad "no session went through STARTTLS (Debian's Exim offers it with a self-signed certificate)"
phase single

# --- the harvest case: 12 missing mailboxes, then 6 existing ones, one
# domain, one run. Past the 10th recipient of a session with fewer than
# half accepted Debian's ACL refuses every RCPT, existing mailboxes too.
LIST=""
i=1; while [ $i -le 12 ]; do LIST="$LIST $(printf 'ghost%02d@ex-boxes.com' $i)"; i=$((i + 1)); done
LIST="$LIST alice@ex-boxes.com bob@ex-boxes.com carol@ex-boxes.com dave@ex-boxes.com erin@ex-boxes.com frank@ex-boxes.com"
harvest_expect() {   # harvest_expect TSV WHAT
    for a in $LIST; do
        case $a in
            ghost*) expect_tsv "$1" "$a" reason mailbox_not_found "$2: " ;;
            *) expect_tsv "$1" "$a" status deliverable "$2: " ;;
        esac
    done
    grep -q 'too many bad recipients' "$1" && bad "$2: a row's reply is the ACL's session limit" || ok
}
# shellcheck disable=SC2086
timeout 120 "$MAILVET" check $OPTS --json $LIST > "$T/harvest.json" 2> "$T/harvest.err" \
    || bad "check (harvest): exit $?: $(tail -3 "$T/harvest.err")"
results_tsv json "$T/harvest.json" > "$T/harvest.tsv"
harvest_expect "$T/harvest.tsv" check
[ "$(refusals)" -gt "$R0" ] && ok || bad "check: Debian's ACL never refused with 'too many bad recipients' (the case is not tested)"
phase "check, 12 missing + 6 existing"

echo email > "$T/list.csv"
for a in $LIST; do echo "$a" >> "$T/list.csv"; done
# shellcheck disable=SC2086
timeout 120 "$MAILVET" clean $OPTS --progress never "$T/list.csv" -o "$T/out.csv" > "$T/clean.sum" 2> "$T/clean.err" \
    || bad "clean: exit $?: $(tail -3 "$T/clean.err")"
results_tsv csv "$T/out.csv" > "$T/clean.tsv"
harvest_expect "$T/clean.tsv" clean
phase "clean, 12 missing + 6 existing"

# the transcript: never DATA, VRFY or EXPN
# shellcheck disable=SC2086
timeout 60 "$MAILVET" check $OPTS --verbose bob@ex-boxes.com > /dev/null 2> "$T/transcript.txt"
grep -q "C: RCPT TO:<bob@ex-boxes.com>" "$T/transcript.txt" && ok || bad "transcript shows RCPT TO"
grep -qE "C: (DATA|VRFY|EXPN)" "$T/transcript.txt" && bad "sent DATA/VRFY/EXPN" || ok
phase transcript
grep -q . "$E/log/paniclog" 2>/dev/null && bad "exim panicked: $(tail -3 "$E/log/paniclog")" || ok
echo "exim: $(($(date +%s) - START)) s"
finish exim
