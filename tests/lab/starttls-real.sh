#!/bin/bash
# tests/lab/starttls-real.sh [TLSDIAG]: `tlsdiag probe --starttls` against real
# servers on 127.0.0.1 (root; each server is skipped when not installed):
# PostgreSQL 15 (SSLRequest), Dovecot (IMAP STARTTLS, POP3 STLS), vsftpd
# (AUTH TLS), OpenLDAP slapd (StartTLS extended operation).  Each must be found
# to accept TLS 1.2 and 1.3 after its plaintext phase (by the version probes); with TLS off in the
# server the failure must be named as a plaintext one.
# Exit 77 when not root or nothing is installed.
set -u
[ "$(id -u)" = 0 ] || { echo "starttls-real.sh: needs root; skipping"; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd)
TD=${1:-$HERE/../../build/tlsdiag}
TD=$(cd "$(dirname "$TD")" && pwd)/$(basename "$TD")
tmp=$(mktemp -d /tmp/tdreal.XXXXXX)
chmod 755 "$tmp"
pids=()
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)
cleanup() {
    local p
    [ -n "$pgbin" ] && [ -d "$tmp/pg" ] && su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $tmp/pg -m immediate stop" >/dev/null 2>&1
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k.pem" -out "$tmp/c.pem" -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
chmod 644 "$tmp/c.pem" "$tmp/k.pem"
base=$((26000 + $$ % 1000))
fails=0 n=0

wait_port() { local i; for i in $(seq 100); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.1; done; return 1; }

# check NAME PROTO PORT WANT: WANT is "tls" or a starttls failure code
check() {
    local name=$1 proto=$2 port=$3 want=$4 rc=0
    n=$((n + 1))
    "$TD" probe --json --no-http --starttls "$proto" "127.0.0.1:$port" >"$tmp/out.json" 2>&1 || rc=$?
    if python3 - "$tmp/out.json" "$want" "$rc" "$name" <<'PY'
import json, sys
path, want, rc, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
try:
    d = json.load(open(path))
except ValueError:
    print("FAIL %-22s no JSON: %s" % (name, open(path).read()[:200])); sys.exit(1)
if want == "tls":
    # TLS 1.2 and 1.3 by the version probes themselves, and real 1.2-only
    # clients replayed after the same plaintext phase (the client simulation).
    # Dovecot without ssl_dh closes on a DHE suite: the 1.2 probe must offer
    # ECDHE first or it reads as refused.
    v = d.get("versions", {})
    acc = [k for k in ("1.0", "1.1", "1.2", "1.3") if v.get(k, {}).get("accepted")]
    cl = {c["id"]: c for c in d.get("clients", [])}
    c12 = [i for i in ("java-8", "openssl-3.0-tls1_2") if cl.get(i, {}).get("ok") and cl[i].get("version") == "1.2"]
    ok = "1.2" in acc and "1.3" in acc and len(c12) == 2
    print("%s %-22s version probes accept %s; TLS 1.2 clients ok: %s; %d of %d clients connect" % (
          "ok  " if ok else "FAIL", name, " ".join(acc), " ".join(c12) or "none",
          sum(c["ok"] for c in cl.values()), len(cl)))
else:
    s = d.get("starttls", {})
    ok = rc == 1 and s.get("failure") == want
    print("%s %-22s %s: %s" % ("ok  " if ok else "FAIL", name, s.get("failure"), s.get("detail")))
sys.exit(0 if ok else 1)
PY
    then :; else fails=$((fails + 1)); head -c 300 "$tmp/out.json"; echo; fi
}

ran=0
# ---- PostgreSQL
if [ -n "$pgbin" ]; then
    ran=1
    mkdir -p "$tmp/pg" && chown postgres "$tmp/pg"
    install -o postgres -m 600 "$tmp/k.pem" "$tmp/pgkey.pem"
    su postgres -s /bin/sh -c "$pgbin/initdb -D $tmp/pg -A trust" >"$tmp/initdb.log" 2>&1
    for ssl in on off; do
        port=$((base + 1))
        cat >>"$tmp/pg/postgresql.conf" <<PG
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$tmp/pg'
ssl = $ssl
ssl_cert_file = '$tmp/c.pem'
ssl_key_file = '$tmp/pgkey.pem'
PG
        su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $tmp/pg -l $tmp/pg/server.log -w start" >/dev/null 2>&1
        if [ "$ssl" = on ]; then check "postgres (ssl on)" postgres "$port" tls
        else check "postgres (ssl off)" postgres "$port" starttls_not_offered; fi
        su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $tmp/pg -m fast -w stop" >/dev/null 2>&1
    done
fi

# ---- Dovecot: IMAP and POP3
if command -v dovecot >/dev/null; then
    ran=1
    for ssl in yes no; do
        mkdir -p "$tmp/dc-$ssl"
        cat >"$tmp/dc-$ssl/dovecot.conf" <<DC
base_dir = $tmp/dc-$ssl/run
state_dir = $tmp/dc-$ssl/state
log_path = $tmp/dc-$ssl/log
protocols = imap pop3
listen = 127.0.0.1
ssl = $ssl
$( [ "$ssl" = yes ] && printf 'ssl_cert = <%s\nssl_key = <%s\n' "$tmp/c.pem" "$tmp/k.pem" )
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
passdb {
  driver = static
  args = password=x
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$tmp/dc-$ssl/home
}
service imap-login {
  inet_listener imap {
    port = $((base + 2))
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $((base + 3))
  }
  inet_listener pop3s {
    port = 0
  }
}
DC
        dovecot -F -c "$tmp/dc-$ssl/dovecot.conf" >"$tmp/dc-$ssl/out" 2>&1 &
        pids+=($!)
        if wait_port $((base + 2)) && wait_port $((base + 3)); then
            if [ "$ssl" = yes ]; then
                check "dovecot imap" imap $((base + 2)) tls
                check "dovecot pop3" pop3 $((base + 3)) tls
            else
                check "dovecot imap (ssl=no)" imap $((base + 2)) starttls_not_offered
                check "dovecot pop3 (ssl=no)" pop3 $((base + 3)) starttls_not_offered
            fi
        else
            echo "FAIL dovecot did not start: $(tail -3 "$tmp/dc-$ssl/out" "$tmp/dc-$ssl/log" 2>/dev/null)"
            fails=$((fails + 1)) n=$((n + 1))
        fi
        kill "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null
        for _ in $(seq 50); do ss -Hltn "sport = :$((base + 2))" | grep -q . || break; sleep 0.1; done
    done
fi

# ---- vsftpd: AUTH TLS
if command -v vsftpd >/dev/null; then
    ran=1
    mkdir -p "$tmp/ftp-empty"
    for ssl in YES NO; do
        port=$((base + 4))
        cat >"$tmp/vsftpd-$ssl.conf" <<FTP
listen=YES
listen_address=127.0.0.1
listen_port=$port
anonymous_enable=YES
secure_chroot_dir=$tmp/ftp-empty
ssl_enable=$ssl
rsa_cert_file=$tmp/c.pem
rsa_private_key_file=$tmp/k.pem
ssl_tlsv1=NO
ssl_sslv2=NO
ssl_sslv3=NO
allow_anon_ssl=YES
FTP
        vsftpd "$tmp/vsftpd-$ssl.conf" >"$tmp/vsftpd-$ssl.out" 2>&1 &
        pids+=($!)
        if wait_port "$port"; then
            if [ "$ssl" = YES ]; then check "vsftpd" ftp "$port" tls
            else check "vsftpd (ssl_enable=NO)" ftp "$port" starttls_not_offered; fi
        else
            echo "FAIL vsftpd did not start: $(cat "$tmp/vsftpd-$ssl.out")"; fails=$((fails + 1)) n=$((n + 1))
        fi
        kill "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null
        for _ in $(seq 50); do ss -Hltn "sport = :$port" | grep -q . || break; sleep 0.1; done
    done
fi

# ---- OpenLDAP slapd: StartTLS extended operation
if command -v slapd >/dev/null; then
    ran=1
    for tls in on off; do
        port=$((base + 5))
        mkdir -p "$tmp/ldap-$tls/db"
        {
            echo "include /etc/ldap/schema/core.schema"
            echo "pidfile $tmp/ldap-$tls/pid"
            if [ "$tls" = on ]; then
                echo "TLSCertificateFile $tmp/c.pem"
                echo "TLSCertificateKeyFile $tmp/k.pem"
            fi
            echo "database ldif"
            echo "suffix \"dc=example,dc=org\""
            echo "directory $tmp/ldap-$tls/db"
        } >"$tmp/ldap-$tls/slapd.conf"
        slapd -d 0 -h "ldap://127.0.0.1:$port/" -f "$tmp/ldap-$tls/slapd.conf" >"$tmp/ldap-$tls/out" 2>&1 &
        pids+=($!)
        if wait_port "$port"; then
            if [ "$tls" = on ]; then check "slapd" ldap "$port" tls
            else check "slapd (no TLS configured)" ldap "$port" starttls_not_offered; fi
        else
            echo "FAIL slapd did not start: $(tail -3 "$tmp/ldap-$tls/out")"; fails=$((fails + 1)) n=$((n + 1))
        fi
        kill "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null
        for _ in $(seq 50); do ss -Hltn "sport = :$port" | grep -q . || break; sleep 0.1; done
    done
fi

[ "$ran" = 1 ] || { echo "starttls-real.sh: no server installed; skipping"; exit 77; }
echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
