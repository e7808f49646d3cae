# t/hostile-tests.sh — sourced by run-tests.sh (inside the namespace, after
# the main world's tests): the hostile keywords of t/hostile.txt — longline
# BYTES streamed as the socket drains, endless replies, reset, deaf,
# mx-many, CNAME loops and IP-literal MX targets.

echo "# hostile keywords: world file"
printf 'domain x.com\n  mx-many 0\n' >"$T/bad3.txt"
expect "mx-many N must be 1 to 1000" "$("$FAST" serve --world "$T/bad3.txt" 2>&1)" "bad3.txt:2: mx-many N must be 1 to 1000"
printf 'host a.x.com 127.1.0.1\n  longline rcpt 4\n' >"$T/bad4.txt"
expect "longline BYTES has a floor" "$("$FAST" serve --world "$T/bad4.txt" 2>&1)" "bad4.txt:2: longline BYTES must be 5"
printf 'host a.x.com 127.1.0.1\n  longline rcpt 20000000\n' >"$T/bad5.txt"
expect "longline BYTES has a ceiling" "$("$FAST" serve --world "$T/bad5.txt" 2>&1)" "bad5.txt:2: longline BYTES must be 5 to 16777216"
printf 'host a.x.com 127.1.0.1\n  reset quit\n' >"$T/bad6.txt"
expect "reset takes a stage" "$("$FAST" serve --world "$T/bad6.txt" 2>&1)" "bad6.txt:2: expected a stage"

start_sim "$HERE/t/hostile.txt" || exit 1
# cpu_ticks: mailsim's user+system clock ticks so far
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SIM/stat"; }

echo "# hostile keywords: SMTP"
out=$(exec 3<>"/dev/tcp/127.1.0.2/$PORT"; printf 'QUIT\r\n' >&3; timeout 10 cat <&3 | tr -d '\r' |
      awk '{ print length($0) ":" substr($0, 1, 5) }')
expect "longline banner 2000000: a 2,000,000-character line" "$out" "^2000000:220-x"
expect "longline: the real banner follows" "$out" "^[0-9]+:220 m"
out=$(smtp 127.1.0.3 "EHLO c.org" "MAIL FROM:<a@c.org>" "QUIT" | awk '{ print length($0) ":" substr($0, 1, 12) }')
expect "longline mail 70001: more than one round, then the reply (dripped)" "$out" "^70001:250-xxxxxxxx"
expect "longline then the MAIL reply" "$out" "^[0-9]+:250 2.1.0 Ok"
# clients that stop reading a 2 MB line must not stall the others
exec {s1}<>"/dev/tcp/127.1.0.2/$PORT" {s2}<>"/dev/tcp/127.1.0.2/$PORT" {s3}<>"/dev/tcp/127.1.0.2/$PORT"
sleep 0.3
t0=$(now_ms); out=$(smtp 127.1.0.1 "QUIT"); t1=$(now_ms)
if [ $((t1 - t0)) -lt 1000 ] && printf '%s' "$out" | grep -q "^220 mx.ok.com"; then
    ok "stalled readers of a 2 MB line do not stall other sessions ($((t1 - t0)) ms)"
else bad "stalled 2 MB readers stall others" "$out $((t1 - t0)) ms"; fi
rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SIM/status")
lim=$((64 * 1024)); [ "$BIN" = "$FAST" ] || lim=$((256 * 1024))
if [ "${rss:-0}" -gt 0 ] && [ "$rss" -le $lim ]; then ok "a stalled 2 MB line is not held in memory (RSS $((rss / 1024)) MB)"; else bad "RSS with stalled 2 MB lines" "$rss kB"; fi
exec {s1}>&- {s2}>&- {s3}>&-
out=$(printf 'EHLO c.org\r\nMAIL FROM:<a@c.org>\r\nQUIT\r\n' |
      timeout 10 openssl s_client -connect 127.1.0.8:$PORT -starttls smtp -quiet 2>/dev/null |
      tr -d '\r' | awk '{ print length($0) ":" substr($0, 1, 8) }')
expect "longline under TLS: 100,000 characters through STARTTLS" "$out" "^100000:250-xxxx"
expect "longline under TLS: the MAIL reply follows" "$out" "^[0-9]+:250 2.1."
expect "longline under TLS: the session goes on" "$out" "^[0-9]+:221 2.0."

t0=$(cpu_ticks)
out=$(exec 3<>"/dev/tcp/127.1.0.4/$PORT"; read -r -t 5 b <&3; printf 'EHLO c.org\r\n' >&3; timeout 2 cat <&3 | tr -d '\r')
t1=$(cpu_ticks)
n=$(printf '%s\n' "$out" | grep -c '^250-')
expect "endless: only continuation lines, never a final line" "$(printf '%s\n' "$out" | grep -c '^250 ')" "^0$"
if [ "$n" -ge 500 ] && [ "$n" -le 2100 ]; then ok "endless: paced, about a line a millisecond ($n lines in 2 s)"; else bad "endless pacing" "$n lines in 2 s"; fi
if [ $((t1 - t0)) -le 40 ]; then ok "endless: does not spin the CPU ($((t1 - t0)) ticks in 2 s)"; else bad "endless CPU" "$((t1 - t0)) ticks"; fi
sleep 0.2
dump
expect "endless: the session ends when the client goes away" "$(counter mx.endless.com conn_current)" "^0$"

out=$(exec 3<>"/dev/tcp/127.1.0.5/$PORT"; read -r -t 5 b <&3
      printf 'EHLO c.org\r\nMAIL FROM:<a@c.org>\r\nRCPT TO:<x@reset.com>\r\n' >&3; timeout 5 cat <&3 2>&1 | tr -d '\r')
expect "reset rcpt: MAIL is answered" "$out" "^250 2.1.0 Ok"
expect "reset rcpt: RCPT gets a TCP RST" "$out" "Connection reset by peer"
out=$(exec 3<>"/dev/tcp/127.1.0.6/$PORT"; timeout 5 cat <&3 2>&1)
expect "reset banner: RST at once, no banner" "$out" "Connection reset by peer"
dump
expect "resets are counted as drops" "$(counter mx.reset.com drops)" "^1$"

exec {dfd}<>"/dev/tcp/127.1.0.7/$PORT"
out=$(RT=5 read_reply $dfd)
expect "deaf: the banner is sent" "$out" "^220 mx.deaf.com"
printf 'EHLO c.org\r\nMAIL FROM:<a@c.org>\r\n' >&$dfd
expect "deaf: commands are never answered" "$(RT=2 read_reply $dfd)" "^TIMEOUT-OR-EOF$"
q=$(ss -tnH state established "( sport = :$PORT and src 127.1.0.7 )" | awk '{ print $1 }' | head -1)
if [ "${q:-0}" -ge 30 ]; then ok "deaf: commands pile up unread in the kernel ($q bytes)"; else bad "deaf: Recv-Q" "${q:-none}"; fi
exec {dfd}>&-

echo "# hostile keywords: DNS"
out=$(D +short many.com MX)
expect "mx-many 500: 501 MX records over TCP" "$(printf '%s\n' "$out" | wc -l)" "^501$"
expect "mx-many: 500 distinct preferences 100-599 and the real one" "$(printf '%s\n' "$out" | awk '{ print $1 }' | sort -un | sed -n '1p;2p;$p' | tr '\n' ' ')" "^10 100 599 $"
expect "mx-many: the domain's own mx comes last in the answer" "$(printf '%s\n' "$out" | tail -1)" "^10 mx.many.com.$"
expect_not "mx-many: answer order is not preference order" "$(printf '%s\n' "$out" | head -3 | tr '\n' ' ')" "^100 .* 101 .* 102 "
expect "mx-many: truncated over UDP" "$(D +ignore +notcp many.com MX)" "flags: qr aa tc"
expect "c-ares: mx-many through the TCP fallback" "$(ARES many.com mx | wc -l)" "^501$"
expect "mx-many host names are in no section: NXDOMAIN" "$(D mx2.many.com A)" "status: NXDOMAIN"
expect "a defined mx-many host serves the domain" "$(SW 127.1.0.10 --to mia@many.com)" "<-  250 2.1.5"
out=$(D loopa.com MX)
expect "CNAME loop a -> b -> a: SERVFAIL" "$out" "status: SERVFAIL"
expect "CNAME loop: no records" "$out" "ANSWER: 0"
expect "CNAME to itself: SERVFAIL" "$(D self.com A)" "status: SERVFAIL"
out=$(D chain.com MX)
expect "dns loop-noerror: NOERROR" "$out" "status: NOERROR"
expect "dns loop-noerror: the loop's CNAMEs, each once" "$out" "ANSWER: 2"
expect "dns loop-noerror: chain2 points back" "$out" "^chain2.com.*CNAME.*chain.com"
expect "a chain longer than 8 CNAMEs: SERVFAIL" "$(D c1.com MX)" "status: SERVFAIL"
expect "a chain of 8 CNAMEs is followed" "$(D c2.com MX)" "^c10.com.*MX.*10 mx.ok.com"
expect "c-ares: a CNAME loop is an error" "$(ARES loopa.com mx)" "ERROR"
expect "an IP literal as MX target is sent as a name" "$(D +short lit.com MX)" "^10 127.1.0.1.$"
expect "the literal, as a name, does not exist" "$(D 127.1.0.1 A)" "status: NXDOMAIN"
stop_sim
