#!/bin/sh
# run.sh — `make fuzz`: run each libFuzzer target (build/fuzz/fuzz_NAME) for
# SECONDS, one after another under `nice -n 19`, then print a table.
#   sh tests/fuzz/run.sh SECONDS NAME...
# Owns build/fuzz/work (the corpus a run grows), build/fuzz/logs and
# tests/fuzz/findings/NAME/ (crash/leak/timeout inputs; not committed).
# A run starts from tests/fuzz/corpus/NAME; afterwards the committed corpus
# is replaced by a -merge=1 minimisation of (old corpus + what the run
# found), so it only keeps inputs that add coverage. Files named bug-* in a
# corpus are known-bug reproducers: they are kept as they are, and left out
# of the run (a crashing seed would stop libFuzzer before it starts).
set -u
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:?usage: run.sh SECONDS NAME...}
shift
bin=build/fuzz
mkdir -p "$bin/logs" "$bin/work" "$here/findings"
table="$bin/logs/table.txt"
printf '%-11s %8s %12s %8s %13s %9s\n' target seconds executions exec/s corpus_files findings >"$table"

max_len() {
    case $1 in
    addr) echo 1100 ;;        # IN_MAX is 4096, but nothing past ~1 KiB can pass
    smtp_reply) echo 8192 ;;  # 100 lines of a long multi-line reply
    ehlo) echo 4096 ;;
    csv) echo 16384 ;;        # 64 chunks of 256 bytes straddle plenty of rows
    dns) echo 8192 ;;         # a few answers, each up to a TCP-sized message
    world) echo 8192 ;;
    *) echo 4096 ;;
    esac
}

for name in "$@"; do
    exe="$bin/fuzz_$name"
    corpus="$here/corpus/$name"
    work="$bin/work/$name"
    found="$here/findings/$name"
    log="$bin/logs/$name.log"
    len=$(max_len "$name")
    mkdir -p "$corpus" "$found"
    rm -rf "$work" && mkdir -p "$work"
    for f in "$corpus"/*; do
        case $(basename "$f") in bug-*) continue ;; esac
        [ -f "$f" ] && cp "$f" "$work/"
    done
    dict=""
    [ -f "$here/dict/$name.dict" ] && dict="-dict=$here/dict/$name.dict"
    echo "== fuzz $name for ${secs}s (max_len $len), log $log"
    # libFuzzer stops at the first finding: start it again (same growing
    # corpus) until the time is used up, so one shallow bug does not end
    # the campaign. Executions add up over the restarts.
    start=$(date +%s)
    execs=0 restarts=0 rc=0
    : >"$log"
    while :; do
        left=$((secs - ($(date +%s) - start)))
        [ "$left" -ge 5 ] || break
        # shellcheck disable=SC2086
        MAILVET_FUZZ_QUIET=1 nice -n 19 "$exe" -max_len="$len" -max_total_time="$left" \
            -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$found/" \
            $dict "$work" >"$log.run" 2>&1
        rc=$?
        cat "$log.run" >>"$log"
        e=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log.run" | tail -n1)
        rm -f "$log.run"
        execs=$((execs + ${e:-0}))
        [ "$rc" -eq 0 ] && break
        restarts=$((restarts + 1))
        [ "$restarts" -lt 20 ] || break
        echo "   finding (exit $rc), restarting"
        printf '\n==== restart %s\n' "$restarts" >>"$log"
    done
    end=$(date +%s)
    el=$((end - start))
    rate=$((execs / (el > 0 ? el : 1)))

    # Minimise the run's corpus (old seeds + new finds) into a fresh
    # directory, then swap it in.
    merged="$bin/work/$name.merged"
    rm -rf "$merged" && mkdir -p "$merged"
    if MAILVET_FUZZ_QUIET=1 nice -n 19 "$exe" -merge=1 -max_len="$len" -timeout=10 \
           -rss_limit_mb=2048 "$merged" "$work" >"$bin/logs/$name.merge.log" 2>&1; then
        for f in "$corpus"/bug-*; do [ -f "$f" ] && cp "$f" "$merged/"; done
        rm -rf "$corpus" && mv "$merged" "$corpus"
    else
        echo "!! merge of $name failed (corpus left as it was): $bin/logs/$name.merge.log"
    fi
    # A merged input that the replay build rejects hit a bug the campaign
    # was told to look past (FUZZ_CFLAGS=-DFUZZ_SKIP_KNOWN_BUGS) or one that
    # only gcc sees: name it, so it is moved out or kept as a bug-* file.
    if [ -x "$bin/gcc/fuzz_$name" ]; then
        for f in "$corpus"/*; do
            case $(basename "$f") in bug-*) continue ;; esac
            "$bin/gcc/fuzz_$name" "$f" >/dev/null 2>&1 ||
                echo "!! $f fails the replay build ($bin/gcc/fuzz_$name)"
        done
    fi
    files=$(find "$corpus" -type f | wc -l)
    nfound=$(find "$found" -type f | wc -l)
    printf '%-11s %8s %12s %8s %13s %9s\n' "$name" "$el" "$execs" "$rate" "$files" \
        "$nfound" >>"$table"
done
echo
cat "$table"
echo "corpus size: $(du -sh "$here/corpus" | cut -f1); findings in $here/findings"
