#!/bin/sh
# resume-kill.sh BUILD_DIR — interruptions lose nothing. A generated mailsim
# world (greylisting, catch-all, dead hosts, tarpits, blocks, STARTTLS…) is
# cleaned once without interruption; then again from scratch while being
# killed (SIGKILL, then SIGINT, then SIGTERM) at random moments and rerun
# each time. The final OUTPUT must be byte-identical to the uninterrupted
# one but for mailvet_checked_at (when each answer came: another run,
# another time), the rows finished at each kill must keep their evidence
# (mx_ip, checked_at, route) unchanged, and mailsim's RCPT log must show
# that no address already finished at a kill was asked again afterwards.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
command -v sqlite3 >/dev/null || { bad "sqlite3 is not installed (make deps)"; finish resume-kill; exit 1; }
T=$(mktemp -d)
trap '[ -n "$SIMPID" ] && kill $SIMPID 2>/dev/null; rm -rf "$T"' EXIT

# No tarpit or dripping host, and generous timeouts: their verdicts depend on
# how loaded the machine is (make check runs in parallel), and this script
# tests interruptions, not timeouts (hostile.sh and clean-world.sh do).
"$SIM" gen --addresses 3000 --domains 300 --seed 11 --greylist-delay 2 --out-dir "$T/w" \
    --mix catchall=6,greylist=10,nxdomain=3,nullmx=2,nodata=2,aonly=3,dead=2,tarpit=0,drip=0,banner554=1,block=2,tls=8,rcptcap=3,shared=20,servfail=1,ratecap=0 \
    > /dev/null || bad "mailsim gen"

start_sim() {   # a fresh mailsim (fresh greylisting memory) logging every RCPT to $1
    sim_start "$T/w/world.txt" "$T" --rcpt-log "$1" || bad "mailsim did not start"
}
clean() {   # clean OUTPUT [OPTIONS]
    o=$1; shift
    "$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
        --connect-timeout 5 --command-timeout 10 --retry-schedule 3,3 --rcpt-per-session 20 \
        --progress never "$T/w/list.csv" -o "$o" "$@" >/dev/null 2>>"$T/err.txt"
}
clean_bg() {  # clean OUTPUT in the background; $! is mailvet itself
    o=$1
    ( exec "$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --smtp-port 25 \
        --helo verifier.example.net --connect-timeout 5 --command-timeout 10 --retry-schedule 3,3 \
        --rcpt-per-session 20 --progress never "$T/w/list.csv" -o "$o" >/dev/null 2>>"$T/err.txt" ) &
}
# each finished row's evidence, one line a row (duplicates take theirs at the end)
EVIDENCE="select row, coalesce(mx_ip, ''), checked_at, coalesce(route, '') from results where not coalesce(duplicate, 0)"
rand_delay() {  # a random delay in [0.3, 3.3) seconds, printed for the log
    od -An -N2 -tu2 /dev/urandom | awk '{ printf "%.1f", 0.3 + ($1 % 30) / 10 }'
}

# --- the reference: one uninterrupted run
start_sim "$T/rcpt-ref.log"
clean "$T/ref.csv"; rc=$?
[ $rc -eq 0 ] && ok || bad "uninterrupted run exit $rc: $(tail -3 "$T/err.txt")"
"$SCORE" "$T/ref.csv" "$T/w/truth.csv" --quiet > "$T/score.txt" 2>&1 \
    && ok || bad "reference run differs from the ground truth: $(tail -5 "$T/score.txt")"

# --- interrupted runs: SIGNAL KILLS
series() {
    sig=$1 kills=$2 out="$T/out-$1.csv"
    start_sim "$T/rcpt-$sig.log"
    k=0
    while [ $k -lt "$kills" ]; do
        clean_bg "$out"
        pid=$!
        d=$(rand_delay)
        sleep "$d"
        kill -"$sig" $pid 2>/dev/null
        wait $pid; rc=$?
        want=130; [ "$sig" = KILL ] && want=137
        if [ $rc -eq 0 ]; then
            break                                    # it finished before the signal
        fi
        [ $rc -eq $want ] && ok || bad "$sig at ${d}s: exit $rc, want $want"
        # what was finished when it stopped, and how far the RCPT log had got
        # (read only: a kill before the state existed must not leave sqlite3's empty file)
        { [ -s "$out.state" ] && sqlite3 -readonly "$out.state" "select email from results" 2>/dev/null; } \
            | sort -u > "$T/done-$sig-$k"
        { [ -s "$out.state" ] && sqlite3 -readonly "$out.state" "$EVIDENCE" 2>/dev/null; } \
            > "$T/evidence-$sig-$k"
        wc -l < "$T/rcpt-$sig.log" > "$T/mark-$sig-$k"
        k=$((k + 1))
    done
    clean "$out"; rc=$?
    [ $rc -eq 0 ] && ok || bad "$sig: final rerun exit $rc: $(tail -3 "$T/err.txt")"
    if [ "$sig" = KILL ]; then
        # kill -9 can lose a 4xx answer not yet committed: that address is
        # asked again (in flight), and mailsim's greylisting, which does not
        # forget, may accept it at once. Everything but mailvet_attempts (the
        # column before mailvet_duplicate) and mailvet_checked_at must match,
        # and attempts can only be fewer.
        cut_att='s/,[0-9]*,\(true\|false\),\([^,]*\),[^,]*,\([^,]*\)$/,\1,\2,-,\3/'
        sed "$cut_att" "$out" > "$T/out.cut"; sed "$cut_att" "$T/ref.csv" > "$T/ref.cut"
        cmp -s "$T/out.cut" "$T/ref.cut" && ok || { bad "KILL: OUTPUT differs from the uninterrupted run"; diff "$T/out.cut" "$T/ref.cut" | head -5; }
        att='s/.*,\([0-9]*\),[a-z]*,[^,]*,[^,]*,[^,]*$/\1/'
        sed "$att" "$out" > "$T/out.att"; sed "$att" "$T/ref.csv" > "$T/ref.att"
        more=$(paste "$T/out.att" "$T/ref.att" | awk 'NR > 1 && $1 + 0 > $2 + 0 { m++ } END { print m + 0 }')
        [ "$more" -eq 0 ] && ok || { bad "KILL: $more rows show more attempts than the uninterrupted run"
            paste -d, "$T/out.att" "$T/ref.att" | awk -F, 'NR > 1 && $1 + 0 > $2 + 0 { print NR }' \
                | head -5 | while read -r n; do sed -n "${n}p" "$out"; done; }
    else
        same_but_time "$out" "$T/ref.csv" > "$T/$sig.diff" && ok \
            || bad "$sig: OUTPUT differs from the uninterrupted run: $(cat "$T/$sig.diff")"
    fi
    # the rows finished at each kill kept their evidence (the state OUTPUT is written from)
    sqlite3 -readonly "$out.state" "$EVIDENCE" > "$T/evidence-$sig-final"
    j=0
    while [ $j -lt $k ]; do
        n=$(wc -l < "$T/evidence-$sig-$j")
        kept=$(sort "$T/evidence-$sig-$j" "$T/evidence-$sig-final" | uniq -d | wc -l)
        [ "$kept" -eq "$n" ] && ok || bad "$sig: $((n - kept)) of the $n rows finished at interruption $j changed their evidence: $(sort "$T/evidence-$sig-$j" "$T/evidence-$sig-final" | uniq -u | head -4)"
        j=$((j + 1))
    done
    [ "$(stat -c %a "$out")" = 600 ] && [ "$(stat -c %a "$out.state")" = 600 ] && ok || bad "$sig: modes"
    j=0
    while [ $j -lt $k ]; do                          # finished before kill j: never asked after it
        mark=$(cat "$T/mark-$sig-$j")
        tail -n +"$((mark + 1))" "$T/rcpt-$sig.log" | sort -u > "$T/after-$sig-$j"
        again=$(comm -12 "$T/done-$sig-$j" "$T/after-$sig-$j" | wc -l)
        [ "$again" -eq 0 ] && ok || bad "$sig: $again finished addresses were asked again after interruption $j"
        j=$((j + 1))
    done
    echo "  $sig: $k interruptions, $(wc -l < "$T/rcpt-$sig.log") RCPTs (uninterrupted: $(wc -l < "$T/rcpt-ref.log"))"
}
n=4; case "$BUILD" in *asan*) n=2 ;; esac
series KILL $n
series INT 2
series TERM 2

# --- resume refuses a changed INPUT and changed options
cp "$T/w/list.csv" "$T/changed.csv"
"$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --retry-schedule 3,3 --progress never \
    "$T/changed.csv" -o "$T/c.csv" --level dns > /dev/null 2>&1
echo "extra@bigmail0.com,X,Y,Z,US,2024-01-01" >> "$T/changed.csv"
"$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --retry-schedule 3,3 --progress never \
    "$T/changed.csv" -o "$T/c.csv" --level dns > /dev/null 2> "$T/changed.err"
[ $? -eq 2 ] && grep -q "has changed since this batch started" "$T/changed.err" && ok || bad "changed INPUT not refused: $(cat "$T/changed.err")"
"$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --smtp-port 2525 --helo verifier.example.net \
    --connect-timeout 5 --command-timeout 10 --retry-schedule 3,3 --rcpt-per-session 20 \
    --progress never "$T/w/list.csv" -o "$T/ref.csv" > /dev/null 2> "$T/opts.err"
[ $? -eq 2 ] && grep -q "port 25 → 2525" "$T/opts.err" && ok || bad "changed options not refused: $(cat "$T/opts.err")"
finish resume-kill
