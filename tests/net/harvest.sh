#!/bin/sh
# harvest.sh BUILD_DIR — SPEC "Provider fleets and defences": a reply that
# judges the session is never a verdict on a mailbox. mailsim plays
# Debian's Exim ACL (world-harvest.txt): past 10 recipients of a message
# with fewer than half accepted, every RCPT gets "550 Rejected for too many
# bad recipients". A list of 10 missing and 14 existing mailboxes on that
# host, missing ones first: clean and check both give every existing one
# deliverable and every missing one mailbox_not_found, and the same verdicts
# (the refused ones are asked again in new sessions). Runs inside a private
# network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish harvest; exit 1; }
OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 1 --command-timeout 2 --retry-schedule 2,2"

echo email > "$T/list.csv"
i=1; while [ $i -le 10 ]; do echo "nobody$i@eximish.com" >> "$T/list.csv"; i=$((i + 1)); done
i=1; while [ $i -le 14 ]; do printf 'a%02d@eximish.com\n' $i >> "$T/list.csv"; i=$((i + 1)); done

sim_start "$HERE/world-harvest.txt" "$T" || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; finish harvest; exit 1; }
# shellcheck disable=SC2086
timeout 60 "$MAILVET" clean $OPTS --progress never "$T/list.csv" -o "$T/out.csv" > "$T/sum.txt" 2> "$T/err.txt"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "clean: exit $rc: $(tail -3 "$T/err.txt")"
grep -c "Rejected for too many bad recipients" "$T/sim.log" > /dev/null 2>&1 || true
n_ok=$(grep -c '^a[0-9]*@eximish.com,a[0-9]*@eximish.com,deliverable,accepted,' "$T/out.csv")
n_nf=$(grep -c '^nobody[0-9]*@eximish.com,nobody[0-9]*@eximish.com,undeliverable,mailbox_not_found,' "$T/out.csv")
[ "$n_ok" -eq 14 ] && ok || bad "clean: $n_ok of 14 existing mailboxes deliverable: $(grep '^a' "$T/out.csv" | cut -d, -f1,3,4,14 | head -5)"
[ "$n_nf" -eq 10 ] && ok || bad "clean: $n_nf of 10 missing mailboxes mailbox_not_found"
grep -q "too many bad recipients" "$T/out.csv" && bad "clean: a session limit's text is a row's deciding reply" || ok
# the report names the cap it learned (the host took 10 recipients a session at most)
"$MAILVET" report "$T/out.csv.state" > "$T/report.txt" 2>&1
grep -Eq "^  mx.eximish.com: ([1-9]|10) recipients per session" "$T/report.txt" && ok \
    || bad "report: no learned cap for mx.eximish.com: $(grep -A3 -i learned "$T/report.txt")"

sim_start "$HERE/world-harvest.txt" "$T" || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; finish harvest; exit 1; }
# shellcheck disable=SC2086
timeout 60 "$MAILVET" check $OPTS --json $(tail -n +2 "$T/list.csv") > "$T/check.json" 2> "$T/check.err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "check: exit $rc: $(tail -3 "$T/check.err")"
c_ok=$(grep -c '"input":"a[0-9]*@eximish.com".*"status":"deliverable"' "$T/check.json")
c_nf=$(grep -c '"input":"nobody[0-9]*@eximish.com".*"reason":"mailbox_not_found"' "$T/check.json")
[ "$c_ok" -eq 14 ] && ok || bad "check: $c_ok of 14 existing mailboxes deliverable"
[ "$c_nf" -eq 10 ] && ok || bad "check: $c_nf of 10 missing mailboxes mailbox_not_found"
finish harvest
