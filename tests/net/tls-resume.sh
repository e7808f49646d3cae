#!/bin/sh
# tls-resume.sh BUILD_DIR — sessions to one host resume the TLS session an
# earlier one got (tls_cache.c). mx.tls.example offers STARTTLS and takes
# 10 recipients a session; the list asks 30 mailboxes that exist and 10
# that do not, --per-mx 1, so the host sees its sessions one after another.
# Every session after the first resumes (mailsim's tls_resumed), where a
# client without a cache does a full handshake each time; every address
# gets its true verdict. Same for clean and check. Runs inside a private
# network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish tls-resume; exit 1; }
OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 2 --command-timeout 5 --retry-schedule 2,2 --per-mx 1 --rcpt-per-session 10"

{
    printf 'host mx.tls.example 127.3.2.1\n  latency 2\n  rcpt-cap 10\n  starttls offer\n'
    printf 'domain tls.example\n  mx 10 mx.tls.example\n  mailbox'
    i=1
    while [ $i -le 30 ]; do printf ' u%d' $i; i=$((i + 1)); done
    printf '\n'
} > "$T/world.txt"
echo email > "$T/list.csv"
i=1
while [ $i -le 30 ]; do
    echo "u$i@tls.example" >> "$T/list.csv"
    [ $((i % 3)) -eq 0 ] && echo "nobody$i@tls.example" >> "$T/list.csv"
    i=$((i + 1))
done

WANT="30 10 0"

for cmd in clean check; do
    sim_start "$T/world.txt" "$T" --counters "$T/c-$cmd.json" \
        || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; finish tls-resume; exit 1; }
    run_list $cmd "$OPTS" "$T/list.csv"
    [ "$rc" -eq 0 ] && ok || bad "$cmd: exit $rc: $(tail -3 "$T/err-$cmd.txt")"
    got=$(u_nobody_verdicts $kind "$out")
    [ "$got" = "$WANT" ] && ok || bad "$cmd: verdicts (accepted not_found other) $got, want $WANT"
    sim_counters "$T/c-$cmd.json" || { bad "$cmd: mailsim wrote no counters"; continue; }
    cc=$(sim_host_counter "$T/c-$cmd.json" mx.tls.example connections)
    hs=$(sim_host_counter "$T/c-$cmd.json" mx.tls.example tls_handshakes)
    re=$(sim_host_counter "$T/c-$cmd.json" mx.tls.example tls_resumed)
    echo "$cmd: mx.tls.example ${cc:-?} connections, ${hs:-?} TLS handshakes, ${re:-?} resumed"
    # 40 recipients and the catch-all probe, 10 a session: 5 at least
    [ "${cc:-0}" -ge 5 ] && ok || bad "$cmd: ${cc:-?} connections, want at least 5 (else this proves little)"
    [ "${hs:-0}" -eq "${cc:-x}" ] && ok || bad "$cmd: ${hs:-?} TLS handshakes for ${cc:-?} connections"
    [ "${re:-0}" -eq $((${cc:-1} - 1)) ] && ok || bad "$cmd: ${re:-?} of ${hs:-?} handshakes resumed, want all but the first"
done
finish tls-resume
