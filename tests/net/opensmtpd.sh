#!/bin/sh
# opensmtpd.sh BUILD_DIR — mailvet against a real OpenSMTPD from Debian,
# inside a private network namespace: virtual users of os-boxes.com (a
# virtual table and a userbase, no system users), unknown ones refused with
# OpenSMTPD's "524 5.2.4 Mailing list expansion problem", and STARTTLS
# offered — whose handshake Debian 12's OpenSMTPD 6.8 cannot finish with
# OpenSSL 3 (its issue #1239). With --starttls auto mailvet asks again in
# cleartext on a new connection, so every address gets its true verdict;
# with require every one is tls_error. dnsmasq serves the MX records.
# OpenSMTPD conflicts with postfix as a package: scripts/debroot.sh unpacks
# it under build/debroot/ (make deps) and adds its users. Its spool,
# control socket and chroot are compiled in under /var, so smtpd runs in a
# mount namespace of its own with a directory of the test bound on /var.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
DEBROOT=${DEBROOT:-$TOP/build/debroot}
SMTPD=$DEBROOT/usr/sbin/smtpd
START=$(date +%s)

command -v dnsmasq >/dev/null || { bad "dnsmasq is not installed (make deps)"; finish opensmtpd; exit 1; }
debroot_need "$SMTPD" opensmtpd

SMTPDPID=
net_tmp '[ -n "$SMTPDPID" ] && { kill $SMTPDPID; wait $SMTPDPID; } 2>/dev/null
[ -f "$T/dnsmasq.pid" ] && kill "$(cat "$T/dnsmasq.pid")" 2>/dev/null'
chmod 755 "$T"
for ip in 127.0.0.6 127.0.0.50; do ip addr add $ip/8 dev lo 2>/dev/null; done

# --- DNS: dnsmasq answers for the test domain only, NXDOMAIN for the rest
dns_start "$T" "mx-host=os-boxes.com,mx.os-boxes.com,10
host-record=mx.os-boxes.com,127.0.0.6" || bad "dnsmasq start"

# --- OpenSMTPD: virtual users, STARTTLS offered (listen … tls)
mkdir -p "$T/var/spool" "$T/var/run" "$T/var/lib/opensmtpd/empty" "$T/mail"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
    -days 2 -subj "/CN=mx.os-boxes.com" >/dev/null 2>&1
chmod 600 "$T/key.pem"
printf 'alice@os-boxes.com vmail\nbob@os-boxes.com vmail\ncarol@os-boxes.com vmail\n' > "$T/vusers"
printf 'vmail 2000:2000:%s/mail\n' "$T" > "$T/vbase"
echo os-boxes.com > "$T/vdomains"
cat > "$T/smtpd.conf" <<CONF
pki mx.os-boxes.com cert "$T/cert.pem"
pki mx.os-boxes.com key "$T/key.pem"
table vusers file:$T/vusers
table vbase file:$T/vbase
table vdomains file:$T/vdomains
listen on 127.0.0.6 port 25 tls pki mx.os-boxes.com hostname mx.os-boxes.com
action "vmail" maildir "$T/mail/%{dest.user}" virtual <vusers> userbase <vbase>
match from any for domain <vdomains> action "vmail"
CONF
"$SMTPD" -n -f "$T/smtpd.conf" > "$T/smtpd.n" 2>&1 || bad "smtpd -n: $(tail -3 "$T/smtpd.n")"
unshare -m sh -c "mount --bind '$T/var' /var && exec '$SMTPD' -d -f '$T/smtpd.conf'" > "$T/smtpd.log" 2>&1 &
SMTPDPID=$!
wait_port 127.0.0.6 25 || bad "smtpd listens on 127.0.0.6:25: $(tail -3 "$T/smtpd.log")"

# conns: SMTP connections smtpd has logged so far; tlsfail: those that
# ended in a failed handshake
logcount() { n=$(grep -c "$1" "$T/smtpd.log" 2>/dev/null); echo "${n:-0}"; }
conns() { logcount ' smtp connected address='; }
tlsfail() { logcount 'disconnected reason="io-error: .*SSL'; }
phase() {   # phase NAME: what smtpd saw since the last phase
    c=$(conns) f=$(tlsfail)
    echo "opensmtpd: $1: $((c - C0)) SMTP connections, $((f - F0)) failed TLS handshakes"
    C0=$c F0=$f
}
C0=0 F0=0
OPTS="--dns 127.0.0.1 --allow-private-mx --bind 127.0.0.50 --smtp-port 25 \
--helo verifier.os-test.com --connect-timeout 3 --command-timeout 5 --retry-schedule 2,2"
ADDRS="alice@os-boxes.com bob@os-boxes.com carol@os-boxes.com ghost@os-boxes.com nobody@os-boxes.com"
expect_all() {   # expect_all TSV WHAT: every address's true verdict
    for a in alice bob carol; do expect_tsv "$1" "$a@os-boxes.com" status deliverable "$2: "; done
    for a in alice bob carol; do expect_tsv "$1" "$a@os-boxes.com" reason accepted "$2: "; done
    for a in ghost nobody; do expect_tsv "$1" "$a@os-boxes.com" reason mailbox_not_found "$2: "; done
    for a in ghost nobody; do expect_tsv "$1" "$a@os-boxes.com" status undeliverable "$2: "; done
}

# --- auto: the broken handshake, then cleartext on a new connection
# shellcheck disable=SC2086
timeout 60 "$MAILVET" check $OPTS --json $ADDRS > "$T/auto.json" 2> "$T/auto.err" \
    || bad "check: exit $?: $(tail -3 "$T/auto.err")"
results_tsv json "$T/auto.json" > "$T/auto.tsv"
expect_all "$T/auto.tsv" "check --starttls auto"
expect_tsv "$T/auto.tsv" ghost@os-boxes.com smtp_code 524
expect_tsv "$T/auto.tsv" ghost@os-boxes.com smtp_enhanced 5.2.4
expect_tsv "$T/auto.tsv" ghost@os-boxes.com smtp_text "Mailing list expansion problem: <ghost@os-boxes.com>"
[ "$(tlsfail)" -gt 0 ] && ok || bad "smtpd logged no failed TLS handshake (the fallback is not tested): $(grep -c . "$T/smtpd.log") log lines"
grep -q 'RCPT TO:<ghost@os-boxes.com>" result="524 5.2.4' "$T/smtpd.log" && ok \
    || bad "smtpd logged no 524 refusal of ghost"
phase "check --starttls auto"

# --- require: the handshake fails, nothing else is allowed
# shellcheck disable=SC2086
timeout 60 "$MAILVET" check $OPTS --json --starttls require $ADDRS > "$T/req.json" 2> "$T/req.err"
results_tsv json "$T/req.json" > "$T/req.tsv"
for a in $ADDRS; do expect_tsv "$T/req.tsv" "$a" reason tls_error "require: "; done
for a in $ADDRS; do expect_tsv "$T/req.tsv" "$a" status unknown "require: "; done
phase "check --starttls require"

# --- never: cleartext from the start
# shellcheck disable=SC2086
timeout 60 "$MAILVET" check $OPTS --json --starttls never $ADDRS > "$T/never.json" 2> "$T/never.err" \
    || bad "check --starttls never: exit $?: $(tail -3 "$T/never.err")"
results_tsv json "$T/never.json" > "$T/never.tsv"
expect_all "$T/never.tsv" "check --starttls never"
phase "check --starttls never"

# --- clean, auto
echo email > "$T/list.csv"
for a in $ADDRS; do echo "$a" >> "$T/list.csv"; done
# shellcheck disable=SC2086
timeout 60 "$MAILVET" clean $OPTS --progress never "$T/list.csv" -o "$T/out.csv" > "$T/clean.sum" 2> "$T/clean.err" \
    || bad "clean: exit $?: $(tail -3 "$T/clean.err")"
results_tsv csv "$T/out.csv" > "$T/clean.tsv"
expect_all "$T/clean.tsv" "clean --starttls auto"
phase "clean --starttls auto"

grep -qiE 'fatal|lost child|exited abnormally' "$T/smtpd.log" && bad "smtpd failed: $(tail -3 "$T/smtpd.log")" || ok
echo "opensmtpd: $(($(date +%s) - START)) s"
finish opensmtpd
