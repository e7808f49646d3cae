#!/bin/sh
# postfix.sh BUILD_DIR — mailvet check against real mail servers from Debian,
# inside a private network namespace: dnsmasq serves the MX records, Postfix
# serves virtual mailboxes on three addresses (plain, STARTTLS required,
# greylisted by postgrey), and a catch-all domain. If mailvet agrees with
# mailsim but not with Postfix, mailsim is wrong.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"

for tool in postfix postgrey dnsmasq; do
    command -v $tool >/dev/null || { echo "postfix: $tool is not installed (make deps)"; finish postfix; exit 1; }
done

T=$(mktemp -d)
chmod 755 "$T"
cleanup() {
    postfix -c "$T/pf" stop >/dev/null 2>&1
    [ -f "$T/postgrey.pid" ] && kill "$(cat "$T/postgrey.pid")" 2>/dev/null
    [ -f "$T/dnsmasq.pid" ] && kill "$(cat "$T/dnsmasq.pid")" 2>/dev/null
    rm -rf "$T"
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT
for ip in 127.0.0.2 127.0.0.3 127.0.0.4; do ip addr add $ip/8 dev lo 2>/dev/null; done

# --- DNS: dnsmasq answers for the test domains only, NXDOMAIN for the rest
dns_start "$T" "mx-host=pf-boxes.com,mx.pf-boxes.com,10
mx-host=pf-catchall.com,mx.pf-boxes.com,10
mx-host=pf-tls.com,mx.pf-tls.com,10
mx-host=pf-grey.com,mx.pf-grey.com,10
mx-host=pf-fallback.com,dead.pf-fallback.com,5
mx-host=pf-fallback.com,mx.pf-boxes.com,10
host-record=mx.pf-boxes.com,127.0.0.2
host-record=mx.pf-tls.com,127.0.0.3
host-record=mx.pf-grey.com,127.0.0.4
host-record=dead.pf-fallback.com,127.0.0.9" || bad "dnsmasq start"

# --- postgrey: greylist for 3 s
mkdir -p "$T/postgrey"
chown postgrey "$T/postgrey" 2>/dev/null
postgrey --inet=127.0.0.1:10023 --delay=3 --auto-whitelist-clients=0 --dbdir="$T/postgrey" \
    --pidfile="$T/postgrey.pid" --daemonize --user=postgrey 2>"$T/postgrey.err" || { cat "$T/postgrey.err"; bad "postgrey start"; }

# --- Postfix: a private instance in $T/pf
mkdir -p "$T/pf" "$T/queue" "$T/data"
chown postfix "$T/data"
cp /etc/postfix/master.cf /etc/postfix/postfix-files "$T/pf/"
cp -r /etc/postfix/dynamicmaps.cf* /etc/postfix/postfix-files.d "$T/pf/" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/pf/key.pem" -out "$T/pf/cert.pem" \
    -days 2 -subj "/CN=mx.pf-tls.com" >/dev/null 2>&1
cat > "$T/pf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $T/queue
data_directory = $T/data
mail_owner = postfix
myhostname = mx.pf-boxes.com
mydestination =
inet_interfaces = 127.0.0.2, 127.0.0.3, 127.0.0.4
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = $T/postfix.log
maillog_file_prefixes = $T
smtpd_client_event_limit_exceptions =
virtual_mailbox_domains = pf-boxes.com, pf-catchall.com, pf-tls.com, pf-grey.com, pf-fallback.com
virtual_mailbox_maps = texthash:$T/pf/vmailbox
virtual_alias_maps = texthash:$T/pf/valias
virtual_transport = discard
smtpd_recipient_restrictions = reject_unlisted_recipient, permit_mynetworks, reject_unauth_destination
grey_restrictions = reject_unlisted_recipient, check_policy_service inet:127.0.0.1:10023, permit_mynetworks, reject_unauth_destination
smtpd_tls_cert_file = $T/pf/cert.pem
smtpd_tls_key_file = $T/pf/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 2
CONF
sed -i '/^smtp[[:space:]]*inet/d' "$T/pf/master.cf"
cat >> "$T/pf/master.cf" <<CONF
127.0.0.2:smtp inet n - n - - smtpd
127.0.0.3:smtp inet n - n - - smtpd -o smtpd_tls_security_level=encrypt
127.0.0.4:smtp inet n - n - - smtpd -o smtpd_recipient_restrictions=\$grey_restrictions -o smtpd_tls_security_level=none
CONF
printf 'alice@pf-boxes.com x\nbob@pf-boxes.com x\ncarol@pf-tls.com x\ndave@pf-grey.com x\nerin@pf-fallback.com x\n' > "$T/pf/vmailbox"
printf '@pf-catchall.com alice@pf-boxes.com\n' > "$T/pf/valias"
script -qc "postfix -c $T/pf start" /dev/null > "$T/postfix.start" 2>&1 || { cat "$T/postfix.start"; bad "postfix start"; }
for ip in 127.0.0.2 127.0.0.3 127.0.0.4; do wait_port $ip 25 || bad "postfix listens on $ip"; done
wait_port 127.0.0.1 10023 || bad "postgrey listens"

# --- the checks
check() {
    "$MAILVET" check --json --dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.pf-test.com \
        --connect-timeout 3 --command-timeout 5 "$@"
}
check alice@pf-boxes.com nobody@pf-boxes.com anyone@pf-catchall.com carol@pf-tls.com \
      nosuch@pf-tls.com erin@pf-fallback.com x@nxdomain-pf.com > "$T/out.json" 2>"$T/err.txt"
expect_field "$T/out.json" alice@pf-boxes.com status '"deliverable"'
expect_field "$T/out.json" alice@pf-boxes.com reason '"accepted"'
expect_field "$T/out.json" alice@pf-boxes.com accept_all false
expect_field "$T/out.json" nobody@pf-boxes.com reason '"mailbox_not_found"'
expect_field "$T/out.json" nobody@pf-boxes.com smtp_code 550
expect_field "$T/out.json" nobody@pf-boxes.com smtp_enhanced '"5.1.1"'
expect_field "$T/out.json" anyone@pf-catchall.com reason '"accept_all"'
expect_field "$T/out.json" anyone@pf-catchall.com status '"risky"'
expect_field "$T/out.json" carol@pf-tls.com reason '"accepted"'
expect_field "$T/out.json" nosuch@pf-tls.com reason '"mailbox_not_found"'
expect_field "$T/out.json" erin@pf-fallback.com reason '"accepted"'
expect_field "$T/out.json" erin@pf-fallback.com mx '"mx.pf-boxes.com"'
expect_field "$T/out.json" x@nxdomain-pf.com reason '"invalid_domain"'
grep -q "starttls=1" "$T/postfix.log" 2>/dev/null && ok || bad "postfix saw a TLS session (mailvet did STARTTLS)"
# STARTTLS refused on purpose: the encrypt-only listener must fail the check
check --starttls never carol@pf-tls.com > "$T/notls.json" 2>/dev/null
expect_field "$T/notls.json" carol@pf-tls.com reason '"tls_error"'
# greylisting: first answer 450, retried after 4 s, then accepted
check --retry-schedule 4,4 dave@pf-grey.com > "$T/grey.json" 2>"$T/grey.err"
expect_field "$T/grey.json" dave@pf-grey.com reason '"accepted"'
grep -q '"attempts":[23]' "$T/grey.json" && ok || bad "greylisted address needed a retry: $(cat "$T/grey.json")"
grep -q "Greylisted" "$T/postfix.log" && ok || bad "postgrey greylisted the first attempt"
# the transcript: never DATA, VRFY or EXPN
check --verbose bob@pf-boxes.com > /dev/null 2> "$T/transcript.txt"
grep -q "^\[mx.pf-boxes.com\] C: RCPT TO:<bob@pf-boxes.com>" "$T/transcript.txt" && ok || bad "transcript shows RCPT TO"
grep -qE "C: (DATA|VRFY|EXPN)" "$T/transcript.txt" && bad "sent DATA/VRFY/EXPN" || ok
# MAIL FROM leads the pipelined group: the RCPTs are written before its
# reply comes
awk '/C: MAIL FROM:/ { m = 1 } m && /C: RCPT TO:/ { r = 1 } m && !r && /S: [0-9]/ { early = 1 }
     END { exit !(r && !early) }' "$T/transcript.txt" && ok ||
    bad "RCPT not sent with MAIL FROM: $(cat "$T/transcript.txt")"
# QUIT ends the pipelined RCPTs (RFC 2920): written before their replies
# came, answered with 221, and Postfix found nothing improper in it
awk '/C: RCPT TO:/ { r = 1 } r && /C: QUIT/ { q = NR } r && !q && /S: [0-9]/ { early = 1 }
     END { exit !(q && !early) }' "$T/transcript.txt" && ok ||
    bad "QUIT not sent with the RCPTs: $(cat "$T/transcript.txt")"
grep -q "S: 221" "$T/transcript.txt" && ok || bad "no 221 to the pipelined QUIT"
grep -q "improper command pipelining" "$T/postfix.log" && bad "Postfix saw improper pipelining" || ok
# TLS resumption (tls_cache.c): one recipient a session and one session at
# a time to the encrypt-only listener, so sessions one after the other;
# Postfix's log (smtpd_tls_loglevel 2) says it took its ticket back on
# every one after the first
before=$(wc -l < "$T/postfix.log")
check --per-mx 1 --rcpt-per-session 1 carol@pf-tls.com nosuch@pf-tls.com > "$T/resume.json" 2>"$T/resume.err"
expect_field "$T/resume.json" carol@pf-tls.com reason '"accepted"'
expect_field "$T/resume.json" nosuch@pf-tls.com reason '"mailbox_not_found"'
sessions=$(tail -n +$((before + 1)) "$T/postfix.log" | grep -c "TLS connection established")
reused=$(tail -n +$((before + 1)) "$T/postfix.log" | grep -c "Reusing old session")
echo "postfix: $sessions TLS sessions, $reused resumed (Postfix's log)"
[ "$sessions" -ge 2 ] && ok || bad "$sessions TLS sessions to mx.pf-tls.com, want at least 2"
[ "$reused" -eq $((sessions - 1)) ] && ok || bad "Postfix reused $reused of $sessions TLS sessions, want all but the first"
finish postfix
