#!/bin/sh
# demo.sh BINARY — `make demo`: clean the bundled sample list and show the
# result. Runs in a private network namespace, like every test, so nothing
# can leave the machine.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
LIST=data/demo/list.csv
OUT=$(mktemp -d)/list.cleaned.csv
if [ "$(id -u)" -ne 0 ] || ! unshare -n true 2>/dev/null; then
    echo "demo: needs root and 'unshare -n' for a private network namespace" >&2
    exit 1
fi
echo "\$ mailvet clean --level syntax $LIST -o $OUT"
unshare -n "$BIN" clean --level syntax --dns 127.0.0.1:53 --allow-private-mx "$LIST" -o "$OUT"
echo
echo "First rows of $OUT:"
head -n 6 "$OUT" | cut -c1-160
