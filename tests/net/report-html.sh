#!/bin/sh
# report-html.sh BUILD_DIR — the HTML report in a real browser: builds the
# fixture state file (tests/data/report-sample.sql), renders it with
# BUILD_DIR/net/test_report_html (report_run, as `mailvet report --format
# html`), opens it in headless Chromium inside a private network namespace
# (loopback only, so the page could not fetch anything even if it tried),
# checks the rendered DOM shows the expected numbers and that a screenshot
# is produced. MAILVET_REPORT_PNG=FILE keeps the screenshot (docs/report.png).
# Needs root, chromium and sqlite3 (`make deps`). Ends with
# "report-html: N passed, M failed".
set -u
dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$dir/../.." && pwd)
build=${1:?usage: report-html.sh BUILD_DIR}
. "$dir/lib.sh"
net_enter "$@"

bin=$build/net/test_report_html
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    bad "$1 is not installed: run 'make deps' (scripts/packages.txt lists it)"
    finish report-html
    exit 1
}
need chromium
need sqlite3
if [ ! -x "$bin" ]; then
    bad "$bin not built"
    finish report-html
    exit 1
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export HOME="$T"            # chromium writes its crash and config dirs here

browse() {                  # browse ARGS... URL: one headless Chromium run
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --disable-dev-shm-usage --hide-scrollbars \
        --user-data-dir="$(mktemp -d "$T/profile.XXXXXX")" "$@" 2>>"$T/chromium.log"
}

want() {                    # want FILE TEXT WHAT
    if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1"; fi
}
unwanted() {
    if grep -qF -- "$2" "$1"; then bad "$3: '$2' in $1"; else ok; fi
}

if sqlite3 "$T/batch.state" < "$root/tests/data/report-sample.sql"; then ok; else bad "fixture"; fi
if "$bin" "$T/batch.state" html "$T/report.html"; then ok; else bad "render exited $?"; fi

# the file itself: self-contained
unwanted "$T/report.html" "<script" "no scripts"
unwanted "$T/report.html" "src=" "no external resources"
unwanted "$T/report.html" "<link" "no linked stylesheets"
unwanted "$T/report.html" "url(" "no CSS resources"

# what the browser built from it
browse --dump-dom "file://$T/report.html" > "$T/dom.html"
[ -s "$T/dom.html" ] && ok || bad "chromium --dump-dom printed nothing (see below)"
want "$T/dom.html" '<b id="rows">323</b>' "rows checked"
want "$T/dom.html" '<b id="deliverable">59.1%</b>' "deliverable share"
want "$T/dom.html" '<b id="bounce-all">31.7%</b>' "bounce if all mailed"
want "$T/dom.html" '<b id="bounce-deliverable">5.6%</b>' "bounce if deliverable mailed"
want "$T/dom.html" '<td class="n">191</td><td class="n">59.1%</td>' "status table"
want "$T/dom.html" '<td>bigcorp.com</td><td class="n">22</td>' "accept-all table"
want "$T/dom.html" 'mx1.acme-corp.com' "blocking host"
want "$T/dom.html" 'set a PTR record for your IP that matches --helo' "rDNS hint"
want "$T/dom.html" '&lt;script&gt;alert(1)&lt;/script&gt;' "hostile reply shown as text"
unwanted "$T/dom.html" "<script" "no script element in the DOM"
first=$(grep -o '>[a-z0-9.-]*\.[a-z]*</text>' "$T/dom.html" | head -n 3 | tr -d '\n')
[ "$first" = ">gmail.com</text>>yahoo.com</text>>outlook.com</text>" ] && ok \
    || bad "top domains order: $first"

# a picture of it
browse --screenshot="$T/report.png" --window-size=1280,2000 "file://$T/report.html" >/dev/null
if [ -s "$T/report.png" ] && [ "$(head -c 8 "$T/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] \
   && [ "$(wc -c < "$T/report.png")" -gt 20000 ]; then
    ok
    [ -n "${MAILVET_REPORT_PNG:-}" ] && cp "$T/report.png" "$MAILVET_REPORT_PNG"
else
    bad "no screenshot (or an empty one)"
fi

# an unfinished batch says so
sqlite3 "$T/batch.state" "UPDATE meta SET value = '' WHERE key = 'finished_at';
                          UPDATE meta SET value = '500' WHERE key = 'rows_total';"
"$bin" "$T/batch.state" html "$T/unfinished.html" && ok || bad "render unfinished"
browse --dump-dom "file://$T/unfinished.html" > "$T/dom2.html"
want "$T/dom2.html" 'Unfinished batch: 323 of 500 rows done (64.6%).' "unfinished banner"

# a bad state file is refused with exit code 2
"$bin" "$root/tests/data/report-sample.sql" html "$T/bad.html" 2>"$T/err.txt"
[ $? -eq 2 ] && ok || bad "non-state file: want exit 2"
want "$T/err.txt" "not a mailvet state file" "non-state file message"

[ "$fail" -eq 0 ] || { echo "--- chromium log"; tail -n 20 "$T/chromium.log"; }
finish report-html
