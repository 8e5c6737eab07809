#!/bin/bash
# tests/lab/starttls-probe.sh [TLSDIAG]: `tlsdiag probe --starttls PROTO` end to end
# against tests/lab/starttls_server.py on 127.0.0.1 (loopback, no root needed):
# for each of smtp imap pop3 ftp xmpp ldap postgres, a server that upgrades
# (TLS 1.2 and 1.3 must be found accepted, 1.1 refused), one that does not offer
# STARTTLS and one that refuses it (the plaintext failure must be named, exit 1).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TD=${1:-$HERE/../../build/tlsdiag}
command -v python3 >/dev/null && command -v openssl >/dev/null || { echo "starttls-probe.sh: needs python3 and openssl; skipping"; exit 77; }
tmp=$(mktemp -d /tmp/tdstls.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k.pem" -out "$tmp/c.pem" -days 2 \
    -subj /CN=server.lab.test -addext subjectAltName=DNS:server.lab.test 2>/dev/null
port=$((25000 + $$ % 2000))
fails=0 n=0
for proto in smtp imap pop3 ftp xmpp ldap postgres; do
    for mode in ok nostarttls refuse; do
        port=$((port + 1)) n=$((n + 1))
        python3 "$HERE/starttls_server.py" "$proto" "$port" "$tmp/c.pem" "$tmp/k.pem" "$mode" 30 \
            >"$tmp/srv.$n.log" 2>&1 &
        pids+=($!)
        for _ in $(seq 100); do grep -q ready "$tmp/srv.$n.log" 2>/dev/null && break; sleep 0.1; done
        rc=0
        "$TD" probe --json --no-clients --starttls "$proto" --sni server.lab.test "127.0.0.1:$port" \
            >"$tmp/out.json" 2>"$tmp/err.txt" || rc=$?
        python3 - "$proto" "$mode" "$rc" "$tmp/out.json" <<'PY' || fails=$((fails + 1))
import json, sys
proto, mode, rc, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
try:
    d = json.load(open(path))
except ValueError:
    print("FAIL %-8s %-10s no JSON" % (proto, mode)); sys.exit(1)
if mode == "ok":
    v = d.get("versions", {})
    ok = (v.get("1.2", {}).get("accepted") and v.get("1.3", {}).get("accepted")
          and not v.get("1.1", {}).get("accepted") and "starttls" not in d)
    what = "1.2 %s, 1.3 %s, 1.1 %s" % tuple(v.get(k, {}).get("accepted") for k in ("1.2", "1.3", "1.1"))
else:
    want = {"nostarttls": "starttls_not_offered", "refuse": "starttls_refused"}[mode]
    if proto == "postgres":
        want = "starttls_not_offered"      # PostgreSQL can only say 'N'
    s = d.get("starttls", {})
    ok = rc == 1 and s.get("ok") is False and s.get("failure") == want
    what = "%s: %s" % (s.get("failure"), s.get("detail"))
print("%s %-8s %-10s %s" % ("ok  " if ok else "FAIL", proto, mode, what))
sys.exit(0 if ok else 1)
PY
        kill "${pids[-1]}" 2>/dev/null
    done
done
echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
