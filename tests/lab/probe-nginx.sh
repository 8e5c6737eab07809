# tests/lab/probe-nginx.sh: one nginx TLS target in the lab's server namespace,
# for the probe comparisons (tests/lab/probe-compare.sh) and the probe benchmark
# (bench/probe/run.sh).  Source it after tests/lab/lib.sh, lab_up and pki_make.
#
#   pnginx_start PORT LOGFILE [nginx ssl directives]
#       writes $LAB_TMP/nginx/nginx.conf (server.lab.test on $LAB_S4:PORT, the
#       lab's server chain, `return 200 "ok\n"`), starts nginx in the server
#       namespace and waits until PORT listens.  PNGINX_ERROR_LOG sets the
#       error_log level (default info), PNGINX_CONNS worker_connections (256).
#   pnginx_stop
#       stops it (a no-op when it is not running).
#   pnginx_lab_cleanup
#       pnginx_stop then lab_down: an EXIT trap for the scripts above.
PNGINX_PID=

pnginx_start() {
    local port=$1 out=$2 tls=${3:-} d=$LAB_TMP/nginx p=$LAB_TMP/pki
    mkdir -p "$d"
    cat > "$d/nginx.conf" <<NGX
user root;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log ${PNGINX_ERROR_LOG:-info};
events { worker_connections ${PNGINX_CONNS:-256}; }
http {
    access_log off;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    server {
        listen $LAB_S4:$port ssl;
        server_name server.lab.test;
        ssl_certificate $p/server.chain.pem;
        ssl_certificate_key $p/server.key;
$tls
        location / { return 200 "ok\n"; }
    }
}
NGX
    ip netns exec "$LAB_S" nginx -e "$d/error.log" -c "$d/nginx.conf" \
        -g 'daemon off;' </dev/null >"$out" 2>&1 &
    PNGINX_PID=$!
    wait_listen "$LAB_S" "$port"
}

pnginx_stop() {
    if [ -n "$PNGINX_PID" ]; then
        kill "$PNGINX_PID" 2>/dev/null
        wait "$PNGINX_PID" 2>/dev/null
        PNGINX_PID=
    fi
    return 0
}

pnginx_lab_cleanup() {
    pnginx_stop
    lab_down
}
