#!/bin/sh
# providers.sh BUILD_DIR — SPEC --per-provider: one operator's fleet of many
# MX names and addresses (40 tenant domains, each with an MX name and an IP
# of its own under fleetmail.net, as *.mail.protection.outlook.com) shares
# one ceiling of simultaneous connections; mailsim counts connections per
# fleet. With --per-provider 4 its peak stays at 4 or below in clean and
# check, every verdict is right, and the report names the provider; with
# the default (50) the same world takes more than 4 at once, so the ceiling
# is what held it. Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish providers; exit 1; }
OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 2 --command-timeout 5 --retry-schedule 2,2"
N=40

# the world: tenants tenant1-corp.com… on t<i>.mail.fleetmail.net (127.2.0.<i>),
# 50 ms a reply; one domain of another operator beside them
{
    i=1
    while [ $i -le $N ]; do
        printf 'host t%d.mail.fleetmail.net 127.2.0.%d\n  latency 50\n' $i $i
        printf 'domain tenant%d-corp.com\n  mx 10 t%d.mail.fleetmail.net\n  mailbox u1 u2\n' $i $i
        i=$((i + 1))
    done
    printf 'host mx.solo.com 127.2.1.1\n  latency 50\ndomain solo.com\n  mx 10 mx.solo.com\n  mailbox u1\n'
} > "$T/world.txt"
echo email > "$T/list.csv"
i=1
while [ $i -le $N ]; do printf 'u1@tenant%d-corp.com\nu2@tenant%d-corp.com\nnobody@tenant%d-corp.com\n' $i $i $i >> "$T/list.csv"; i=$((i + 1)); done
echo u1@solo.com >> "$T/list.csv"

# fleet_peak FILE: "CONNECTIONS PEAK" of fleetmail.net in a counters dump
fleet_peak() {
    sed -n 's/^"fleetmail.net":{"hosts":[0-9]*,"connections":\([0-9]*\),"conn_peak":\([0-9]*\)}.*/\1 \2/p' "$1"
}

# verdicts FILE: deliverable and mailbox_not_found rows of clean's OUTPUT
verdicts() {
    d=$(grep -c '^u[12]@tenant[0-9]*-corp\.com,u[12]@tenant[0-9]*-corp\.com,deliverable,accepted,' "$1")
    n=$(grep -c '^nobody@tenant[0-9]*-corp\.com,nobody@tenant[0-9]*-corp\.com,undeliverable,mailbox_not_found,' "$1")
    echo "$d $n"
}

# 1. clean --per-provider 4
sim_start "$T/world.txt" "$T" --counters "$T/c1.json" || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; finish providers; exit 1; }
# shellcheck disable=SC2086
timeout 120 "$MAILVET" clean $OPTS --per-provider 4 --progress never "$T/list.csv" -o "$T/out.csv" \
    > "$T/sum.txt" 2> "$T/err.txt"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "clean: exit $rc: $(tail -3 "$T/err.txt")"
sim_counters "$T/c1.json" || bad "no counters after clean"
set -- $(fleet_peak "$T/c1.json")
[ "${1:-0}" -ge $N ] && ok || bad "clean: fleet connections ${1:-none}, want at least $N"
[ "${2:-99}" -le 4 ] && [ "${2:-0}" -ge 1 ] && ok || bad "clean --per-provider 4: fleet peak ${2:-none}"
echo "clean --per-provider 4: fleet connections ${1:-?}, peak ${2:-?}"
set -- $(verdicts "$T/out.csv")
[ "$1" -eq $((2 * N)) ] && ok || bad "clean: $1 of $((2 * N)) fleet mailboxes deliverable"
[ "$2" -eq $N ] && ok || bad "clean: $2 of $N missing fleet mailboxes mailbox_not_found"
grep -q '^u1@solo.com,u1@solo.com,deliverable,' "$T/out.csv" && ok || bad "clean: u1@solo.com not deliverable"
# the report: sessions and connections per provider
"$MAILVET" report "$T/out.csv.state" > "$T/report.txt" 2>&1
grep -Eq "fleetmail\.net +$N hosts +[0-9]+ sessions +[0-9]+ connections" "$T/report.txt" && ok \
    || bad "report: no provider line for fleetmail.net: $(grep -A4 -i provider "$T/report.txt")"
"$MAILVET" report --format json "$T/out.csv.state" > "$T/report.json" 2>&1
grep -q '"providers":\[{"name":"fleetmail.net","hosts":'"$N"',' "$T/report.json" && ok \
    || bad "report JSON: no providers entry: $(grep -o '"providers":.\{0,120\}' "$T/report.json")"

# 2. check --per-provider 4 (the same engine)
sim_start "$T/world.txt" "$T" --counters "$T/c2.json" || { bad "mailsim did not start"; finish providers; exit 1; }
# shellcheck disable=SC2086
timeout 120 "$MAILVET" check $OPTS --per-provider 4 --json $(tail -n +2 "$T/list.csv") > "$T/check.json" 2> "$T/check.err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "check: exit $rc: $(tail -3 "$T/check.err")"
sim_counters "$T/c2.json" || bad "no counters after check"
set -- $(fleet_peak "$T/c2.json")
[ "${2:-99}" -le 4 ] && [ "${2:-0}" -ge 1 ] && ok || bad "check --per-provider 4: fleet peak ${2:-none}"
echo "check --per-provider 4: fleet connections ${1:-?}, peak ${2:-?}"
c_ok=$(grep -c '"input":"u[12]@tenant[0-9]*-corp\.com".*"status":"deliverable"' "$T/check.json")
[ "$c_ok" -eq $((2 * N)) ] && ok || bad "check: $c_ok of $((2 * N)) fleet mailboxes deliverable"

# 3. the default ceiling lets this fleet take more than 4 at once
sim_start "$T/world.txt" "$T" --counters "$T/c3.json" || { bad "mailsim did not start"; finish providers; exit 1; }
# shellcheck disable=SC2086
timeout 120 "$MAILVET" clean $OPTS --progress never "$T/list.csv" -o "$T/out3.csv" > /dev/null 2> "$T/err3.txt"
sim_counters "$T/c3.json" || bad "no counters after the default run"
set -- $(fleet_peak "$T/c3.json")
[ "${2:-0}" -gt 4 ] && ok || bad "default --per-provider: fleet peak ${2:-none}, want more than 4 (else the test proves nothing)"
echo "clean, default --per-provider: fleet connections ${1:-?}, peak ${2:-?}"
finish providers
