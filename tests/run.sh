#!/bin/sh
# run.sh — run test programs in parallel and print one tally line at the end.
# Each argument is KIND:COMMAND. KIND "unit" is a cmocka program (its
# "[  PASSED  ] N test(s)" / "[  FAILED  ] N test(s)" lines are counted);
# any other KIND is a script that ends with a line "NAME: N passed, M failed".
#
# Up to JOBS commands run at once (they are independent: the integration
# scripts each live in their own network namespace and temporary directory).
# Each one's output is kept and printed whole, after a "== COMMAND (S s)"
# line, when it ends, so logs never interleave. Jobs start in the order
# given: put the longest first. A job still running after TEST_TIMEOUT
# seconds is stopped and counted as a failure.
#
# env: JOBS          how many at once (default 6: most scripts wait on
#                    timers and sockets, not on the CPU)
#      TEST_TIMEOUT  seconds a job may take (default 900)
#      TALLY         name of the tally line (default "check")
set -u
jobs=${JOBS:-6}
limit=${TEST_TIMEOUT:-900}
tally=${TALLY:-check}
dir=$(mktemp -d)
running=0
stop_all() {
    i=1
    while [ "$i" -le "${total:-0}" ]; do
        eval "p=\${pid_$i:-}"
        if [ -n "$p" ] && [ ! -e "$dir/$i.end" ]; then
            eval "echo \"   still running: \${spec_$i#*:}\""
            pkill -TERM -P "$p" 2>/dev/null     # its timeout(1), which stops the job
        fi
        i=$((i + 1))
    done
}
trap 'rm -rf "$dir"' EXIT
trap 'echo "run.sh: interrupted, stopping the jobs still running"; stop_all; exit 130' INT
trap 'echo "run.sh: terminated, stopping the jobs still running"; stop_all; exit 143' TERM
# Every job writes "INDEX STATUS" to this FIFO when it ends; the loop below
# reads one line per ended job (opened read-write: it never sees EOF).
mkfifo "$dir/done" || exit 1
exec 3<>"$dir/done"

total=0
for spec in "$@"; do
    total=$((total + 1))
    eval "spec_$total=\$spec"
done

now() { date +%s.%N; }

# start INDEX: the job in the background, under timeout(1), stdin closed
start() {
    eval "spec=\$spec_$1"
    cmd=${spec#*:}
    now > "$dir/$1.start"
    (
        # shellcheck disable=SC2086
        timeout -k 10 "$limit" $cmd < /dev/null > "$dir/$1.log" 2>&1 3>&-
        rc=$?
        : > "$dir/$1.end" 2>/dev/null
        echo "$1 $rc" >&3 2>/dev/null
    ) &
    eval "pid_$1=$!"
}

passed=0 failed=0
# finish INDEX STATUS: print the job's output and add its counts
finish() {
    eval "spec=\$spec_$1"
    kind=${spec%%:*} cmd=${spec#*:} rc=$2 log=$dir/$1.log
    secs=$(echo "$(now) $(cat "$dir/$1.start")" | awk '{ printf "%.1f", $1 - $2 }')
    echo "== $cmd ($secs s)"
    cat "$log"
    if [ "$kind" = unit ]; then
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    else
        p=$(sed -n 's/^.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -n1)
        f=$(sed -n 's/^.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -n1)
    fi
    p=${p:-0} f=${f:-0}
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        f=$((f + 1)); echo "!! $cmd timed out after $limit s"
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        # A crash or a non-zero exit with no failure counted is still a failure.
        f=1; echo "!! $cmd exited $rc"
    fi
    passed=$((passed + p)) failed=$((failed + f))
}

next=1
while [ "$next" -le "$total" ] || [ "$running" -gt 0 ]; do
    while [ "$running" -lt "$jobs" ] && [ "$next" -le "$total" ]; do
        start "$next"
        next=$((next + 1)) running=$((running + 1))
    done
    read -r i rc <&3 || { echo "run.sh: lost track of the jobs"; failed=$((failed + 1)); break; }
    wait "$(eval "echo \$pid_$i")" 2>/dev/null
    running=$((running - 1))
    finish "$i" "$rc"
done
echo "$tally: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
