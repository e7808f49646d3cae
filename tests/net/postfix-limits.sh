#!/bin/sh
# postfix-limits.sh BUILD_DIR — SPEC "Provider fleets and defences": a real
# Postfix with error limits as sites run them against directory harvesting
# (smtpd_soft_error_limit = 2, smtpd_hard_error_limit = 4). Two listeners:
#   127.0.0.2 (mx.pf-sleepy.com)  smtpd_error_sleep_time = 1s: from the 2nd
#             refusal of a session on every reply waits a second, and the
#             4th is followed by "421 4.7.0 … Error: too many errors";
#   127.0.0.3 (mx.pf-errors.com)  smtpd_error_sleep_time = 0: the 421 only.
# Each serves one domain of 14 addresses, 4 existing and 10 unknown. With
# the default retry schedule (360, 900, 1800 s), `check` and `clean` must
# both give every address its true verdict, none unknown, within BOUND
# seconds: the 421 and the sleeps judge the session, never a mailbox, and
# nothing waits for the schedule. Learned once per host: one session per
# listener and run at most meets the limit (Postfix's log); the others stay
# under it. Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
for tool in postfix dnsmasq; do
    command -v $tool >/dev/null || { bad "$tool is not installed (make deps)"; finish postfix-limits; exit 1; }
done
net_tmp 'postfix -c "$T/pf" stop >/dev/null 2>&1; [ -f "$T/dnsmasq.pid" ] && kill "$(cat "$T/dnsmasq.pid")" 2>/dev/null'
chmod 755 "$T"
BOUND=30                       # seconds a run may take; the schedule's first retry is 360 s away
for ip in 127.0.0.2 127.0.0.3; do ip addr add $ip/8 dev lo 2>/dev/null; done

dns_start "$T" "mx-host=pf-sleepy.com,mx.pf-sleepy.com,10
mx-host=pf-errors.com,mx.pf-errors.com,10
host-record=mx.pf-sleepy.com,127.0.0.2
host-record=mx.pf-errors.com,127.0.0.3" || { bad "dnsmasq start"; finish postfix-limits; exit 1; }

pf_config "$T" mx.pf-limits.com "127.0.0.2, 127.0.0.3" "pf-sleepy.com, pf-errors.com"
cat >> "$T/pf/main.cf" <<CONF
smtpd_soft_error_limit = 2
smtpd_hard_error_limit = 4
smtpd_error_sleep_time = 1s
CONF
cat >> "$T/pf/master.cf" <<CONF
127.0.0.2:smtp inet n - n - - smtpd -o syslog_name=postfix/sleepy
127.0.0.3:smtp inet n - n - - smtpd -o syslog_name=postfix/errors -o smtpd_error_sleep_time=0
CONF
ADDRS=""
for d in pf-sleepy.com pf-errors.com; do
    for u in alice bob carol dave; do echo "$u@$d x" >> "$T/pf/vmailbox"; done
    # unknown ones first and between: the worst order for error limits
    for u in nobody1 nobody2 nobody3 nobody4 alice nobody5 nobody6 bob nobody7 nobody8 carol \
             nobody9 nobody10 dave; do
        ADDRS="$ADDRS $u@$d"
    done
done
pf_start "$T" 127.0.0.2 127.0.0.3 || { bad "postfix start"; finish postfix-limits; exit 1; }

OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.pf-test.com"

# verdicts SIDE TSV: the true verdict for each of the 28 addresses
verdicts() {
    for a in $ADDRS; do
        case $a in
            nobody*) want=mailbox_not_found ;;
            *) want=accepted ;;
        esac
        expect_tsv "$2" "$a" reason "$want" "$1: "
    done
    n=$(awk -F '\t' '$2 == "status" && $3 == "unknown"' "$2" | wc -l)
    [ "$n" -eq 0 ] && ok || bad "$1: $n addresses unknown"
}

# limits SIDE LOG: what Postfix saw of one run (the log lines since the
# run began), per listener: connections, sessions that met the hard limit
# (421) and sessions with 2 or more refusals (the soft limit: from there
# every reply waits, on the sleepy listener).
limits() {
    for l in sleepy errors; do
        conns=$(grep -c "postfix/$l/smtpd\[[0-9]*\]: connect from" "$2")
        cut=$(grep -c "postfix/$l/smtpd\[[0-9]*\]: too many errors" "$2")
        soft=$(grep "postfix/$l/smtpd\[[0-9]*\]: disconnect from" "$2" |
               sed -n 's/.* rcpt=\([0-9]*\)\/\([0-9]*\).*/\1 \2/p' | awk '$2 - $1 >= 2' | wc -l)
        echo "  $1 $l: $conns connections, $cut cut by the hard limit, $soft at or over the soft limit"
        [ "$conns" -gt 0 ] && ok || bad "$1 $l: Postfix saw no connection"
        [ "$cut" -le 1 ] && ok || bad "$1 $l: $cut sessions cut by the hard limit (learned once: at most 1)"
        # only the sleepy listener punishes the soft limit
        [ $l = errors ] || [ "$soft" -le 1 ] && ok \
            || bad "$1 $l: $soft sessions at or over the soft limit (learned once: at most 1)"
    done
}


# shellcheck disable=SC2086
pf_run check "$MAILVET" check $OPTS --json $ADDRS
results_tsv json "$T/check.out" > "$T/check.tsv"
verdicts check "$T/check.tsv"
limits check "$T/check.log"

{ echo email; for a in $ADDRS; do echo "$a"; done; } > "$T/list.csv"
# clean's reader may hand the rows over in two bursts, and two sessions
# opened at once before anything was learned can both be cut: --per-mx 1
# makes "learned once" a property the counts can check
# shellcheck disable=SC2086
pf_run clean "$MAILVET" clean $OPTS --per-mx 1 --progress never "$T/list.csv" -o "$T/out.csv"
[ -f "$T/out.csv" ] && results_tsv csv "$T/out.csv" > "$T/clean.tsv" || : > "$T/clean.tsv"
verdicts clean "$T/clean.tsv"
limits clean "$T/clean.log"
grep -q "too many errors" "$T/check.out" "$T/out.csv" && bad "the 421's text is a row's deciding reply" || ok
finish postfix-limits
