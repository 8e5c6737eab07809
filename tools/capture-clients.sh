#!/bin/bash
# tools/capture-clients.sh [OUTDIR]: capture the real ClientHellos of the
# clients installed here (see data/clients/README.md).  Each client connects to
# tools/capture-hello.py on 127.0.0.1 with SNI client.tlsdiag.test; the
# recorded hello goes to OUTDIR/<id>.cap ("record" and "hex" lines) and the
# client's version string to OUTDIR/<id>.ver.  Loopback only.
set -u
cd "$(dirname "$0")/.."
out=${1:-/tmp/td-client-captures}
mkdir -p "$out"
name=client.tlsdiag.test
port=24430

# cap ID VERSION-STRING COMMAND...: one capture ({P} is replaced by the port)
cap() {
    local id=$1 ver=$2; shift 2
    port=$((port + 1))
    rm -f "$out/$id.cap"
    python3 tools/capture-hello.py "$port" "$out/$id.cap" 15 >/dev/null &
    local lp=$!
    sleep 0.4
    local args=() a
    for a in "$@"; do args+=("${a//\{P\}/$port}"); done
    timeout 20 "${args[@]}" </dev/null >/dev/null 2>&1
    wait "$lp"
    if [ -s "$out/$id.cap" ]; then
        printf '%s\n' "$ver" >"$out/$id.ver"
        printf '%s\n' "$*" >"$out/$id.cmd"
        echo "captured $id ($ver)"
    else
        echo "FAILED $id" >&2
    fi
}

osv=$(openssl version)
cap openssl-3.0 "$osv" openssl s_client -connect 127.0.0.1:{P} -servername $name
cap openssl-3.0-tls1_2 "$osv" openssl s_client -tls1_2 -connect 127.0.0.1:{P} -servername $name
cap openssl-3.0-no_tls1_3 "$osv" openssl s_client -no_tls1_3 -connect 127.0.0.1:{P} -servername $name
cap openssl-3.0-seclevel0 "$osv" openssl s_client -cipher ALL:@SECLEVEL=0 -connect 127.0.0.1:{P} -servername $name
cap openssl-3.0-tls1 "$osv" openssl s_client -tls1 -cipher ALL:@SECLEVEL=0 -connect 127.0.0.1:{P} -servername $name
cap gnutls-3.7 "$(gnutls-cli --version | head -1)" gnutls-cli --insecure -p {P} --sni-hostname $name 127.0.0.1
cap curl-7.88 "$(curl --version | head -1)" curl -sk --resolve $name:{P}:127.0.0.1 https://$name:{P}/
cap wget-1.21 "$(wget --version | head -1)" wget -q --no-check-certificate -O /dev/null https://localhost:{P}/
cap python-3.11 "Python $(/usr/bin/python3 -c 'import sys,ssl;print(sys.version.split()[0], ssl.OPENSSL_VERSION)')" \
    /usr/bin/python3 -c "import socket,ssl,sys;c=ssl.create_default_context();s=socket.create_connection(('127.0.0.1',int(sys.argv[1])));c.wrap_socket(s,server_hostname='$name')" {P}
tmpj=$(mktemp -d)
if javac -d "$tmpj" tools/clients/JavaHello.java 2>/dev/null; then
    cap java-17 "$(java -version 2>&1 | head -2 | tail -1)" java -cp "$tmpj" JavaHello {P} $name
fi
cap node-20 "Node.js $(node --version)" node -e "const t=require('tls');const s=t.connect({host:'127.0.0.1',port:+process.argv[1],servername:'$name',rejectUnauthorized:false});s.on('error',()=>{});" {P}
if command -v go >/dev/null; then
    (cd "$tmpj" && cp "$OLDPWD/tools/clients/gohello.go" . && GOCACHE=$tmpj/cache GO111MODULE=off go build -o gohello gohello.go) \
        && cap go-1.19 "$(go version)" "$tmpj/gohello" {P} $name
fi
if command -v chromium >/dev/null; then
    cap chromium "$(chromium --version 2>/dev/null)" chromium --headless --no-sandbox --disable-gpu \
        --host-resolver-rules="MAP $name 127.0.0.1" --dump-dom https://$name:{P}/
fi
if command -v firefox-esr >/dev/null; then
    fh=$(mktemp -d)
    cap firefox-esr "$(firefox-esr --version 2>/dev/null)" env HOME="$fh" firefox-esr --headless --screenshot "$fh/s.png" https://localhost:{P}/
    rm -rf "$fh"
fi
rm -rf "$tmpj"
