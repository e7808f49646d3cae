#!/bin/sh
# mailsim-check.sh BUILD_DIR — `mailvet check` against mailsim: every reason
# of SPEC.md's table, next-MX fallback, STARTTLS, tarpits, dead and
# connection-capped hosts, garbage and over-long replies, the private-MX
# guard, and the transcript. Runs inside a private network namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
net_paths "$1"
net_enter "$@"
[ -x "$SIM" ] || { bad "mailsim is not built (make tests/mailsim/mailsim)"; finish mailsim-check; exit 1; }

T=$(mktemp -d)
trap '[ -n "$SIMPID" ] && kill $SIMPID 2>/dev/null; rm -rf "$T"' EXIT
sim_start "$HERE/world-check.txt" "$T" --counters "$T/counters.json" || { cat "$T/sim.log"; bad "mailsim did not start"; }

check() {
    "$MAILVET" check --json --dns 127.0.0.1 --allow-private-mx --smtp-port 25 --helo verifier.example.net \
        --connect-timeout 1 --command-timeout 2 --retry-schedule 3 "$@"
}

check alice@okmail.com nobody@okmail.com carol@okmail.com dave@okmail.com anyone@catchy.com \
      x@mailinator.com 'bad@@okmail.com' a@gone.com a@nodata.com a@nullmx.com a@brokendns.com \
      r@rejecty.com gina@greyish.com gus@greyforever.com t@tempy.com b@blocky.com b@banner554.com \
      t@tarpitty.com d@deadly.com tina@tlsonly.com gary@garbly.com lou@longly.com fred@fallback.com \
      s1@shared1.com s2@shared2.com s3@shared3.com c1@capped.com c2@capped.com c3@capped.com \
      c4@capped.com nobody@capped.com dora@droppy.com dirk@drippy.com andy@aonly.net \
      > "$T/out.json" 2>"$T/err.txt" || bad "check exit $?: $(cat "$T/err.txt")"
O=$T/out.json
expect_field "$O" alice@okmail.com reason '"accepted"'
expect_field "$O" alice@okmail.com status '"deliverable"'
expect_field "$O" alice@okmail.com accept_all false
expect_field "$O" nobody@okmail.com reason '"mailbox_not_found"'
expect_field "$O" carol@okmail.com reason '"mailbox_full"'
expect_field "$O" dave@okmail.com reason '"mailbox_disabled"'
expect_field "$O" anyone@catchy.com reason '"accept_all"'
expect_field "$O" anyone@catchy.com accept_all true
expect_field "$O" x@mailinator.com reason '"disposable"'
expect_field "$O" x@mailinator.com attempts 0
expect_field "$O" 'bad@@okmail.com' reason '"invalid_syntax"'
expect_field "$O" a@gone.com reason '"invalid_domain"'
expect_field "$O" a@nodata.com reason '"no_mail_server"'
expect_field "$O" a@nullmx.com reason '"null_mx"'
expect_field "$O" a@brokendns.com reason '"dns_error"'
expect_field "$O" r@rejecty.com reason '"rejected"'
expect_field "$O" gina@greyish.com reason '"accepted"'
expect_field "$O" gina@greyish.com attempts 2
expect_field "$O" gus@greyforever.com reason '"greylisted"'
expect_field "$O" t@tempy.com reason '"temporary_failure"'
expect_field "$O" b@blocky.com reason '"blocked"'
expect_field "$O" b@banner554.com reason '"blocked"'
expect_field "$O" b@banner554.com smtp_code 554
expect_field "$O" t@tarpitty.com reason '"timeout"'
expect_field "$O" d@deadly.com reason '"no_connect"'
expect_field "$O" tina@tlsonly.com reason '"accepted"'
expect_field "$O" gary@garbly.com reason '"protocol_error"'
expect_field "$O" lou@longly.com reason '"protocol_error"'
expect_field "$O" fred@fallback.com reason '"accepted"'
expect_field "$O" fred@fallback.com mx '"mx.backup.com"'
for a in s1@shared1.com s2@shared2.com s3@shared3.com c1@capped.com c2@capped.com c3@capped.com \
         c4@capped.com dora@droppy.com dirk@drippy.com andy@aonly.net; do
    expect_field "$O" $a reason '"accepted"'
done
expect_field "$O" nobody@capped.com reason '"mailbox_not_found"'

# STARTTLS required by the server but refused by us; the private-MX guard
check --starttls never tina@tlsonly.com > "$T/notls.json" 2>/dev/null
expect_field "$T/notls.json" tina@tlsonly.com reason '"tls_error"'
"$MAILVET" check --json --dns 127.0.0.1 --smtp-port 25 alice@okmail.com > "$T/private.json" 2>/dev/null
expect_field "$T/private.json" alice@okmail.com reason '"unroutable_mx"'
# --level dns stops before SMTP
check --level dns alice@okmail.com a@nullmx.com > "$T/dns.json" 2>/dev/null
expect_field "$T/dns.json" alice@okmail.com reason '"unverified"'
expect_field "$T/dns.json" alice@okmail.com mx '"mx.okmail.com"'
expect_field "$T/dns.json" a@nullmx.com reason '"null_mx"'

# politeness and safety, from mailsim's own counters
sim_counters "$T/counters.json" && ok
grep -q '"data_attempts":0' "$T/counters.json" 2>/dev/null && ! grep -q '"data_attempts":[1-9]' "$T/counters.json" \
    && ok || bad "mailvet sent DATA/VRFY/EXPN (or no counters)"
peak=$(sed -n 's/.*"mx.shared.net":{[^}]*"conn_peak":\([0-9]*\).*/\1/p' "$T/counters.json" 2>/dev/null | head -n1)
[ "${peak:-9}" -le 5 ] && ok || bad "connections to one MX above --per-mx: $peak"

# the transcript on --verbose
check --verbose bob@okmail.com > /dev/null 2> "$T/transcript.txt"
grep -q "C: EHLO verifier.example.net" "$T/transcript.txt" && ok || bad "transcript has EHLO"
grep -q "C: STARTTLS" "$T/transcript.txt" && ok || bad "transcript has STARTTLS"
grep -q "S: 250" "$T/transcript.txt" && ok || bad "transcript has server lines"

# leaks at exit (valgrind, release build only: ASan covers the other)
if command -v valgrind >/dev/null && [ "$(basename "$BUILD")" = rel ]; then
    valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
        "$MAILVET" check --json --dns 127.0.0.1 --allow-private-mx --smtp-port 25 --connect-timeout 1 \
        --command-timeout 2 --retry-schedule 1 alice@okmail.com nobody@okmail.com tina@tlsonly.com \
        a@gone.com d@deadly.com > /dev/null 2> "$T/vg.txt"
    [ $? -ne 9 ] && ok || { bad "valgrind found leaks"; head -30 "$T/vg.txt"; }
fi
finish mailsim-check
