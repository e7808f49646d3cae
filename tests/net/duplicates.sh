#!/bin/sh
# duplicates.sh BUILD_DIR — one probe per mailbox (SPEC "mailvet_duplicate").
# A list where 9 rows are one mailbox in other case and spacing (mailto:,
# a display name), 9 rows a greylisted mailbox, and gmail.com rows that
# differ by dots and +tags (googlemail.com among them): mailsim's RCPT log
# shows each mailbox asked once (the greylisted one once and its retry),
# the later rows have mailvet_duplicate=true, the first row's status and no
# attempts, and the summary and the JSON and HTML reports count them. Then
# across a kill -9: a run killed once the first row of a mailbox is
# finished, its state as a kill before the feeder reached the later rows
# leaves it, is resumed, and that mailbox is still asked only once over
# both runs. Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp 'kill -9 $PID 2>/dev/null'
PID=
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish duplicates; exit 1; }
command -v sqlite3 >/dev/null || { bad "sqlite3 is not installed (make deps)"; finish duplicates; exit 1; }

cat > "$T/world.txt" <<'EOF'
host mx.dup.com 127.1.0.1
domain dup.com
  mx 10 mx.dup.com
  mailbox alice bob carol
host mx.greydup.com 127.1.0.2
  greylist 2
domain greydup.com
  mx 10 mx.greydup.com
  mailbox gina
host mx.slowgrey.com 127.1.0.4
  greylist 5
domain slowgrey.com
  mx 10 mx.slowgrey.com
  mailbox gail
host mx.gmail.com 127.1.0.3
domain gmail.com
  mx 10 mx.gmail.com
  mailbox john.doe
EOF
sim_start "$T/world.txt" "$T" --rcpt-log "$T/rcpt.log" || bad "mailsim did not start"

clean() {   # clean INPUT OUTPUT [OPTIONS]: its summary in OUTPUT.txt
    i=$1 o=$2; shift 2
    "$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
        --connect-timeout 5 --command-timeout 10 --retry-schedule 3,3 --progress never \
        "$i" -o "$o" "$@" > "$o.txt" 2>> "$T/err.txt"
}
# rcpts MAILBOX: RCPTs mailsim got for MAILBOX (its dedup key: lower case;
# for gmail.com also without dots and +tag, googlemail.com as gmail.com)
rcpts() {
    awk -v want="$1" '{
        a = tolower($0); sub(/^</, "", a); sub(/>$/, "", a)
        l = a; sub(/@.*/, "", l); d = a; sub(/^[^@]*@/, "", d)
        if (d == "googlemail.com") d = "gmail.com"
        if (d == "gmail.com") { sub(/\+.*/, "", l); gsub(/\./, "", l) }
        if (l "@" d == want) n++
    } END { print n + 0 }' "$T/rcpt.log"
}
# group TSV WHAT STATUS FIRST LATER...: FIRST is not a duplicate and has
# STATUS and an answer's evidence; each LATER row is one, with STATUS, no
# attempts of its own, and FIRST's evidence (the answer it takes)
group() {
    tsv=$1 what=$2 status=$3 first=$4
    shift 4
    expect_tsv "$tsv" "$first" duplicate false "$what: "
    expect_tsv "$tsv" "$first" status "$status" "$what: "
    expect_tsv "$tsv" "$first" route direct "$what: "
    ip=$(tsv_field "$tsv" "$first" mx_ip) at=$(tsv_field "$tsv" "$first" checked_at)
    case "$ip" in 127.*) ok ;; *) bad "$what: $first: mx_ip '$ip'" ;; esac
    for k in "$@"; do
        expect_tsv "$tsv" "$k" duplicate true "$what: "
        expect_tsv "$tsv" "$k" status "$status" "$what: "
        expect_tsv "$tsv" "$k" attempts 0 "$what: "
        expect_tsv "$tsv" "$k" mx_ip "$ip" "$what: "
        expect_tsv "$tsv" "$k" checked_at "$at" "$what: "
        expect_tsv "$tsv" "$k" route direct "$what: "
    done
}

# --- one run: every mailbox once
cat > "$T/list.csv" <<'EOF'
email,n
Alice@dup.com,1
 alice@dup.com ,2
ALICE@DUP.COM,3
alice@Dup.Com,4
"Alice <alice@dup.com>",5
mailto:alice@dup.com,6
aLiCe@dup.com,7
"  ALICE@dup.com  ",8
alice@DUP.com,9
bob@dup.com,10
nobody@dup.com,11
NoBody@Dup.com,12
Gina@greydup.com,13
gina@greydup.com,14
GINA@greydup.com,15
gina@GreyDup.com,16
" gina@greydup.com",17
gIna@greydup.com,18
giNa@greydup.com,19
ginA@greydup.com,20
GINA@GREYDUP.COM,21
John.Doe@gmail.com,22
johndoe@gmail.com,23
j.o.h.n.d.o.e+news@googlemail.com,24
JOHNDOE+x@GMAIL.COM,25
john.doe+y@dup.com,26
EOF
t0=$(date +%s)
clean "$T/list.csv" "$T/out.csv"; rc=$?
[ $rc -eq 0 ] && ok || bad "clean exit $rc: $(tail -3 "$T/err.txt")"
results_tsv csv "$T/out.csv" > "$T/out.tsv"
group "$T/out.tsv" alice deliverable Alice@dup.com alice@dup.com ALICE@DUP.COM alice@Dup.Com \
    "Alice <alice@dup.com>" mailto:alice@dup.com aLiCe@dup.com "  ALICE@dup.com  " alice@DUP.com
group "$T/out.tsv" nobody undeliverable nobody@dup.com NoBody@Dup.com
group "$T/out.tsv" gina deliverable Gina@greydup.com gina@greydup.com GINA@greydup.com \
    gina@GreyDup.com " gina@greydup.com" gIna@greydup.com giNa@greydup.com ginA@greydup.com \
    GINA@GREYDUP.COM
group "$T/out.tsv" gmail deliverable John.Doe@gmail.com johndoe@gmail.com \
    j.o.h.n.d.o.e+news@googlemail.com JOHNDOE+x@GMAIL.COM
expect_tsv "$T/out.tsv" bob@dup.com duplicate false
expect_tsv "$T/out.tsv" john.doe+y@dup.com duplicate false "a +tag off gmail is its own mailbox: "
expect_tsv "$T/out.tsv" johndoe@gmail.com email johndoe@gmail.com "a duplicate keeps its own address: "
for m in alice@dup.com nobody@dup.com johndoe@gmail.com bob@dup.com; do
    n=$(rcpts "$m")
    [ "$n" -eq 1 ] && ok || bad "$m: $n RCPTs, want 1"
done
n=$(rcpts gina@greydup.com)
[ "$n" -eq 2 ] && ok || bad "gina@greydup.com (greylisted): $n RCPTs, want 2 (one probe, one retry)"
grep -q "^Duplicates: 20 rows (same mailbox as an earlier row; not probed again)$" "$T/out.csv.txt" \
    && ok || bad "summary: $(grep "^Duplicates" "$T/out.csv.txt" || echo no Duplicates line)"
"$MAILVET" report --format json "$T/out.csv.state" > "$T/report.json" 2>> "$T/err.txt"
grep -q '"duplicates":20[,}]' "$T/report.json" && ok || bad "JSON report: $(grep -o '"duplicates":[^,}]*' "$T/report.json")"
"$MAILVET" report --format html "$T/out.csv.state" -o "$T/report.html" 2>> "$T/err.txt"
grep -q 'id="duplicates">20<' "$T/report.html" && ok || bad "HTML report has no duplicates count of 20"
echo "  one run: $(($(date +%s) - t0)) s, $(wc -l < "$T/rcpt.log") RCPTs for 26 rows"

# --- kill -9, then resume: carol's first row is finished at the kill; its
# later rows come after gail, whose greylisting (5 s, retries at 3 and 6 s)
# keeps the run going.
cat > "$T/kill.csv" <<'EOF'
email,n
carol@dup.com,1
gail@slowgrey.com,2
CAROL@dup.com,3
" Carol@Dup.com ",4
carol@DUP.COM,5
EOF
( exec "$MAILVET" clean --dns 127.0.0.1 --allow-private-mx --smtp-port 25 \
    --helo verifier.example.net --connect-timeout 5 --command-timeout 10 --retry-schedule 3,3 \
    --progress never "$T/kill.csv" -o "$T/kill.out.csv" > /dev/null 2>> "$T/err.txt" ) &
PID=$!                       # mailvet itself (exec)
i=0                          # until carol's verdict is committed
while [ "$(sqlite3 -readonly "$T/kill.out.csv.state" \
          "select count(*) from results where row = 0" 2>/dev/null || echo 0)" != 1 ] &&
      kill -0 $PID 2>/dev/null && [ $i -lt 300 ]; do
    sleep 0.1; i=$((i + 1))
done
if kill -0 $PID 2>/dev/null; then ok; else bad "the run ended before it could be killed"; fi
kill -9 $PID 2>/dev/null
{ wait $PID; } 2>/dev/null; rc=$?     # no "Killed" from the shell
PID=
[ $rc -eq 137 ] && ok || bad "kill -9: exit $rc, want 137"
[ "$(sqlite3 -readonly "$T/kill.out.csv.state" "select count(*) from results where row = 0")" = 1 ] \
    && ok || bad "carol's verdict is not in the state after the kill"
# a kill before the feeder reached the later rows leaves no dups: make it so
sqlite3 "$T/kill.out.csv.state" "delete from dups" || bad "cannot edit the state"
clean "$T/kill.csv" "$T/kill.out.csv"; rc=$?
[ $rc -eq 0 ] && ok || bad "resume exit $rc: $(tail -3 "$T/err.txt")"
grep -q "resuming from" "$T/err.txt" && ok || bad "the second run did not resume"
results_tsv csv "$T/kill.out.csv" > "$T/kill.tsv"
group "$T/kill.tsv" "carol, after resume" deliverable carol@dup.com CAROL@dup.com " Carol@Dup.com " \
    carol@DUP.COM
n=$(rcpts carol@dup.com)
[ "$n" -eq 1 ] && ok || bad "carol@dup.com: $n RCPTs over the killed run and its resume, want 1"
grep -q "^Duplicates: 3 rows" "$T/kill.out.csv.txt" && ok || bad "resumed summary: $(grep "^Duplicates" "$T/kill.out.csv.txt" || echo no Duplicates line)"
finish duplicates
