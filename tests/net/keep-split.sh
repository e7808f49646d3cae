#!/bin/sh
# keep-split.sh BUILD_DIR — SPEC --keep and --split at --level smtp: a run
# against mailsim (world-compare.txt) with --keep deliverable --split DIR
# gives an OUTPUT that is exactly the deliverable rows of a full run's
# OUTPUT, in input order, and split files that together are the full
# OUTPUT's rows, each holding one status (but for mailvet_checked_at: two
# runs, two times); the summary still counts every row. Runs inside a
# private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish keep-split; exit 1; }
python3 "$TOP/tests/tools/make-dialects.py" make "$T" || { bad "make-dialects.py failed"; finish keep-split; exit 1; }

OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 1 --command-timeout 2 --retry-schedule 2,2 --progress never"

run() {
    out=$1
    shift
    sim_start "$HERE/world-compare.txt" "$T" || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; return; }
    # shellcheck disable=SC2086
    timeout 60 "$MAILVET" clean $OPTS "$@" "$T/comma.csv" -o "$T/$out" > "$T/$out.stdout" 2> "$T/$out.err"
    rc=$?
}

run full.csv
[ "$rc" -eq 0 ] && ok || bad "full run: exit $rc: $(tail -3 "$T/full.csv.err")"
run kept.csv --keep deliverable --split "$T/parts"
[ "$rc" -eq 0 ] && ok || bad "--keep run: exit $rc: $(tail -3 "$T/kept.csv.err")"

# the status column, counted from the header (fields may hold commas: use python's csv)
python3 - "$T" <<'PY' > "$T/check.txt" 2>&1
import csv, sys
T = sys.argv[1]
def rows(name):
    with open(f"{T}/{name}", newline="", encoding="utf-8-sig") as f:
        r = list(csv.reader(f))
    at = r[0].index("mailvet_checked_at")   # when: differs between the two runs
    return r[0], [row[:at] + ["-"] + row[at + 1:] for row in r[1:]]
head, full = rows("full.csv")
st = head.index("mailvet_status")
khead, kept = rows("kept.csv")
print("kept-header", khead == head)
want = [r for r in full if r[st] == "deliverable"]
print("kept-rows", len(want) > 0 and kept == want)
union = []
for s in ("deliverable", "undeliverable", "risky", "unknown"):
    h, part = rows(f"parts/{s}.csv")
    print(f"split-{s}-one-status", h == head and all(r[st] == s for r in part))
    union += part
print("split-union", sorted(union) == sorted(full) and len(union) == len(full))
print("statuses", len({r[st] for r in full}) >= 3)
PY
while read -r what v; do
    [ "$v" = True ] && ok || bad "$what: $v"
done < "$T/check.txt"
grep -q True "$T/check.txt" || bad "the check script failed: $(head -5 "$T/check.txt")"
# the summary covers every row, kept or not
total=$(sed -n 's/^mailvet: \([0-9]*\) rows.*/\1/p;s/^Rows: *\([0-9]*\).*/\1/p' "$T/full.csv.stdout" | head -1)
total2=$(sed -n 's/^mailvet: \([0-9]*\) rows.*/\1/p;s/^Rows: *\([0-9]*\).*/\1/p' "$T/kept.csv.stdout" | head -1)
[ -n "$total" ] && [ "$total" = "$total2" ] && ok || bad "summary rows: full '$total', --keep '$total2'"
finish keep-split
