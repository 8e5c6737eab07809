#!/usr/bin/env bash
# bench/gen.sh [OUTDIR]: make the two benchmark captures from real TLS traffic.
#
#   handshakes.pcap  many short TLS connections (TLS 1.2 and 1.3, with and without SNI,
#                    resumed, failing with alerts) between nginx / openssl s_server and
#                    curl / openssl s_client, captured with tcpdump on the loopback of a
#                    private network namespace (${LAB_NS}-bench), then scaled by
#                    bench/scale (our C tool): every copy of every connection gets its own
#                    client address (10.64.0.0 + n), checksums fixed, time shifted, so each
#                    connection stays a distinct flow.
#   bulk.pcap        a few large HTTPS downloads over a 1500-byte MTU loopback with
#                    offloads off (Ethernet-sized frames), scaled the same way.
#
# One knob, SIZE (default 1): handshakes.pcap holds 100000*SIZE connections and
# bulk.pcap SIZE copies of the base downloads (~6 x BULK_MB MB each); BULK_COPIES
# sets the bulk copies apart (the issue's full size: SIZE=20 BULK_COPIES=3, 2 M
# connections in ~5 GB and ~1.5 GB of bulk).  The base
# captures are made once and cached in OUTDIR/base; only the scaling reruns.
# Other knobs: BULK_MB (default 64), HS_ROUNDS (default 3), LAB_NS (default tdb).
# Traffic never leaves the namespace's loopback.  Run as root.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/out}
SIZE=${SIZE:-1}
BULK_COPIES=${BULK_COPIES:-$SIZE}
BULK_MB=${BULK_MB:-64}
HS_ROUNDS=${HS_ROUNDS:-3}
: "${LAB_NS:=tdb}"
NS=${LAB_NS}-bench
mkdir -p "$OUT/base"
OUT=$(cd "$OUT" && pwd)
W=$OUT/base
log() { printf '[bench/gen %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (network namespace, tcpdump)"
for c in tcpdump nginx openssl curl ip cc ethtool; do command -v $c >/dev/null || die "missing $c"; done

# the scaler (our own C, no dependencies)
cc -O2 -Wall -Wextra -o "$OUT/scale" "$HERE/scale.c" || die "cannot build scale.c"

P_MIX=8443 P_T12=8444 P_T13=8445 P_CCA=8446 P_BULK=8447 P_S12=8448
NSX=(ip netns exec "$NS")
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
  wait 2>/dev/null
  ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

pki() {
  local C=$W/certs
  [ -s "$C/ca.crt" ] && return 0
  mkdir -p "$C"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=tlsdiag bench CA" -keyout "$C/ca.key" -out "$C/ca.crt" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=a.bench.test" \
    -keyout "$C/ec.key" -out "$C/ec.csr" 2>/dev/null
  printf 'subjectAltName=DNS:a.bench.test,DNS:b.bench.test,DNS:ok.bench.test,IP:127.0.0.1\n' > "$C/ext.cnf"
  openssl x509 -req -in "$C/ec.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial -days 3650 \
    -extfile "$C/ext.cnf" -out "$C/ec.crt" 2>/dev/null
  openssl req -new -newkey rsa:2048 -nodes -subj "/CN=rsa.bench.test" -keyout "$C/rsa.key" \
    -out "$C/rsa.csr" 2>/dev/null
  printf 'subjectAltName=DNS:rsa.bench.test,IP:127.0.0.1\n' > "$C/ext2.cnf"
  openssl x509 -req -in "$C/rsa.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial -days 3650 \
    -extfile "$C/ext2.cnf" -out "$C/rsa.crt" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=client" \
    -keyout "$C/cli.key" -out "$C/cli.csr" 2>/dev/null
  openssl x509 -req -in "$C/cli.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial -days 3650 \
    -out "$C/cli.crt" 2>/dev/null
}

netns_up() { # MTU
  ip netns del "$NS" 2>/dev/null || true
  ip netns add "$NS"
  "${NSX[@]}" ip link set lo mtu "$1" up
  if [ "$1" -le 1500 ]; then
    "${NSX[@]}" ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || die "cannot turn offloads off on lo"
  fi
}

servers_up() {
  local C=$W/certs
  mkdir -p "$W/tmp" "$W/www"
  cat > "$W/nginx.conf" <<NGX
user root root;
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $W/tmp/body; proxy_temp_path $W/tmp/proxy;
  fastcgi_temp_path $W/tmp/fcgi; uwsgi_temp_path $W/tmp/uwsgi; scgi_temp_path $W/tmp/scgi;
  default_type application/octet-stream;
  keepalive_timeout 0;
  ssl_session_cache shared:bench:4m;
  ssl_session_tickets on;
  server { listen 127.0.0.1:$P_MIX ssl http2 default_server; server_name a.bench.test b.bench.test;
    ssl_certificate $C/ec.crt; ssl_certificate_key $C/ec.key; ssl_protocols TLSv1.2 TLSv1.3;
    location / { return 204; } }
  server { listen 127.0.0.1:$P_T12 ssl; ssl_certificate $C/rsa.crt; ssl_certificate_key $C/rsa.key;
    ssl_protocols TLSv1.2;
    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:AES128-GCM-SHA256;
    location / { return 204; } }
  server { listen 127.0.0.1:$P_T13 ssl default_server; ssl_reject_handshake on; ssl_protocols TLSv1.3; }
  server { listen 127.0.0.1:$P_T13 ssl; server_name ok.bench.test; ssl_protocols TLSv1.3;
    ssl_certificate $C/ec.crt; ssl_certificate_key $C/ec.key; location / { return 204; } }
  server { listen 127.0.0.1:$P_BULK ssl; keepalive_timeout 60; root $W/www;
    ssl_certificate $C/ec.crt; ssl_certificate_key $C/ec.key; ssl_protocols TLSv1.2 TLSv1.3; }
}
NGX
  "${NSX[@]}" nginx -q -c "$W/nginx.conf" -p "$W"
  "${NSX[@]}" openssl s_server -quiet -accept 127.0.0.1:$P_CCA -cert "$C/ec.crt" -key "$C/ec.key" \
    -CAfile "$C/ca.crt" -Verify 1 -www </dev/null >/dev/null 2>&1 &
  PIDS+=($!)
  "${NSX[@]}" openssl s_server -quiet -accept 127.0.0.1:$P_S12 -cert "$C/rsa.crt" -key "$C/rsa.key" \
    -tls1_2 -no_ticket -www </dev/null >/dev/null 2>&1 &
  PIDS+=($!)
  local p i
  for p in $P_MIX $P_T12 $P_T13 $P_CCA $P_BULK $P_S12; do
    for i in $(seq 50); do "${NSX[@]}" ss -Hltn "sport = :$p" | grep -q . && break; sleep 0.1; done
  done
}
servers_down() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  PIDS=()
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null || true
  sleep 0.5
}

cap_start() { # FILE FILTER
  "${NSX[@]}" tcpdump -i lo -n -s 0 -B 65536 -w "$1" "$2" >"$1.log" 2>&1 &
  CAP=$!
  for i in $(seq 100); do grep -q 'listening on' "$1.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.3
}
cap_stop() {
  sleep 1
  kill -INT "$CAP"; wait "$CAP" || true
  grep -q '^0 packets dropped by kernel' "$1.log" || die "tcpdump dropped packets ($1.log)"
}

CURL=(curl -sS -o /dev/null --connect-timeout 5 --max-time 20)
RES=(--resolve a.bench.test:$P_MIX:127.0.0.1 --resolve b.bench.test:$P_MIX:127.0.0.1
     --resolve ok.bench.test:$P_T13:127.0.0.1 --resolve nope.bench.test:$P_T13:127.0.0.1
     --resolve rsa.bench.test:$P_T12:127.0.0.1)
sclient() { (sleep 0.05) | timeout 10 "${NSX[@]}" openssl s_client "$@" >/dev/null 2>&1 || true; }
cl() { "${NSX[@]}" "${CURL[@]}" "$@" 2>/dev/null || true; }

round() {
  local r=$1 S=$W/sess C=$W/certs i
  mkdir -p "$S"
  # successful, SNI, resumed (curl reuses its session for URLs 2..N)
  cl -k --http1.1 --tlsv1.3 "${RES[@]}" "https://a.bench.test:$P_MIX/r$r/[1-60]"
  cl -k --http1.1 --tlsv1.2 --tls-max 1.2 "${RES[@]}" "https://b.bench.test:$P_MIX/r$r/[1-60]"
  cl -k --http2 --tlsv1.3 "${RES[@]}" "https://b.bench.test:$P_MIX/h2/[1-20]"
  cl -k --http1.1 "${RES[@]}" "https://rsa.bench.test:$P_T12/r$r/[1-30]"
  cl -k --http1.1 "${RES[@]}" "https://ok.bench.test:$P_T13/r$r/[1-30]"
  # verified, no SNI (IP literal)
  cl --cacert "$C/ca.crt" --http1.1 --tlsv1.2 --tls-max 1.2 "https://127.0.0.1:$P_MIX/ip/[1-30]"
  cl --cacert "$C/ca.crt" --http1.1 --tlsv1.3 "https://127.0.0.1:$P_MIX/ip/[1-30]"
  for i in 1 2 3 4 5; do
    sclient -connect 127.0.0.1:$P_MIX -servername a.bench.test -tls1_3 -sess_out "$S/t13"
    sclient -connect 127.0.0.1:$P_MIX -servername a.bench.test -tls1_3 -sess_in "$S/t13"
    sclient -connect 127.0.0.1:$P_MIX -noservername -tls1_2 -sess_out "$S/t12"
    sclient -connect 127.0.0.1:$P_MIX -noservername -tls1_2 -sess_in "$S/t12"
    sclient -connect 127.0.0.1:$P_S12 -noservername -sess_out "$S/s12"
    sclient -connect 127.0.0.1:$P_S12 -noservername -sess_in "$S/s12"
    sclient -connect 127.0.0.1:$P_T12 -servername rsa.bench.test -cipher AES128-GCM-SHA256
    # failures with alerts
    cl --http1.1 --tlsv1.2 --tls-max 1.2 "${RES[@]}" "https://a.bench.test:$P_MIX/"   # unknown_ca
    cl --http1.1 --tlsv1.3 "${RES[@]}" "https://a.bench.test:$P_MIX/"
    cl -k --tlsv1.2 --tls-max 1.2 "${RES[@]}" "https://ok.bench.test:$P_T13/"          # protocol_version
    cl -k --tlsv1.3 "${RES[@]}" "https://rsa.bench.test:$P_T12/"
    cl -k "${RES[@]}" "https://nope.bench.test:$P_T13/"                                # unrecognized_name
    sclient -connect 127.0.0.1:$P_T12 -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305   # no shared cipher
    sclient -connect 127.0.0.1:$P_CCA -tls1_3                                         # certificate_required
    sclient -connect 127.0.0.1:$P_CCA -tls1_2
    sclient -connect 127.0.0.1:$P_CCA -cert "$C/cli.crt" -key "$C/cli.key"
  done
}

pki
if [ ! -s "$W/hs-base.pcap" ]; then
  log "capturing base handshakes ($HS_ROUNDS rounds) in netns $NS"
  netns_up 65536
  servers_up
  cap_start "$W/hs-base.tmp" "tcp and (port $P_MIX or port $P_T12 or port $P_T13 or port $P_CCA or port $P_S12)"
  for r in $(seq "$HS_ROUNDS"); do round "$r"; done
  cap_stop "$W/hs-base.tmp"
  servers_down
  mv "$W/hs-base.tmp" "$W/hs-base.pcap"
fi
if [ ! -s "$W/bulk-base.pcap" ] || [ "$(cat "$W/bulk-base.mb" 2>/dev/null)" != "$BULK_MB" ]; then
  log "capturing base bulk downloads (${BULK_MB} MB files, MTU 1500)"
  netns_up 1500
  mkdir -p "$W/www"
  { openssl enc -aes-128-ctr -pass pass:bench -nosalt -pbkdf2 -in /dev/zero 2>/dev/null || true; } \
    | head -c $((BULK_MB * 1048576)) > "$W/www/big.bin"
  servers_up
  cap_start "$W/bulk-base.tmp" "tcp port $P_BULK"
  B="https://a.bench.test:$P_BULK/big.bin"
  BR=(--resolve a.bench.test:$P_BULK:127.0.0.1 --cacert "$W/certs/ca.crt" -sS -o /dev/null --limit-rate 60M)
  "${NSX[@]}" curl "${BR[@]}" --tlsv1.3 "$B"
  "${NSX[@]}" curl "${BR[@]}" --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 "$B"
  "${NSX[@]}" curl "${BR[@]}" --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305 "$B"
  "${NSX[@]}" curl "${BR[@]}" --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 "$B"
  "${NSX[@]}" curl "${BR[@]}" --tlsv1.3 --http1.1 "$B" -o /dev/null "$B"     # 2 files, 1 connection
  "${NSX[@]}" curl "${BR[@]}" -k --tlsv1.3 --http1.1 "https://127.0.0.1:$P_BULK/big.bin"  # no SNI
  cap_stop "$W/bulk-base.tmp"
  servers_down
  mv "$W/bulk-base.tmp" "$W/bulk-base.pcap"
  echo "$BULK_MB" > "$W/bulk-base.mb"
  rm -f "$W/www/big.bin"
fi
ip netns del "$NS" 2>/dev/null || true

log "scaling: SIZE=$SIZE BULK_COPIES=$BULK_COPIES"
"$OUT/scale" "$W/hs-base.pcap" "$OUT/handshakes.pcap" conns $((100000 * SIZE)) > "$OUT/handshakes.manifest"
"$OUT/scale" "$W/bulk-base.pcap" "$OUT/bulk.pcap" copies "$BULK_COPIES" > "$OUT/bulk.manifest"
for f in handshakes bulk; do
  log "$f.pcap: $(stat -c %s "$OUT/$f.pcap") bytes; $(tr '\n' ' ' < "$OUT/$f.manifest")"
done
