#!/bin/sh
# demo.sh TLSDIAG: the field guide's six failure scenarios and the three
# kinds of successful handshake, read from the committed lab captures.
set -eu
T=${1:-build/tlsdiag}
D=tests/data/lab
echo "tlsdiag demo: the field guide's cases, from captures made with real servers in tests/lab"
echo
for pair in \
    "fail_ssl3_hello:protocol version not supported (SSL 3.0 hello)" \
    "fail_no_shared_cipher:no shared cipher (only DHE-RSA-AES128-SHA256 offered)" \
    "warn_expired_accepted:certificate warning on a handshake that worked (curl -k, expired)" \
    "fail_sni_reset:a security device resets by SNI" \
    "fail_client_cert_weak_key_tls12:mutual TLS, client certificate rejected" \
    "fail_proxy_no_sni:nginx stream proxy needs SNI" \
    "ok_tls12_full:one-way handshake" \
    "ok_mutual_tls12:mutual handshake" \
    "ok_tls12_resumed_id:resumed handshake (second connection)"; do
    f=${pair%%:*}
    echo "=== ${pair#*:}  [$D/$f.pcap]"
    "$T" read --no-summary "$D/$f.pcap"
done
echo "=== all of them together"
"$T" read -q "$D"/*.pcap "$D"/*.pcapng "$D"/*.pcap.gz
