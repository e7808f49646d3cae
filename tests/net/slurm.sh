#!/bin/sh
# slurm.sh BUILD_DIR — the README's Slurm array job, run for real. A
# single-node Slurm from Debian (slurmctld, slurmd, slurm-client, munge)
# runs inside this test's network namespace, configured only under the temp
# directory: SLURM_CONF names a slurm.conf written here, munged has a key,
# socket, pid, log and seed file of its own (/etc/slurm and /etc/munge are
# never read or written). The script and the merge command are taken from
# README.md as users read them; the array (`sbatch --array=1-3`) cleans a
# mailsim world's list in three shards, and `mailvet merge` of their states
# must be byte for byte one machine's `mailvet clean` of the same list but
# for mailvet_checked_at (another run, another time), and hold each task's
# rows byte for byte.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
for tool in munged mungekey slurmctld slurmd sbatch scontrol sinfo scancel; do
    command -v $tool > /dev/null || { bad "$tool is not installed (make deps)"; finish slurm; exit 1; }
done
net_tmp slurm_stop
trap 'exit 143' TERM INT    # so the EXIT trap stops the daemons

# Slurm's daemons bind their ports with getaddrinfo(NULL, port, AF_INET,
# AI_PASSIVE|AI_ADDRCONFIG), which glibc answers "Name or service not known"
# when the only IPv4 address is 127.0.0.1: give lo a second one.
ip addr add 127.0.0.2/8 dev lo

# stop_pid PID: SIGTERM, then SIGKILL if it is still there after 10 s
stop_pid() {
    kill "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$1" 2>/dev/null && kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
# slurm_stop: cancel the array if it is still there (its tasks are
# slurmd's children), then stop the daemons this test started.
MUNGE_PID= CTLD_PID= SLURMD_PID= JOB=
slurm_stop() {
    [ -n "$JOB" ] && [ -n "$CTLD_PID" ] && timeout 10 scancel "$JOB" 2>/dev/null
    for p in $SLURMD_PID $CTLD_PID $MUNGE_PID; do stop_pid "$p"; done
}

# show_logs: the daemons' last words, after a failure
show_logs() {
    for f in "$T/munge/log" "$T/slurm/slurmctld.log" "$T/slurm/slurmd.log" "$T"/job/slurm-*.out; do
        [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
    done
}

# --- munge: a key and a socket of this test's own
mkdir -p "$T/munge" "$T/slurm/state" "$T/slurm/spool" "$T/job" "$T/bin"
chmod 700 "$T/munge"
mungekey --create --keyfile="$T/munge/key" || bad "mungekey"
munged --foreground --force --socket="$T/munge/socket" --key-file="$T/munge/key" \
    --pid-file="$T/munge/pid" --log-file="$T/munge/log" --seed-file="$T/munge/seed" \
    2> "$T/munge/stderr" &
MUNGE_PID=$!
i=0
while [ ! -S "$T/munge/socket" ] && kill -0 $MUNGE_PID 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$T/munge/socket" ] && ok || { bad "munged did not start: $(cat "$T/munge/stderr")"; show_logs; finish slurm; exit 1; }

# --- Slurm: one node (this host, at 127.0.0.1) with one CPU that up to
# three jobs share, so the three tasks run at once; no cgroups, no
# accounting. The ports are the defaults: the namespace is this test's own.
H=$(hostname -s)
export SLURM_CONF="$T/slurm/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=mailvet-test
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/socket
CredType=cred/munge
StateSaveLocation=$T/slurm/state
SlurmdSpoolDir=$T/slurm/spool
SlurmctldPidFile=$T/slurm/slurmctld.pid
SlurmdPidFile=$T/slurm/slurmd.pid
SlurmctldLogFile=$T/slurm/slurmctld.log
SlurmdLogFile=$T/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
MessageTimeout=5
NodeName=$H NodeAddr=127.0.0.1 CPUs=1 State=UNKNOWN
PartitionName=mailvet Nodes=$H Default=YES MaxTime=INFINITE OverSubscribe=FORCE:3 State=UP
CONF
slurmctld -D 2> "$T/slurm/slurmctld.stderr" &
CTLD_PID=$!
slurmd -D -N "$H" 2> "$T/slurm/slurmd.stderr" &
SLURMD_PID=$!
# ready when the node is idle (each query bounded, 30 s in all)
i=0
while [ $i -lt 60 ]; do
    st=$(timeout 5 sinfo -h -n "$H" -o %T 2>/dev/null)
    [ "$st" = idle ] && break
    kill -0 $CTLD_PID 2>/dev/null && kill -0 $SLURMD_PID 2>/dev/null || break
    sleep 0.5
    i=$((i + 1))
done
[ "$st" = idle ] && ok || { bad "the Slurm node is not idle (state: ${st:-none})"; show_logs; finish slurm; exit 1; }

# --- the world: shard.sh's behaviours (verdicts and attempt counts that do
# not depend on timing), smaller
"$SIM" gen --addresses 600 --domains 60 --seed 11 --greylist-delay 1 \
    --mix catchall=10,greylist=10,nxdomain=5,nullmx=5,nodata=5,aonly=5,dead=5,banner554=5,block=5,tls=5,shared=10,rcptcap=5,drop=0,garbage=0,drip=0,tarpit=0,slowdns=0,ratecap=0,conncap=0,servfail=0,dnsdrop=0 \
    --out-dir "$T/w" 2> /dev/null || bad "mailsim gen"
cp "$T/w/list.csv" "$T/job/list.csv"

# The README's commands name plain `mailvet`; here that is this wrapper (on
# PATH, which sbatch passes to the tasks with the rest of the environment):
# the build under test, with the options every test gives `clean`
# (mailsim's DNS, --allow-private-mx, --smtp-port 25, short timers). A
# wrapper because mailvet reads no options from the environment, and so
# that the script that runs is the README's, byte for byte.
cat > "$T/bin/mailvet" <<WRAP
#!/bin/sh
if [ "\${1:-}" = clean ]; then
    shift
    exec "$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --smtp-port 25 --per-mx 3 \\
        --connect-timeout 2 --command-timeout 4 --retry-schedule 2,2 "\$@"
fi
exec "$MAILVET" "\$@"
WRAP
chmod +x "$T/bin/mailvet"
PATH="$T/bin:$PATH"
export PATH

# The array script: the first sh block after "A Slurm array job"; the merge
# command: the first `mailvet merge ...` after that block.
awk '/^A Slurm array job/ { seen = 1 } seen && /^```sh$/ { on = 1; next } on && /^```$/ { exit } on' \
    "$TOP/README.md" > "$T/job/mailvet.sbatch"
MERGE=$(awk '/^A Slurm array job/ { seen = 1 } seen && /^```$/ { after = 1; next } after && /`mailvet merge / { print; exit }' "$TOP/README.md" |
    sed -n 's/.*`\(mailvet merge [^`]*\)`.*/\1/p')
grep -q '^#SBATCH' "$T/job/mailvet.sbatch" && grep -q 'mailvet clean' "$T/job/mailvet.sbatch" && ok ||
    bad "no Slurm array script found in README.md: $(head -3 "$T/job/mailvet.sbatch")"
[ -n "$MERGE" ] && ok || bad "no \`mailvet merge\` command after the Slurm script in README.md"

# --- one machine's clean of the list (fresh mailsim: fresh greylist memory)
sim_start "$T/w/world.txt" "$T" || bad "mailsim did not start"
(cd "$T/job" && mailvet clean list.csv --progress never -o "$T/single.csv" --state "$T/single.state") \
    > /dev/null 2> "$T/single.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "single run exit $rc: $(tail -3 "$T/single.err")"

# --- the array, against a fresh mailsim (the shards' domains are disjoint)
sim_start "$T/w/world.txt" "$T" || bad "mailsim did not start"
JOB=$(cd "$T/job" && timeout 10 sbatch --parsable --array=1-3 mailvet.sbatch 2> "$T/sbatch.err")
JOB=${JOB%%;*}
[ -n "$JOB" ] && ok || { bad "sbatch failed: $(cat "$T/sbatch.err")"; show_logs; finish slurm; exit 1; }

# wait (at most 90 s) until all three tasks have ended, whatever their end
task_states() {
    timeout 5 scontrol -o show job "$JOB" 2>/dev/null | sed -n 's/.* JobState=\([A-Z_]*\) .*/\1/p'
}
i=0
while [ $i -lt 180 ]; do
    states=$(task_states)
    ended=$(printf '%s\n' "$states" | grep -cE '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)$')
    [ "$ended" -eq 3 ] && break
    sleep 0.5
    i=$((i + 1))
done
timeout 5 scontrol -o show job "$JOB" > "$T/job.txt" 2>&1
[ "$ended" -eq 3 ] && ok || bad "the array did not end within 90 s: $(echo $states)"
# each task ran the README's directives and ended with exit 0
for k in 1 2 3; do
    line=$(grep " ArrayTaskId=$k " "$T/job.txt")
    case "$line" in
        *" JobName=mailvet "*"JobState=COMPLETED "*"ExitCode=0:0 "*) ok ;;
        *) bad "task $k: ${line:-not in scontrol show job}" ;;
    esac
    case "$line" in
        *" TimeLimit=12:00:00 "*) ok ;;
        *) bad "task $k did not get the script's --time: ${line:-no record}" ;;
    esac
done
kill $SIMPID; wait $SIMPID 2>/dev/null; SIMPID=

# each shard's OUTPUT holds some of the rows; together every row once
rows=$(( $(wc -l < "$T/job/list.csv") - 1 ))
sum=0
for k in 1 2 3; do
    n=$(( $( (wc -l < "$T/job/out/part-$k.csv") 2>/dev/null || echo 1) - 1 ))
    [ "$n" -gt 0 ] && [ "$n" -lt "$rows" ] && ok || bad "shard $k holds $n of $rows rows"
    sum=$((sum + n))
done
[ "$sum" -eq "$rows" ] && ok || bad "shard outputs hold $sum rows, the list has $rows"

# --- the README's merge, then one machine's file byte for byte
(cd "$T/job" && eval "$MERGE") > "$T/merge.out" 2> "$T/merge.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "$MERGE: exit $rc: $(cat "$T/merge.err")"
same_but_time "$T/single.csv" "$T/job/cleaned.csv" > "$T/merged.diff" 2>&1 && ok ||
    bad "merged OUTPUT differs from the single run: $(cat "$T/merged.diff")"
for k in 1 2 3; do tail -n +2 "$T/job/out/part-$k.csv"; done | sort > "$T/shard-rows"
tail -n +2 "$T/job/cleaned.csv" | sort > "$T/merged-rows"
cmp -s "$T/shard-rows" "$T/merged-rows" && ok ||
    bad "merged rows are not the tasks' rows byte for byte: $(diff "$T/shard-rows" "$T/merged-rows" | head -4)"
grep -q "By status" "$T/merge.out" && ok || bad "merge prints no summary: $(head -3 "$T/merge.out")"

[ "$fail" -eq 0 ] || show_logs
finish slurm
