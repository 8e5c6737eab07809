#!/bin/bash
# bench/probe/run.sh [TLSDIAG] [RUNS]: a full probe of one lab server by tlsdiag,
# sslscan, nmap ssl-enum-ciphers and testssl.sh, with and without an added 50 ms
# RTT, measuring wall time and TCP connections
# (SYNs counted by tcpdump on the client's interface).  Writes
# bench/PROBE-RESULTS.md.  Root only; all traffic stays in the lab namespaces.
#   LAB_NS (default tdbench)  namespace prefix
#   TESTSSL=0                 skip testssl.sh (it takes minutes with the RTT)
set -u
if [ "$(id -u)" != 0 ]; then echo "bench/probe/run.sh: needs root" >&2; exit 77; fi
for t in ip tcpdump nginx sslscan nmap testssl python3; do
    command -v "$t" >/dev/null || { echo "bench/probe/run.sh: missing $t" >&2; exit 77; }
done
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TD=$(cd "$(dirname "${1:-$ROOT/build/tlsdiag}")" && pwd)/$(basename "${1:-build/tlsdiag}")
RUNS=${2:-3}
: "${LAB_NS:=tdbench}" "${TESTSSL:=1}"
export LAB_NS
. "$ROOT/tests/lab/lib.sh"
. "$ROOT/tests/lab/probe-nginx.sh"
trap pnginx_lab_cleanup EXIT
trap 'exit 130' INT TERM

lab_up
pki_make
P=$LAB_TMP/pki
OUTD=$LAB_TMP/bench
mkdir -p "$OUTD"
# The target: nginx with a common "intermediate" policy (TLS 1.2 and 1.3,
# ECDHE and DHE AEAD suites), full chain.
openssl dhparam -dsaparam -out "$P/dh.pem" 2048 2>/dev/null
PNGINX_ERROR_LOG=crit PNGINX_CONNS=1024 pnginx_start 443 "$OUTD/nginx.log" "
        ssl_dhparam $P/dh.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384;
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:s:1m;" || exit 1

RES=$OUTD/results.tsv
: >"$RES"

# one TOOL RTT RUN CMD...: time CMD in the client namespace, count its SYNs
one() {
    local tool=$1 rtt=$2 run=$3; shift 3
    local pc=$OUTD/$tool.$rtt.$run.pcap t0 t1 syns
    ip netns exec "$LAB_C" tcpdump -n -i c0 --immediate-mode -w "$pc" -U "$SYNF" >/dev/null 2>"$pc.err" &
    local tp=$!
    for _ in $(seq 50); do grep -q listening "$pc.err" 2>/dev/null && break; sleep 0.1; done
    sleep 0.3
    t0=$EPOCHREALTIME
    ip netns exec "$LAB_C" "$@" >"$OUTD/$tool.$rtt.$run.out" 2>&1 </dev/null
    t1=$EPOCHREALTIME
    sleep 0.3
    kill -INT "$tp"; wait "$tp" 2>/dev/null
    syns=$(tcpdump -n -r "$pc" 2>/dev/null | wc -l)
    awk -v t="$tool" -v r="$rtt" -v n="$run" -v a="$t0" -v b="$t1" -v s="$syns" \
        'BEGIN { printf "%s\t%s\t%s\t%.2f\t%d\n", t, r, n, b - a, s }' | tee -a "$RES"
}

# The 50 ms RTT: tc netem when the kernel has it (on both router interfaces),
# else bench/probe/delayproxy.py in the router namespace (this machine's kernel
# has no sch_netem): each chunk waits RTT/2 per direction, the first client bytes
# one RTT more for the TCP handshake the relay's kernel completed at once.
DELAY_KIND=
delay_on() {
    if nsr tc qdisc add dev r1 root netem delay 25ms limit 10000 2>/dev/null &&
        nsr tc qdisc add dev r2 root netem delay 25ms limit 10000 2>/dev/null; then
        DELAY_KIND=netem TGT=$LAB_S4 TPORT=443
        return 0
    fi
    nsr tc qdisc del dev r1 root 2>/dev/null
    bg_run "$OUTD/delayproxy.log" ip netns exec "$LAB_R" python3 "$HERE/delayproxy.py" \
        "$LAB_R4C" 8443 "$LAB_S4" 443 50 3600
    wait_listen "$LAB_R" 8443 || exit 1
    DELAY_KIND=proxy TGT=$LAB_R4C TPORT=8443
}

for rtt in 0 50; do
    TGT=$LAB_S4 TPORT=443
    [ "$rtt" = 50 ] && delay_on
    SYNF="tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst port $TPORT"
    for run in $(seq "$RUNS"); do
        one tlsdiag "$rtt" "$run" "$TD" probe --json --sni server.lab.test "$TGT:$TPORT"
        one tlsdiag-no-clients "$rtt" "$run" "$TD" probe --json --no-clients --sni server.lab.test "$TGT:$TPORT"
        one sslscan "$rtt" "$run" sslscan --no-colour --sni-name=server.lab.test "$TGT:$TPORT"
        one nmap "$rtt" "$run" nmap -Pn -n -p "$TPORT" --script ssl-enum-ciphers "$TGT"
    done
    if [ "$TESTSSL" = 1 ]; then
        one testssl.sh "$rtt" 1 testssl --quiet --color 0 --warnings batch --nodns none "https://$TGT:$TPORT"
    fi
done
[ "$DELAY_KIND" = netem ] && { nsr tc qdisc del dev r1 root; nsr tc qdisc del dev r2 root; }
mkdir -p "${KEEP:-/tmp/td-probe-bench}" && cp "$OUTD"/*.out "$RES" "${KEEP:-/tmp/td-probe-bench}/" 2>/dev/null

python3 - "$RES" "$ROOT/bench/PROBE-RESULTS.md" "$RUNS" "$TD" "$DELAY_KIND" <<'PY'
import collections, statistics, subprocess, sys
res, out, runs, td, dk = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = collections.defaultdict(list)
for line in open(res):
    tool, rtt, run, secs, syns = line.split("\t")
    rows[(tool, int(rtt))].append((float(secs), int(syns)))
def ver(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
    except Exception:
        return "?"
tools = ["tlsdiag", "tlsdiag-no-clients", "sslscan", "nmap", "testssl.sh"]
L = ["# Probe benchmark: tlsdiag probe vs sslscan, nmap ssl-enum-ciphers, testssl.sh", "",
     "Generated by `bench/probe/run.sh` (root). One nginx 1.22 server in the lab's server",
     "namespace (TLS 1.2 and 1.3, 8 ECDHE/DHE AEAD suites, full chain), probed from the client",
     "namespace through the router namespace. The 50 ms case:",
     ("`tc netem delay 25ms` on both router interfaces." if dk == "netem" else
      "this kernel has no sch_netem, so `bench/probe/delayproxy.py` in the router namespace\n"
      "relays to the server adding 25 ms per direction to every chunk (and one RTT before the\n"
      "first client bytes, for the TCP handshake the relay's kernel completed at once)."),
     "Wall time of the whole command; connections = SYNs to the server port seen by",
     "tcpdump on the client interface. Median of %d runs (min-max), testssl.sh one run." % runs,
     "2-core shared machine: expect noise.", "",
     "| tool | RTT | wall time (s) | connections |", "|---|---|---|---|"]
for rtt in (0, 50):
    for t in tools:
        v = rows.get((t, rtt))
        if not v:
            continue
        secs = [x[0] for x in v]
        syn = [x[1] for x in v]
        rng = " (%.2f-%.2f)" % (min(secs), max(secs)) if len(v) > 1 else ""
        srng = " (%d-%d)" % (min(syn), max(syn)) if len(v) > 1 and min(syn) != max(syn) else ""
        L.append("| %s | %d ms | %.2f%s | %d%s |" % (t, rtt, statistics.median(secs), rng,
                                                     int(statistics.median(syn)), srng))
L += ["", "What each run does:", "",
      "- `tlsdiag probe --json`: versions, suites by elimination per version, TLS 1.3 groups, SNI",
      "  variants, ALPN, client certificate, chain, resumption, and the 32-client simulation.",
      "- `tlsdiag probe --json --no-clients`: the same without the client simulation.",
      "- `sslscan`: its default scan (protocols, suites, groups, signature algorithms, certificate,",
      "  renegotiation, compression, Heartbleed).",
      "- `nmap --script ssl-enum-ciphers`: versions and suites with its grading.",
      "- `testssl.sh` default run (protocols, suites per category, server defaults, headers,",
      "  vulnerabilities, client simulation) with `--nodns none`: the lab has no resolver, and",
      "  without it testssl.sh waits on DNS timeouts (CAA, reverse lookups).", "",
      "Target (issue 4): faster than nmap with fewer connections than sslscan.", "",
      "tlsdiag's probes run 8 at a time (`-j`), so added RTT costs it a few round trips per",
      "wave, where sslscan and testssl.sh pay it per connection, one after the other.",
      "testssl.sh is CPU-bound here (it forks openssl for most checks): on this shared 2-core",
      "machine its time varies most with the other jobs running.", "",
      "Versions: " + "; ".join([ver(td + " --version 2>&1 || true"), "sslscan " + ver("sslscan --version | sed 's/\\x1b\\[[0-9;]*m//g' | tr -s ' \\t' ' ' | head -1"),
                                 ver("nmap --version"), ver("dpkg-query -W -f '${Package} ${Version}' testssl.sh")]), ""]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
