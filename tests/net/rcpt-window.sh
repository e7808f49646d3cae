#!/bin/sh
# rcpt-window.sh BUILD_DIR — a host whose recipient limit mailvet does not
# know yet gets its pipelined RCPTs ENGINE_HOST_RCPT_WINDOW (16) at a time,
# not a session's worth at once. mx.cap20.example answers "452 4.5.3 too
# many recipients" past 20 a session; mx.open.example (STARTTLS offered,
# so the groups also go over TLS) has no limit. Each serves one domain of
# 60 mailboxes; the list asks 60 that exist and 20 that do not, with
# --rcpt-per-session 100 and --per-mx 1. In one group the first session to
# the capped host drew 61 refusals (81 RCPTs, the catch-all probe among
# them, of which it takes 20); in windows at most 16. Every address gets
# its true verdict, the open host takes them all in one session, and the
# capped host is asked 20 a session once it has said so. Same for clean and
# check. Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish rcpt-window; exit 1; }
OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 2 --command-timeout 5 --retry-schedule 2,2 --per-mx 1 --rcpt-per-session 100"
WINDOW=16

{
    printf 'host mx.cap20.example 127.3.1.1\n  latency 2\n  rcpt-cap 20\n'
    printf 'host mx.open.example 127.3.1.2\n  latency 2\n  starttls offer\n'
    for d in cap20 open; do
        printf 'domain %s.example\n  mx 10 mx.%s.example\n  mailbox' $d $d
        i=1
        while [ $i -le 60 ]; do printf ' u%d' $i; i=$((i + 1)); done
        printf '\n'
    done
} > "$T/world.txt"
echo email > "$T/list.csv"
for d in cap20 open; do
    i=1
    while [ $i -le 60 ]; do
        echo "u$i@$d.example" >> "$T/list.csv"
        [ $((i % 3)) -eq 0 ] && echo "nobody$i@$d.example" >> "$T/list.csv"
        i=$((i + 1))
    done
done

WANT="120 40 0"

for cmd in clean check; do
    sim_start "$T/world.txt" "$T" --counters "$T/c-$cmd.json" \
        || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; finish rcpt-window; exit 1; }
    run_list $cmd "$OPTS" "$T/list.csv"
    [ "$rc" -eq 0 ] && ok || bad "$cmd: exit $rc: $(tail -3 "$T/err-$cmd.txt")"
    got=$(u_nobody_verdicts $kind "$out")
    [ "$got" = "$WANT" ] && ok || bad "$cmd: verdicts (accepted not_found other) $got, want $WANT"
    sim_counters "$T/c-$cmd.json" || { bad "$cmd: mailsim wrote no counters"; continue; }
    hits=$(sim_host_counter "$T/c-$cmd.json" mx.cap20.example rcpt_cap_hits)
    cc=$(sim_host_counter "$T/c-$cmd.json" mx.cap20.example connections)
    oc=$(sim_host_counter "$T/c-$cmd.json" mx.open.example connections)
    ohits=$(sim_host_counter "$T/c-$cmd.json" mx.open.example rcpt_cap_hits)
    tls=$(sim_host_counter "$T/c-$cmd.json" mx.open.example tls_handshakes)
    echo "$cmd: mx.cap20.example ${cc:-?} connections, ${hits:-?} RCPTs refused past its limit;" \
         "mx.open.example ${oc:-?} connections (${tls:-?} over TLS)"
    # the limit was met (else the test proves nothing), by one window at most
    [ "${hits:-0}" -ge 1 ] && ok || bad "$cmd: mx.cap20.example never said too many recipients"
    [ "${hits:-99}" -le $WINDOW ] && ok || bad "$cmd: ${hits:-?} RCPTs refused past the limit, want at most $WINDOW"
    # 80 recipients and the probe, 20 a session
    [ "${cc:-99}" -le 6 ] && ok || bad "$cmd: ${cc:-?} connections to mx.cap20.example, want at most 6"
    [ "${oc:-99}" -eq 1 ] && ok || bad "$cmd: ${oc:-?} connections to mx.open.example, want 1"
    [ "${ohits:-1}" -eq 0 ] && ok || bad "$cmd: mx.open.example refused ${ohits:-?} RCPTs past a limit it does not have"
    [ "${tls:-0}" -eq 1 ] && ok || bad "$cmd: ${tls:-?} TLS handshakes on mx.open.example, want 1"
done
finish rcpt-window
