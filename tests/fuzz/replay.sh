#!/bin/sh
# replay.sh — `make check`'s fuzz step: run each gcc + ASan/UBSan replay
# binary (build/fuzz/gcc/fuzz_NAME) on its committed corpus
# (tests/fuzz/corpus/NAME). Counts one test per corpus file; when a binary
# fails on its directory, each file is replayed alone to name the culprits.
# Last line: "fuzz-replay: N passed, M failed" (the form tests/run.sh counts).
#   sh tests/fuzz/replay.sh [BINDIR]
here=$(cd "$(dirname "$0")" && pwd)
bindir=${1:-build/fuzz/gcc}
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for dir in "$here"/corpus/*/; do
    name=$(basename "$dir")
    bin=$bindir/fuzz_$name
    n=$(find "$dir" -type f | wc -l)
    if [ ! -x "$bin" ]; then
        echo "FAIL $name: no replay binary $bin"
        failed=$((failed + 1))
        continue
    fi
    if "$bin" "$dir" >"$log" 2>&1; then
        echo "ok   $name: $n inputs"
        passed=$((passed + n))
        continue
    fi
    for f in "$dir"*; do
        [ -f "$f" ] || continue
        if "$bin" "$f" >"$log" 2>&1; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "FAIL $name: $f"
            sed -n '1,40p' "$log"
        fi
    done
done
echo "fuzz-replay: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
