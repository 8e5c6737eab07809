#!/bin/bash
# Regenerate the lab capture fixtures in tests/data/lab/ (root only).
#   tests/lab/make-fixtures.sh            all scenarios
#   tests/lab/make-fixtures.sh NAME...    only these
# Env: LAB_KEEP_TMP=1 keeps the temp dir (certs, client/server logs).
set -u
if [ "$(id -u)" != 0 ]; then
    echo "make-fixtures.sh: needs root (network namespaces, tcpdump); skipping" >&2
    exit 77
fi
for t in ip tcpdump dumpcap editcap openssl curl gnutls-serv gnutls-cli nginx iptables python3 gzip; do
    command -v "$t" >/dev/null || { echo "make-fixtures.sh: missing $t" >&2; exit 77; }
done
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$(cd "$HERE/.." && pwd)/data/lab}
mkdir -p "$OUT"
. "$HERE/lib.sh"
. "$HERE/scenarios.sh"

cleanup() {
    nginx_stop
    lab_down
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_up
pki_make
[ -n "${LAB_KEEP_TMP:-}" ] && log "temp dir: $LAB_TMP"

if [ $# -gt 0 ]; then list=("$@"); else list=("${SCENARIOS[@]}"); fi
start=$SECONDS
for s in "${list[@]}"; do
    run_sc "$s"
done
log "done: ${#list[@]} scenarios in $((SECONDS - start)) s, fixtures in $OUT"
