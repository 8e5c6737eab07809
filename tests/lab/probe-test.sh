#!/bin/bash
# tests/lab/probe-test.sh: `tlsdiag probe` against real servers in the lab
# namespaces (root only; exit 77 = skipped).  Each check probes one server and
# asserts values of the JSON (versions, ciphers, client_auth, diagnosis codes),
# and that hostile servers end within the configured time with the right
# classification.  Usage: tests/lab/probe-test.sh [path/to/tlsdiag]
set -u
if [ "$(id -u)" != 0 ]; then
    echo "probe-test.sh: needs root (network namespaces); skipping" >&2
    exit 77
fi
for t in ip openssl gnutls-serv nginx iptables python3; do
    command -v "$t" >/dev/null || { echo "probe-test.sh: missing $t" >&2; exit 77; }
done
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(cd "$HERE/../.." && pwd)/${1:-build/tlsdiag}
[ -x "$T" ] || T=${1:-build/tlsdiag}
: "${LAB_NS:=tdp}"
export LAB_NS
. "$HERE/lib.sh"
. "$HERE/scenarios.sh"
cleanup() { nginx_stop; lab_down; }
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_up
pki_make
P=$LAB_TMP/pki
LOGD=$LAB_TMP/logs
mkdir -p "$LOGD"
N=probe
fails=0
J=$LAB_TMP/out.json
FAST=(--connect-timeout 1000 --read-timeout 1500 --probe-timeout 4000)

# probe NAME TARGET [args...]: runs the probe from the client namespace
probe() {
    local name=$1 target=$2; shift 2
    local t0=$SECONDS
    ip netns exec $LAB_C "$T" probe --json "${FAST[@]}" "$@" "$target" >"$J" 2>"$LAB_TMP/err"
    PROBE_RC=$?
    PROBE_SECS=$((SECONDS - t0))
    if grep -q "Sanitizer\|runtime error" "$LAB_TMP/err"; then
        echo "FAIL $name: sanitizer report"; head -20 "$LAB_TMP/err"; fails=$((fails + 1))
    fi
    if ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$J" 2>/dev/null; then
        echo "FAIL $name: no JSON (exit $PROBE_RC)"; head -5 "$LAB_TMP/err"; fails=$((fails + 1))
        return 1
    fi
}
# expect NAME PYTHON-EXPR: the expression over j (the JSON) must be true
expect() {
    if python3 - "$J" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
codes = [d["code"] for d in j["diagnoses"]]
ok = eval(sys.argv[2])
if not ok:
    print("    json:", json.dumps({k: j[k] for k in ("versions", "ciphers", "client_auth", "sni")})[:600])
    print("    codes:", codes)
sys.exit(0 if ok else 1)
PY
    then echo "ok   $1"; else echo "FAIL $1: $2"; fails=$((fails + 1)); fi
}

S=$LAB_S4
nginx_start

# ---- version floor + cipher policy (nginx: TLS 1.2+, ECDHE-only 1.2 suites)
probe "nginx 8443" "$S:8443" --sni $LAB_NAME --ca-file "$P/ca.crt" && {
    expect "version floor: 3.0/1.0/1.1 refused with an alert" \
        'all(not j["versions"][v]["accepted"] and (j["versions"][v]["refusal"] or "").startswith("alert:") for v in ("3.0","1.0","1.1"))'
    expect "1.2 and 1.3 accepted" 'j["versions"]["1.2"]["accepted"] and j["versions"]["1.3"]["accepted"]'
    expect "TLS 1.2 suites = the 3 ECDHE suites, server order" \
        'j["ciphers"]["1.2"] == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256","TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384","TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"] or sorted(j["ciphers"]["1.2"]) == sorted(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256","TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384","TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"])'
    expect "floor and DHE-only clients named" '"protocol_version" in codes and "no_shared_cipher" in codes'
    expect "chain trusted with the lab CA, no problem" 'j["certificate"]["trusted"] is True and j["certificate"]["name_ok"] is True'
    expect "client auth none" 'j["client_auth"] == "none"'
    expect "TLS 1.2 signature schemes for the RSA key: PSS and PKCS#1 SHA-256, no SHA-1" \
        '"rsa_pss_rsae_sha256" in j["signature_schemes"]["1.2"] and "rsa_pkcs1_sha256" in j["signature_schemes"]["1.2"] and "rsa_pkcs1_sha1" not in j["signature_schemes"]["1.2"]'
    expect "TLS 1.3 groups include x25519, HRR works" '"x25519" in j["groups"] and j["hello_retry"]["works"]'
    expect "resumption works" 'j["resumption"]["works"]'
    expect "SSLv2-format hello refused (no signature_algorithms means SHA-1), the five version keys intact" \
        'j["versions"]["sslv2_hello"] == {"accepted": False, "refusal": "alert:handshake_failure", "version": None} and all(k in j["versions"] for k in ("3.0","1.0","1.1","1.2","1.3"))'
    echo "     full probe of nginx:8443: $(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["connections"], "connections,", j["wall_ms"], "ms")' "$J")"
}

# ---- SNI-routing stream proxy (nginx ssl_preread)
probe "nginx 8445 sni proxy" "$S:8445" --sni $LAB_NAME && \
    expect "sni_required" '"sni_required" in codes and j["sni"]["none"]["accepted"] is False and j["sni"]["given"]["accepted"]'

probe "nginx 8445 sni proxy, no name given" "$S:8445" --no-ciphers && \
    expect "everything refused, --sni hinted" 'not any(a["accepted"] for a in j["versions"].values()) and "no_sni" in codes'

# ---- client certificate required at HTTP level (nginx ssl_verify_client on)
probe "nginx 8444 verify_client" "$S:8444" --sni $LAB_NAME && \
    expect "client_auth required (HTTP 400)" 'j["client_auth"] == "required" and "client_cert_missing" in codes'

# ---- openssl s_server scenarios
srv() { # srv PORT CERT args...
    local port=$1 cert=$2; shift 2
    local chain=()
    [ "$cert" = selfsigned ] || chain=(-cert_chain "$P/int.crt")
    bg_run "$LOGD/s$port.log" timeout 60 ip netns exec $LAB_S \
        openssl s_server -accept "$port" -www -cert "$P/$cert.crt" -key "$P/$cert.key" "${chain[@]}" "$@"
    wait_listen $LAB_S "$port"
}
srv 4461 server -tls1_2 -Verify 1 -verify_return_error -CAfile "$P/ca.crt"
srv 4462 server -tls1_3 -Verify 1 -verify_return_error -CAfile "$P/ca.crt"
srv 4463 server -verify 1 -CAfile "$P/ca.crt"          # asks, does not insist
srv 4444 expired
srv 4442 selfsigned
srv 4446 wrongname
srv 4450 server
srv 4472 server -alpn h2
srv 4477 server -cipher 'ALL:@SECLEVEL=0'             # SHA-1 allowed: SSLv2-format hellos work
gnutls_srv 4471 --alpn h2 --alpn-fatal
bg_run "$LOGD/s4476.log" timeout 60 ip netns exec $LAB_S \
    openssl s_server -accept 4476 -www -cert "$P/server.crt" -key "$P/server.key"   # no intermediate
wait_listen $LAB_S 4476
srv 4475 wrongname -servername $LAB_NAME -cert2 "$P/server.crt" -key2 "$P/server.key"
mb_sni_reset blocked.lab.test
mb_sni_drop dropped.lab.test

probe "mTLS 1.2" "$S:4461" --sni $LAB_NAME --no-ciphers && \
    expect "client_auth required, CA named" 'j["client_auth"] == "required" and "client_cert_missing" in codes and len(j["client_auth_detail"]["ca_names"]) > 0'
probe "client cert optional" "$S:4463" --sni $LAB_NAME --no-ciphers && \
    expect "client_auth optional, no client_cert_missing" 'j["client_auth"] == "optional" and "client_cert_missing" not in codes'
probe "mTLS 1.3" "$S:4462" --sni $LAB_NAME --no-ciphers && \
    expect "client_auth required, late alert" 'j["client_auth"] == "required" and "client_cert_missing" in codes'
probe "mTLS 1.3 with a good cert" "$S:4462" --sni $LAB_NAME --no-ciphers \
    --cert "$P/client.chain.pem" --key "$P/client.key" && \
    expect "given certificate accepted" 'j["client_auth_detail"].get("given_cert_accepted") is True and "client_cert_rejected" not in codes'
probe "mTLS 1.2 with a rogue cert" "$S:4461" --sni $LAB_NAME --no-ciphers \
    --cert "$P/rogue-client.chain.pem" --key "$P/rogue-client.key" && \
    expect "given certificate rejected" '"client_cert_rejected" in codes'
probe "expired chain" "$S:4444" --sni $LAB_NAME --ca-file "$P/ca.crt" --no-ciphers && \
    expect "cert_expired" '"cert_expired" in codes and j["certificate"]["expired"] is True'
probe "self-signed" "$S:4442" --sni $LAB_NAME --ca-file "$P/ca.crt" --no-ciphers && \
    expect "cert_self_signed" '"cert_self_signed" in codes'
probe "missing intermediate" "$S:4476" --sni $LAB_NAME --ca-file "$P/ca.crt" --no-ciphers && \
    expect "cert_chain_incomplete" '"cert_chain_incomplete" in codes and j["certificate"]["chain_length"] == 1'
probe "wrong name" "$S:4446" --sni $LAB_NAME --ca-file "$P/ca.crt" --no-ciphers && \
    expect "cert_hostname_mismatch" '"cert_hostname_mismatch" in codes'
probe "untrusted (system store)" "$S:4450" --sni $LAB_NAME --no-ciphers && \
    expect "cert_untrusted" '"cert_untrusted" in codes or "cert_chain_incomplete" in codes'
probe "SNI reset by the middlebox" "$S:8443" --sni blocked.lab.test --no-ciphers && \
    expect "middlebox_reset" '"middlebox_reset" in codes and j["sni"]["given"]["refusal"] == "rst"'
# as root the probe captures its own SYN-ACK and RST: the router's RST has
# TTL 64, the server's packets arrive with 59 (set by the lab)
[ -f "$J" ] && expect "middlebox RST TTL 64 vs SYN-ACK TTL 59 captured" \
    'j["ttl_capture"]["on"] and j["sni"]["given"].get("rst_ttl") == 64 and j["sni"]["given"].get("synack_ttl") == 59 and any("RST TTL 64, SYN-ACK TTL 59: the RST does not come" in e["what"] for d in j["diagnoses"] if d["code"] == "middlebox_reset" for e in d["evidence"])'
probe "SNI dropped by the middlebox" "$S:8443" --sni dropped.lab.test --no-ciphers && \
    expect "middlebox_drop" '"middlebox_drop" in codes and j["sni"]["given"]["refusal"] == "timeout"'
probe "ALPN refused (openssl s_server -alpn h2)" "$S:4472" --sni $LAB_NAME --no-ciphers && \
    expect "alpn_mismatch, h2 chosen when offered" '"alpn_mismatch" in codes and j["alpn"]["chosen"] == "h2" and j["alpn"]["http11"]["refusal"] == "alert:no_application_protocol"'
probe "SSLv2-format hello (s_server SECLEVEL=0)" "$S:4477" --sni $LAB_NAME --no-ciphers --no-clients && \
    expect "sslv2_hello accepted, TLS 1.2 chosen" 'j["versions"]["sslv2_hello"] == {"accepted": True, "refusal": None, "version": "1.2"}'
probe "default certificate differs without SNI" "$S:4475" --sni $LAB_NAME --ca-file "$P/ca.crt" --no-ciphers && \
    expect "no_sni warning, CNs named" '"no_sni" in codes and j["sni"]["default_certificate_differs"] and j["sni"]["none"]["certificate_cn"] == "wrong.lab.test"'
probe "plain HTTP port" "$S:8080" --no-ciphers && \
    expect "not_tls" 'j["versions"]["1.2"]["refusal"] == "not_tls" and codes[0] == "not_tls"'
probe "closed port" "$S:4499" --no-ciphers && \
    expect "tcp_refused" 'codes[0] == "tcp_refused"'
probe "ALPN refused (gnutls --alpn-fatal)" "$S:4471" --sni $LAB_NAME --no-ciphers && \
    expect "alpn_mismatch" '"alpn_mismatch" in codes'

# (agreement with sslscan and nmap: tests/lab/probe-compare.sh)

# ---- hostile servers: each ends within the configured time, classified
H=(--connect-timeout 1000 --read-timeout 1000 --probe-timeout 2500 --no-ciphers --no-http)
port=4490
for mode in silent drip garbage bigrec bighs endless; do
    port=$((port + 1))
    bg_run "$LOGD/hostile-$mode.log" timeout 60 ip netns exec $LAB_S python3 "$HERE/hostile.py" $mode $port
    wait_listen $LAB_S $port
    t0=$(date +%s%N)
    ip netns exec $LAB_C "$T" probe --json "${H[@]}" "$S:$port" >"$J" 2>"$LAB_TMP/err"
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    case $mode in
        silent|drip) want=timeout ;;
        garbage|bigrec|bighs) want=not_tls ;;
        endless) want=None ;;
    esac
    # every probe ends by the probe timeout; probes run 8 at a time (2 waves + the resumption)
    if [ "$ms" -gt 9000 ]; then echo "FAIL hostile $mode: took $ms ms"; fails=$((fails + 1)); fi
    if [ $mode = endless ]; then
        # the ServerHello is real, the Certificate never ends: 1.2 accepted,
        # and the real client's failure named
        expect "hostile $mode: TLS 1.2 accepted, protocol_error (${ms} ms)" \
            "j['versions']['1.2']['accepted'] is True and 'protocol_error' in codes"
        continue
    fi
    expect "hostile $mode: TLS 1.2 probe = $want (${ms} ms)" "j['versions']['1.2']['refusal'] == '$want'"
done

echo
if [ $fails -ne 0 ]; then
    echo "probe-test: $fails check(s) failed"
    exit 1
fi
echo "probe-test: all checks passed"
