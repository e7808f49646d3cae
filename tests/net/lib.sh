# lib.sh — shared helpers of the integration scripts (sourced, not run).
# net_enter "$@": re-run the calling script inside a private network
# namespace whose only interface is loopback, so nothing can leave the machine.
net_enter() {
    if [ -z "${MAILVET_IN_NETNS:-}" ]; then
        MAILVET_IN_NETNS=1 exec unshare -n sh "$0" "$@"
    fi
    ip link set lo up
}

# net_paths BUILD_DIR: the binaries under test (BUILD_DIR's mailvet, else
# the top-level one), mailsim, the scorer, and the data directory.
net_paths() {
    BUILD=$(cd "$1" && pwd)
    TOP=$(cd "$HERE/../.." && pwd)
    MAILVET=$BUILD/mailvet
    [ -x "$MAILVET" ] || MAILVET=$TOP/mailvet
    SIM=$TOP/tests/mailsim/mailsim
    SCORE=$TOP/build/rel/tools/score
    export MAILVET_DATA="$TOP/data"
}

# sim_start WORLD DIR [ARGS…]: mailsim serving WORLD (DNS 127.0.0.1:53, SMTP
# port 25) in the background as $SIMPID, its log in DIR; stops a previous
# one first. Returns once it is ready (false after 10 s).
SIMPID=
sim_start() {
    w=$1 dir=$2
    shift 2
    [ -n "$SIMPID" ] && { kill $SIMPID; wait $SIMPID 2>/dev/null; }
    rm -f "$dir/ready"
    "$SIM" serve --world "$w" --dns 127.0.0.1:53 --smtp-port 25 --ready-file "$dir/ready" "$@" \
        2>>"$dir/sim.log" &
    SIMPID=$!
    i=0
    while [ ! -f "$dir/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -f "$dir/ready" ]
}

# sim_counters FILE: mailsim ($SIMPID, started with --counters FILE) writes
# fresh counters to FILE on SIGUSR1; waits for them (at most 10 s). Counts a
# failure, and returns false with FILE absent, if they never come.
sim_counters() {
    rm -f "$1"
    kill -USR1 "$SIMPID" 2>/dev/null
    i=0
    while [ ! -s "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    [ -s "$1" ] && return 0
    bad "mailsim wrote no counters to $1 within 10 s of SIGUSR1"
    return 1
}

# state_results STATE: how many results the state file STATE holds so far
# (0 while it does not exist)
state_results() {
    n=$(sqlite3 -readonly "$1" 'select count(*) from results' 2>/dev/null)
    echo "${n:-0}"
}

# wait_results STATE N PID: wait (at most 60 s) until the run PID has
# committed at least N results to STATE; false if not, or if it has ended
wait_results() {
    i=0
    while [ "$(state_results "$1")" -lt "$2" ] && kill -0 "$3" 2>/dev/null && [ $i -lt 600 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(state_results "$1")" -ge "$2" ] && kill -0 "$3" 2>/dev/null
}

# net_tmp [CLEANUP]: a private temporary directory as $T, removed at exit
# (kept when KEEP is set, for a look after a failure) after CLEANUP (shell
# text) has run and mailsim has been stopped.
net_tmp() {
    T=$(mktemp -d)
    NET_CLEANUP=${1:-:}
    trap 'eval "$NET_CLEANUP"; [ -n "$SIMPID" ] && { kill $SIMPID 2>/dev/null; wait $SIMPID 2>/dev/null; }; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
}

pass=0 fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_field JSONFILE ADDRESS FIELD VALUE: the JSON line of ADDRESS has "FIELD":VALUE
expect_field() {
    line=$(grep -F "\"input\":\"$2\"" "$1" | head -n1)
    case "$line" in
        *"\"$3\":$4"*) ok ;;
        *) bad "$2: want \"$3\":$4, got: ${line:-no line}" ;;
    esac
}

# wait_port IP PORT: wait up to 10 s for a TCP listener
wait_port() {
    i=0
    while [ $i -lt 100 ]; do
        ss -ltnH "sport = :$2" 2>/dev/null | grep -qF "$1:$2" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

finish() {
    echo "$1: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# sim_counters FILE: have mailsim (started with --counters FILE) dump its
# counters now: FILE is removed, SIGUSR1 sent, and FILE awaited (mailsim
# writes it atomically, temp file + rename) for up to 5 s; false if it never
# appears.
sim_counters() {
    rm -f "$1"
    kill -USR1 "$SIMPID" || return 1
    i=0
    while [ ! -s "$1" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$1" ]
}

# sim_counter FILE SECTION NAME: counter NAME of SECTION ("dns" or "total") of
# a mailsim counters dump (empty when absent).
sim_counter() {
    sed -n "s/^{*\"$2\":{.*\"$3\":\([0-9]*\).*/\1/p" "$1" | head -n1
}

# sim_host_counter FILE HOST NAME: counter NAME of HOST in a mailsim
# counters dump (empty when absent).
sim_host_counter() {
    sed -n "s/^\"$2\":{.*\"$3\":\([0-9]*\).*/\1/p" "$1" | head -n1
}

# run_list CMD OPTS LIST: `mailvet CMD OPTS` on the addresses of LIST (a
# CSV with an email header): clean writes $T/out.csv, check its --json lines
# to $T/check.json; errors in $T/err-CMD.txt. Sets rc, out (the file) and
# kind (csv or json).
run_list() {
    if [ "$1" = clean ]; then
        # shellcheck disable=SC2086
        timeout 120 "$MAILVET" clean $2 --progress never "$3" -o "$T/out.csv" \
            > "$T/sum.txt" 2> "$T/err-$1.txt"
        rc=$? out="$T/out.csv" kind=csv
    else
        # shellcheck disable=SC2086
        timeout 120 "$MAILVET" check $2 --json $(tail -n +2 "$3") > "$T/check.json" \
            2> "$T/err-$1.txt"
        rc=$? out="$T/check.json" kind=json
    fi
}

# verdict_lines KIND FILE: "ADDRESS STATUS REASON" for each row of
# run_list's output (KIND csv: clean's OUTPUT, the address first; json:
# check's --json lines).
verdict_lines() {
    if [ "$1" = csv ]; then
        tail -n +2 "$2" | awk -F, '{ print $1 " " $3 " " $4 }'
    else
        sed -n 's/.*"input":"\([^"]*\)".*"status":"\([a-z]*\)","reason":"\([a-z_]*\)".*/\1 \2 \3/p' "$2"
    fi
}

# u_nobody_verdicts KIND FILE: "ACCEPTED NOT_FOUND OTHER" of run_list's
# output for a list of uN@ mailboxes that exist and nobodyN@ ones that do
# not; each row that is neither right is printed.
u_nobody_verdicts() {
    verdict_lines "$1" "$2" | awk '
        $1 ~ /^u[0-9]*@/ && $3 == "accepted" { d++; next }
        $1 ~ /^nobody[0-9]*@/ && $3 == "mailbox_not_found" { n++; next }
        { o++; print "unexpected: " $0 > "/dev/stderr" }
        END { printf "%d %d %d\n", d, n, o }'
}

# sim_counter_hosts FILE: the hosts that saw a connection, with their counts.
sim_counter_hosts() {
    grep -v '^"total"' "$1" | sed -n 's/^"\([^"]*\)":{"connections":\([0-9]*\),.*"rcpt":\([0-9]*\),.*/\1 (connections \2, rcpt \3)/p'
}

# results_tsv json|csv FILE: one "KEY<TAB>FIELD<TAB>VALUE" line per result
# field. json: `check --json` lines; KEY is "input", FIELD every other key,
# null written as empty, \" \\ \/ unescaped (other escapes kept as written).
# csv: clean's OUTPUT (no newlines inside fields); KEY is the first column,
# FIELD every mailvet_* column without the prefix; tab, CR and LF inside a
# value are written \t \r \n like the JSON side.
results_tsv() {
    awk -v kind="$1" '
    function jstr(s, i,   v, c, d) {
        v = ""; i++
        while (1) {
            c = substr(s, i, 1)
            if (c == "\\") {
                d = substr(s, i + 1, 1)
                v = v ((d == "\"" || d == "\\" || d == "/") ? d : "\\" d)
                i += 2
                continue
            }
            if (c == "\"" || c == "") { JI = i + 1; return v }
            v = v c; i++
        }
    }
    function csv_split(s, f,   n, i, j, c, v, L) {
        n = 0; i = 1; L = length(s)
        while (1) {
            v = ""
            if (substr(s, i, 1) == "\"") {
                i++
                while (i <= L) {
                    c = substr(s, i, 1)
                    if (c == "\"") {
                        if (substr(s, i + 1, 1) == "\"") { v = v "\""; i += 2; continue }
                        i++
                        break
                    }
                    v = v c; i++
                }
            } else {
                j = index(substr(s, i), ",")
                if (j == 0) { v = substr(s, i); i = L + 1 } else { v = substr(s, i, j - 1); i += j - 1 }
            }
            f[++n] = v
            if (i > L) break
            i++
            if (i > L) { f[++n] = ""; break }
        }
        return n
    }
    function esc(v) { gsub(/\t/, "\\t", v); gsub(/\r/, "\\r", v); gsub(/\n/, "\\n", v); return v }
    kind == "json" {
        n = 0; i = 2; L = length($0); key = ""
        while (i <= L) {
            if (substr($0, i, 1) != "\"") { i++; continue }
            k = jstr($0, i); i = JI + 1
            if (substr($0, i, 1) == "\"") { v = jstr($0, i); i = JI }
            else {
                v = ""
                while (i <= L && (c = substr($0, i, 1)) != "," && c != "}") { v = v c; i++ }
                if (v == "null") v = ""
            }
            n++; K[n] = k; V[n] = v
            if (k == "input") key = v
        }
        for (j = 1; j <= n; j++) if (K[j] != "input") print key "\t" K[j] "\t" V[j]
        next
    }
    kind == "csv" {
        sub(/\r$/, "")
        nf = csv_split($0, f)
        if (NR == 1) { for (j = 1; j <= nf; j++) H[j] = f[j]; hn = nf; next }
        for (j = 1; j <= hn; j++)
            if (substr(H[j], 1, 8) == "mailvet_") print f[1] "\t" substr(H[j], 9) "\t" esc(f[j])
    }' "$2"
}

# mask_time FILE [WHAT [DELIM]]: clean's OUTPUT FILE (no line break inside a
# field; it ends in mailvet_mx_ip, mailvet_checked_at, mailvet_route) with
# each line's mailvet_checked_at replaced by "-"; WHAT "route" also replaces
# a non-empty mailvet_route by "R". DELIM: OUTPUT's delimiter (default ,).
# Two runs of one list share everything else: a time differs by nature
# (and another route is another route), the MX address must not.
mask_time() {
    d=${3:-,}
    if [ "${2:-time}" = route ]; then
        sed -e "s/$d[^$d]*$d\([^$d]*\)\$/$d-$d\1/" -e "s/$d[^$d][^$d]*\$/${d}R/" "$1"
    else
        sed "s/$d[^$d]*$d\([^$d]*\)\$/$d-$d\1/" "$1"
    fi
}

# same_but_time A B [WHAT [DELIM]]: OUTPUTs A and B are byte for byte alike
# but for what mask_time masks; false, the first differences printed, if not
same_but_time() {
    mask_time "$1" "${3:-time}" "${4:-,}" > "$T/masked.a"
    mask_time "$2" "${3:-time}" "${4:-,}" > "$T/masked.b"
    cmp -s "$T/masked.a" "$T/masked.b" && return 0
    diff "$T/masked.a" "$T/masked.b" | head -6
    return 1
}

# tsv_field TSV KEY FIELD: the value of FIELD for KEY in results_tsv output
# ("<absent>" when there is no such line).
tsv_field() {
    awk -F '\t' -v k="$2" -v f="$3" '$1 == k && $2 == f { print $3; found = 1; exit }
        END { if (!found) print "<absent>" }' "$1"
}

# expect_tsv TSV KEY FIELD VALUE [WHAT]: FIELD of KEY is VALUE
expect_tsv() {
    got=$(tsv_field "$1" "$2" "$3")
    if [ "$got" = "$4" ]; then ok; else bad "${5:-}$2: want $3=$4, got $3=$got"; fi
}

# --- real servers from Debian (postfix.sh, postfix-limits.sh, postscreen.sh, exim.sh, opensmtpd.sh)

# dns_start DIR MX-LINES: dnsmasq on 127.0.0.1:53 answering for .com from
# the dnsmasq.conf lines MX-LINES (mx-host=…, host-record=…) and NXDOMAIN
# for the rest; its pid in DIR/dnsmasq.pid. False if it did not start.
dns_start() {
    cat > "$1/dnsmasq.conf" <<CONF
port=53
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
local=/com/
pid-file=$1/dnsmasq.pid
$2
CONF
    dnsmasq --conf-file="$1/dnsmasq.conf" --user=root 2>"$1/dnsmasq.err" || { cat "$1/dnsmasq.err"; return 1; }
}

# pf_config DIR HOSTNAME INTERFACES DOMAINS: a private Postfix instance in
# DIR/pf serving virtual mailboxes (DIR/pf/vmailbox: "user@domain x" lines)
# of DOMAINS on INTERFACES (comma-separated), logging to DIR/postfix.log;
# master.cf has no smtp listener: the caller appends its own, and may add to
# main.cf, before pf_start. DIR must be reachable by the postfix user.
pf_config() {
    mkdir -p "$1/pf" "$1/queue" "$1/data"
    chown postfix "$1/data"
    cp /etc/postfix/master.cf /etc/postfix/postfix-files "$1/pf/"
    cp -r /etc/postfix/dynamicmaps.cf* /etc/postfix/postfix-files.d "$1/pf/" 2>/dev/null
    sed -i '/^smtp[[:space:]]*inet/d' "$1/pf/master.cf"
    : > "$1/pf/vmailbox"
    cat > "$1/pf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $1/queue
data_directory = $1/data
mail_owner = postfix
myhostname = $2
mydestination =
alias_maps =
alias_database =
inet_interfaces = $3
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = $1/postfix.log
maillog_file_prefixes = $1
smtpd_client_event_limit_exceptions =
virtual_mailbox_domains = $4
virtual_mailbox_maps = texthash:$1/pf/vmailbox
virtual_transport = discard
smtpd_recipient_restrictions = reject_unlisted_recipient, permit_mynetworks, reject_unauth_destination
CONF
}

# pf_run SIDE COMMAND...: time one run against the Postfix of $T (output
# $T/SIDE.out, errors $T/SIDE.err), keep Postfix's log lines of it in
# $T/SIDE.log, and check it ended well within BOUND seconds (the default
# retry schedule's first retry is 360 s away: a run that waited fails)
pf_run() {
    side=$1
    shift
    from=$(($(wc -l < "$T/postfix.log") + 1))
    t0=$(date +%s)
    timeout $((BOUND * 2)) "$@" > "$T/$side.out" 2> "$T/$side.err"
    rc=$?
    secs=$(($(date +%s) - t0))
    pf_settled "$T" || bad "$side: Postfix's log has connections without a disconnect"
    tail -n +$from "$T/postfix.log" > "$T/$side.log"
    echo "  $side: exit $rc in $secs s"
    [ $rc -eq 0 ] && ok || bad "$side: exit $rc: $(tail -3 "$T/$side.err")"
    [ $secs -lt $BOUND ] && ok || bad "$side: $secs s, bound $BOUND s (waited for the retry schedule?)"
}

# debroot_need PROGRAM TEST: PROGRAM is unpacked under build/debroot
# (scripts/debroot.sh), else TEST fails saying how to get it, and exits
debroot_need() {
    if [ ! -x "$1" ] || ! DEBROOT=$DEBROOT sh "$TOP/scripts/debroot.sh" --check; then
        bad "no unpacked $1: run make deps (or scripts/debroot.sh)"
        finish "$2"
        exit 1
    fi
}

# pf_start DIR IP...: start the instance of pf_config and wait until it
# listens on port 25 of every IP; false (its errors shown) if not.
pf_start() {
    d=$1
    shift
    script -qc "postfix -c $d/pf start" /dev/null > "$d/postfix.start" 2>&1 || { cat "$d/postfix.start"; return 1; }
    for ip in "$@"; do wait_port "$ip" 25 || { echo "postfix does not listen on $ip"; return 1; }; done
}

# pf_settled DIR: wait (at most 10 s) until every client connection in
# Postfix's log (DIR/postfix.log, written by postlogd after the fact) has
# its disconnect line.
pf_settled() {
    i=0
    while [ $i -lt 100 ]; do
        c=$(grep -c ' connect from ' "$1/postfix.log" 2>/dev/null)
        dc=$(grep -c ' disconnect from ' "$1/postfix.log" 2>/dev/null)
        [ "${c:-0}" -eq "${dc:-0}" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
