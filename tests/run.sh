#!/bin/sh
# run.sh — run test programs and print one tally line at the end.
# Each argument is KIND:COMMAND. KIND "unit" is a cmocka program (its
# "[  PASSED  ] N test(s)" / "[  FAILED  ] N test(s)" lines are counted);
# any other KIND is a script that ends with a line "NAME: N passed, M failed".
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for spec in "$@"; do
    kind=${spec%%:*} cmd=${spec#*:}
    echo "== $cmd"
    # shellcheck disable=SC2086
    $cmd >"$log" 2>&1
    rc=$?
    cat "$log"
    if [ "$kind" = unit ]; then
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    else
        p=$(sed -n 's/^.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -n1)
        f=$(sed -n 's/^.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -n1)
    fi
    p=${p:-0} f=${f:-0}
    # A crash or a non-zero exit with no failure counted is still a failure.
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "!! $cmd exited $rc"; fi
    passed=$((passed + p)) failed=$((failed + f))
done
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
