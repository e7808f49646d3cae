# t/more-tests.sh — sourced by run-tests.sh (inside the namespace, after the
# behaviour tests): gen, ideal, the bundled demo world, and the load check.

echo "# gen"
"$FAST" gen --addresses 3000 --domains 400 --seed 11 --out-dir "$T/g1" 2>"$T/gen.log"
"$FAST" gen --addresses 3000 --domains 400 --seed 11 --out-dir "$T/g2" 2>>"$T/gen.log"
"$FAST" gen --addresses 3000 --domains 400 --seed 12 --out-dir "$T/g3" 2>>"$T/gen.log"
if cmp -s "$T/g1/world.txt" "$T/g2/world.txt" && cmp -s "$T/g1/truth.csv" "$T/g2/truth.csv" &&
    cmp -s "$T/g1/list.csv" "$T/g2/list.csv"; then ok "gen is deterministic for a seed"; else bad "gen is deterministic"; fi
if cmp -s "$T/g1/list.csv" "$T/g3/list.csv"; then bad "another seed gives another list"; else ok "another seed gives another list"; fi
expect "list.csv has a header with an email column" "$(head -1 "$T/g1/list.csv")" "^email,first_name,last_name,company,country,signup_date$"
expect "list.csv has every address" "$(($(wc -l <"$T/g1/list.csv") - 1))" "^3000$"
expect "truth.csv has one row per address" "$(($(wc -l <"$T/g1/truth.csv") - 1))" "^3000$"
expect "truth.csv header" "$(head -1 "$T/g1/truth.csv")" "^email,status,reason,determinable,behaviour$"
if [ "$(cut -d, -f1 "$T/g1/list.csv" | tail -n +2)" = "$(cut -d, -f1 "$T/g1/truth.csv" | tail -n +2)" ]; then
    ok "truth rows follow list rows"; else bad "truth rows follow list rows"; fi
badv=$(tail -n +2 "$T/g1/truth.csv" | cut -d, -f2,3 | sort -u | grep -Ev '^(deliverable,accepted|undeliverable,(invalid_syntax|invalid_domain|no_mail_server|null_mx|mailbox_not_found|mailbox_disabled|rejected)|risky,(accept_all|mailbox_full)|unknown,(greylisted|temporary_failure|blocked|timeout|no_connect|tls_error|protocol_error|dns_error))$')
expect_not "truth uses SPEC.md's vocabulary only" "$badv" "."
top=$(tail -n +2 "$T/g1/list.csv" | cut -d, -f1 | sed 's/.*@//' | sort | uniq -c | sort -rn)
n1=$(printf '%s\n' "$top" | head -1 | awk '{print $1}')
ndom=$(printf '%s\n' "$top" | wc -l)
nsmall=$(printf '%s\n' "$top" | awk '$1 <= 3' | wc -l)
if [ "$n1" -ge 300 ] && [ $((nsmall * 2)) -ge "$ndom" ]; then ok "Zipf sizes: a giant of $n1 addresses, $nsmall of $ndom domains with 3 or fewer"; else bad "Zipf sizes" "$top"; fi
expect "the giants are named bigmailN.com" "$(printf '%s\n' "$top" | head -1)" "bigmail0.com$"
expect_not "no special-use TLDs" "$(tail -n +2 "$T/g1/list.csv" | cut -d, -f1 | sed 's/.*@//' | grep -E '\.(test|localhost|invalid|example|local)$')" "."
expect_not "MX hosts avoid 127.0.x.x" "$(grep -E '^host .* 127\.0\.' "$T/g1/world.txt")" "."
for b in catchall greylist nxdomain servfail nullmx nodata aonly dead tarpit banner554 block tls drop rcptcap conncap shared; do
    grep -q ",$b\$" "$T/g1/truth.csv" || missing="${missing:-} $b"
done
expect_not "the default mix has every common behaviour" "${missing:-}" "[a-z]"
# provider fleets (the B2B bench world): --shared-providers K fleets of --shared-mx N hosts each
"$FAST" gen --addresses 500 --domains 400 --seed 5 --zipf 0 --giants 0 --mix shared=50 \
    --shared-providers 3 --shared-mx 4 --out-dir "$T/gs" 2>>"$T/gen.log"
expect "gen --shared-providers 3 --shared-mx 4: twelve fleet hosts" "$(grep -c '^host mx[1-4]\.hostprovider[0-2]\.net ' "$T/gs/world.txt")/$(grep -c '^host .*hostprovider' "$T/gs/world.txt")" "^12/12$"
fleet=$(awk 'function fin() { if (n) any++; if (n == 4) k++; n = 0 } /^domain /{fin()} /^  mx 10 mx[0-9]+\.hostprovider[0-9]+\.net$/{n++} END{fin(); print k + 0, any + 0}' "$T/gs/world.txt")
n4=${fleet% *} nsd=${fleet#* }
expect "every shared domain has its fleet's four MX hosts at one preference ($n4 of $nsd)" "$n4" "^$nsd$"
if [ "$nsd" -ge 160 ] && [ "$nsd" -le 240 ]; then ok "--mix shared=50 puts about half of the domains on the fleets ($nsd of 400)"; else bad "about half of the domains on the fleets" "$nsd"; fi
expect "--shared-mx 9 is refused (8 MX records at most)" "$("$FAST" gen --domains 10 --shared-mx 9 --out-dir "$T/gx" 2>&1; echo "rc=$?")" "rc=2"

echo "# a generated world is served as its truth says"
start_sim "$T/g1/world.txt" || exit 1
checked=0
wrong=
while IFS=, read -r email status reason det beh; do
    dom=${email#*@}
    case "$reason" in
    invalid_domain) r=$(D "$dom" MX); printf '%s' "$r" | grep -q "status: NXDOMAIN" || wrong="$wrong $email:$reason"; checked=$((checked + 1)); continue ;;
    null_mx) r=$(D +short "$dom" MX); [ "$r" = "0 ." ] || wrong="$wrong $email:$reason"; checked=$((checked + 1)); continue ;;
    no_mail_server) r=$(D "$dom" MX); printf '%s' "$r" | grep -q "ANSWER: 0" || wrong="$wrong $email:$reason"; checked=$((checked + 1)); continue ;;
    accepted | mailbox_not_found | mailbox_full | mailbox_disabled | accept_all) ;;
    *) continue ;;
    esac
    case "$beh" in normal | giant | shared | catchall | rcptcap | outlook | aonly) ;; *) continue ;; esac
    mx=$(D +short "$dom" MX | sort -n | head -1 | awk '{print $2}')
    [ -z "$mx" ] && mx=$dom
    ip=$(D +short "$mx" A | head -1)
    r=$(smtp "$ip" "EHLO c.org" "MAIL FROM:<v@c.org>" "RCPT TO:<$email>" "QUIT" | grep -E '^[245][0-9][0-9][ -]' | sed -n '$!p' | tail -1)
    case "$reason" in
    accepted | accept_all) want='^250' ;;
    mailbox_not_found) want='^55[04]' ;;
    mailbox_full) want='^452' ;;
    mailbox_disabled) want='^55[04]' ;;
    esac
    printf '%s' "$r" | grep -Eq "$want" || wrong="$wrong $email:$reason:[$r]"
    checked=$((checked + 1))
    [ $checked -ge 60 ] && break
done < <(tail -n +2 "$T/g1/truth.csv" | awk 'NR % 7 == 1 || /invalid_domain|null_mx|no_mail_server|mailbox_full|disabled/')
if [ -z "$wrong" ] && [ $checked -ge 30 ]; then ok "SMTP and DNS answers agree with truth.csv ($checked rows)"; else bad "answers agree with truth ($checked rows)" "$wrong"; fi
stop_sim

echo "# ideal"
cat >"$T/iw.txt" <<'W'
host mx.a.com 127.1.0.1
  latency 100
  conn-cap 2
  rcpt-cap 10
domain a.com
  mx 10 mx.a.com
host mx.g.com 127.1.0.2
  latency 100
  conn-cap 1
  greylist 5
domain g.com
  mx 10 mx.g.com
host mx.dead.com 127.255.0.1 dead
domain dead.com
  mx 10 mx.dead.com
domain nx.com
  dns nxdomain
W
{ echo "name,email"; for i in $(seq 38); do echo "n$i,u$i@a.com"; done; for i in 1 2 3; do echo "x,z$i@dead.com"; echo "y,z$i@nx.com"; done; } >"$T/il.csv"
expect "ideal: (R + 4S)·L/C with R=39, S=4, L=0.1, C=2 is 2.75 s" "$("$FAST" ideal --world "$T/iw.txt" --list "$T/il.csv")" "^2.750$"
for i in $(seq 9); do echo "g,u$i@g.com"; done >>"$T/il.csv"
expect "ideal: a greylisting host costs G + R·L/C = 6 s" "$("$FAST" ideal --world "$T/iw.txt" --list "$T/il.csv")" "^6.000$"
expect "ideal --verbose: fewest sessions 4 + 2 (a greylisting host's are asked before and after the delay)" \
    "$("$FAST" ideal --world "$T/iw.txt" --list "$T/il.csv" --verbose 2>&1 >/dev/null)" "; 6 sessions"
expect "ideal: the email column is found by its header" "$("$FAST" ideal --world "$T/iw.txt" --list "$T/il.csv" --verbose 2>&1)" "over 53 addresses"
expect "ideal of a generated world" "$("$FAST" ideal --world "$T/g1/world.txt" --list "$T/g1/list.csv")" "^[0-9]+\.[0-9]{3}$"
# the global --concurrency term: ideal = max(max_h T_h, (sum_h W_h) / N), W_h = T_h·C_h + S_h·L_h
expect "ideal --concurrency: a greylist wait holds no connection: W = 5.9 + 2.5, / 1 = 8.4 s" \
    "$("$FAST" ideal --world "$T/iw.txt" --list "$T/il.csv" --concurrency 1)" "^8.400$"
expect "ideal --concurrency 100: the hosts' term (6 s) still sets it" \
    "$("$FAST" ideal --world "$T/iw.txt" --list "$T/il.csv" --concurrency 100)" "^6.000$"
# four small hosts (a B2B list in miniature): each R = 1 address + 1 probe = 2, S = 1, L = 0.1, C = 2:
# T = (2 + 4·1)·0.1/2 = 0.3 s, W = (2 + 4)·0.1 + 1·0.1 = 0.7 connection-seconds, sum 2.8
{ for i in 1 2 3 4; do printf 'host mx.h%d.com 127.1.1.%d\n  latency 100\n  conn-cap 2\ndomain h%d.com\n  mx 10 mx.h%d.com\n  mailbox u\n' "$i" "$i" "$i" "$i"; done; } >"$T/iw2.txt"
{ echo "email"; for i in 1 2 3 4; do echo "u@h$i.com"; done; } >"$T/il2.csv"
expect "ideal without --concurrency: the slowest host, 0.3 s" "$("$FAST" ideal --world "$T/iw2.txt" --list "$T/il2.csv")" "^0.300$"
expect "ideal --verbose: one session a small host, 4 sessions" \
    "$("$FAST" ideal --world "$T/iw2.txt" --list "$T/il2.csv" --verbose 2>&1 >/dev/null)" "; 4 sessions"
expect "ideal --concurrency 2: the global term dominates, 2.8 / 2 = 1.4 s" \
    "$("$FAST" ideal --world "$T/iw2.txt" --list "$T/il2.csv" --concurrency 2)" "^1.400$"
expect "ideal --concurrency 10: 2.8 / 10 = 0.28 s < 0.3 s, the host term stays" \
    "$("$FAST" ideal --world "$T/iw2.txt" --list "$T/il2.csv" --concurrency 10)" "^0.300$"
expect "ideal --concurrency --verbose names the bottleneck" \
    "$("$FAST" ideal --world "$T/iw2.txt" --list "$T/il2.csv" --concurrency 2 --verbose 2>&1 >/dev/null)" "bottleneck --concurrency"
# the same four hosts as one operator's fleet (one registrable domain, or `fleet NAME`)
{ for i in 1 2 3; do printf 'host mx%d.fleet.net 127.1.1.%d\n  latency 100\n  conn-cap 2\ndomain h%d.com\n  mx 10 mx%d.fleet.net\n  mailbox u\n' "$i" "$i" "$i" "$i"; done
  printf 'host mx.other.com 127.1.1.4\n  latency 100\n  conn-cap 2\n  fleet fleet.net\ndomain h4.com\n  mx 10 mx.other.com\n  mailbox u\n'; } >"$T/iw3.txt"
expect "ideal --per-provider 2: one fleet of four hosts, 2.8 / 2 = 1.4 s" \
    "$("$FAST" ideal --world "$T/iw3.txt" --list "$T/il2.csv" --per-provider 2)" "^1.400$"
expect "ideal --per-provider 100: the host term stays" \
    "$("$FAST" ideal --world "$T/iw3.txt" --list "$T/il2.csv" --per-provider 100)" "^0.300$"
expect "ideal --per-provider 2 on four operators: the host term" \
    "$("$FAST" ideal --world "$T/iw2.txt" --list "$T/il2.csv" --per-provider 2)" "^0.300$"
expect "ideal --per-provider --verbose names the fleet" \
    "$("$FAST" ideal --world "$T/iw3.txt" --list "$T/il2.csv" --per-provider 1 --verbose 2>&1 >/dev/null)" "fleet fleet.net: 4 hosts"
expect "ideal --concurrency 0 is a usage error" "$("$FAST" ideal --world "$T/iw2.txt" --concurrency 0 2>&1; echo "rc=$?")" "rc=2"

echo "# the bundled demo world (data/demo)"
DEMO=$ROOT/data/demo
expect "demo list has 200 addresses" "$(($(wc -l <"$DEMO/list.csv") - 1))" "^200$"
if [ "$(cut -d, -f1 "$DEMO/list.csv")" = "$(cut -d, -f1 "$DEMO/truth.csv" | sed 1s/.*/email/)" ]; then ok "demo truth covers every row"; else bad "demo truth covers every row"; fi
nb=$(tail -n +2 "$DEMO/truth.csv" | cut -d, -f5 | sort -u | wc -l)
expect "demo world mixes every behaviour ($nb)" "$nb" "^2[3-9]$"
start_sim "$DEMO/world.txt" || exit 1
expect "demo world is served" "$(D +short bigmail0.com MX | head -1)" "^10 mx[12].bigmail0.com.$"
stop_sim

if [ "${MAILSIM_LOAD:-1}" != 0 ]; then
    echo "# load: mailsim must never be the bottleneck (optimised build)"
    {
        for i in $(seq 8); do printf 'host mx%d.loadtest.com 127.3.0.%d\n' "$i" "$i"; done
        printf 'domain loadtest.com\n  catch-all\n'
        for i in $(seq 8); do printf '  mx 10 mx%d.loadtest.com\n' "$i"; done
    } >"$T/lw.txt"
    start_sim "$T/lw.txt" "$FAST" || exit 1
    out=$("$FAST" load smtp --ips "$(seq -s, -f '127.3.0.%g' 1 8)" --port $PORT --conns 5000 --to someone@loadtest.com --timeout 60)
    echo "    $out"
    expect "5,000 concurrent SMTP connections, all held at once and completed" "$out" "banners_held_at_once=5000 completed=5000 failed=0"
    dump
    expect "counters saw 5,000 simultaneous connections" "$(counter total conn_peak)" "^5000$"
    out=$("$FAST" load dns --server $DNS --names loadtest.com,mx1.loadtest.com,nosuch.com --seconds 3 --inflight 200)
    echo "    $out"
    qps=$(printf '%s' "$out" | sed 's/.*answers_per_second=//')
    if [ "${qps:-0}" -ge 20000 ]; then ok "DNS: at least 20,000 answers/s ($qps)"; else bad "DNS: at least 20,000 answers/s" "$out"; fi
    stop_sim
fi

echo "# the README's world example parses"
awk '/^```world$/{on=1; next} /^```$/{on=0} on' "$HERE/README.md" >"$T/readme-world.txt"
start_sim "$T/readme-world.txt" || exit 1
expect "README example world is served" "$(D +short bigmail0.com MX | head -1)" "^10 mx1.bigmail0.com.$"
expect "README example: null MX" "$(D +short nullmx.com MX)" "^0 \.$"
stop_sim
