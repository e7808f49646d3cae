#!/bin/sh
# check-vs-clean.sh BUILD_DIR — SPEC "check and clean run on one engine: the
# same addresses get the same verdict, reason and attempts from either
# command". The same addresses (world-compare.txt: every mailsim behaviour
# with a deterministic verdict) go through `check --json` and through
# `clean`; every mailvet_* column of clean's OUTPUT must equal the JSON field
# of the same name (without the prefix) of check, for every address. Each
# command runs against a freshly started mailsim, so greylisting clocks and
# connection counts start alike. Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
net_tmp
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish check-vs-clean; exit 1; }

# Fields not compared, each for its reason. checked_at (mailvet_checked_at,
# when the deciding answer came) is a time: it differs between two runs by
# nature. mx_ip and route are compared: the same MX address must answer.
EXCLUDE="checked_at"

ADDRS="alice@okmail.com bob@okmail.com nobody@okmail.com carol@okmail.com dave@okmail.com
info@okmail.com alice@alias.com olga@outly.com nobody@outly.com yuri@yahly.com nobody@yahly.com
anyone@catchy.com anyone@catchhost.com a@gone.com a@nodata.com a@nullmx.com a@brokendns.com
sam@slowdns.com tom@truncy.com andy@aonly.net nobody@aonly.net r@rejecty.com t@tempy.com
gina@greyish.com gwen@greyname.com gus@greyforever.com nobody@greyforever.com b@blocky.com
pat@policy.com b@banner554.com t@tarpitty.com dean@deafy.com d@deadly.com fred@fallback.com
tina@tlsonly.com gary@garbly.com lou@longly.com ed@endly.com s1@shared1.com s2@shared2.com
s3@shared3.com nobody@shared3.com c1@capped.com c2@capped.com c3@capped.com c4@capped.com
c5@capped.com nobody@capped.com dora@droppy.com rita@resetty.com lara@laggy.com dirk@drippy.com
x@mailinator.com bad@@okmail.com someone@gmial.com"
N=$(echo $ADDRS | wc -w)
{ echo email; for a in $ADDRS; do echo "$a"; done; } > "$T/list.csv"

OPTS="--dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
--connect-timeout 1 --command-timeout 2 --retry-schedule 2,2"
BOUND=60                     # seconds either command may take (timeout(1) ends it)

start_sim() {
    sim_start "$HERE/world-compare.txt" "$T" --counters "$T/counters-$1.json" \
        || { bad "mailsim did not start: $(tail -3 "$T/sim.log")"; finish check-vs-clean; exit 1; }
}

# --- check --json
start_sim check
t0=$(date +%s)
# shellcheck disable=SC2086
timeout $BOUND "$MAILVET" check --json $OPTS $ADDRS > "$T/check.json" 2> "$T/check.err"; rc=$?
echo "  check: exit $rc in $(( $(date +%s) - t0 )) s"
[ $rc -eq 0 ] && ok || bad "check exit $rc (124: over $BOUND s): $(tail -3 "$T/check.err")"
results_tsv json "$T/check.json" > "$T/check.tsv"

# --- clean, against a fresh mailsim
start_sim clean
t0=$(date +%s)
# shellcheck disable=SC2086
timeout $BOUND "$MAILVET" clean $OPTS --progress never "$T/list.csv" -o "$T/out.csv" \
    > "$T/clean.out" 2> "$T/clean.err"; rc=$?
echo "  clean: exit $rc in $(( $(date +%s) - t0 )) s"
[ $rc -eq 0 ] && ok || bad "clean exit $rc (124: over $BOUND s): $(tail -3 "$T/clean.err")"
[ -f "$T/out.csv" ] && results_tsv csv "$T/out.csv" > "$T/clean.tsv" || : > "$T/clean.tsv"

# Both have one result per address, and are not trivially alike: a few
# anchors of SPEC's table hold in each (mailsim-check.sh has the rest).
for side in check clean; do
    n=$(cut -f1 "$T/$side.tsv" | sort -u | wc -l)
    [ "$n" -eq "$N" ] && ok || bad "$side: results for $n addresses, want $N"
    expect_tsv "$T/$side.tsv" alice@okmail.com reason accepted "$side: "
    expect_tsv "$T/$side.tsv" nobody@okmail.com reason mailbox_not_found "$side: "
    expect_tsv "$T/$side.tsv" anyone@catchy.com reason accept_all "$side: "
    expect_tsv "$T/$side.tsv" a@gone.com reason invalid_domain "$side: "
    expect_tsv "$T/$side.tsv" gus@greyforever.com reason greylisted "$side: "
done

# --- every field of every address: check (JSON) against clean (OUTPUT)
awk -F '\t' -v exclude=" $EXCLUDE " -v out="$T/diff.txt" '
    index(exclude, " " $2 " ") { next }
    FNR == NR { c[$1 "\t" $2] = $3; next }
    {
        k = $1 "\t" $2
        if (!(k in c)) print $1 "\t" $2 "\t<absent>\t" $3 > out
        else if (c[k] != $3) print $1 "\t" $2 "\t" c[k] "\t" $3 > out
        seen[k] = 1
    }
    END { for (k in c) if (!(k in seen)) print k "\t" c[k] "\t<absent>" > out }
' "$T/check.tsv" "$T/clean.tsv"
touch "$T/diff.txt"
for a in $ADDRS; do
    d=$(awk -F '\t' -v a="$a" '$1 == a { printf "%s%s: check=%s clean=%s", sep, $2, $3, $4; sep = "; " }' "$T/diff.txt")
    [ -z "$d" ] && ok || bad "$a differs: $d"
done
if [ -s "$T/diff.txt" ]; then
    echo "  fields that differ (addresses): $(cut -f2 "$T/diff.txt" | sort | uniq -c | awk '{ printf "%s%s (%s)", sep, $2, $1; sep = ", " }')"
fi
finish check-vs-clean
