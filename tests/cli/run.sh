#!/bin/sh
# run.sh BINARY — end-to-end tests of the mailvet command line at --level
# syntax: options, exit codes, and the CSV edge cases of SPEC "Bad input".
# Needs no network. Ends with "cli: N passed, M failed".
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0 fail=0

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect_rc WANT DESCRIPTION -- command...
expect_rc() {
    want=$1 what=$2; shift 3
    "$@" >out.txt 2>err.txt; got=$?
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, want $want"; cat err.txt; fi
}
# contains FILE TEXT DESCRIPTION
contains() {
    if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1"; sed 's/^/    /' "$1" | head -20; fi
}
not_contains() {
    if grep -qF -- "$2" "$1"; then bad "$3: '$2' unexpectedly in $1"; else ok; fi
}
same() {
    if cmp -s "$1" "$2"; then ok; else bad "$3: $1 differs from $2"; diff "$1" "$2" | head -20; fi
}
clean() { "$BIN" clean --level syntax "$@"; }
HDR=mailvet_email,mailvet_status,mailvet_reason,mailvet_risk,mailvet_did_you_mean,mailvet_role,mailvet_free,mailvet_disposable,mailvet_accept_all,mailvet_mx,mailvet_smtp_code,mailvet_smtp_enhanced,mailvet_smtp_text,mailvet_attempts,mailvet_duplicate,mailvet_mx_ip,mailvet_checked_at,mailvet_route

# --- commands, help, exit codes
expect_rc 0 "--version" -- "$BIN" --version
contains out.txt "mailvet 0.1.0" "--version text"
expect_rc 0 "--help" -- "$BIN" --help
contains out.txt "mailvet clean" "--help lists clean"
for c in check clean report; do expect_rc 0 "$c --help" -- "$BIN" $c --help; done
expect_rc 2 "no command" -- "$BIN"
expect_rc 2 "unknown command" -- "$BIN" frobnicate
expect_rc 2 "unknown option" -- "$BIN" check --frob a@b.com
expect_rc 2 "bad level" -- "$BIN" check --level deep a@b.com
contains err.txt "--level must be syntax, dns or smtp" "bad level message"
expect_rc 2 "bad retry schedule" -- "$BIN" check --retry-schedule 1,x a@b.com
expect_rc 2 "check without address" -- "$BIN" check --level syntax
expect_rc 2 "clean without -o" -- "$BIN" clean in.csv
expect_rc 2 "--json is not a clean option" -- "$BIN" clean --json in.csv -o o.csv
# the option audit: nothing is parsed and then ignored (the message names the option)
expect_rc 2 "--threads is gone (check)" -- "$BIN" check --level syntax --threads 4 a@b.com
contains err.txt "--threads is not an option" "--threads message (check)"
expect_rc 2 "--threads is gone (clean)" -- "$BIN" clean --level syntax --threads=4 in.csv -o o.csv
contains err.txt "--threads is not an option" "--threads message (clean)"
expect_rc 2 "--progress is not a check option" -- "$BIN" check --level syntax --progress never a@b.com
contains err.txt "option --progress does not apply to check; it is an option of clean" "--progress message"
expect_rc 2 "--column is not a check option" -- "$BIN" check --level syntax --column email a@b.com
contains err.txt "option --column does not apply to check" "refusal names the option, not its value"
not_contains err.txt "option email" "refusal does not name the value"
expect_rc 2 "--per-mx is not a doctor option" -- "$BIN" doctor --per-mx 3
contains err.txt "option --per-mx does not apply to doctor; it is an option of check, clean" "doctor refusal message"
expect_rc 2 "--per-provider 0" -- "$BIN" check --level syntax --per-provider 0 a@b.com
contains err.txt "--per-provider must be 1..100000, not '0'" "--per-provider range message"
"$BIN" check --help > out.txt; contains out.txt "--per-provider N" "check --help lists --per-provider"
for o in "--shard 1/2" "--state s.state" "--restart" "--report r.html"; do
    expect_rc 2 "clean --level syntax $o" -- "$BIN" clean --level syntax $o in.csv -o o.csv
    contains err.txt "${o%% *} does nothing at --level syntax" "clean --level syntax $o message"
done
for o in "--state s.state" "--restart"; do
    printf 'email\na@example.com\n' | "$BIN" clean --level dns $o - -o o.csv >out.txt 2>err.txt
    [ $? -eq 2 ] && ok || bad "clean $o with INPUT -: want exit 2"
    contains err.txt "${o%% *} does nothing with INPUT - (stdin)" "clean $o with INPUT - message"
done
[ -e o.csv ] && bad "a refused clean wrote OUTPUT" || ok
"$BIN" check --help > out.txt; not_contains out.txt "--threads" "check --help has no --threads"
not_contains out.txt "--progress" "check --help has no --progress"
"$BIN" clean --help > out.txt; not_contains out.txt "--threads" "clean --help has no --threads"
contains out.txt "--progress" "clean --help lists --progress"

# --- the verdict cache's options and command (tests/net/cache.sh has the rest)
for c in check clean; do
    "$BIN" $c --help > out.txt; contains out.txt "--cache FILE" "$c --help lists --cache"
    contains out.txt "--max-age D" "$c --help lists --max-age"
done
expect_rc 0 "cache --help" -- "$BIN" cache --help
contains out.txt "mailvet cache stats|prune [--max-age D] CACHE" "cache --help usage"
"$BIN" --help > out.txt; contains out.txt "mailvet cache stats|prune" "--help lists cache"
expect_rc 2 "clean --level syntax --cache" -- "$BIN" clean --level syntax --cache c.db in.csv -o o.csv
contains err.txt "--cache does nothing at --level syntax" "--cache at syntax message"
expect_rc 2 "--max-age without --cache" -- "$BIN" check --max-age 1d a@b.com
contains err.txt "--max-age does nothing without --cache FILE" "--max-age alone message"
expect_rc 2 "--max-age 30 (no unit)" -- "$BIN" check --cache c.db --max-age 30 a@b.com
contains err.txt "--max-age must be 0 or a whole number with a unit" "--max-age message names the option"
expect_rc 2 "cache without a verb" -- "$BIN" cache c.db
expect_rc 2 "cache stats of a missing file" -- "$BIN" cache stats missing.db
contains err.txt "missing.db" "cache stats names the missing file"
[ -e missing.db ] && bad "cache stats made a file" || ok
[ -e c.db ] && bad "a refused --cache made its file" || ok

# --- check at --level syntax
expect_rc 0 "check valid" -- "$BIN" check --level syntax Jane.Doe@Example.COM
contains out.txt "unverified" "valid address is unverified at syntax level"
expect_rc 0 "check table" -- "$BIN" check --level syntax good@example.com "bad@@example.com" info@gmial.com
contains out.txt "undeliverable" "invalid address is undeliverable"
contains out.txt "invalid_syntax" "invalid reason"
contains out.txt "info@gmail.com" "typo suggestion in table"
contains out.txt "role" "role flag in table"
expect_rc 0 "check json" -- "$BIN" check --level syntax --json "mailto:Jane <jane@EXAMPLE.com>" x@mailinator.com
contains out.txt '{"input":"mailto:Jane <jane@EXAMPLE.com>","email":"jane@example.com","status":"unknown","reason":"unverified"' "json object, normalised email"
contains out.txt '"accept_all":null' "accept_all null when unknown"
contains out.txt '"status":"risky","reason":"disposable"' "disposable is risky"
contains out.txt '"disposable":true' "disposable flag as boolean"
[ "$(wc -l < out.txt)" -eq 2 ] && ok || bad "one JSON line per address"

# --- clean: the basics
printf 'Name,Email,City\nAnn,ann@example.com,Oslo\nBob,bob@gmial.com,"Rome, IT"\nCy,not-an-address,Paris\n' > basic.csv
expect_rc 0 "clean basic" -- clean basic.csv -o basic.out.csv
contains basic.out.csv "Name,Email,City,$HDR" "header with appended columns"
contains basic.out.csv 'Bob,bob@gmial.com,"Rome, IT",bob@gmial.com,unknown,unverified,' "row kept, quoting normalised"
contains basic.out.csv 'bob@gmail.com' "did_you_mean column"
contains basic.out.csv 'Cy,not-an-address,Paris,,undeliverable,invalid_syntax,100,' "invalid row"
[ "$(wc -l < basic.out.csv)" -eq 4 ] && ok || bad "4 lines out"
[ "$(stat -c %a basic.out.csv)" = 600 ] && ok || bad "OUTPUT mode is 0600"
ls basic.out.csv.tmp-* >/dev/null 2>&1 && bad "temp file left behind" || ok
contains out.txt "3 rows checked" "summary counts rows"
contains out.txt "invalid_syntax" "summary by reason"
# --- the evidence at --level syntax (a valid, a disposable and an invalid
# address): no MX address, no route, and the UTC ISO 8601 time the verdict
# was made, within the run
printf 'email\nann@example.com\nx@mailinator.com\nnot-an-address\n' > ev.csv
t0=$(date +%s)
expect_rc 0 "clean for the evidence" -- clean ev.csv -o ev.out.csv
t1=$(date +%s)
awk -F, 'NR > 1 { print $(NF - 2) "|" $(NF - 1) "|" $NF }' ev.out.csv > ev.txt
n=0
while IFS='|' read -r ip at route; do
    n=$((n + 1))
    case "$at" in
        [0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z) s=$(date -u -d "$at" +%s) ;;
        *) s= ;;
    esac
    [ -z "$ip" ] && [ -z "$route" ] && [ -n "$s" ] && [ "$s" -ge "$t0" ] && [ "$s" -le "$t1" ] && ok \
        || bad "syntax evidence of row $n: mx_ip '$ip', checked_at '$at' (run $t0..$t1), route '$route'"
done < ev.txt
[ "$n" -eq 3 ] && ok || bad "evidence of $n rows, want 3"
expect_rc 0 "check json evidence" -- "$BIN" check --level syntax --json jane@example.com
grep -q '"duplicate":false,"mx_ip":"","checked_at":"[0-9-]*T[0-9:]*Z","route":""}$' out.txt && ok \
    || bad "check --json evidence at --level syntax: $(cat out.txt)"
printf 'email\nAnn@Example.com\n ann@example.COM\nJ.Doe+x@googlemail.com\njdoe@gmail.com\nj.doe@example.com\njdoe@example.com\n' > dup.csv
expect_rc 0 "clean duplicates" -- clean dup.csv -o dup.out.csv
[ "$(cut -d, -f1,16 dup.out.csv | tr '\n' ' ')" = "email,mailvet_duplicate Ann@Example.com,false ann@example.COM,true J.Doe+x@googlemail.com,false jdoe@gmail.com,true j.doe@example.com,false jdoe@example.com,false " ] \
    && ok || bad "mailvet_duplicate at --level syntax: $(cut -d, -f1,16 dup.out.csv | tr '\n' ' ')"
contains out.txt "Duplicates: 2 rows" "syntax summary counts duplicates"

# --- input order is kept, many rows
i=0; { echo email; while [ $i -lt 3000 ]; do echo "user$i@example.com"; i=$((i + 1)); done; } > many.csv
expect_rc 0 "clean many" -- clean many.csv -o many.out.csv
cut -d, -f1 many.out.csv > many.col
same many.csv many.col "input order kept over 3000 rows"

# --- BOM, CRLF, CR-only, LF mixes
printf '\357\273\277email,n\r\na@example.com,1\r\nb@example.com,2\rc@example.com,3\n' > bom.csv
expect_rc 0 "clean BOM + mixed newlines" -- clean bom.csv -o bom.out.csv
head -c 3 bom.out.csv | od -An -tx1 | grep -q "ef bb bf" && ok || bad "BOM kept in OUTPUT"
contains bom.out.csv "email,n,mailvet_email" "BOM not part of the header name"
[ "$(grep -c '@example.com,unknown,unverified' bom.out.csv)" -eq 3 ] && ok || bad "3 rows across CRLF/CR/LF"

# --- quoted fields with commas, quotes and newlines are kept
printf 'email,note\nq@example.com,"line1\nline2, with ""quotes"""\n' > quoted.csv
expect_rc 0 "clean quoted" -- clean quoted.csv -o quoted.out.csv
contains quoted.out.csv '"line1' "multi-line field kept quoted"
contains quoted.out.csv 'line2, with ""quotes""",q@example.com' "quotes doubled, field intact"

# --- ragged rows
printf 'a,email,b\n1,r1@example.com,x\n2\n3,r3@example.com,y,extra\n' > ragged.csv
expect_rc 0 "clean ragged" -- clean ragged.csv -o ragged.out.csv
contains ragged.out.csv '2,,,,undeliverable,invalid_syntax' "short row padded, no email cell"
contains ragged.out.csv '3,r3@example.com,y,extra,r3@example.com' "long row kept whole"
contains out.txt "Rows without an email cell" "summary mentions short rows"
contains out.txt "more fields than the header: 1" "summary mentions long rows"

# --- invalid UTF-8: email cell invalid, other cells passed byte for byte
printf 'email,n\n\377bad@example.com,ok\ngood@example.com,\376\375\n' > utf8.csv
expect_rc 0 "clean invalid UTF-8" -- clean utf8.csv -o utf8.out.csv
contains utf8.out.csv "invalid_syntax" "invalid UTF-8 address rejected"
grep -q "$(printf 'good@example.com,\376\375,good@example.com')" utf8.out.csv && ok || bad "bytes passed through"

# --- a 10 MB field
{ echo "email,blob"; printf 'big@example.com,"'; head -c 10485760 /dev/zero | tr '\0' 'x'; printf '"\nsmall@example.com,y\n'; } > big.csv
expect_rc 0 "clean 10 MB field" -- clean big.csv -o big.out.csv
[ "$(wc -c < big.out.csv)" -gt 10485760 ] && ok || bad "10 MB field written"
contains big.out.csv "small@example.com,y,small@example.com" "row after the big field"

# --- empty, header-only, no email column
: > empty.csv
expect_rc 2 "empty file" -- clean empty.csv -o e.out.csv
contains err.txt "empty" "empty file message"
[ -e e.out.csv ] && bad "no OUTPUT for empty input" || ok
printf 'email,name\n' > header.csv
expect_rc 0 "header-only file" -- clean header.csv -o h.out.csv
contains err.txt "header but no rows" "header-only warning"
contains h.out.csv "email,name,mailvet_email" "header-only output has the header"
printf 'name,phone\nann,123\nbob,456\n' > noemail.csv
expect_rc 2 "no email column" -- clean noemail.csv -o n.out.csv
contains err.txt "no email column found" "no email column message"

# --- column choice
printf 'name,E-Mail Address\nann,ann@example.com\n' > named.csv
expect_rc 0 "auto header name" -- clean named.csv -o named.out.csv
contains named.out.csv "ann,ann@example.com,ann@example.com,unknown" "E-Mail Address detected"
printf 'x@example.com,y@example.com\nz@example.com,w@example.com\n' > twocol.csv
expect_rc 0 "--column 2 without header" -- clean --column 2 twocol.csv -o twocol.out.csv
contains twocol.out.csv "x@example.com,y@example.com,y@example.com," "second column used"
[ "$(wc -l < twocol.out.csv)" -eq 2 ] && ok || bad "no header invented"
printf 'id,work,home\n1,w@example.com,h@example.com\n' > byname.csv
expect_rc 0 "--column NAME" -- clean --column HOME byname.csv -o byname.out.csv
contains byname.out.csv "1,w@example.com,h@example.com,h@example.com" "column by name, case-insensitive"
expect_rc 2 "--column missing" -- clean --column nope byname.csv -o x.csv
contains err.txt '--column nope: no column of that name; the header has' "missing column message"
printf 'ann@example.com,Ann\nbob@example.com,Bob\n' > headless.csv
expect_rc 0 "headerless" -- clean headless.csv -o headless.out.csv
[ "$(wc -l < headless.out.csv)" -eq 2 ] && ok || bad "headerless: no header row written"

# --- paths
expect_rc 2 "missing INPUT" -- clean nosuch.csv -o x.csv
contains err.txt "No such file" "missing INPUT message"
expect_rc 2 "OUTPUT equal to INPUT" -- clean basic.csv -o basic.csv
contains err.txt "same file as INPUT" "same file message"
ln -sf basic.csv alias.csv
expect_rc 2 "OUTPUT is INPUT by another name" -- clean alias.csv -o basic.csv
printf 'email\nstdin@example.com\n' | clean - -o stdin.out.csv >out.txt 2>err.txt && ok || bad "stdin input"
contains stdin.out.csv "stdin@example.com,unknown" "stdin row"

# --- interruption: exit 130, nothing half-written. mailvet reads a FIFO
# that stays open (so it cannot finish first) and gets SIGINT, by its own
# PID, once it has installed its handler.
mkfifo int.fifo
"$BIN" clean --level syntax - -o int.out.csv < int.fifo >out.txt 2>err.txt &
pid=$!
exec 4> int.fifo
printf 'email\na@example.com\n' >&4
# sigint_caught PID: PID catches SIGINT (signal 2: the 0x2 bit of SigCgt)
sigint_caught() {
    m=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
    [ -n "$m" ] && [ $((0x$m & 2)) -ne 0 ]
}
i=0
while ! sigint_caught $pid && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
sigint_caught $pid && ok || bad "mailvet clean never installed its SIGINT handler (5 s)"
kill -INT $pid
wait $pid; rc=$?
exec 4>&-
[ "$rc" -eq 130 ] && ok || bad "SIGINT exit $rc, want 130"
[ -e int.out.csv ] && bad "interrupted run left OUTPUT" || ok
ls int.out.csv.tmp-* >/dev/null 2>&1 && bad "interrupted run left a temp file" || ok

# --- issue 13: the sanity stop, link-safe OUTPUT, --keep/--split, messages
printf 'name;email;co\n' > semi.csv
i=1; while [ $i -le 30 ]; do echo "u$i;u$i@example.com;acme" >> semi.csv; i=$((i + 1)); done
tr ';' ',' < semi.csv > comma.csv
expect_rc 2 "sanity stop: wrong delimiter" -- clean --delimiter , semi.csv -o sane.csv
contains err.txt "30 of the first 30 values in column 1 are not valid addresses" "sanity: counts"
contains err.txt "try --delimiter ';'" "sanity: names the delimiter"
contains err.txt "--force runs anyway" "sanity: names --force"
[ -e sane.csv ] && bad "sanity stop wrote OUTPUT" || ok
expect_rc 2 "sanity stop: wrong column" -- clean --column 3 comma.csv -o sane.csv
contains err.txt "try --column 2" "sanity: names the column"
contains err.txt '2 "email"' "sanity: lists the columns"
expect_rc 0 "--force runs anyway" -- clean --force --column 3 comma.csv -o sane.csv
contains sane.csv "u1,u1@example.com,acme,,undeliverable,invalid_syntax" "--force: the verdicts"
expect_rc 0 "a good list runs" -- clean comma.csv -o sane.csv

printf 'email,n\na@example.com,1\nnot-an-address,2\nb@example.com,3\nc@example.com,4\n' > mix.csv
echo real > real.csv; ln -s real.csv link.csv; mkfifo fifo.csv
expect_rc 2 "symlink OUTPUT refused" -- clean mix.csv -o link.csv
contains err.txt "OUTPUT link.csv is a symbolic link" "symlink message"
[ -L link.csv ] && [ "$(readlink link.csv)" = real.csv ] && [ "$(cat real.csv)" = real ] && ok || bad "symlink OUTPUT changed"
expect_rc 2 "FIFO OUTPUT refused" -- clean mix.csv -o fifo.csv
contains err.txt "OUTPUT fifo.csv is a FIFO" "FIFO message"
[ -p fifo.csv ] && ok || bad "FIFO OUTPUT replaced"
expect_rc 2 "device OUTPUT refused" -- clean mix.csv -o /dev/null
contains err.txt "OUTPUT /dev/null is a device" "device message"
[ -c /dev/null ] && ok || bad "/dev/null replaced"
ln -s real.csv link.state
expect_rc 2 "symlink state refused" -- "$BIN" clean --level dns --dns 127.0.0.1:9 mix.csv -o st.csv --state link.state
contains err.txt "the state file link.state is a symbolic link" "state symlink message"
expect_rc 2 "OUTPUT in a missing directory" -- clean mix.csv -o nodir/x.csv
contains err.txt "cannot create OUTPUT nodir/x.csv: nodir does not exist" "missing directory named"
mkdir -p outdir
expect_rc 2 "OUTPUT a directory" -- clean mix.csv -o outdir/
contains err.txt "OUTPUT outdir/ is a directory; give a file name" "directory message"
expect_rc 0 "-o - at --level syntax" -- clean mix.csv -o -
contains out.txt "b@example.com,3,b@example.com,unknown,unverified" "-o -: the CSV on stdout"
contains err.txt "rows checked" "-o -: the summary on stderr"
expect_rc 2 "-o - at --level dns" -- "$BIN" clean --level dns mix.csv -o -
contains err.txt "works at --level syntax only" "-o - at dns: why"
expect_rc 0 "--keep and --split" -- clean --keep undeliverable --split parts mix.csv -o kept.csv
[ "$(wc -l < kept.csv)" -eq 2 ] && ok || bad "--keep: header + 1 row, got $(wc -l < kept.csv) lines"
contains kept.csv "not-an-address,2" "--keep: the undeliverable row"
[ "$(wc -l < parts/unknown.csv)" -eq 4 ] && ok || bad "--split: unknown.csv holds header + 3 rows"
[ "$(sed -n 2p parts/unknown.csv | cut -d, -f2)" = 1 ] && [ "$(sed -n 4p parts/unknown.csv | cut -d, -f2)" = 4 ] && ok || bad "--split: input order"
[ "$(wc -l < parts/deliverable.csv)" -eq 1 ] && ok || bad "--split: deliverable.csv holds just the header"
[ "$(stat -c %a parts/unknown.csv)" = 600 ] && ok || bad "--split files are 0600"
contains out.txt "unknown                  3" "--keep: the summary still counts every row"
"$BIN" clean --level dns --dns 127.0.0.1:9 --force mix.csv -o bad.csv >/dev/null 2>&1 || true
if [ -f bad.csv.state ]; then
    ln -s real.csv rep.json
    expect_rc 2 "report -o over a symlink" -- "$BIN" report --format json -o rep.json bad.csv.state
    contains err.txt "the report file rep.json is a symbolic link" "report -o symlink message"
    [ -L rep.json ] && ok || bad "report -o replaced the symlink"
fi
expect_rc 2 "--keep with a bad status" -- clean --keep good mix.csv -o kept.csv

expect_rc 2 "address starting with -" -- "$BIN" check --level syntax -x@example.com
contains err.txt "unknown option '-x@example.com'" "names the argument"
contains err.txt "put it after --" "says how"
expect_rc 0 "-- before such an address" -- "$BIN" check --level syntax -- -x@example.com
expect_rc 2 "unknown --column lists the header" -- clean --column Emial mix.csv -o x.csv
contains err.txt '--column Emial: no column of that name; the header has "email", "n"' "column list"
printf ' a@example.com \n\nb@example.com\n' | "$BIN" check --level syntax --json - > stdin.txt 2>&1 && ok || bad "check - exit"
[ "$(grep -c '"input"' stdin.txt)" -eq 2 ] && ok || bad "check -: two addresses from stdin"
contains stdin.txt '"input":"a@example.com"' "check -: trimmed"
printf 'email\na@example.com\n' > valid1.csv
expect_rc 0 "syntax run on valid addresses" -- clean valid1.csv -o v1.csv
contains out.txt "not measured" "no made-up bounce figure at --level syntax"
not_contains out.txt "about 25.0%" "no 25% figure"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
