#!/bin/sh
# postscreen.sh BUILD_DIR — SPEC "Provider fleets and defences": a real
# Postfix defended as sites run it against spambots and harvesters.
#  (a) postscreen in front of smtpd with the deep protocol tests
#      (pipelining, non-SMTP command, bare newline) and
#      postscreen_greet_action = enforce after a greet wait, DNSBLs off.
#      A client that passes them meets "450 4.3.2 Service currently
#      unavailable" at RCPT in its first session and must come back; then
#      postscreen hands it to smtpd. Two listeners with a cache each, so
#      check and clean each meet a postscreen that has never seen them:
#      127.0.0.2 (ps-one.com, for check), 127.0.0.4 (ps-two.com, clean).
#  (b) anvil (127.0.0.3, pf-anvil.com): one connection at a time, 3
#      connections and 5 recipients per client per anvil_rate_time_unit of
#      5 s (421 and "450 4.7.1 Error: too many recipients from …").
# Every domain has 14 addresses, 4 existing and 10 unknown. With the default
# retry schedule (360, 900, 1800 s) every address gets its true verdict,
# none unknown, within BOUND seconds; postscreen's log shows mailvet never
# spoke before the banner (PREGREET) nor pipelined where it was not offered
# (PIPELINING), nor sent a non-SMTP command or a bare newline. Runs inside
# a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
for tool in postfix dnsmasq; do
    command -v $tool >/dev/null || { bad "$tool is not installed (make deps)"; finish postscreen; exit 1; }
done
net_tmp 'postfix -c "$T/pf" stop >/dev/null 2>&1; [ -f "$T/dnsmasq.pid" ] && kill "$(cat "$T/dnsmasq.pid")" 2>/dev/null'
chmod 755 "$T"
BOUND=60                       # seconds a run may take; the schedule's first retry is 360 s away
for ip in 127.0.0.2 127.0.0.3 127.0.0.4; do ip addr add $ip/8 dev lo 2>/dev/null; done

dns_start "$T" "mx-host=ps-one.com,mx.ps-one.com,10
mx-host=ps-two.com,mx.ps-two.com,10
mx-host=pf-anvil.com,mx.pf-anvil.com,10
host-record=mx.ps-one.com,127.0.0.2
host-record=mx.ps-two.com,127.0.0.4
host-record=mx.pf-anvil.com,127.0.0.3" || { bad "dnsmasq start"; finish postscreen; exit 1; }

pf_config "$T" mx.pf-defended.com "127.0.0.2, 127.0.0.3, 127.0.0.4" "ps-one.com, ps-two.com, pf-anvil.com"
cat >> "$T/pf/main.cf" <<CONF
postscreen_access_list =
postscreen_dnsbl_sites =
postscreen_greet_action = enforce
postscreen_greet_wait = 3s
postscreen_pipelining_enable = yes
postscreen_non_smtp_command_enable = yes
postscreen_bare_newline_enable = yes
anvil_rate_time_unit = 5s
CONF
cat >> "$T/pf/master.cf" <<CONF
127.0.0.2:smtp inet n - n - 1 postscreen -o syslog_name=postfix/one -o postscreen_cache_map=btree:\$data_directory/ps_one
127.0.0.4:smtp inet n - n - 1 postscreen -o syslog_name=postfix/two -o postscreen_cache_map=btree:\$data_directory/ps_two
smtpd pass - - n - - smtpd
127.0.0.3:smtp inet n - n - - smtpd -o syslog_name=postfix/anvil
  -o smtpd_client_connection_count_limit=1
  -o smtpd_client_connection_rate_limit=3
  -o smtpd_client_recipient_rate_limit=5
CONF
for d in ps-one.com ps-two.com pf-anvil.com; do
    for u in alice bob carol dave; do echo "$u@$d x" >> "$T/pf/vmailbox"; done
done
pf_start "$T" 127.0.0.2 127.0.0.3 127.0.0.4 || { bad "postfix start"; finish postscreen; exit 1; }

OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.pf-test.com"

# addrs DOMAIN: its 14 addresses, unknown ones first
addrs() {
    for u in nobody1 nobody2 nobody3 nobody4 alice nobody5 nobody6 bob nobody7 nobody8 carol \
             nobody9 nobody10 dave; do
        printf '%s@%s ' $u "$1"
    done
}

# verdicts SIDE TSV ADDRS: the true verdict of each address, none unknown
verdicts() {
    for a in $3; do
        case $a in nobody*) want=mailbox_not_found ;; *) want=accepted ;; esac
        expect_tsv "$2" "$a" reason "$want" "$1: "
    done
    n=$(awk -F '\t' '$2 == "status" && $3 == "unknown"' "$2" | wc -l)
    [ "$n" -eq 0 ] && ok || bad "$1: $n addresses unknown"
}


# screened SIDE LISTENER: what postscreen LISTENER logged of the run
screened() {
    l="postfix/$2/postscreen"
    conns=$(grep -c "$l\[[0-9]*\]: CONNECT from" "$T/$1.log")
    new=$(grep -c "$l\[[0-9]*\]: PASS NEW" "$T/$1.log")
    old=$(grep -c "$l\[[0-9]*\]: PASS OLD" "$T/$1.log")
    echo "  $1 postscreen: $conns connections, $new PASS NEW, $old PASS OLD"
    [ "$new" -eq 1 ] && ok || bad "$1: $new PASS NEW (want 1: the deep tests passed once)"
    [ "$old" -ge 1 ] && ok || bad "$1: no PASS OLD: never handed to smtpd"
    for v in PREGREET "PIPELINING" "NON-SMTP COMMAND" "BARE NEWLINE"; do
        grep -q "$l\[[0-9]*\]: $v" "$T/$1.log" && bad "$1: postscreen logged $v: $(grep -m1 "$v" "$T/$1.log")" || ok
    done
}

# anvil SIDE: what the anvil listener's smtpd logged of the run
anvil() {
    l="postfix/anvil/smtpd"
    conns=$(grep -c "$l\[[0-9]*\]: connect from" "$T/$1.log")
    cc=$(grep -c "$l\[[0-9]*\]: warning: Connection concurrency limit exceeded" "$T/$1.log")
    cr=$(grep -c "$l\[[0-9]*\]: warning: Connection rate limit exceeded" "$T/$1.log")
    rr=$(grep -c "$l\[[0-9]*\]: warning: Recipient address rate limit exceeded" "$T/$1.log")
    echo "  $1 anvil: $conns connections; over the limits: $cc concurrency, $cr connection rate, $rr recipient rate"
    [ "$conns" -gt 0 ] && ok || bad "$1: smtpd saw no connection"
}

ONE=$(addrs ps-one.com) TWO=$(addrs ps-two.com) ANV=$(addrs pf-anvil.com)

# --- (a) postscreen
# shellcheck disable=SC2086
pf_run check-ps "$MAILVET" check $OPTS --json $ONE
results_tsv json "$T/check-ps.out" > "$T/check-ps.tsv"
verdicts check-ps "$T/check-ps.tsv" "$ONE"
screened check-ps one
{ echo email; for a in $TWO; do echo "$a"; done; } > "$T/two.csv"
pf_run clean-ps "$MAILVET" clean $OPTS --progress never "$T/two.csv" -o "$T/two-out.csv"
[ -f "$T/two-out.csv" ] && results_tsv csv "$T/two-out.csv" > "$T/clean-ps.tsv" || : > "$T/clean-ps.tsv"
verdicts clean-ps "$T/clean-ps.tsv" "$TWO"
screened clean-ps two

# --- (b) anvil
# shellcheck disable=SC2086
pf_run check-anvil "$MAILVET" check $OPTS --json $ANV
results_tsv json "$T/check-anvil.out" > "$T/check-anvil.tsv"
verdicts check-anvil "$T/check-anvil.tsv" "$ANV"
anvil check-anvil
{ echo email; for a in $ANV; do echo "$a"; done; } > "$T/anvil.csv"
pf_run clean-anvil "$MAILVET" clean $OPTS --progress never "$T/anvil.csv" -o "$T/anvil-out.csv"
[ -f "$T/anvil-out.csv" ] && results_tsv csv "$T/anvil-out.csv" > "$T/clean-anvil.tsv" || : > "$T/clean-anvil.tsv"
verdicts clean-anvil "$T/clean-anvil.tsv" "$ANV"
anvil clean-anvil
finish postscreen
