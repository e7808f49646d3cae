#!/bin/sh
# progress.sh BUILD_DIR — the progress line tells the truth. A list with a
# greylisting domain is cleaned with --progress always (a line a second):
# every line's done count is at most its total and never goes down, the
# total is exact from the first line (INPUT's rows are counted first), the
# line says "N rows waiting for greylisting retries, next in …" while only
# retries remain, and the last line is the whole list. Then a run is
# killed (kill -9) while its greylisted rows wait; `mailvet report` said it
# was running (with its elapsed time) before, and says it is not after; the
# resumed run's first line counts the rows finished before the kill as done.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish progress; exit 1; }
command -v sqlite3 >/dev/null || { bad "sqlite3 is not installed (make deps)"; finish progress; exit 1; }
net_tmp

{
    printf 'host mx.pgrey.com 127.1.0.1\n  greylist 3\ndomain pgrey.com\n  mx 10 mx.pgrey.com\n'
    printf '  mailbox g0 g1 g2 g3 g4 g5 g6 g7 g8 g9\n'
    for d in 1 2 3 4; do
        printf 'host mx.pok%d.com 127.1.0.%d\ndomain pok%d.com\n  mx 10 mx.pok%d.com\n' $d $((d + 1)) $d $d
        printf '  mailbox u0 u1 u2 u3 u4 u5 u6 u7 u8 u9\n'
    done
} > "$T/world.txt"
{
    echo "email"
    for d in 1 2; do for u in 0 1 2 3 4 5 6 7 8 9; do echo "u$u@pok$d.com"; done; done
    for g in 0 1 2 3 4 5 6 7 8 9; do echo "g$g@pgrey.com"; done
    for d in 3 4; do for u in 0 1 2 3 4 5 6 7 8 9; do echo "u$u@pok$d.com"; done; done
} > "$T/list.csv"
ROWS=50

OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 2 --command-timeout 3 --retry-schedule 5,5 --progress always"

# lines FILE: the progress lines of a stderr capture, one a line
lines() {
    tr '\r' '\n' < "$1" | sed 's/\x1b\[K//g; s/^mailvet: //' | grep -E '^[0-9]+/~?[0-9]+ rows'
}

# sane FILE WHAT: done <= total in every line, done never goes down
sane() {
    lines "$1" > "$1.lines"
    [ -s "$1.lines" ] && ok || { bad "$2: no progress line: $(head -c 300 "$1")"; return; }
    v=$(awk '{ split($1, a, "/"); d = a[1] + 0; t = a[2]; sub(/^~/, "", t); t += 0
               if (d > t) { print "line " NR ": done above total: " $0; exit }
               if (NR > 1 && d < prev) { print "line " NR ": done went down: " $0; exit }
               prev = d }' "$1.lines")
    [ -z "$v" ] && ok || bad "$2: $v"
}

# --- an uninterrupted run
sim_start "$T/world.txt" "$T" || { cat "$T/sim.log"; bad "mailsim did not start"; finish progress; exit 1; }
"$MAILVET" clean $OPTS "$T/list.csv" -o "$T/out.csv" > /dev/null 2> "$T/err1.txt"; rc=$?
[ $rc -eq 0 ] && ok || bad "run exit $rc: $(tail -c 300 "$T/err1.txt")"
sane "$T/err1.txt" "run"
grep -v "^[0-9]*/$ROWS rows" "$T/err1.txt.lines" > "$T/inexact" || true   # counted before the first probe
[ ! -s "$T/inexact" ] && ok || bad "a line without the exact total $ROWS: $(head -1 "$T/inexact")"
grep -q "^$ROWS/$ROWS rows (100.0%)" "$T/err1.txt.lines" && ok || bad "no line with $ROWS/$ROWS rows: $(tail -1 "$T/err1.txt.lines")"
tail -n 1 "$T/err1.txt.lines" | grep -q "^$ROWS/$ROWS rows" && ok || bad "last line is not the whole list: $(tail -1 "$T/err1.txt.lines")"
grep -Eq "^40/$ROWS rows .* 10 rows waiting for greylisting retries, next in [0-9]+s, ETA [0-9]+s" "$T/err1.txt.lines" \
    && ok || bad "no 'waiting for greylisting retries' line: $(cat "$T/err1.txt.lines")"
[ "$(grep -c 'accepted' "$T/out.csv")" -eq $ROWS ] && ok || bad "not every row accepted: $(grep -vc accepted "$T/out.csv")"

# --- killed while the greylisted rows wait, reported, resumed
sim_start "$T/world.txt" "$T" || bad "mailsim did not restart"
( exec "$MAILVET" clean $OPTS "$T/list.csv" -o "$T/out2.csv" > /dev/null 2> "$T/err2.txt" ) &
pid=$!
wait_results "$T/out2.csv.state" 40 $pid && ok || bad "the run did not finish 40 rows while running"
i=0                              # until the report shows a second of run time and the
while [ $i -lt 100 ] && kill -0 $pid 2>/dev/null; do   # run a progress line (or 10 s)
    "$MAILVET" report --format json "$T/out2.csv.state" > "$T/rep-running.json" 2>&1
    grep -Eq '"elapsed_s":[1-9]' "$T/rep-running.json" && lines "$T/err2.txt" | grep -q . && break
    sleep 0.1
    i=$((i + 1))
done
"$MAILVET" report "$T/out2.csv.state" > "$T/rep-running.txt" 2>&1
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
grep -Eq "^mailvet: running for [0-9.]+ s: [0-9]+ rows checked so far" "$T/rep-running.txt" && ok \
    || bad "report on a running batch: $(head -2 "$T/rep-running.txt")"
grep -q '"running":true' "$T/rep-running.json" && ok || bad "JSON report lacks \"running\":true"
el=$(sed -n 's/.*"elapsed_s":\([0-9.]*\).*/\1/p' "$T/rep-running.json")
awk -v e="${el:-0}" 'BEGIN { exit !(e >= 1 && e < 600) }' && ok || bad "running elapsed_s ${el:-null}, want >= 1"
"$MAILVET" report --format json "$T/out2.csv.state" > "$T/rep-killed.json" 2>&1
grep -q '"running":false' "$T/rep-killed.json" && ok || bad "a killed run still reported as running"
sane "$T/err2.txt" "killed run"

finished=$(state_results "$T/out2.csv.state")
"$MAILVET" clean $OPTS "$T/list.csv" -o "$T/out2.csv" > /dev/null 2> "$T/err3.txt"; rc=$?
[ $rc -eq 0 ] && ok || bad "resume exit $rc: $(tail -c 300 "$T/err3.txt")"
grep -q "resuming from .*($finished rows already done)" "$T/err3.txt" && ok \
    || bad "resume message does not say $finished rows: $(head -c 300 "$T/err3.txt")"
sane "$T/err3.txt" "resumed run"
first=$(head -n 1 "$T/err3.txt.lines")
d=${first%%/*}
[ "${d:-0}" -ge "$finished" ] && [ "$finished" -ge 40 ] && ok \
    || bad "first line after resume counts ${d:-?} done, want >= $finished (finished before the kill): $first"
tail -n 1 "$T/err3.txt.lines" | grep -q "^$ROWS/$ROWS rows" && ok || bad "resumed run's last line: $(tail -1 "$T/err3.txt.lines")"
same_but_time "$T/out.csv" "$T/out2.csv" > "$T/resume.diff" && ok \
    || bad "resumed OUTPUT differs from the uninterrupted one: $(cat "$T/resume.diff")"
finish progress
