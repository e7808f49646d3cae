#!/bin/sh
# run.sh BUILD_DIR... — run every tests/net/*.sh integration script (but
# lib.sh and this one) with the binaries of each BUILD_DIR (build/rel,
# build/asan), several at once through tests/run.sh (JOBS, TEST_TIMEOUT).
# Each script starts its own servers inside a private network namespace
# (unshare -n) and ends with a line "NAME: N passed, M failed". Prints
# "net: N passed, M failed". (`make check` lists the scripts itself, so
# that they share one pool with the other suites.)
set -u
dir=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR..." >&2; exit 2; }
builds=$*
set --
for b in $builds; do
    for t in "$dir"/*.sh; do
        case ${t##*/} in run.sh|lib.sh) continue ;; esac
        set -- "$@" "net:sh $t $b"
    done
done
TALLY=net exec sh "$dir/../run.sh" "$@"
