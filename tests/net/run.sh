#!/bin/sh
# run.sh BUILD_DIR — run every tests/net/*.sh integration script with the
# binaries of BUILD_DIR (build/rel or build/asan). Each script starts its own
# servers inside a private network namespace (unshare -n) and ends with a
# line "NAME: N passed, M failed". Prints "net: N passed, M failed".
set -u
dir=$(cd "$(dirname "$0")" && pwd)
build=$1
passed=0 failed=0
for t in "$dir"/*.sh; do
    [ "$(basename "$t")" = run.sh ] && continue
    [ "$(basename "$t")" = lib.sh ] && continue
    out=$(sh "$t" "$build" 2>&1); rc=$?
    echo "$out"
    p=$(echo "$out" | sed -n 's/^.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' | tail -n1)
    f=$(echo "$out" | sed -n 's/^.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' | tail -n1)
    p=${p:-0} f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "!! $t exited $rc"; fi
    passed=$((passed + p)) failed=$((failed + f))
done
echo "net: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
