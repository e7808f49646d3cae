#!/bin/sh
# port25.sh BUILD_DIR — outbound port 25 blocked. A mailsim world of 25
# domains, each on an MX host of its own, is cleaned with --smtp-port set
# to a port nothing listens on, so every connection is refused: clean warns
# once, while still running, that port 25 looks blocked; the summary says
# most servers were unreachable, lists them, and the exit code is 3. The
# same world on mailsim's port: no warning, exit 0. `check` warns the same.
# One more domain answers its DNS late, so the run outlasts the warning.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish port25; exit 1; }
net_tmp

N=25
{
    i=1
    while [ $i -le $N ]; do
        printf 'host mx.p25d%d.com 127.1.0.%d\ndomain p25d%d.com\n  mx 10 mx.p25d%d.com\n  mailbox a b\n' \
            $i $i $i $i
        i=$((i + 1))
    done
    printf 'host mx.p25slow.com 127.1.1.1\ndomain p25slow.com\n  mx 10 mx.p25slow.com\n  mailbox s\n  dns delay 1500\n'
} > "$T/world.txt"
{
    echo "email,name"
    i=1
    while [ $i -le $N ]; do echo "a@p25d$i.com,A$i"; echo "b@p25d$i.com,B$i"; i=$((i + 1)); done
    echo "s@p25slow.com,S"
} > "$T/list.csv"
sim_start "$T/world.txt" "$T" || { cat "$T/sim.log"; bad "mailsim did not start"; finish port25; exit 1; }

OPTS="--dns 127.0.0.1 --allow-private-mx --helo verifier.example.net --connect-timeout 2 \
--command-timeout 3 --retry-schedule 1"
WARN="outbound port 25 is probably blocked here"

# --- every connection refused (nothing listens on 2599)
"$MAILVET" clean $OPTS --progress never --smtp-port 2599 "$T/list.csv" -o "$T/out.csv" > "$T/sum.txt" 2> "$T/err.txt" &
pid=$!
i=0 early=no
while kill -0 $pid 2>/dev/null && [ $i -lt 200 ]; do
    if grep -q "$WARN" "$T/err.txt"; then
        kill -0 $pid 2>/dev/null && early=yes
        break
    fi
    sleep 0.05
    i=$((i + 1))
done
wait $pid; rc=$?
[ "$early" = yes ] && ok || bad "no port-25 warning while the run was going: $(cat "$T/err.txt")"
[ $rc -eq 3 ] && ok || bad "every host refused: exit $rc, want 3: $(tail -3 "$T/err.txt")"
n=$(grep -c "$WARN" "$T/err.txt")
[ "$n" -eq 1 ] && ok || bad "port-25 warning printed $n times, want once"
first=$(grep -m1 -i "warning" "$T/err.txt")
case "$first" in *"$WARN"*"mailvet doctor"*) ok ;; *) bad "first warning is not the port-25 one: $first" ;; esac
grep -q "first 20 mail servers tried all refused or timed out" "$T/err.txt" && ok \
    || bad "warning does not say 20 servers: $(cat "$T/err.txt")"
grep -q "never accepted a connection: outbound port 25 is probably blocked" "$T/sum.txt" && ok \
    || bad "summary does not say the servers were unreachable: $(cat "$T/sum.txt")"
grep -q "^Hosts that blocked or timed out the verifier: none" "$T/sum.txt" \
    && bad "summary lists no unreachable host" || ok
grep -q "mx.p25d1.com \[127.1.0.1\]: .*never connected" "$T/sum.txt" && ok \
    || bad "hosts section does not show mx.p25d1.com as never connected: $(grep -A3 '^Hosts' "$T/sum.txt")"
"$MAILVET" report --format json "$T/out.csv.state" > "$T/rep.json" 2>&1
grep -q '"hosts_tried":26,"hosts_unreachable":26,"mostly_unreachable":true' "$T/rep.json" && ok \
    || bad "report JSON port-25 counts: $(grep -o '"hosts_tried[^]]*' "$T/rep.json" | head -c 200)"
grep -q '"running":false' "$T/rep.json" && ok || bad "finished batch reported as running"

# --- check: the same event
set --
i=1
while [ $i -le $N ]; do set -- "$@" "a@p25d$i.com"; i=$((i + 1)); done
"$MAILVET" check $OPTS --smtp-port 2599 "$@" > "$T/check.txt" 2> "$T/check.err"; rc=$?
[ $rc -eq 3 ] && ok || bad "check, every host refused: exit $rc, want 3"
[ "$(grep -c "$WARN" "$T/check.err")" -eq 1 ] && ok || bad "check: warning not printed once: $(cat "$T/check.err")"
grep -q "^a@p25d1.com .*no_connect" "$T/check.txt" && ok || bad "check printed no verdicts: $(head -3 "$T/check.txt")"

# --- a healthy world: no warning, exit 0
"$MAILVET" clean $OPTS --progress never --smtp-port 25 "$T/list.csv" -o "$T/ok.csv" > "$T/oksum.txt" 2> "$T/okerr.txt"; rc=$?
[ $rc -eq 0 ] && ok || bad "healthy world: exit $rc: $(tail -3 "$T/okerr.txt")"
grep -q "port 25" "$T/okerr.txt" "$T/oksum.txt" && bad "healthy world mentions port 25" || ok
"$MAILVET" report --format json "$T/ok.csv.state" > "$T/okrep.json" 2>&1
grep -q '"hosts_tried":26,"hosts_unreachable":0,"mostly_unreachable":false' "$T/okrep.json" && ok \
    || bad "healthy report JSON port-25 counts: $(grep -o '"hosts_tried[^,]*,[^,]*' "$T/okrep.json")"
finish port25
