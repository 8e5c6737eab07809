#!/bin/sh
# tests/jobs.sh [TLSDIAG]: `read -j N` must print exactly what -j 1 prints.
# Every lab fixture and corpus file (when ../shared/corpus is there), as
# NDJSON and as text with timelines and non-TLS connections, exit code and
# stderr included, compared byte for byte between -j 1, -j 2 and -j 3.
# A file is mapped and read by every worker (lib/timeline/shard.c); stdin
# and gzip go through one reader and the flow directory (par.c): both are
# compared.  Also all fixtures read in one run (several files: ids restart,
# batches and the correlation store carry over), and a flow cap of 3 and an
# idle timeout of 1 s on some files.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
T=${1:-$root/build/tlsdiag}
if [ -n "${TD_SHARED:-}" ]; then corpus=$TD_SHARED/corpus; else corpus=$root/../shared/corpus; fi
tmp=$(mktemp -d /tmp/tdjobs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0 n=0
ls "$root"/tests/data/lab/*.pcap* > "$tmp/list"
[ -d "$corpus" ] && find "$corpus" -type f \( -name '*.pcap*' -o -name '*.cap' \) | sort >> "$tmp/list"
run() { # JOBS OUT ARGS...
    j=$1 o=$2
    shift 2
    "$T" read -j "$j" "$@" > "$o" 2>&1
    echo "exit $?" >> "$o"
}
run_in() { # JOBS OUT FILE ARGS...: the capture on stdin (the stream path)
    j=$1 o=$2 f=$3
    shift 3
    # tlsdiag's own exit code, not the pipeline's (sed's, always 0)
    { "$T" read -j "$j" "$@" - < "$f" 2>&1; echo "exit $?"; } |
        sed "s|^tlsdiag: -:|tlsdiag: FILE:|; s|\"source\":\"-\"|\"source\":\"FILE\"|" > "$o"
}
while read -r f; do
    n=$((n + 1))
    for mode in json text; do
        if [ $mode = json ]; then set -- --json; else set -- -a -t --color never; fi
        run 1 "$tmp/1" "$@" "$f"
        for j in 2 3; do
            run $j "$tmp/$j" "$@" "$f"
            if ! cmp -s "$tmp/1" "$tmp/$j"; then
                echo "FAIL -j $j differs from -j 1 ($mode): $f"
                diff "$tmp/1" "$tmp/$j" | head -5
                fails=$((fails + 1))
            fi
        done
    done
done < "$tmp/list"
set -- $(ls "$root"/tests/data/lab/*.pcap)
run 1 "$tmp/all1" --json "$@"
run 2 "$tmp/all2" --json "$@"
if ! cmp -s "$tmp/all1" "$tmp/all2"; then
    echo "FAIL -j 2 differs from -j 1 on all fixtures in one run"
    fails=$((fails + 1))
fi
lines=$(wc -l < "$tmp/all1")
if [ "$lines" -lt 40 ]; then
    echo "FAIL: all fixtures gave only $lines lines"
    fails=$((fails + 1))
fi
# the stream path: every lab fixture on stdin, -j 2 and -j 3 against -j 1
for f in "$root"/tests/data/lab/*.pcap*; do
    run_in 1 "$tmp/s1" "$f" --json
    for j in 2 3; do
        run_in $j "$tmp/s$j" "$f" --json
        if ! cmp -s "$tmp/s1" "$tmp/s$j"; then
            echo "FAIL -j $j differs from -j 1 on stdin: $f"
            diff "$tmp/s1" "$tmp/s$j" | head -5
            fails=$((fails + 1))
        fi
    done
done
# a short idle timeout: each shard ends its flows where one engine does;
# a tiny flow cap: the directory evicts what one engine evicts (the shards
# split the cap, as they split --max-memory: checked below)
for f in $(head -60 "$tmp/list" | tail -20); do
    run 1 "$tmp/c1" --json --idle 1 "$f"
    run 2 "$tmp/c2" --json --idle 1 "$f"
    if ! cmp -s "$tmp/c1" "$tmp/c2"; then
        echo "FAIL -j 2 differs from -j 1 with --idle 1: $f"
        fails=$((fails + 1))
    fi
    run_in 1 "$tmp/c1" "$f" --json --max-flows 3
    run_in 2 "$tmp/c2" "$f" --json --max-flows 3
    if ! cmp -s "$tmp/c1" "$tmp/c2"; then
        echo "FAIL -j 2 differs from -j 1 with --max-flows 3 on stdin: $f"
        fails=$((fails + 1))
    fi
done
# decryption: --keylog files and pcapng Decryption Secrets Blocks (the
# workers wait while secrets are added mid-file)
for k in "$root"/tests/data/lab/*.keys; do
    f=${k%.keys}.pcap
    [ -f "$f" ] || continue
    run 1 "$tmp/k1" --json --keylog "$k" "$f"
    run 2 "$tmp/k2" --json --keylog "$k" "$f"
    if ! cmp -s "$tmp/k1" "$tmp/k2"; then
        echo "FAIL -j 2 differs from -j 1 with --keylog: $f"
        fails=$((fails + 1))
    fi
done
# The caps under -j: they are kept per partition of the flows
# (lib/tcp/flowtab.h) and a worker holds whole partitions, so -j N evicts
# exactly what -j 1 evicts: the same output, byte for byte, from the file
# (shards) and from stdin (the directory; its --max-memory evictions are
# the workers' own and may end in another order, so that case only needs
# the same flows evicted and every flow reported).  3,000 flows that never
# finish, each holding a record buffer (about 15 MB in all).
python3 "$root/tools/hostile-capture.py" flows 3000 > "$tmp/flows.pcap"
evicted_set() { # NDJSON FILE: the client endpoints of the evicted connections, sorted
    python3 -c 'import json, sys
print(sorted("%s:%s" % (r["client"]["ip"], r["client"]["port"]) for r in (json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")) if r.get("evicted")))' "$1" 2>&1
}
# (small --max-handshake/--max-reassembly: a small --max-memory keeps fewer
# partitions, so that each holds the largest flow the other caps allow;
# each case below still has at least 2, checked, so the workers share them)
small="--max-handshake 16384 --max-reassembly 16384"
for cap in "--max-memory 12" "--max-memory 12 $small" "--max-flows 10" "--max-flows 3" "--max-flows 100 --max-memory 6 $small"; do
    # shellcheck disable=SC2086
    w=$(TLSDIAG_THREAD_TIMES=1 "$T" read -q -j 3 $cap "$tmp/flows.pcap" 2>&1 >/dev/null | grep -o ', worker' | wc -l)
    if [ "$w" -lt 2 ]; then
        echo "FAIL -j 3 $cap: $w workers, the comparison below would prove nothing"
        fails=$((fails + 1))
    fi
    # shellcheck disable=SC2086
    run 1 "$tmp/m1" $cap --json -a "$tmp/flows.pcap"
    # shellcheck disable=SC2086
    run_in 1 "$tmp/s1" "$tmp/flows.pcap" $cap --json -a
    recs=$(grep -c '^{' "$tmp/m1")
    evj=$(grep -c '"evicted":true' "$tmp/m1")
    lim=$(grep -c '"code":"limit_' "$tmp/m1")
    if [ "$recs" != 3000 ] || [ "$evj" -lt 100 ] || [ "$lim" != "$evj" ]; then
        echo "FAIL -j 1 $cap: $recs records, $evj marked evicted, $lim with a limit_ anomaly"
        fails=$((fails + 1))
    fi
    for j in 2 3; do
        # shellcheck disable=SC2086
        run $j "$tmp/mj" $cap --json -a "$tmp/flows.pcap"
        if ! cmp -s "$tmp/m1" "$tmp/mj"; then
            echo "FAIL -j $j $cap differs from -j 1"
            diff "$tmp/m1" "$tmp/mj" | head -3 | cut -c1-200
            fails=$((fails + 1))
        fi
        # shellcheck disable=SC2086
        run_in $j "$tmp/sj" "$tmp/flows.pcap" $cap --json -a
        case $cap in
        *memory*)
            if [ "$(evicted_set "$tmp/s1")" != "$(evicted_set "$tmp/sj")" ] || [ "$(grep -c '^{' "$tmp/sj")" != 3000 ]; then
                echo "FAIL -j $j $cap on stdin: other flows evicted than -j 1"
                fails=$((fails + 1))
            fi ;;
        *)
            if ! cmp -s "$tmp/s1" "$tmp/sj"; then
                echo "FAIL -j $j $cap on stdin differs from -j 1"
                diff "$tmp/s1" "$tmp/sj" | head -3 | cut -c1-200
                fails=$((fails + 1))
            fi ;;
        esac
    done
done
# hostile captures (tools/hostile-capture.py): one client's retry storm (the
# correlation store, on the delivering thread), crafted flow-hash collisions
# (the directory's table and the workers'), a byte-at-a-time mid-stream flow
H="python3 $root/tools/hostile-capture.py"
$H hellos 3000 1 > "$tmp/storm.pcap"
$H hashflood 3000 > "$tmp/flood.pcap"
$H dribble 3000 > "$tmp/dribble.pcap"
$H hellos 30000 > "$tmp/many.pcap" # many flows: many hand-overs, the id table grows
for f in storm flood dribble many; do
    for mode in "--json" "-q"; do
        run 1 "$tmp/h1" $mode "$tmp/$f.pcap"
        for j in 2 3; do
            run $j "$tmp/hj" $mode "$tmp/$f.pcap"
            if ! cmp -s "$tmp/h1" "$tmp/hj"; then
                echo "FAIL -j $j differs from -j 1 ($mode): hostile $f"
                fails=$((fails + 1))
            fi
        done
    done
done
# a BPF filter: every worker applies it (the first also counts the packets
# for the notes); -j 2 and -j 3 print what -j 1 prints, and the filter did
# keep some connections and drop others
set -- $(ls "$root"/tests/data/lab/*.pcap)
run 1 "$tmp/f1" --json "$@" tcp port 8443
for j in 2 3; do
    run $j "$tmp/fj" --json "$@" tcp port 8443
    if ! cmp -s "$tmp/f1" "$tmp/fj"; then
        echo "FAIL -j $j differs from -j 1 with a BPF filter"
        diff "$tmp/f1" "$tmp/fj" | head -5
        fails=$((fails + 1))
    fi
done
kept=$(grep -c '^{"id"' "$tmp/f1")
if [ "$kept" -lt 3 ] || [ "$kept" -ge "$lines" ]; then
    echo "FAIL: the filter kept $kept of $lines connections"
    fails=$((fails + 1))
fi
# a usage error is one
"$T" read -j 0 "$root/tests/data/lab/ok_tls13_full.pcap" >/dev/null 2>&1
if [ $? != 2 ]; then echo "FAIL -j 0 is not a usage error"; fails=$((fails + 1)); fi
echo "jobs: $n files, json and text, -j 2 and -j 3 against -j 1: $fails failure(s)"
[ "$fails" = 0 ]
