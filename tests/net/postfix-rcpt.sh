#!/bin/sh
# postfix-rcpt.sh BUILD_DIR — pipelined RCPTs in windows against a real
# Postfix. mx.pf-rcpt.com (127.0.0.2) takes 20 recipients a message
# (smtpd_recipient_limit = 20: "452 4.5.3 Error: too many recipients"
# past them) and serves 60 mailboxes; `clean` asks all 60 with
# --rcpt-per-session 100 and --per-mx 1. Its first session goes before
# mailvet knows the limit: in one group it asked 40 past it (61 RCPTs, the
# catch-all probe among them), in windows of ENGINE_HOST_RCPT_WINDOW (16)
# at most that many (11 here). Every address is accepted, and Postfix never calls
# the pipelining improper. Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
for tool in postfix dnsmasq; do
    command -v $tool >/dev/null || { bad "$tool is not installed (make deps)"; finish postfix-rcpt; exit 1; }
done
net_tmp 'postfix -c "$T/pf" stop >/dev/null 2>&1; [ -f "$T/dnsmasq.pid" ] && kill "$(cat "$T/dnsmasq.pid")" 2>/dev/null'
chmod 755 "$T"
BOUND=30
WINDOW=16
ip addr add 127.0.0.2/8 dev lo 2>/dev/null
dns_start "$T" "mx-host=pf-rcpt.com,mx.pf-rcpt.com,10
host-record=mx.pf-rcpt.com,127.0.0.2" || { bad "dnsmasq start"; finish postfix-rcpt; exit 1; }

pf_config "$T" mx.pf-rcpt.com 127.0.0.2 pf-rcpt.com
echo "smtpd_recipient_limit = 20" >> "$T/pf/main.cf"
echo "127.0.0.2:smtp inet n - n - - smtpd -o syslog_name=postfix/rcpt" >> "$T/pf/master.cf"
echo email > "$T/list.csv"
i=1
while [ $i -le 60 ]; do
    echo "user$i@pf-rcpt.com x" >> "$T/pf/vmailbox"
    echo "user$i@pf-rcpt.com" >> "$T/list.csv"
    i=$((i + 1))
done
pf_start "$T" 127.0.0.2 || { bad "postfix start"; finish postfix-rcpt; exit 1; }

OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.pf-test.com"
# shellcheck disable=SC2086
pf_run clean "$MAILVET" clean $OPTS --per-mx 1 --rcpt-per-session 100 --progress never \
    "$T/list.csv" -o "$T/out.csv"
[ -f "$T/out.csv" ] && results_tsv csv "$T/out.csv" > "$T/clean.tsv" || : > "$T/clean.tsv"
n=$(awk -F '\t' '$2 == "reason" && $3 == "accepted"' "$T/clean.tsv" | wc -l)
[ "$n" -eq 60 ] && ok || bad "$n of 60 addresses accepted"

# Postfix's disconnect lines give "rcpt=N" a session, or "rcpt=OK/N" when
# some were refused; N is what was asked. Its "452 too many recipients"
# counts as a success there, so compare what was asked with the 61 RCPTs
# (60 and the probe) the list needs: the rest were asked past the limit.
asked=$(grep "postfix/rcpt/smtpd\[[0-9]*\]: disconnect from" "$T/clean.log" |
        sed -n 's/.* rcpt=\([0-9]*\/\)\{0,1\}\([0-9]*\) .*/\2/p')
echo "  RCPTs asked a session:" $asked
[ -n "$asked" ] && ok || bad "no session in Postfix's log"
over=$(echo "$asked" | awk '{ n += $1 } END { print n - 61 }')
echo "  $over RCPTs asked past Postfix's limit"
# the limit was met (else the test proves nothing), by a window at most
[ "$over" -ge 1 ] && ok || bad "nothing was asked past Postfix's limit (the test proves nothing)"
[ "$over" -le $WINDOW ] && ok || bad "$over RCPTs asked past Postfix's limit, want at most $WINDOW"
grep -q "improper command pipelining" "$T/clean.log" && bad "Postfix: improper command pipelining" || ok
finish postfix-rcpt
