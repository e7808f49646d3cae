#!/bin/sh
# mixed.sh BUILD_DIR — issue 16: domains whose MX records name the same
# host share its sessions. 30 one-mailbox company domains on
# mx.sharedhost.net (--per-mx 1, so its one slot is the bottleneck) are
# checked in a few sessions carrying recipients of many domains, each
# domain with its own catch-all probe and verdicts (three of them are
# catch-all); 12 domains on mx.regions.net, which refuses a second domain
# in one message ("452 4.5.3 Recipients belong to multiple regions", as
# Exchange Online does), are checked one domain a session once that is
# learned, and the refusals are no verdicts. Same for clean and check.
# Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish mixed; exit 1; }
OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 2 --command-timeout 5 --retry-schedule 2,2 --per-mx 1 --rcpt-per-session 50"
NS=30 NR=12

{
    printf 'host mx.sharedhost.net 127.3.0.1\n  latency 20\n'
    printf 'host mx.regions.net 127.3.0.2\n  latency 20\n  one-domain\n'
    i=1
    while [ $i -le $NS ]; do
        printf 'domain c%d.com\n  mx 10 mx.sharedhost.net\n  mailbox u1\n' $i
        [ $((i % 10)) -eq 0 ] && printf '  catch-all\n'
        i=$((i + 1))
    done
    i=1
    while [ $i -le $NR ]; do
        printf 'domain r%d.com\n  mx 10 mx.regions.net\n  mailbox u1\n' $i
        i=$((i + 1))
    done
} > "$T/world.txt"
echo email > "$T/list.csv"
i=1
while [ $i -le $NS ]; do
    echo "u1@c$i.com" >> "$T/list.csv"
    [ $((i % 2)) -eq 1 ] && echo "nobody@c$i.com" >> "$T/list.csv"
    i=$((i + 1))
done
i=1
while [ $i -le $NR ]; do printf 'u1@r%d.com\nnobody@r%d.com\n' $i $i >> "$T/list.csv"; i=$((i + 1)); done

# verdicts KIND FILE: "DELIVERABLE NOT_FOUND ACCEPT_ALL OTHER" of the list's rows
verdicts() {
    verdict_lines "$1" "$2" | awk '
        $1 ~ /^u1@/ && $3 == "accepted" { d++; next }
        $1 ~ /^u1@c[0-9]*0\.com$/ && $3 == "accept_all" { a++; next }
        $1 ~ /^nobody@c[0-9]*0\.com$/ && $3 == "accept_all" { a++; next }
        $1 ~ /^nobody@/ && $3 == "mailbox_not_found" { n++; next }
        { o++; print "unexpected: " $0 > "/dev/stderr" }
        END { printf "%d %d %d %d\n", d, n, a, o }'
}
# u1@ of the 27 plain shared domains and the 12 regions ones; nobody@ of the
# 15 odd shared domains (none ends in 0) and the 12 regions ones; the three
# catch-all domains' u1@ (c10 c20 c30 are even: no nobody@ row)
WANT="$((NS - 3 + NR)) $((NS / 2 + NR)) 3 0"

for cmd in clean check; do
    sim_start "$T/world.txt" "$T" --counters "$T/c-$cmd.json" \
        || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; finish mixed; exit 1; }
    run_list $cmd "$OPTS" "$T/list.csv"
    [ "$rc" -eq 0 ] && ok || bad "$cmd: exit $rc: $(tail -3 "$T/err-$cmd.txt")"
    got=$(verdicts $kind "$out")
    [ "$got" = "$WANT" ] && ok || bad "$cmd: verdicts (deliverable not_found accept_all other) $got, want $WANT"
    sim_counters "$T/c-$cmd.json" || continue
    sc=$(sim_host_counter "$T/c-$cmd.json" mx.sharedhost.net connections)
    sm=$(sim_host_counter "$T/c-$cmd.json" mx.sharedhost.net mixed_sessions)
    rc_=$(sim_host_counter "$T/c-$cmd.json" mx.regions.net connections)
    rm_=$(sim_host_counter "$T/c-$cmd.json" mx.regions.net mixed_refused)
    echo "$cmd: mx.sharedhost.net ${sc:-?} connections (${sm:-?} of several domains) for $NS domains;" \
         "mx.regions.net ${rc_:-?} connections, ${rm_:-?} RCPTs refused for a second domain"
    # 30 domains, 45 addresses and 30 probes: two full sessions of 50, and
    # the ones that began before the queue filled; a session a domain is 30
    [ "${sc:-99}" -le 6 ] && ok || bad "$cmd: ${sc:-?} connections to the shared host, want at most 6"
    [ "${sm:-0}" -ge 1 ] && ok || bad "$cmd: no session carried two domains"
    # learned once: at most the one mixed session's later domains were refused
    [ "${rm_:-0}" -ge 1 ] && ok || bad "$cmd: mx.regions.net never refused a second domain (the test proves nothing)"
    [ "${rc_:-99}" -le $((NR + 2)) ] && ok || bad "$cmd: ${rc_:-?} connections to mx.regions.net, want at most $((NR + 2))"
    [ "${rm_:-99}" -le 50 ] && ok || bad "$cmd: ${rm_:-?} refusals for a second domain, more than one session's 50"
done
finish mixed
