#!/bin/sh
# dialects.sh BUILD_DIR — SPEC "Bad input": the list as marketing tools
# export it. tests/tools/make-dialects.py writes one set of rows as a comma
# file and as Excel "CSV (semicolon)" (BOM, sep=;, CRLF), TSV, pipe, Excel
# "Unicode Text" (UTF-16LE), a Mailchimp export (multi-line fields) and a
# HubSpot export (email in column 8). Each, cleaned against mailsim
# (world-compare.txt, fresh for every run), gives the comma file's
# mailvet_* columns row by row; OUTPUT keeps the input's delimiter (UTF-8);
# stderr announces the encoding, delimiter and column. An XLSX workbook, a
# gzip file and a PDF are refused with exit 2 and named, and leave no
# OUTPUT and no state behind. Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish dialects; exit 1; }
TOOL="$TOP/tests/tools/make-dialects.py"
python3 "$TOOL" make "$T" || { bad "make-dialects.py failed"; finish dialects; exit 1; }

OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 1 --command-timeout 2 --retry-schedule 2,2 --progress never"

# clean FILE OUT [ARGS…]: one smtp-level run against a fresh mailsim; exit code in $rc
clean() {
    f=$1 out=$2
    shift 2
    sim_start "$HERE/world-compare.txt" "$T" || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; return; }
    # shellcheck disable=SC2086
    timeout 60 "$MAILVET" clean $OPTS "$@" "$T/$f" -o "$T/$out" > "$T/$out.stdout" 2> "$T/$out.err"
    rc=$?
}

# expect_err OUT TEXT: the run's stderr says TEXT
expect_err() {
    grep -qF -- "$2" "$T/$1.err" && ok || bad "$1: stderr lacks '$2': $(head -3 "$T/$1.err")"
}

# expect_head OUT TEXT: OUTPUT's header line holds TEXT (its delimiter)
expect_head() {
    head -n1 "$T/$1" | grep -qF -- "$2" && ok || bad "$1: header lacks '$2': $(head -c 120 "$T/$1")"
}

clean comma.csv ref.csv
[ "$rc" -eq 0 ] && ok || bad "comma.csv: exit $rc: $(tail -3 "$T/ref.csv.err")"
expect_err ref.csv "comma.csv: UTF-8, delimiter ',', header row, email column \"E-mail\" (column 3)"
# the reference is not trivially alike: a few verdicts hold
grep -q '^Alice Martin,"Okmail, Inc.",alice@okmail.com,alice@okmail.com,deliverable,accepted,' \
    "$T/ref.csv" && ok || bad "ref.csv: alice@okmail.com is not deliverable/accepted"
grep -q ',nobody@okmail.com,undeliverable,mailbox_not_found,' "$T/ref.csv" && ok \
    || bad "ref.csv: nobody@okmail.com is not mailbox_not_found"

# FILE#ANNOUNCEMENT#HEADER-TEXT
while IFS='#' read -r f say head; do
    out="out-$f"
    clean "$f" "$out"
    [ "$rc" -eq 0 ] && ok || { bad "$f: exit $rc: $(tail -3 "$T/$out.err")"; continue; }
    expect_err "$out" "$say"
    expect_head "$out" "$head"
    python3 "$TOOL" compare "$T/ref.csv" "$T/$out" && ok || bad "$f: verdicts differ from comma.csv's"
done <<'LIST'
excel-semicolon.csv#excel-semicolon.csv: UTF-8 with BOM, delimiter ';' (from sep=;), header row, email column "E-mail" (column 3)#Company;E-mail;mailvet_email;
list.tsv#list.tsv: UTF-8, delimiter tab, header row, email column "E-mail" (column 3)#Company	E-mail	mailvet_email	
list.psv#list.psv: UTF-8, delimiter '|', header row, email column "E-mail" (column 3)#Company|E-mail|mailvet_email|
unicode-text.txt#unicode-text.txt: UTF-16LE (decoded; OUTPUT is UTF-8), delimiter tab, header row, email column "E-mail" (column 3)#Company	E-mail	mailvet_email	
mailchimp.csv#mailchimp.csv: UTF-8, delimiter ',', header row, email column "Email Address" (column 1)#TAGS,mailvet_email,
hubspot.csv#hubspot.csv: UTF-8, delimiter ',', header row, email column "Email" (column 8)#Email,Contact owner,mailvet_email,
LIST

# Excel's files keep their BOM; the UTF-16 one comes out as UTF-8 with a BOM
for out in out-excel-semicolon.csv out-unicode-text.txt; do
    [ "$(head -c 3 "$T/$out" | od -An -tx1 | tr -d ' ')" = "efbbbf" ] && ok || bad "$out: no UTF-8 BOM"
done
grep -q 'José Müller	Ünïcödé GmbH	s1@shared1.com' "$T/out-unicode-text.txt" && ok \
    || bad "out-unicode-text.txt: the decoded UTF-8 row is not there"
[ "$(head -c 9 "$T/out-excel-semicolon.csv" | tail -c 6)" = "Name;C" ] && ok \
    || bad "out-excel-semicolon.csv: the sep= line was copied (want BOM then the header)"

# the state file records what was found
st=$(sqlite3 -readonly "$T/out-unicode-text.txt.state" \
    "select group_concat(value, ' ') from (select value from meta where key in ('encoding','delimiter') order by key)")
[ "$st" = "$(printf '\t UTF-16LE')" ] && ok || bad "unicode-text state meta: '$st'"

# --delimiter wins over sep= (and the line is still no row); the same
# verdicts. A rerun with another --delimiter is refused (options changed).
clean excel-semicolon.csv given.csv --delimiter ';'
[ "$rc" -eq 0 ] && ok || bad "--delimiter ';': exit $rc: $(tail -3 "$T/given.csv.err")"
expect_err given.csv "delimiter ';' (--delimiter; sep= line skipped)"
python3 "$TOOL" compare "$T/ref.csv" "$T/given.csv" && ok || bad "--delimiter ';': verdicts differ"
clean excel-semicolon.csv given.csv --delimiter '|'
[ "$rc" -eq 2 ] && ok || bad "a changed --delimiter on resume: exit $rc, want 2 (refused)"

# standard input: sniffed from the pipe alike (syntax level: no network)
"$MAILVET" clean --level syntax - -o "$T/stdin.csv" < "$T/excel-semicolon.csv" >/dev/null 2> "$T/stdin.err"
"$MAILVET" clean --level syntax "$T/excel-semicolon.csv" -o "$T/file.csv" >/dev/null 2>&1
same_but_time "$T/stdin.csv" "$T/file.csv" time ';' > "$T/stdin.diff" && ok \
    || bad "excel-semicolon.csv from standard input differs from the file's: $(cat "$T/stdin.diff")"
grep -qF "standard input: UTF-8 with BOM, delimiter ';' (from sep=;)" "$T/stdin.err" && ok \
    || bad "stdin announcement: $(cat "$T/stdin.err")"

# refused: named, exit 2, nothing written (syntax and smtp level)
while IFS='|' read -r f say; do
    for level in syntax smtp; do
        out="refused-$level-$f.csv"
        # shellcheck disable=SC2086
        "$MAILVET" clean $OPTS --level $level "$T/$f" -o "$T/$out" >/dev/null 2> "$T/$out.err"
        rc=$?
        [ "$rc" -eq 2 ] && ok || bad "$f ($level): exit $rc, want 2"
        expect_err "$out" "$f: $say"
        left=$(ls "$T" | grep -F "refused-$level-$f.csv" | grep -v '\.err$')
        [ -z "$left" ] && ok || bad "$f ($level): left behind: $left"
    done
done <<'LIST'
workbook.xlsx|an XLSX workbook: save it as CSV UTF-8
list.csv.gz|gzip-compressed: run gunzip first
list.pdf|a PDF document
LIST
finish dialects
