# tests/lab/scenarios.sh: one function per scenario (sourced after lib.sh).
# Each sc_<name> starts its server(s), captures, runs the client once, stops.
# Globals: OUT (fixture dir), N (scenario name), P (pki dir), LOGD (client logs).

HERE=${HERE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
REQ='GET / HTTP/1.0\r\nHost: server.lab.test\r\n\r\n'
S4=10.77.2.2
LAB_NGINX_PID=

# ---------------------------------------------------------------- servers
# ossl_srv PORT CERT [s_server args...]   (CERT: server, expired, selfsigned, wrongname)
ossl_srv() {
    local port=$1 cert=$2; shift 2
    local chain=()
    case $cert in selfsigned|rogue-server) ;; *) chain=(-cert_chain "$P/int.crt") ;; esac
    bg_run "$LOGD/$N.server.log" timeout 40 ip netns exec $LAB_S \
        openssl s_server -accept "$port" -www -cert "$P/$cert.crt" -key "$P/$cert.key" \
        "${chain[@]}" "$@"
    wait_listen $LAB_S "$port"
}

# mTLS server: requires a client cert chaining to the lab root.
ossl_srv_mtls() {
    local port=$1; shift
    ossl_srv "$port" server -Verify 1 -verify_return_error -CAfile "$P/ca.crt" "$@"
}

nginx_conf() {
    local T=$LAB_TMP/nginx
    mkdir -p "$T"
    cat > "$T/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
user root;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/error.log info;
events { worker_connections 64; }
http {
    access_log $T/access.log;
    client_body_temp_path $T/body;
    proxy_temp_path $T/proxy;
    fastcgi_temp_path $T/fastcgi;
    uwsgi_temp_path $T/uwsgi;
    scgi_temp_path $T/scgi;
    # plain HTTP
    server { listen $S4:8080; location / { return 200 "plain http\n"; } }
    # TLS 1.2+ only, ECDHE-only TLS 1.2 suites
    server {
        listen $S4:8443 ssl;
        server_name server.lab.test;
        ssl_certificate $P/server.chain.pem;
        ssl_certificate_key $P/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305;
        location / { return 200 "ok\n"; }
    }
    # client certificate required at HTTP level
    server {
        listen $S4:8444 ssl;
        server_name server.lab.test;
        ssl_certificate $P/server.chain.pem;
        ssl_certificate_key $P/server.key;
        ssl_client_certificate $P/ca.crt;
        ssl_verify_client on;
        ssl_verify_depth 3;
        location / { return 200 "hello \$ssl_client_s_dn\n"; }
    }
    # backend of the SNI-routing stream proxy
    server {
        listen 127.0.0.1:8446 ssl;
        server_name server.lab.test;
        ssl_certificate $P/server.chain.pem;
        ssl_certificate_key $P/server.key;
        location / { return 200 "backend\n"; }
    }
}
stream {
    map \$ssl_preread_server_name \$sni_upstream {
        server.lab.test 127.0.0.1:8446;
        default "";
    }
    server {
        listen $S4:8445;
        ssl_preread on;
        proxy_pass \$sni_upstream;
    }
    # SNI-reading proxy whose backend is down (nothing listens on :9)
    server {
        listen $S4:8447;
        ssl_preread on;
        proxy_pass 127.0.0.1:9;
    }
}
EOF
}

nginx_start() {
    [ -n "$LAB_NGINX_PID" ] && return 0
    nginx_conf
    ip netns exec $LAB_S nginx -e "$LAB_TMP/nginx/error.log" -c "$LAB_TMP/nginx/nginx.conf" \
        -g 'daemon off;' </dev/null >"$LOGD/nginx.log" 2>&1 &
    LAB_NGINX_PID=$!
    wait_listen $LAB_S 8443 && wait_listen $LAB_S 8445
}

nginx_stop() {
    if [ -n "$LAB_NGINX_PID" ]; then
        kill "$LAB_NGINX_PID" 2>/dev/null || true
        wait "$LAB_NGINX_PID" 2>/dev/null || true
        LAB_NGINX_PID=
    fi
}

# gnutls_srv PORT [gnutls-serv args...]
gnutls_srv() {
    local port=$1; shift
    bg_run "$LOGD/$N.server.log" timeout 40 ip netns exec $LAB_S \
        gnutls-serv -p "$port" --http --x509certfile "$P/server.chain.pem" \
        --x509keyfile "$P/server.key" "$@"
    wait_listen $LAB_S "$port"
}

# ---------------------------------------------------------------- clients
# ossl_cli PORT [s_client args...] : one connection, sends a GET, closes.
ossl_cli() {
    local port=$1; shift
    { printf "$REQ"; sleep 0.8; } | timeout 8 ip netns exec $LAB_C \
        openssl s_client -connect "$S4:$port" -keylogfile "$OUT/$N.keys" "$@" \
        >>"$LOGD/$N.client.log" 2>&1 || echo "exit=$?" >>"$LOGD/$N.client.log"
}

# curl_cli URL [curl args...]  (server.lab.test and blocked.lab.test resolve to S4)
curl_cli() {
    local url=$1; shift
    local hp=${url#https://}; hp=${hp#http://}; hp=${hp%%/*}
    local host=${hp%%:*} port=${hp##*:}
    SSLKEYLOGFILE="$OUT/$N.keys" timeout 10 ip netns exec $LAB_C \
        curl -sS -o /dev/null -w 'http_code=%{http_code}\n' --max-time 4 \
        --resolve "$host:$port:$S4" "$@" "$url" \
        >>"$LOGD/$N.client.log" 2>&1 || echo "exit=$?" >>"$LOGD/$N.client.log"
}

gnutls_cli() {
    local port=$1; shift
    { printf "$REQ"; sleep 0.8; } | SSLKEYLOGFILE="$OUT/$N.keys" timeout 8 ip netns exec $LAB_C \
        gnutls-cli -p "$port" "$@" $S4 \
        >>"$LOGD/$N.client.log" 2>&1 || echo "exit=$?" >>"$LOGD/$N.client.log"
}

pyc() {
    timeout 10 ip netns exec $LAB_C python3 "$HERE/tlsclient.py" "$@" \
        >>"$LOGD/$N.client.log" 2>&1 || echo "exit=$?" >>"$LOGD/$N.client.log"
}

cap() { cap_start "$OUT/$N.pcap" "$@"; }

CA=()   # set in run_sc once P is known

# ================================================================= 1. successes
sc_ok_tls12_full() {
    ossl_srv 4431 server -tls1_2
    cap
    ossl_cli 4431 -tls1_2 -servername $LAB_NAME "${CA[@]}" -verify_return_error
    cap_stop
}

sc_ok_tls13_full() {
    ossl_srv 4432 server -tls1_3
    cap
    curl_cli https://server.lab.test:4432/ --tlsv1.3 --cacert "$P/ca.crt"
    cap_stop
}

sc_ok_tls12_resumed_id() {
    ossl_srv 4433 server -tls1_2 -no_ticket
    cap
    ossl_cli 4433 -tls1_2 -no_ticket -servername $LAB_NAME "${CA[@]}" -sess_out "$LAB_TMP/$N.sess"
    ossl_cli 4433 -tls1_2 -no_ticket -servername $LAB_NAME "${CA[@]}" -sess_in "$LAB_TMP/$N.sess"
    cap_stop
}

sc_ok_tls12_resumed_ticket() {
    ossl_srv 4434 server -tls1_2
    cap
    ossl_cli 4434 -tls1_2 -servername $LAB_NAME "${CA[@]}" -sess_out "$LAB_TMP/$N.sess"
    ossl_cli 4434 -tls1_2 -servername $LAB_NAME "${CA[@]}" -sess_in "$LAB_TMP/$N.sess"
    cap_stop
}

sc_ok_tls13_resumed_psk() {
    ossl_srv 4435 server -tls1_3
    cap
    ossl_cli 4435 -tls1_3 -servername $LAB_NAME "${CA[@]}" -sess_out "$LAB_TMP/$N.sess"
    ossl_cli 4435 -tls1_3 -servername $LAB_NAME "${CA[@]}" -sess_in "$LAB_TMP/$N.sess"
    cap_stop
}

sc_ok_tls13_hrr() {
    ossl_srv 4436 server -tls1_3 -groups X25519
    cap
    ossl_cli 4436 -tls1_3 -groups P-256:X25519 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}

sc_ok_mutual_tls12() {
    ossl_srv_mtls 4437 -tls1_2
    cap
    ossl_cli 4437 -tls1_2 -servername $LAB_NAME "${CA[@]}" \
        -cert "$P/client.crt" -key "$P/client.key" -cert_chain "$P/int.crt"
    cap_stop
}

sc_ok_mutual_tls13() {
    ossl_srv_mtls 4438 -tls1_3
    cap
    ossl_cli 4438 -tls1_3 -servername $LAB_NAME "${CA[@]}" \
        -cert "$P/client.crt" -key "$P/client.key" -cert_chain "$P/int.crt"
    cap_stop
}

# ================================================================= 2. versions, ciphers
# SSL 3.0 ClientHello from the field guide (handshake bytes, 0x8f long), in an SSL 3.0 record.
SSL3_HELLO='16 03 00 00 8f
01 00 00 8b 03 00 2a a0 d3 c5 10 b0 0a c0 0b ea
fc e7 49 8f d1 66 cd 2a 51 c1 ab f4 ab b7 63 e1
a7 3e e0 d7 14 9b 00 00 64 c0 14 c0 0a 00 39 00
38 00 37 00 36 00 88 00 87 00 86 00 85 c0 0f c0
05 00 35 00 84 c0 13 c0 09 00 33 00 32 00 31 00
30 00 9a 00 99 00 98 00 97 00 45 00 44 00 43 00
42 c0 0e c0 04 00 2f 00 96 00 41 c0 12 c0 08 00
16 00 13 00 10 00 0d c0 0d c0 03 00 0a 00 07 c0
11 c0 07 c0 0c c0 02 00 05 00 04 00 ff 01 00'

sc_fail_ssl3_hello() {
    nginx_start
    cap
    pyc raw $S4 8443 "$SSL3_HELLO"
    cap_stop
}

sc_fail_tls10_hello() {
    nginx_start
    cap
    ossl_cli 8443 -tls1 -cipher DEFAULT@SECLEVEL=0 -servername $LAB_NAME
    cap_stop
}

sc_fail_no_shared_cipher() {
    nginx_start
    cap
    ossl_cli 8443 -tls1_2 -cipher DHE-RSA-AES128-SHA256 -servername $LAB_NAME
    cap_stop
}

# ================================================================= 3. server certificates
sc_warn_untrusted_accepted() {
    ossl_srv 4441 selfsigned
    cap
    curl_cli https://server.lab.test:4441/ -k
    cap_stop
}
sc_fail_untrusted_tls12() {
    ossl_srv 4442 selfsigned
    cap
    curl_cli https://server.lab.test:4442/ --tls-max 1.2 --cacert "$P/ca.crt"
    cap_stop
}
sc_fail_untrusted_tls13() {
    ossl_srv 4443 selfsigned
    cap
    ossl_cli 4443 -tls1_3 -servername $LAB_NAME "${CA[@]}" -verify_return_error
    cap_stop
}
sc_fail_expired_tls12() {
    ossl_srv 4444 expired
    cap
    curl_cli https://server.lab.test:4444/ --tls-max 1.2 --cacert "$P/ca.crt"
    cap_stop
}
sc_warn_expired_accepted() {
    ossl_srv 4445 expired
    cap
    curl_cli https://server.lab.test:4445/ --tls-max 1.2 -k
    cap_stop
}
sc_fail_wrong_name_tls12() {
    ossl_srv 4446 wrongname
    cap
    curl_cli https://server.lab.test:4446/ --tls-max 1.2 --cacert "$P/ca.crt"
    cap_stop
}
sc_fail_wrong_name_tls12_openssl() {
    ossl_srv 4448 wrongname -tls1_2
    cap
    ossl_cli 4448 -tls1_2 -servername $LAB_NAME "${CA[@]}" -verify_hostname $LAB_NAME -verify_return_error
    cap_stop
}
sc_warn_wrong_name_accepted() {
    ossl_srv 4447 wrongname
    cap
    curl_cli https://server.lab.test:4447/ --tls-max 1.2 -k
    cap_stop
}

# ================================================================= 4. middlebox on the router
sc_fail_sni_reset() {
    ossl_srv 4450 server
    mb_sni_reset blocked.lab.test
    cap
    cap_start "$OUT/${N}_serverside.pcap" $LAB_S s0
    curl_cli https://blocked.lab.test:4450/ -k
    cap_stop
}
sc_ok_sni_control() {
    ossl_srv 4450 server
    mb_sni_reset blocked.lab.test
    cap
    curl_cli https://server.lab.test:4450/ -k
    cap_stop
}
sc_fail_sni_drop() {
    ossl_srv 4451 server
    mb_sni_drop blocked.lab.test
    cap
    curl_cli https://blocked.lab.test:4451/ -k --max-time 4
    cap_stop
}

# ================================================================= 5. client certificates
sc_fail_client_cert_missing_tls12() {
    ossl_srv_mtls 4461 -tls1_2
    cap
    ossl_cli 4461 -tls1_2 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_fail_client_cert_missing_tls13() {
    ossl_srv_mtls 4462 -tls1_3
    cap
    ossl_cli 4462 -tls1_3 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_fail_client_cert_unknown_ca_tls12() {
    ossl_srv_mtls 4463 -tls1_2
    cap
    ossl_cli 4463 -tls1_2 -servername $LAB_NAME "${CA[@]}" \
        -cert "$P/rogue-client.crt" -key "$P/rogue-client.key"
    cap_stop
}
sc_fail_client_cert_unknown_ca_tls13() {
    ossl_srv_mtls 4464 -tls1_3
    cap
    ossl_cli 4464 -tls1_3 -servername $LAB_NAME "${CA[@]}" \
        -cert "$P/rogue-client.crt" -key "$P/rogue-client.key"
    cap_stop
}
sc_fail_client_cert_weak_key_tls12() {
    ossl_srv_mtls 4465 -tls1_2
    cap
    # At the default security level s_client refuses to load a 1024-bit key
    # (logged); SECLEVEL=0 on the client only, so the server's judgement is on the wire.
    ossl_cli 4465 -tls1_2 -servername $LAB_NAME "${CA[@]}" \
        -cert "$P/weak-client.crt" -key "$P/weak-client.key" -cert_chain "$P/int.crt" \
        -cipher DEFAULT@SECLEVEL=0
    cap_stop
}
sc_nginx_verify_client_on() {
    nginx_start
    cap
    curl_cli https://server.lab.test:8444/ --tls-max 1.2 --cacert "$P/ca.crt"
    cap_stop
}

# ================================================================= 6. SNI-routing stream proxy
sc_fail_proxy_no_sni() {
    nginx_start
    cap
    ossl_cli 8445 -noservername "${CA[@]}"
    cap_stop
}
sc_ok_proxy_sni() {
    nginx_start
    cap
    ossl_cli 8445 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}

# ================================================================= 7. transport
sc_fail_port_closed() {
    cap
    curl_cli https://server.lab.test:4499/ --cacert "$P/ca.crt"
    cap_stop
}
sc_fail_syn_dropped() {
    ossl_srv 4498 server
    nsr iptables -A FORWARD -i r1 -p tcp --dport 4498 --syn -j DROP
    cap
    curl_cli https://server.lab.test:4498/ --cacert "$P/ca.crt" --max-time 4
    cap_stop
}
sc_fail_tls_to_http() {
    nginx_start
    cap
    ossl_cli 8080 -servername $LAB_NAME
    cap_stop
}
sc_fail_alpn_refused() {
    gnutls_srv 4471 --alpn h2 --alpn-fatal
    cap
    ossl_cli 4471 -servername $LAB_NAME -alpn http/1.1 "${CA[@]}"
    cap_stop
}
sc_fail_alpn_refused_openssl() {
    ossl_srv 4472 server -alpn h2
    cap
    ossl_cli 4472 -servername $LAB_NAME -alpn http/1.1 "${CA[@]}"
    cap_stop
}
sc_fail_pmtu_blackhole() {
    ossl_srv 4473 server
    # The router forwards to the server side with a 1000-byte path MTU and its
    # "fragmentation needed" ICMP errors are dropped: a classic black hole.
    nsr ip route replace 10.77.2.0/24 dev r2 mtu lock 1000
    nsr iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
    cap
    # ~1.8 KB ClientHello: a long ALPN list.
    local a=() i
    for i in 1 2 3 4 5 6 7; do a+=("proto-$i-$(printf '%0200d' 0)"); done
    local alpn; alpn=$(IFS=,; echo "${a[*]}")
    ossl_cli 4473 -servername $LAB_NAME -alpn "$alpn" "${CA[@]}"
    cap_stop
    nsr ip route replace 10.77.2.0/24 dev r2
}
sc_fail_gnutls_version() {
    gnutls_srv 4474 --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3'
    cap
    gnutls_cli 4474 --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2' --x509cafile "$P/ca.crt" \
        --sni-hostname $LAB_NAME --verify-hostname $LAB_NAME
    cap_stop
}

# ================================================================= 8. capture/reader coverage
sc_ch_split_3_segments() {
    ossl_srv 4481 server
    cap
    pyc split $S4 4481 $LAB_NAME "$P/ca.crt" "$OUT/$N.keys"
    cap_stop
}
sc_ooo_retrans() {
    ossl_srv 4482 server
    # Drop the first packet carrying the SNI (the ClientHello's middle
    # segment) once; its retransmission is let through.
    nsr iptables -A FORWARD -i r1 -p tcp -m string --algo bm --string $LAB_NAME \
        -m recent --name once --rcheck -j ACCEPT
    nsr iptables -A FORWARD -i r1 -p tcp -m string --algo bm --string $LAB_NAME \
        -m recent --name once --set -j DROP
    cap
    cap_start "$OUT/${N}_serverside.pcap" $LAB_S s0
    pyc split $S4 4482 $LAB_NAME "$P/ca.crt" "$OUT/$N.keys"
    cap_stop
}
sc_ipv6_tls13() {
    ossl_srv "[::]:4483" server -tls1_3
    cap
    { printf "$REQ"; sleep 0.8; } | timeout 8 ip netns exec $LAB_C \
        openssl s_client -connect "[$LAB_S6]:4483" -tls1_3 -servername $LAB_NAME "${CA[@]}" \
        -keylogfile "$OUT/$N.keys" >>"$LOGD/$N.client.log" 2>&1 || true
    cap_stop
}
sc_vlan_tls12() {
    # No 8021q, no VLAN-filtering bridge, no tc vlan action in the lab kernel:
    # a real TLS 1.2 capture gets an 802.1Q tag (VID 77) inserted afterwards.
    ossl_srv 4484 server -tls1_2
    cap_start "$LAB_TMP/$N.untagged.pcap"
    ossl_cli 4484 -tls1_2 -servername $LAB_NAME "${CA[@]}"
    cap_stop
    python3 "$HERE/pcaptool.py" vlan "$LAB_TMP/$N.untagged.pcap" "$OUT/$N.pcap" 77
}
sc_sll2_tls13() {
    ossl_srv 4485 server -tls1_3
    cap_start "$OUT/$N.pcap" $LAB_C any -y LINUX_SLL2
    ossl_cli 4485 -tls1_3 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_pcapng_tls12() {
    ossl_srv 4486 server -tls1_2
    ip netns exec $LAB_C dumpcap -q -i c0 -s 0 -f "$CAP_FILTER" -w "$OUT/$N.pcapng" \
        </dev/null >"$LOGD/$N.dumpcap.log" 2>&1 &
    CAP_PIDS+=($!)
    sleep 1.5
    ossl_cli 4486 -tls1_2 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_gzip_tls12() {
    ossl_srv 4487 server -tls1_2
    cap_start "$LAB_TMP/$N.pcap"
    ossl_cli 4487 -tls1_2 -servername $LAB_NAME "${CA[@]}"
    cap_stop
    gzip -n -9 -c "$LAB_TMP/$N.pcap" > "$OUT/$N.pcap.gz"
}

# ================================================================= 9. fallback, more causes and warnings
# Version fallback with TLS_FALLBACK_SCSV: a router rule resets hellos that
# offer only TLS 1.3 (supported_versions = {0x0304}, an "intolerant" box);
# the client retries with TLS 1.2 and -fallback_scsv; the server (1.2+1.3)
# answers inappropriate_fallback(86).
sc_fail_fallback_scsv() {
    # nginx (TLS 1.2 + 1.3, OpenSSL) serves connections concurrently: the
    # server side of the reset connection does not block the retry.
    nginx_start
    nsr iptables -A FORWARD -i r1 -p tcp --dport 8443 -m string --algo bm \
        --hex-string '|002b0003020304|' -j REJECT --reject-with tcp-reset
    cap
    ossl_cli 8443 -tls1_3 -servername $LAB_NAME "${CA[@]}"
    ossl_cli 8443 -tls1_2 -fallback_scsv -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
# Fallback without SCSV: a TLS 1.0-only server; the client tries 1.3, 1.2,
# then 1.1 (as old browsers did), each refused.
sc_fail_version_fallback() {
    ossl_srv 4491 server -tls1 -cipher DEFAULT@SECLEVEL=0
    cap
    ossl_cli 4491 -tls1_3 -servername $LAB_NAME
    ossl_cli 4491 -tls1_2 -servername $LAB_NAME
    ossl_cli 4491 -tls1_1 -cipher DEFAULT@SECLEVEL=0 -servername $LAB_NAME
    cap_stop
}
sc_fail_client_cert_weak_key_tls13() {
    ossl_srv_mtls 4492 -tls1_3
    cap
    ossl_cli 4492 -tls1_3 -servername $LAB_NAME "${CA[@]}" \
        -cert "$P/weak-client.crt" -key "$P/weak-client.key" -cert_chain "$P/int.crt" \
        -cipher DEFAULT@SECLEVEL=0
    cap_stop
}
sc_warn_self_signed_tls12() {
    ossl_srv 4493 selfsigned -tls1_2
    cap
    curl_cli https://server.lab.test:4493/ --tls-max 1.2 -k
    cap_stop
}
sc_warn_untrusted_tls12() {
    ossl_srv 4494 rogue-server -tls1_2 -cert_chain "$P/rogueca.crt"
    cap
    curl_cli https://server.lab.test:4494/ --tls-max 1.2 -k
    cap_stop
}
sc_warn_not_yet_valid() {
    ossl_srv 4495 notyet -tls1_2
    cap
    curl_cli https://server.lab.test:4495/ --tls-max 1.2 -k
    cap_stop
}
sc_warn_weak_key() {
    ossl_srv 4496 weak-server -tls1_2 -cipher DEFAULT@SECLEVEL=0
    cap
    ossl_cli 4496 -tls1_2 -servername $LAB_NAME -cipher DEFAULT@SECLEVEL=0
    cap_stop
}
sc_warn_weak_signature() {
    ossl_srv 4497 sha1-server -tls1_2 -cipher DEFAULT@SECLEVEL=0
    cap
    ossl_cli 4497 -tls1_2 -servername $LAB_NAME -cipher DEFAULT@SECLEVEL=0
    cap_stop
}
sc_warn_chain_order() {
    # chain sent as leaf, root, intermediate (not in issuing order)
    cat "$P/ca.crt" "$P/int.crt" > "$LAB_TMP/$N.chain"
    bg_run "$LOGD/$N.server.log" timeout 40 ip netns exec $LAB_S \
        openssl s_server -accept 4500 -www -cert "$P/server.crt" -key "$P/server.key" \
        -cert_chain "$LAB_TMP/$N.chain" -tls1_2
    wait_listen $LAB_S 4500
    cap
    ossl_cli 4500 -tls1_2 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_warn_obsolete_tls10() {
    ossl_srv 4501 server -tls1 -cipher DEFAULT@SECLEVEL=0
    cap
    ossl_cli 4501 -tls1 -cipher DEFAULT@SECLEVEL=0 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_warn_weak_cipher() {
    ossl_srv 4502 server -tls1_2 -cipher NULL-SHA256:@SECLEVEL=0
    cap
    ossl_cli 4502 -tls1_2 -cipher NULL-SHA256:@SECLEVEL=0 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_warn_no_sni() {
    ossl_srv 4503 server -tls1_3
    cap
    ossl_cli 4503 -tls1_3 -noservername "${CA[@]}"
    cap_stop
}
sc_warn_resumption_rejected() {
    # session saved from one server process, offered to a restarted one
    # (new ticket keys, empty session cache): full handshake
    ossl_srv 4504 server -tls1_2
    ossl_cli 4504 -tls1_2 -servername $LAB_NAME "${CA[@]}" -sess_out "$LAB_TMP/$N.sess"
    lab_kill_all
    ossl_srv 4504 server -tls1_2
    cap
    ossl_cli 4504 -tls1_2 -servername $LAB_NAME "${CA[@]}" -sess_in "$LAB_TMP/$N.sess"
    cap_stop
}
sc_fail_no_shared_group() {
    ossl_srv 4505 server -tls1_3 -groups X25519:P-256
    cap
    ossl_cli 4505 -tls1_3 -groups ffdhe2048 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_fail_sni_unrecognized() {
    ossl_srv 4506 server -servername $LAB_NAME -servername_fatal \
        -cert2 "$P/wrongname.crt" -key2 "$P/wrongname.key"
    cap
    ossl_cli 4506 -servername other.lab.test "${CA[@]}"
    cap_stop
}
sc_fail_malformed_hello() {
    ossl_srv 4507 server
    cap
    pyc badhello $S4 4507 $LAB_NAME
    cap_stop
}
sc_fail_server_silent() {
    bg_run "$LOGD/$N.server.log" timeout 20 ip netns exec $LAB_S \
        python3 "$HERE/tlsclient.py" silent 4508 8
    wait_listen $LAB_S 4508
    cap
    curl_cli https://server.lab.test:4508/ -k --max-time 3
    cap_stop
}
sc_fail_client_gave_up() {
    ossl_srv 4509 server -tls1_2
    cap
    pyc stall $S4 4509 $LAB_NAME 1
    cap_stop
}
sc_incomplete_capture_stopped() {
    # the capture is stopped while the client still stalls mid-handshake
    ossl_srv 4513 server -tls1_2
    cap
    pyc stall $S4 4513 $LAB_NAME 4 &
    local cp=$!
    sleep 1
    cap_stop
    wait $cp
}
sc_fail_server_host_reset() {
    # the server host's own firewall resets hellos naming blocked.lab.test
    ossl_srv 4510 server
    nss iptables -A INPUT -p tcp --dport 4510 -m string --algo bm --string blocked.lab.test \
        -j REJECT --reject-with tcp-reset
    cap
    curl_cli https://blocked.lab.test:4510/ -k
    cap_stop
    nss iptables -F
}
sc_fail_hello_dropped() {
    # a device drops every packet over 200 bytes to port 4511: the TCP
    # handshake works, the ClientHello never arrives
    ossl_srv 4511 server
    nsr iptables -A FORWARD -i r1 -p tcp --dport 4511 -m length --length 200:65535 -j DROP
    cap
    curl_cli https://server.lab.test:4511/ -k --max-time 4
    cap_stop
}
sc_fail_gnutls_untrusted() {
    # does gnutls-cli send an alert when it rejects the certificate?
    ossl_srv 4512 selfsigned -tls1_2
    cap
    gnutls_cli 4512 --x509cafile "$P/ca.crt" --sni-hostname $LAB_NAME
    cap_stop
}

# ================================================================= 6. decryption (issue 7)
# One connection per cipher suite, with the client's key log next to the
# capture (openssl -keylogfile, curl and gnutls-cli SSLKEYLOGFILE), so that
# tlsdiag --keylog can be compared with tshark -o tls.keylog_file.
sc_dec_tls13_aes128gcm_openssl() {
    ossl_srv 4501 server -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256
    cap
    ossl_cli 4501 -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_dec_tls13_aes256gcm_gnutls() {
    ossl_srv 4502 server -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384
    cap
    gnutls_cli 4502 --sni-hostname=$LAB_NAME --verify-hostname=$LAB_NAME --x509cafile="$P/ca.crt" \
        --priority "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-256-GCM"
    cap_stop
}
sc_dec_tls13_chacha20_curl() {
    ossl_srv 4503 server -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256
    cap
    curl_cli https://server.lab.test:4503/ --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 --cacert "$P/ca.crt"
    cap_stop
}
sc_dec_tls13_aes128ccm_openssl() {
    ossl_srv 4504 server -tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256
    cap
    ossl_cli 4504 -tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_dec_tls13_aes128ccm8_gnutls() {
    ossl_srv 4505 server -tls1_3 -ciphersuites TLS_AES_128_CCM_8_SHA256
    cap
    gnutls_cli 4505 --sni-hostname=$LAB_NAME --verify-hostname=$LAB_NAME --x509cafile="$P/ca.crt" \
        --priority "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-CCM-8"
    cap_stop
}
# s_client's "K" command: a KeyUpdate asking the server to update too
sc_dec_tls13_keyupdate() {
    ossl_srv 4506 server -tls1_3
    cap
    { sleep 0.3; printf 'K\n'; sleep 0.3; printf "$REQ"; sleep 0.8; } | timeout 8 ip netns exec $LAB_C \
        openssl s_client -connect "$S4:4506" -keylogfile "$OUT/$N.keys" -tls1_3 -servername $LAB_NAME "${CA[@]}" \
        >>"$LOGD/$N.client.log" 2>&1 || echo "exit=$?" >>"$LOGD/$N.client.log"
    cap_stop
}
sc_dec_tls12_aes128gcm_curl() {
    ossl_srv 4507 server -tls1_2
    cap
    curl_cli https://server.lab.test:4507/ --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 --cacert "$P/ca.crt"
    cap_stop
}
sc_dec_tls12_chacha20_gnutls() {
    ossl_srv 4508 server -tls1_2
    cap
    gnutls_cli 4508 --sni-hostname=$LAB_NAME --verify-hostname=$LAB_NAME --x509cafile="$P/ca.crt" \
        --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305"
    cap_stop
}
# CBC with encrypt_then_mac (OpenSSL's default), HMAC-SHA1
sc_dec_tls12_cbc_sha_etm() {
    ossl_srv 4509 server -tls1_2
    cap
    ossl_cli 4509 -tls1_2 -cipher ECDHE-RSA-AES128-SHA -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
# CBC MAC-then-encrypt (GnuTLS %NO_ETM), HMAC-SHA384
sc_dec_tls12_cbc_sha384_gnutls() {
    ossl_srv 4510 server -tls1_2
    cap
    gnutls_cli 4510 --sni-hostname=$LAB_NAME --verify-hostname=$LAB_NAME --x509cafile="$P/ca.crt" \
        --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-CBC:-MAC-ALL:+SHA384:%NO_ETM"
    cap_stop
}
sc_dec_tls12_aes128ccm8_openssl() {
    ossl_srv 4511 server -tls1_2 -cipher 'AES128-CCM8'
    cap
    ossl_cli 4511 -tls1_2 -cipher 'AES128-CCM8' -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
# TLS 1.0: MD5/SHA-1 PRF and CBC with the IV chained from record to record
sc_dec_tls10_cbc_openssl() {
    ossl_srv 4512 server -tls1 -cipher 'ECDHE-RSA-AES256-SHA@SECLEVEL=0'
    cap
    ossl_cli 4512 -tls1 -cipher 'ECDHE-RSA-AES256-SHA@SECLEVEL=0' -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
# TLS 1.3 client certificate missing (certificate_required), key log embedded in the
# pcapng (Decryption Secrets Block): decrypts with no flag
sc_dec_dsb_tls13() {
    ossl_srv_mtls 4513 -tls1_3
    cap
    ossl_cli 4513 -tls1_3 -servername $LAB_NAME "${CA[@]}"
    cap_stop
    editcap --inject-secrets "tls,$OUT/$N.keys" "$OUT/$N.pcap" "$OUT/$N.pcapng" >>"$LOGD/$N.client.log" 2>&1
    rm -f "$OUT/$N.pcap" "$OUT/$N.keys"
}

# TLS 1.3 clients that reject the server's certificate after switching to
# handshake keys: the alert is an encrypted record (gnutls-cli and curl)
sc_fail_expired_tls13() {
    ossl_srv 4514 expired -tls1_3
    cap
    gnutls_cli 4514 --sni-hostname=$LAB_NAME --verify-hostname=$LAB_NAME --x509cafile="$P/ca.crt"
    cap_stop
}
sc_fail_wrong_name_tls13() {
    ossl_srv 4515 wrongname -tls1_3
    cap
    gnutls_cli 4515 --sni-hostname=$LAB_NAME --verify-hostname=$LAB_NAME --x509cafile="$P/ca.crt"
    cap_stop
}
sc_fail_untrusted_tls13_curl() {
    ossl_srv 4516 selfsigned -tls1_3
    cap
    curl_cli https://server.lab.test:4516/ --tlsv1.3 --cacert "$P/ca.crt"
    cap_stop
}

# ================================================================= 10. plaintext phase before TLS
# A small python server plays the plaintext side (no MTA/database/proxy in
# the lab); the clients are the real openssl s_client -starttls and curl -x.
plain_srv() { # plain_srv PORT PROTO MODE
    bg_run "$LOGD/$N.server.log" timeout 30 ip netns exec $LAB_S \
        python3 "$HERE/tlsclient.py" plainsrv "$1" "$2" "$3" "$P/server.chain.pem" "$P/server.key"
    wait_listen $LAB_S "$1"
}
sc_ok_starttls_smtp() {
    plain_srv 2525 smtp accept
    cap
    ossl_cli 2525 -starttls smtp -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_fail_starttls_refused() {
    plain_srv 2526 smtp refuse
    cap
    ossl_cli 2526 -starttls smtp -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_fail_postgres_ssl_refused() {
    plain_srv 5432 postgres refuse
    cap
    ossl_cli 5432 -starttls postgres -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_fail_connect_refused() {
    plain_srv 3128 connect refuse
    cap
    curl_cli https://server.lab.test:4433/ -x http://$S4:3128 --cacert "$P/ca.crt"
    cap_stop
}

# ================================================================= 11. more endings
sc_fail_proxy_backend_down() {
    nginx_start
    cap
    ossl_cli 8447 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}
sc_fail_client_reset() {
    ossl_srv 4514 server -tls1_2
    cap
    pyc stall $S4 4514 $LAB_NAME 1 rst
    cap_stop
}
sc_capture_snaplen() {
    ossl_srv 4515 server -tls1_2
    cap_start "$OUT/$N.pcap" $LAB_C c0 -s 200
    ossl_cli 4515 -tls1_2 -servername $LAB_NAME "${CA[@]}"
    cap_stop
}

# 0-RTT: a first connection gets a ticket, the second sends its GET as early
# data (s_client -early_data) and the server (-early_data) accepts it
sc_dec_tls13_early_data() {
    # s_server refuses -early_data with -www: a plain s_server (it prints what
    # it reads and answers nothing), its stdin held open so it keeps serving
    bg_run "$LOGD/$N.server.log" timeout 40 ip netns exec $LAB_S sh -c \
        "sleep 30 | exec openssl s_server -accept 4517 -cert '$P/server.crt' -key '$P/server.key' \
         -cert_chain '$P/int.crt' -tls1_3 -early_data"
    wait_listen $LAB_S 4517
    printf "$REQ" > "$LAB_TMP/$N.early"
    cap
    ossl_cli 4517 -tls1_3 -servername $LAB_NAME "${CA[@]}" -sess_out "$LAB_TMP/$N.sess"
    ossl_cli 4517 -tls1_3 -servername $LAB_NAME "${CA[@]}" -sess_in "$LAB_TMP/$N.sess" -early_data "$LAB_TMP/$N.early"
    # the same ticket again: s_server's anti-replay rejects this early data
    ossl_cli 4517 -tls1_3 -servername $LAB_NAME "${CA[@]}" -sess_in "$LAB_TMP/$N.sess" -early_data "$LAB_TMP/$N.early"
    cap_stop
}

SCENARIOS=(
    ok_tls12_full ok_tls13_full ok_tls12_resumed_id ok_tls12_resumed_ticket
    ok_tls13_resumed_psk ok_tls13_hrr ok_mutual_tls12 ok_mutual_tls13
    fail_ssl3_hello fail_tls10_hello fail_no_shared_cipher
    warn_untrusted_accepted fail_untrusted_tls12 fail_untrusted_tls13
    fail_expired_tls12 warn_expired_accepted fail_wrong_name_tls12 fail_wrong_name_tls12_openssl
    warn_wrong_name_accepted
    fail_sni_reset ok_sni_control fail_sni_drop
    fail_client_cert_missing_tls12 fail_client_cert_missing_tls13
    fail_client_cert_unknown_ca_tls12 fail_client_cert_unknown_ca_tls13
    fail_client_cert_weak_key_tls12 nginx_verify_client_on
    fail_proxy_no_sni ok_proxy_sni
    fail_port_closed fail_syn_dropped fail_tls_to_http fail_alpn_refused
    fail_alpn_refused_openssl fail_pmtu_blackhole fail_gnutls_version
    ch_split_3_segments ooo_retrans ipv6_tls13 vlan_tls12 sll2_tls13
    pcapng_tls12 gzip_tls12
    fail_fallback_scsv fail_version_fallback fail_client_cert_weak_key_tls13
    warn_self_signed_tls12 warn_untrusted_tls12 warn_not_yet_valid warn_weak_key
    warn_weak_signature warn_chain_order warn_obsolete_tls10 warn_weak_cipher warn_no_sni
    warn_resumption_rejected fail_no_shared_group fail_sni_unrecognized fail_malformed_hello
    fail_server_silent fail_client_gave_up incomplete_capture_stopped fail_server_host_reset fail_hello_dropped
    fail_gnutls_untrusted
    dec_tls13_aes128gcm_openssl dec_tls13_aes256gcm_gnutls dec_tls13_chacha20_curl
    dec_tls13_aes128ccm_openssl dec_tls13_aes128ccm8_gnutls dec_tls13_keyupdate
    dec_tls12_aes128gcm_curl dec_tls12_chacha20_gnutls dec_tls12_cbc_sha_etm
    dec_tls12_cbc_sha384_gnutls dec_tls12_aes128ccm8_openssl dec_tls10_cbc_openssl dec_dsb_tls13
    fail_expired_tls13 fail_wrong_name_tls13 fail_untrusted_tls13_curl dec_tls13_early_data
    ok_starttls_smtp fail_starttls_refused fail_postgres_ssl_refused fail_connect_refused
    fail_proxy_backend_down fail_client_reset capture_snaplen
)

run_sc() {
    N=$1
    P=$LAB_TMP/pki
    CA=(-CAfile "$P/ca.crt")
    LOGD=$LAB_TMP/logs
    mkdir -p "$LOGD" "$OUT"
    rm -f "$OUT/$N".* "$OUT/${N}"_serverside.*
    log "scenario $N"
    "sc_$N"
    # Abort client sockets still retransmitting (drop scenarios) so they
    # cannot leak into the next capture once the middlebox rules are flushed.
    nsc ss -K dst $S4 >/dev/null 2>&1 || true
    nsc ss -K dst $LAB_S6 >/dev/null 2>&1 || true
    lab_kill_all
    mb_flush
    [ -s "$OUT/$N.keys" ] || rm -f "$OUT/$N.keys"
    chmod 644 "$OUT/$N".* "$OUT/${N}"_serverside.* 2>/dev/null || true
}
