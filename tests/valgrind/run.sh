#!/bin/sh
# run.sh — `make valgrind-check`: every integration script that drives the
# mailvet binary, with tests/valgrind/mailvet (valgrind around ./mailvet) as
# the binary under test. Scripts built around C test drivers (conn, dns,
# report-html) are skipped: their drivers run under ASan in `make check`;
# so is resume-kill, whose kill -9 timing valgrind's slowdown changes.
# A script passes when its own assertions pass and valgrind logged nothing.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
export MAILVET_VG_LOG="$logdir/vg"
passed=0 failed=0
for t in "$top"/tests/net/*.sh; do
    # resume-kill measures kill -9 timing, which valgrind's slowdown changes.
    case $(basename "$t") in run.sh|lib.sh|conn.sh|dns.sh|report-html.sh|resume-kill.sh) continue ;; esac
    out=$(sh "$t" "$top/tests/valgrind" 2>&1); rc=$?
    echo "$out" | tail -n 1
    p=$(echo "$out" | sed -n 's/^.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' | tail -n1)
    f=$(echo "$out" | sed -n 's/^.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' | tail -n1)
    p=${p:-0} f=${f:-0}
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    [ "$f" -ne 0 ] && echo "$out" | grep -E '^FAIL' | head -5
    passed=$((passed + p)) failed=$((failed + f))
done
runs=$(ls "$logdir" | wc -l)
dirty=$(find "$logdir" -type f -size +0 | wc -l)
for f in $(find "$logdir" -type f -size +0 | head -3); do echo "== $f"; head -40 "$f"; done
echo "valgrind: $runs mailvet runs, $dirty with errors or leaks"
[ "$dirty" -eq 0 ] && passed=$((passed + 1)) || failed=$((failed + 1))
echo "valgrind-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
