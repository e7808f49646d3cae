#!/bin/sh
# faults.sh BUILD_DIR — what the machine does to a run, on a mailsim world,
# inside private network and mount namespaces:
#   - the disk fills while the state file is written, then while OUTPUT is:
#     a clear error, exit 1, the state file intact, no partial OUTPUT; once
#     there is room the same command completes (from where it stopped);
#   - INPUT changes under a running clean: refused before OUTPUT is written;
#   - SIGTERM while OUTPUT is being written: exit 130, no OUTPUT and no
#     temporary file left; the rerun writes it without probing again;
#   - a state file damaged on purpose: refused with a clear message and left
#     as it was (never silently restarted).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
if [ -z "${MAILVET_IN_NETNS:-}" ]; then
    MAILVET_IN_NETNS=1 exec unshare -n -m sh "$0" "$@"
fi
ip link set lo up
net_tmp 'umount "$T/small" 2>/dev/null'

"$SIM" gen --addresses 20000 --domains 300 --seed 21 --mix greylist=0,servfail=0,dnsdrop=0,dead=0,tarpit=0,drop=0,garbage=0,drip=0,slowdns=0,ratecap=0,conncap=0 \
    --out-dir "$T/w" 2> /dev/null || bad "mailsim gen"
sim_start "$T/w/world.txt" "$T" || bad "mailsim did not start"
LIST=$T/w/list.csv
rows=$(( $(wc -l < "$LIST") - 1 ))

OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --per-mx 5 --connect-timeout 2
      --command-timeout 4 --retry-schedule 1 --progress never"
run() {
    # shellcheck disable=SC2086
    "$MAILVET" clean $OPTS "$@"
}
run_bg() {   # in the background as $! itself (signals reach mailvet, not a shell)
    # shellcheck disable=SC2086
    ( exec "$MAILVET" clean $OPTS "$@" ) &
}
integrity() {
    [ "$(sqlite3 "$1" 'PRAGMA integrity_check' 2>&1)" = ok ]
}
mkdir "$T/small"

# 1. The disk fills while results are committed to the state file.
mount -t tmpfs -o size=1500k tmpfs "$T/small"
run "$LIST" -o "$T/small/out.csv" > /dev/null 2> "$T/full1.err"
rc=$?
[ $rc -eq 1 ] && ok || bad "state on a full disk: exit $rc, want 1: $(tail -2 "$T/full1.err")"
grep -qi "disk is full" "$T/full1.err" && ok || bad "state on a full disk: message: $(tail -2 "$T/full1.err")"
[ ! -e "$T/small/out.csv" ] && ok || bad "state on a full disk: OUTPUT was written"
integrity "$T/small/out.csv.state" && ok || bad "state on a full disk: the state file is damaged"
done1=$(sqlite3 "$T/small/out.csv.state" 'select count(*) from results')
[ "${done1:-0}" -gt 0 ] && [ "$done1" -lt "$rows" ] && ok || bad "state on a full disk kept $done1 of $rows results"
mount -o remount,size=64m "$T/small"
run "$LIST" -o "$T/small/out.csv" > /dev/null 2> "$T/full1b.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "rerun with room: exit $rc: $(tail -2 "$T/full1b.err")"
grep -q "resuming" "$T/full1b.err" && ok || bad "rerun with room did not resume"
[ "$(( $(wc -l < "$T/small/out.csv") - 1 ))" -eq "$rows" ] && ok || bad "rerun with room: OUTPUT rows"
cp "$T/small/out.csv" "$T/reference.csv"
umount "$T/small"

# 2. The disk fills while OUTPUT is written (the state lives elsewhere).
mount -t tmpfs -o size=600k tmpfs "$T/small"
run "$LIST" -o "$T/small/out.csv" --state "$T/out2.state" > /dev/null 2> "$T/full2.err"
rc=$?
[ $rc -eq 1 ] && ok || bad "OUTPUT on a full disk: exit $rc, want 1: $(tail -2 "$T/full2.err")"
grep -qi "cannot write OUTPUT.*no space left" "$T/full2.err" && ok || bad "OUTPUT on a full disk: message: $(tail -2 "$T/full2.err")"
[ -z "$(ls "$T/small")" ] && ok || bad "OUTPUT on a full disk left files: $(ls "$T/small")"
integrity "$T/out2.state" && ok || bad "OUTPUT on a full disk: the state file is damaged"
mount -o remount,size=64m "$T/small"
run "$LIST" -o "$T/small/out.csv" --state "$T/out2.state" > /dev/null 2> "$T/full2b.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "OUTPUT rerun with room: exit $rc: $(tail -2 "$T/full2b.err")"
grep -q "($rows rows already done)" "$T/full2b.err" && ok || bad "OUTPUT rerun probed again: $(head -2 "$T/full2b.err")"
same_but_time "$T/small/out.csv" "$T/reference.csv" > "$T/full2.diff" && ok \
    || bad "OUTPUT after the disk-full rerun differs: $(cat "$T/full2.diff")"
umount "$T/small"

# 3. INPUT is cut short while clean runs: refused, nothing written.
cp "$LIST" "$T/moving.csv"
run_bg "$T/moving.csv" -o "$T/moving.out.csv" > /dev/null 2> "$T/moving.err"
pid=$!
wait_results "$T/moving.out.csv.state" 1 $pid || bad "INPUT changed mid-run: the run was not under way"
head -n 1000 "$LIST" > "$T/moving.tmp" && cat "$T/moving.tmp" > "$T/moving.csv"
n=$(state_results "$T/moving.out.csv.state")
[ "$n" -lt "$rows" ] && ok || bad "INPUT changed mid-run: it changed only after all $rows rows were done"
wait $pid
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 130 ] && ok || bad "INPUT changed mid-run: exit $rc"
grep -q "INPUT.*changed" "$T/moving.err" && ok || bad "INPUT changed mid-run: message: $(tail -2 "$T/moving.err")"
[ ! -e "$T/moving.out.csv" ] && ok || bad "INPUT changed mid-run: OUTPUT was written"

# 3b. INPUT disappears mid-run (unreadable): a clear error, the results kept;
# with the file back, the rerun completes without probing again.
cp "$LIST" "$T/gone.csv"
run_bg "$T/gone.csv" -o "$T/gone.out.csv" > /dev/null 2> "$T/gone.err"
pid=$!
wait_results "$T/gone.out.csv.state" 1 $pid || bad "INPUT removed mid-run: the run was not under way"
mv "$T/gone.csv" "$T/gone.saved"
n=$(state_results "$T/gone.out.csv.state")
[ "$n" -lt "$rows" ] && ok || bad "INPUT removed mid-run: removed only after all $rows rows were done"
wait $pid
rc=$?
[ $rc -eq 1 ] && grep -q "gone.csv.*No such file" "$T/gone.err" && ok || bad "INPUT removed mid-run: exit $rc, $(tail -2 "$T/gone.err")"
[ ! -e "$T/gone.out.csv" ] && ok || bad "INPUT removed mid-run: OUTPUT was written"
mv "$T/gone.saved" "$T/gone.csv"
run "$T/gone.csv" -o "$T/gone.out.csv" > /dev/null 2> "$T/gone2.err"
rc=$?
[ $rc -eq 0 ] && grep -q "($rows rows already done)" "$T/gone2.err" && ok || bad "INPUT back: exit $rc, $(head -2 "$T/gone2.err")"
same_but_time "$T/gone.out.csv" "$T/reference.csv" > "$T/gone.diff" && ok \
    || bad "INPUT back: OUTPUT differs from the reference: $(cat "$T/gone.diff")"

# 4. SIGTERM while OUTPUT is being written. Rows of 16 kB make the OUTPUT
# pass long (80 MB, about a second) while keeping the probing short.
big=$T/big.csv
pad=$(head -c 16000 /dev/zero | tr '\0' x)
head -n 5001 "$LIST" | awk -v p="$pad" 'NR == 1 { print $0 ",pad"; next } { print $0 "," p }' > "$big"
bigrows=5000
run_bg "$big" -o "$T/big.out.csv" --level dns > /dev/null 2> "$T/term.err"
pid=$!
i=0
while [ $i -lt 6000 ] && ! ls "$T"/big.out.csv.tmp-* > /dev/null 2>&1 && kill -0 $pid 2>/dev/null; do
    sleep 0.01
    i=$((i + 1))
done
ls "$T"/big.out.csv.tmp-* > /dev/null 2>&1 && ok ||
    bad "SIGTERM during the OUTPUT write: no temporary OUTPUT seen (waited $i x 10 ms)"
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 130 ] && ok || bad "SIGTERM during the OUTPUT write: exit $rc, want 130"
[ ! -e "$T/big.out.csv" ] && ok || bad "SIGTERM during the OUTPUT write left OUTPUT"
ls "$T"/big.out.csv.tmp-* > /dev/null 2>&1 && bad "SIGTERM left the temporary file" || ok
run "$big" -o "$T/big.out.csv" --level dns > /dev/null 2> "$T/term2.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "rerun after SIGTERM: exit $rc: $(tail -2 "$T/term2.err")"
grep -q "($bigrows rows already done)" "$T/term2.err" && ok || bad "rerun after SIGTERM probed again: $(head -2 "$T/term2.err")"
[ "$(( $(wc -l < "$T/big.out.csv") - 1 ))" -eq "$bigrows" ] && ok || bad "rerun after SIGTERM: OUTPUT rows"
rm -f "$big" "$T/big.out.csv"

# 5. A damaged state file is refused and left alone.
cp "$T/out2.state" "$T/bad.state"
size=$(stat -c %s "$T/bad.state")
dd if=/dev/urandom of="$T/bad.state" bs=1024 seek=$((size / 2048)) count=8 conv=notrunc 2> /dev/null
sum=$(sha256sum < "$T/bad.state")
run "$LIST" -o "$T/bad.csv" --state "$T/bad.state" > /dev/null 2> "$T/bad.err"
rc=$?
[ $rc -eq 2 ] && ok || bad "damaged state: exit $rc, want 2: $(tail -2 "$T/bad.err")"
grep -q "damaged" "$T/bad.err" && ok || bad "damaged state: message: $(tail -2 "$T/bad.err")"
[ "$(sha256sum < "$T/bad.state")" = "$sum" ] && ok || bad "damaged state: the file was changed"
[ ! -e "$T/bad.csv" ] && ok || bad "damaged state: OUTPUT was written"
printf 'not a database at all\n' > "$T/junk.state"
run "$LIST" -o "$T/junk.csv" --state "$T/junk.state" > /dev/null 2> "$T/junk.err"
rc=$?
[ $rc -eq 2 ] && grep -q "not a mailvet state file" "$T/junk.err" && ok || bad "junk state: exit $rc, $(cat "$T/junk.err")"
finish faults
