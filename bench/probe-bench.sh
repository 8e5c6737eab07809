#!/bin/bash
# bench/probe-bench.sh: wall time and TCP connections of a full probe of one
# lab server (nginx, TLS 1.2 + 1.3, three ECDHE suites for 1.2) by tlsdiag
# probe, sslscan, nmap --script ssl-enum-ciphers and testssl.sh, on the lab's
# veths and with 50 ms added round-trip time (bench/delayproxy.py on the
# router, 25 ms each way: this kernel has no tc netem).  Connections are
# counted as SYNs the router sees for the port.
# Root only.  Writes the table to stdout (bench/RESULTS.md keeps a copy).
#   bench/probe-bench.sh [path/to/tlsdiag]     SKIP_TESTSSL=1 to leave testssl out
set -u
[ "$(id -u)" = 0 ] || { echo "probe-bench.sh: needs root" >&2; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(cd "$HERE/.." && pwd)/${1:-build/tlsdiag}
: "${LAB_NS:=tdb}"
export LAB_NS
. "$HERE/../tests/lab/lib.sh"
. "$HERE/../tests/lab/scenarios.sh"
cleanup() { nginx_stop; lab_down; }
trap cleanup EXIT
lab_up
pki_make
P=$LAB_TMP/pki
LOGD=$LAB_TMP/logs
mkdir -p "$LOGD"
nginx_start
S=$LAB_S4
PORT=8443
nsr iptables -I FORWARD 1 -i r1 -p tcp --dport $PORT --syn -j ACCEPT
nsr iptables -I INPUT 1 -i r1 -p tcp --dport $PORT --syn -j ACCEPT
bg_run "$LOGD/proxy.log" ip netns exec $LAB_R python3 "$HERE/delayproxy.py" $LAB_R4C $PORT $S $PORT 25
wait_listen $LAB_R $PORT

syns() { nsr iptables -nvxL "$CHAIN" | awk 'NR==3 {print $1}'; }
run() { # run NAME cmd...
    local name=$1; shift
    nsr iptables -Z "$CHAIN"
    local t0 t1
    t0=$(date +%s%N)
    ip netns exec $LAB_C "$@" >"$LAB_TMP/$name.out" 2>&1
    t1=$(date +%s%N)
    printf '| %s | %s | %.2f | %s |\n' "$name" "$RTT" "$(echo "($t1 - $t0) / 1000000000" | bc -l)" "$(syns)"
}

echo "| tool | added RTT | wall s | connections |"
echo "|---|---|---|---|"
for RTT in 0 50ms; do
    CHAIN=FORWARD
    if [ "$RTT" = 50ms ]; then
        S=$LAB_R4C   # through the delay proxy
        CHAIN=INPUT
    fi
    run "tlsdiag probe" "$T" probe --json --sni $LAB_NAME "$S:$PORT"
    run "tlsdiag probe --no-ciphers" "$T" probe --json --no-ciphers --sni $LAB_NAME "$S:$PORT"
    run "sslscan" sslscan --no-colour --sni-name=$LAB_NAME "$S:$PORT"
    run "nmap ssl-enum-ciphers" nmap -Pn -n -p $PORT --script ssl-enum-ciphers "$S"
    if [ -z "${SKIP_TESTSSL:-}" ] && command -v testssl >/dev/null; then
        run "testssl.sh" timeout 900 testssl --quiet --color 0 --warnings off --nodns none --ip one "$S:$PORT"
    fi
done
