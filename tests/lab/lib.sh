# tests/lab/lib.sh: helpers for the tlsdiag capture lab (sourced, bash).
#
# Topology (all in network namespaces, nothing leaves the host):
#
#   tdc (client)            tdr (router / middlebox)          tds (server)
#   c0 10.77.1.2/24  <--->  r1 10.77.1.1   r2 10.77.2.1  <--->  s0 10.77.2.2/24
#      fd77:1::2/64            fd77:1::1      fd77:2::1            fd77:2::2/64
#
# Default TTL/hop limit: tdc 64, tdr 64 (so a router-made RST reaches the client
# with TTL 64), tds 60 (so server packets reach the client with TTL 59).
# Veths are created with gso_max_segs 1 so captures show wire-sized segments.

# LAB_NS (default td) prefixes the namespace names so several labs can run at once
# (e.g. LAB_NS=tdp for the probe tests while the capture lab runs).
: "${LAB_NS:=td}"
LAB_C=${LAB_NS}c LAB_R=${LAB_NS}r LAB_S=${LAB_NS}s
LAB_C4=10.77.1.2 LAB_R4C=10.77.1.1 LAB_R4S=10.77.2.1 LAB_S4=10.77.2.2
LAB_C6=fd77:1::2 LAB_R6C=fd77:1::1 LAB_R6S=fd77:2::1 LAB_S6=fd77:2::2
LAB_NAME=server.lab.test

: "${LAB_TMP:=}"
LAB_PIDS=()
CAP_PIDS=()

nsc() { ip netns exec "$LAB_C" "$@"; }
nsr() { ip netns exec "$LAB_R" "$@"; }
nss() { ip netns exec "$LAB_S" "$@"; }

log() { printf '[lab] %s\n' "$*" >&2; }

lab_tmp() {
    if [ -z "$LAB_TMP" ]; then
        LAB_TMP=$(mktemp -d /tmp/tdlab.XXXXXX)
    fi
}

lab_up() {
    lab_tmp
    local n
    for n in $LAB_C $LAB_R $LAB_S; do
        ip netns del "$n" 2>/dev/null || true
        ip netns add "$n"
        ip netns exec "$n" ip link set lo up
    done
    ip link add c0 netns $LAB_C address 02:77:01:00:00:02 gso_max_segs 1 type veth \
        peer name r1 netns $LAB_R address 02:77:01:00:00:01 gso_max_segs 1
    ip link add s0 netns $LAB_S address 02:77:02:00:00:02 gso_max_segs 1 type veth \
        peer name r2 netns $LAB_R address 02:77:02:00:00:01 gso_max_segs 1

    nsc ip addr add $LAB_C4/24 dev c0
    nsc ip -6 addr add $LAB_C6/64 dev c0 nodad
    nsc ip link set c0 up
    nsc ip route add default via $LAB_R4C
    nsc ip -6 route add default via $LAB_R6C

    nsr ip addr add $LAB_R4C/24 dev r1
    nsr ip -6 addr add $LAB_R6C/64 dev r1 nodad
    nsr ip addr add $LAB_R4S/24 dev r2
    nsr ip -6 addr add $LAB_R6S/64 dev r2 nodad
    nsr ip link set r1 up
    nsr ip link set r2 up
    nsr sysctl -qw net.ipv4.ip_forward=1
    nsr sysctl -qw net.ipv6.conf.all.forwarding=1
    nsr sysctl -qw net.ipv4.ip_default_ttl=64

    nss ip addr add $LAB_S4/24 dev s0
    nss ip -6 addr add $LAB_S6/64 dev s0 nodad
    nss ip link set s0 up
    nss ip route add default via $LAB_R4S
    nss ip -6 route add default via $LAB_R6S
    nss sysctl -qw net.ipv4.ip_default_ttl=60
    nss sysctl -qw net.ipv6.conf.all.hop_limit=60
    nss sysctl -qw net.ipv6.conf.s0.hop_limit=60

    # Static neighbours (fixed MACs): no ARP/ND in the captures, no warm-up.
    nsc ip neigh replace $LAB_R4C lladdr 02:77:01:00:00:01 dev c0 nud permanent
    nsc ip -6 neigh replace $LAB_R6C lladdr 02:77:01:00:00:01 dev c0 nud permanent
    nsr ip neigh replace $LAB_C4 lladdr 02:77:01:00:00:02 dev r1 nud permanent
    nsr ip -6 neigh replace $LAB_C6 lladdr 02:77:01:00:00:02 dev r1 nud permanent
    nsr ip neigh replace $LAB_S4 lladdr 02:77:02:00:00:02 dev r2 nud permanent
    nsr ip -6 neigh replace $LAB_S6 lladdr 02:77:02:00:00:02 dev r2 nud permanent
    nss ip neigh replace $LAB_R4S lladdr 02:77:02:00:00:01 dev s0 nud permanent
    nss ip -6 neigh replace $LAB_R6S lladdr 02:77:02:00:00:01 dev s0 nud permanent
}

lab_down() {
    cap_stop_all
    lab_kill_all
    local n
    for n in $LAB_C $LAB_R $LAB_S; do
        ip netns del "$n" 2>/dev/null || true
    done
    if [ -n "$LAB_TMP" ] && [ -d "$LAB_TMP" ] && [ -z "${LAB_KEEP_TMP:-}" ]; then
        rm -rf "$LAB_TMP"
    fi
}

# Background a command and remember its pid: bg_run LOGFILE cmd...
bg_run() {
    local logf=$1; shift
    "$@" </dev/null >"$logf" 2>&1 &
    LAB_PIDS+=($!)
    BG_PID=$!
}

lab_kill_all() {
    local p
    for p in "${LAB_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${LAB_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    LAB_PIDS=()
}

# Wait for a TCP listener in a namespace: wait_listen NS PORT
wait_listen() {
    local ns=$1 port=${2##*:} i
    for i in $(seq 1 50); do
        if ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    log "nothing listening on $ns:$port"
    return 1
}

# Capture: cap_start OUTFILE [NS] [IFACE] [extra tcpdump args...]
# Default NS tdc, IFACE c0. Filter keeps TCP and ICMP errors (no ARP/ND noise).
CAP_FILTER='tcp or icmp or (icmp6 and ip6[40] < 128)'
cap_start() {
    local out=$1 ns=${2:-$LAB_C} ifc=${3:-c0}
    shift 3 2>/dev/null || shift $#
    local errf="$LAB_TMP/tcpdump.$$.${#CAP_PIDS[@]}.err"
    ip netns exec "$ns" tcpdump -n -s 0 -U --immediate-mode -i "$ifc" -w "$out" "$@" "$CAP_FILTER" \
        </dev/null >/dev/null 2>"$errf" &
    CAP_PIDS+=($!)
    local i
    for i in $(seq 1 50); do
        grep -q "listening on" "$errf" 2>/dev/null && break
        sleep 0.1
    done
    sleep 0.2
}

cap_stop() {
    sleep 0.5
    cap_stop_all
}

cap_stop_all() {
    local p
    for p in "${CAP_PIDS[@]}"; do
        kill -INT "$p" 2>/dev/null || true
    done
    for p in "${CAP_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    CAP_PIDS=()
}

# ---------------------------------------------------------------- middlebox
mb_sni_reset() {   # mb_sni_reset NAME : RST client->server packets carrying NAME
    nsr iptables -A FORWARD -i r1 -p tcp -m string --algo bm --string "$1" \
        -j REJECT --reject-with tcp-reset
}
mb_sni_drop() {
    nsr iptables -A FORWARD -i r1 -p tcp -m string --algo bm --string "$1" -j DROP
}
mb_flush() {
    nsr iptables -F
    nsr iptables -t mangle -F
    nsr ip6tables -F
}

# ---------------------------------------------------------------- certificates
# All material goes to $LAB_TMP/pki. Files:
#   ca.crt ca.key           root CA "tlsdiag lab root"
#   int.crt int.key         intermediate
#   server.crt/.key         leaf server.lab.test (signed by int), chain.pem=leaf+int
#   expired.crt/.key        leaf server.lab.test valid 2020-01-01..2021-01-01 (+int)
#   selfsigned.crt/.key     self-signed server.lab.test
#   wrongname.crt/.key      leaf for wrong.lab.test (signed by int)
#   client.crt/.key         client cert from the CA (via int)
#   rogueca.crt, rogue-client.crt/.key   client cert from an unknown CA
#   weak-client.crt/.key    client cert with a 1024-bit RSA key (from int)
#   weak-server.crt/.key    leaf server.lab.test with a 1024-bit RSA key (from int)
#   sha1-server.crt/.key    leaf server.lab.test signed with SHA-1 (from int)
#   rogue-server.crt/.key   leaf server.lab.test from the unknown "rogue ca"
#   notyet.crt/.key         leaf server.lab.test valid from 2035-01-01 (from int)
pki_make() {
    lab_tmp
    local d=$LAB_TMP/pki
    mkdir -p "$d"
    (
    set -e
    cd "$d"
    local o="openssl"
    cat > ext.cnf <<'EOF'
[ca_ext]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[int_ext]
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[server_ext]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:server.lab.test
authorityKeyIdentifier=keyid
[wrong_ext]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:wrong.lab.test
[self_ext]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:server.lab.test
[client_ext]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
EOF
    $o req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
        -subj "/CN=tlsdiag lab root" -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    sign() { # sign NAME ISSUER EXT SUBJ [keyspec] [digest]
        $o req -new -newkey "${5:-rsa:2048}" -nodes -keyout "$1.key" -out "$1.csr" -subj "$4" 2>/dev/null
        $o x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
            -days 825 "-${6:-sha256}" -extfile ext.cnf -extensions "$3" -out "$1.crt" 2>/dev/null
    }
    sign int ca int_ext "/CN=tlsdiag lab intermediate"
    sign server int server_ext "/CN=server.lab.test"
    sign wrongname int wrong_ext "/CN=wrong.lab.test"
    sign client int client_ext "/CN=lab client"
    sign weak-client int client_ext "/CN=lab weak client" rsa:1024
    $o req -x509 -newkey rsa:2048 -nodes -keyout rogueca.key -out rogueca.crt -days 3650 \
        -subj "/CN=rogue ca" -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    sign rogue-client rogueca client_ext "/CN=rogue client"
    sign rogue-server rogueca server_ext "/CN=server.lab.test"
    sign weak-server int server_ext "/CN=server.lab.test" rsa:1024
    sign sha1-server int server_ext "/CN=server.lab.test" rsa:2048 sha1
    $o req -x509 -newkey rsa:2048 -nodes -keyout selfsigned.key -out selfsigned.crt -days 825 \
        -subj "/CN=server.lab.test" -addext subjectAltName=DNS:server.lab.test 2>/dev/null
    # Expired leaf: openssl ca with explicit start/end dates in the past.
    mkdir -p ca-db
    : > ca-db/index.txt
    echo 1000 > ca-db/serial
    cat > ca.cnf <<EOF
[ca]
default_ca=lab
[lab]
dir=$d
database=$d/ca-db/index.txt
serial=$d/ca-db/serial
new_certs_dir=$d/ca-db
certificate=$d/int.crt
private_key=$d/int.key
default_md=sha256
policy=pol
copy_extensions=none
unique_subject=no
[pol]
commonName=supplied
EOF
    $o req -new -newkey rsa:2048 -nodes -keyout expired.key -out expired.csr \
        -subj "/CN=server.lab.test" 2>/dev/null
    $o ca -batch -config ca.cnf -in expired.csr -out expired.crt -notext \
        -startdate 20200101000000Z -enddate 20210101000000Z \
        -extfile ext.cnf -extensions server_ext 2>/dev/null
    $o req -new -newkey rsa:2048 -nodes -keyout notyet.key -out notyet.csr \
        -subj "/CN=server.lab.test" 2>/dev/null
    $o ca -batch -config ca.cnf -in notyet.csr -out notyet.crt -notext \
        -startdate 20350101000000Z -enddate 20360101000000Z \
        -extfile ext.cnf -extensions server_ext 2>/dev/null
    for n in server expired wrongname client weak-client weak-server sha1-server notyet; do
        cat "$n.crt" int.crt > "$n.chain.pem"
    done
    cat rogue-client.crt > rogue-client.chain.pem
    cat int.crt ca.crt > cabundle.pem
    )
}
