#!/usr/bin/env bash
# bench/run.sh [DIR]: time tlsdiag and its peers on the captures bench/gen.sh made.
#
# Every case runs on the same file in the same run, RUNS times, round robin
# (case 1, case 2, ..., then again), so that load from other processes on a
# shared machine spreads over all cases alike.  Each run: /usr/bin/time for
# wall, user, sys and peak RSS; the 1-minute load average before it; the
# file is read into the page cache first.  Output: DIR/results/STAMP/results.tsv,
# env.txt, and RESULTS.md-style tables from bench/summarize.py.
#
#   RUNS=3          runs per case
#   FILES="handshakes bulk"   which captures (DIR/NAME.pcap)
#   TSHARK_CONNS=100000   tshark reads only the first copies holding about this
#                   many connections of handshakes.pcap (it needs ~10 GB per
#                   million connections); 0 = the whole file
#   SKIP=regex      skip cases whose name matches (e.g. 'ssldump|tshark')
#   ONCE=regex      cases run in the first round only (e.g. 'ssldump', which
#                   needs ~9 minutes on the full-size capture)
#   CASES=regex     only these cases
#   TLSDIAG=path    the binary (default: build/tlsdiag of this tree; copied into
#                   the results directory so a rebuild during the run changes nothing)
#   DOUBLE=1        also handshakes2x.pcap: twice the connections of
#                   handshakes.pcap from the same base (bench/scale), tlsdiag only,
#                   to show that time doubles and peak RSS does not grow
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(cd "${1:-$HERE/out}" && pwd)
RUNS=${RUNS:-3}
FILES=${FILES:-handshakes bulk}
TSHARK_CONNS=${TSHARK_CONNS:-100000}
SKIP=${SKIP:-^$}
ONCE=${ONCE:-^$}
CASES=${CASES:-.}
TD=${TLSDIAG:-$HERE/../build/tlsdiag}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RES=$DIR/results/$STAMP
mkdir -p "$RES"
[ -x "$TD" ] || { echo "build tlsdiag first (make)" >&2; exit 1; }
cp "$TD" "$RES/tlsdiag"
TD=$RES/tlsdiag
DOUBLE=${DOUBLE:-1}
if [ "$DOUBLE" = 1 ] && [ -s "$DIR/handshakes.pcap" ]; then
  want=$(( 2 * $(sed -n 's/^connections=//p' "$DIR/handshakes.manifest") ))
  if [ "$(sed -n 's/^connections=//p' "$DIR/handshakes2x.manifest" 2>/dev/null)" != "$want" ]; then
    "$DIR/scale" "$DIR/base/hs-base.pcap" "$DIR/handshakes2x.pcap" conns "$want" > "$DIR/handshakes2x.manifest"
  fi
fi
for c in ndpiReader ssldump tshark editcap; do
  command -v $c >/dev/null || { echo "missing $c: apt-get install libndpi-bin ssldump tshark" >&2; exit 1; }
done
cc -O2 -Wall -o "$RES/pcaploop" "$HERE/pcaploop.c" -lpcap || exit 1

# tshark's subset of handshakes.pcap: whole copies of the base capture
if [ "$TSHARK_CONNS" != 0 ] && [ -s "$DIR/handshakes.pcap" ]; then
  bc=$(sed -n 's/^base_connections=//p' "$DIR/handshakes.manifest")
  bp=$(sed -n 's/^base_packets=//p' "$DIR/handshakes.manifest")
  copies=$(( (TSHARK_CONNS + bc - 1) / bc ))
  SUB=$DIR/handshakes-sub.pcap
  if [ ! -s "$SUB" ] || [ "$(cat "$SUB.conns" 2>/dev/null)" != "$((copies * bc))" ]; then
    editcap -F pcap -r "$DIR/handshakes.pcap" "$SUB" "1-$((copies * bp))" && echo "$((copies * bc))" > "$SUB.conns"
  fi
fi

{
  echo "date_utc=$(date -u +%FT%TZ)"
  echo "host=$(uname -srm)"
  echo "cpu=$(lscpu | sed -n 's/^Model name: *//p')"
  echo "nproc=$(nproc)"
  echo "mem=$(free -g | awk '/Mem:/{print $2" GiB"}')"
  echo "tlsdiag=$(cd "$HERE/.." && git describe --always --dirty 2>/dev/null)"
  for p in libndpi-bin ssldump tshark libpcap0.8; do echo "pkg_$p=$(dpkg-query -W -f='${Version}' $p 2>/dev/null)"; done
  for f in $FILES; do
    echo "file_$f=$(stat -c %s "$DIR/$f.pcap") $(tr '\n' ' ' < "$DIR/$f.manifest")"
  done
  [ -n "${SUB:-}" ] && echo "file_handshakes-sub=$(stat -c %s "$SUB") connections=$(cat "$SUB.conns")"
} > "$RES/env.txt"

TSV=$RES/results.tsv
printf 'case\tfile\trun\twall_s\tuser_s\tsys_s\tmaxrss_kb\texit\tload1\tthread_cpu_s\n' > "$TSV"

# name|file|command ($F is the file)
cases=()
for f in $FILES; do
  F=$DIR/$f.pcap
  cases+=("$f.pcaploop|$F|$RES/pcaploop \"\$F\"")
  # without -j: the usable CPUs (at most 4) on a regular file
  cases+=("$f.tlsdiag_json|$F|$TD read --json \"\$F\"")
  cases+=("$f.tlsdiag_summary|$F|$TD read -q \"\$F\"")
  cases+=("$f.tlsdiag_json_j1|$F|$TD read --json -j 1 \"\$F\"")
  cases+=("$f.tlsdiag_summary_j1|$F|$TD read -q -j 1 \"\$F\"")
  cases+=("$f.tlsdiag_json_j2|$F|$TD read --json -j 2 \"\$F\"")
  cases+=("$f.tlsdiag_summary_j2|$F|$TD read -q -j 2 \"\$F\"")
  cases+=("$f.ndpiReader|$F|ndpiReader -i \"\$F\"")
  cases+=("$f.ssldump|$F|ssldump -n -r \"\$F\"")
  if [ "$f" = handshakes ] && [ -n "${SUB:-}" ]; then
    cases+=("handshakes-sub.pcaploop|$SUB|$RES/pcaploop \"\$F\"")
    cases+=("handshakes-sub.tlsdiag_json|$SUB|$TD read --json \"\$F\"")
    cases+=("handshakes-sub.tshark|$SUB|tshark -r \"\$F\" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name")
  else
    cases+=("$f.tshark|$F|tshark -r \"\$F\" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name")
  fi
done

if [ "$DOUBLE" = 1 ] && [ -s "$DIR/handshakes2x.pcap" ]; then
  F=$DIR/handshakes2x.pcap
  cases+=("handshakes2x.pcaploop|$F|$RES/pcaploop \"\$F\"")
  cases+=("handshakes2x.tlsdiag_json|$F|$TD read --json \"\$F\"")
  cases+=("handshakes2x.tlsdiag_summary|$F|$TD read -q \"\$F\"")
  echo "file_handshakes2x=$(stat -c %s "$F") $(tr '\n' ' ' < "$DIR/handshakes2x.manifest")" >> "$RES/env.txt"
fi

for r in $(seq "$RUNS"); do
  for c in "${cases[@]}"; do
    name=${c%%|*}; rest=${c#*|}; file=${rest%%|*}; cmd=${rest#*|}
    [[ $name =~ $CASES ]] || continue
    [[ $name =~ $SKIP ]] && continue
    [ "$r" -gt 1 ] && [[ $name =~ $ONCE ]] && continue
    cat "$file" > /dev/null
    load=$(cut -d' ' -f1 /proc/loadavg)
    F=$file TLSDIAG_THREAD_TIMES=1 /usr/bin/time -f '%e\t%U\t%S\t%M\t%x' -o "$RES/$name.$r.time" \
      bash -c "F='$file'; $cmd > /dev/null 2> '$RES/$name.$r.stderr'"
    # -j N: the CPU time of the busiest thread (tlsdiag prints it when
    # TLSDIAG_THREAD_TIMES is set)
    thr=$(sed -n 's/^tlsdiag: thread CPU s: //p' "$RES/$name.$r.stderr" | tr -d 'a-z ' | tr ',' ' ')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(basename "$file")" "$r" "$(tail -1 "$RES/$name.$r.time")" "$load" "${thr:--}" >> "$TSV"
    tail -1 "$TSV" >&2
  done
done
python3 "$HERE/summarize.py" "$RES" > "$RES/tables.md"
cat "$RES/tables.md"
echo "results: $RES" >&2
