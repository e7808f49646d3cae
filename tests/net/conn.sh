#!/bin/sh
# conn.sh BUILD_DIR — runs BUILD_DIR/net/test_conn (conn.c against its
# in-process test server) inside a private network namespace that has only
# the loopback interface, so nothing can leave the machine. Needs root.
# Passes the driver's output through ("conn: N passed, M failed") and exits
# with its status.
set -u
build=${1:?usage: conn.sh BUILD_DIR}
bin=$build/net/test_conn
if [ ! -x "$bin" ]; then
    echo "conn: $bin not built"
    echo "conn: 0 passed, 1 failed"
    exit 1
fi
exec unshare -n sh -c 'ip link set lo up && exec "$1"' conn "$bin"
