#!/bin/sh
# level-dns.sh BUILD_DIR — `--level dns` stops before SMTP (SPEC "Behaviour
# that users rely on"), in check and in clean: against a mailsim world with
# an ordinary domain (an existing and a missing mailbox), a greylisting one,
# an A-only one, NXDOMAIN, null MX, no MX and no A, and SERVFAIL, mailsim's
# counters and RCPT log show no SMTP connection and no RCPT, and every
# address gets its DNS verdict (unverified where a mail server exists).
# Each command runs against a freshly started mailsim, so its counters are
# its own. Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish level-dns; exit 1; }

cat > "$T/world.txt" <<'EOF'
host mx.okdns.com 127.1.0.1
domain okdns.com
  mx 10 mx.okdns.com
  mailbox alice
host mx.greydns.com 127.1.0.2
  greylist 600
domain greydns.com
  mx 10 mx.greydns.com
  mailbox gina
host aonlydns.net 127.1.0.3
domain aonlydns.net
  mailbox andy
domain gonedns.com
  dns nxdomain
domain nullmxdns.com
  null-mx
domain nodatadns.com
domain brokendns.com
  dns servfail
EOF

# address, status, reason, mx (the MX DNS found; empty when there is none)
cat > "$T/expect.txt" <<'EOF'
alice@okdns.com unknown unverified mx.okdns.com
nobody@okdns.com unknown unverified mx.okdns.com
gina@greydns.com unknown unverified mx.greydns.com
andy@aonlydns.net unknown unverified aonlydns.net
a@gonedns.com undeliverable invalid_domain -
a@nullmxdns.com undeliverable null_mx -
a@nodatadns.com undeliverable no_mail_server -
a@brokendns.com unknown dns_error -
EOF
ADDRS=$(cut -d' ' -f1 "$T/expect.txt")
{ echo email; for a in $ADDRS; do echo "$a"; done; } > "$T/list.csv"

OPTS="--level dns --dns 127.0.0.1 --allow-private-mx --smtp-port 25 --connect-timeout 1 \
--command-timeout 2 --retry-schedule 1"
BOUND=30                     # seconds either command may take (timeout(1) ends it)

# no_smtp WHAT: mailsim's counters and RCPT log since it started show DNS
# queries but no SMTP connection and no RCPT.
no_smtp() {
    if ! sim_counters "$T/counters.json"; then
        bad "$1: mailsim wrote no counters file after SIGUSR1"
        return
    fi
    q=$(sim_counter "$T/counters.json" dns queries)
    [ "${q:-0}" -gt 0 ] && ok || bad "$1: mailsim answered no DNS query (did mailvet run at all?)"
    c=$(sim_counter "$T/counters.json" total connections)
    r=$(sim_counter "$T/counters.json" total rcpt)
    [ "${c:-x}" = 0 ] && ok || bad "$1 --level dns opened ${c:-?} SMTP connection(s), want 0: $(sim_counter_hosts "$T/counters.json" | tr '\n' ';')"
    [ "${r:-x}" = 0 ] && ok || bad "$1 --level dns sent ${r:-?} RCPT(s), want 0"
    if [ -s "$T/rcpt.log" ]; then
        bad "$1: RCPT log not empty: $(tr '\n' ' ' < "$T/rcpt.log")"
    else
        ok
    fi
}

# verdicts TSV WHAT: every address has its DNS verdict, no SMTP reply and
# no SMTP attempt: no MX address and no route in its evidence either.
verdicts() {
    while read -r a st re mx; do
        [ "$mx" = - ] && mx=
        expect_tsv "$1" "$a" status "$st" "$2: "
        expect_tsv "$1" "$a" reason "$re" "$2: "
        expect_tsv "$1" "$a" mx "$mx" "$2: "
        expect_tsv "$1" "$a" smtp_code "" "$2: "
        expect_tsv "$1" "$a" attempts 0 "$2: "
        expect_tsv "$1" "$a" mx_ip "" "$2: "
        expect_tsv "$1" "$a" route "" "$2: "
    done < "$T/expect.txt"
}

# --- check --level dns --json
start_sim() {
    : > "$T/rcpt.log"
    sim_start "$T/world.txt" "$T" --counters "$T/counters.json" --rcpt-log "$T/rcpt.log" \
        || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; finish level-dns; exit 1; }
}
start_sim
# shellcheck disable=SC2086
timeout $BOUND "$MAILVET" check --json $OPTS $ADDRS > "$T/check.json" 2> "$T/check.err"; rc=$?
[ $rc -eq 0 ] && ok || bad "check exit $rc (124: over $BOUND s): $(tail -3 "$T/check.err")"
[ "$(wc -l < "$T/check.json")" -eq "$(wc -l < "$T/expect.txt")" ] && ok || bad "check: one JSON line per address"
no_smtp check
results_tsv json "$T/check.json" > "$T/check.tsv"
verdicts "$T/check.tsv" "check"

# --- clean --level dns, against a fresh mailsim (fresh counters, empty RCPT log)
start_sim
# shellcheck disable=SC2086
timeout $BOUND "$MAILVET" clean $OPTS --progress never "$T/list.csv" -o "$T/out.csv" \
    > "$T/clean.out" 2> "$T/clean.err"; rc=$?
[ $rc -eq 0 ] && ok || bad "clean exit $rc (124: over $BOUND s): $(tail -3 "$T/clean.err")"
no_smtp clean
if [ -f "$T/out.csv" ]; then
    results_tsv csv "$T/out.csv" > "$T/clean.tsv"
    [ "$(cut -f1 "$T/clean.tsv" | sort -u | wc -l)" -eq "$(wc -l < "$T/expect.txt")" ] && ok \
        || bad "clean: OUTPUT has not one row per address"
    verdicts "$T/clean.tsv" "clean"
else
    bad "clean wrote no OUTPUT"
fi
grep -q "level dns" "$T/clean.out" && ok || bad "clean's summary does not say level dns: $(head -3 "$T/clean.out")"
finish level-dns
