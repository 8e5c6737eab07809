#!/bin/sh
# Command-line behaviour: exit codes, errors that name the file and offset,
# partial results on truncated input, stdin, gzip, filters, --help.
set -u
T=${1:-build/tlsdiag}
D=tests/data/lab
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check NAME EXPECTED-EXIT COMMAND...
    name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL $name: exit $got, want $want"; sed 's/^/    /' "$tmp/err" | head -5
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}
has() { # has NAME FILE PATTERN
    if grep -q -- "$3" "$2"; then echo "ok   $1"; else echo "FAIL $1: no '$3' in $2"; fails=$((fails + 1)); fi
}

check "no arguments is a usage error" 2 "$T"
check "unknown command" 2 "$T" frobnicate
check "read without files" 2 "$T" read
check "missing file" 3 "$T" read /nonexistent/x.pcap
printf 'this is not a capture at all\n' >"$tmp/bad.pcap"
check "not a capture" 3 "$T" read "$tmp/bad.pcap"
has "bad magic names the file" "$tmp/err" "bad.pcap"
# truncated mid-packet: the connections before the cut are still reported
size=$(wc -c <"$D/ok_tls12_full.pcap")
head -c $((size - 40)) "$D/ok_tls12_full.pcap" >"$tmp/trunc.pcap"
check "truncated capture" 4 "$T" read --json "$tmp/trunc.pcap"
has "truncation names file and offset" "$tmp/err" "trunc.pcap: offset [0-9]*:"
has "partial results printed" "$tmp/out" '"server":{"ip":"10.77.2.2"'
# two captures of the same traffic read together (a copy 2 ms later, as a
# server-side capture would be): each cites its own earlier attempt, not
# the other file's
python3 - "$D/fail_version_fallback.pcap" "$tmp/serverside.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
ns = struct.unpack('<I', d[:4])[0] == 0xa1b23c4d
out, i = bytearray(d[:24]), 24
while i + 16 <= len(d):
    sec, frac, cap, orig = struct.unpack('<IIII', d[i:i + 16])
    frac += 2000000 if ns else 2000
    if frac >= (10**9 if ns else 10**6):
        sec, frac = sec + 1, frac - (10**9 if ns else 10**6)
    out += struct.pack('<IIII', sec, frac, cap, orig) + d[i + 16:i + 16 + cap]
    i += 16 + cap
open(sys.argv[2], 'wb').write(out)
PY
check "two captures of the same traffic" 0 "$T" read "$tmp/serverside.pcap" "$D/fail_version_fallback.pcap"
if grep -q "of serverside.pcap\|of fail_version_fallback.pcap" "$tmp/out"; then
    echo "FAIL two captures of the same traffic: one cites the other's connection"; fails=$((fails + 1))
else
    echo "ok   two captures of the same traffic: each cites its own"
fi
has "two captures of the same traffic: fallback found" "$tmp/out" "earlier attempt: connection #2 ClientHello TLS 1.2 failed"
# a pasted dump's certificate is judged now, not at the synthetic packets'
# clock (which starts in 1970: every certificate was "not valid before")
check "decode: s_client dump with a certificate" 0 "$T" decode tests/data/decode/s_client_tls12_bad_certificate.txt
has "decode: the client's alert is the cause" "$tmp/out" "server_cert_rejected"
if grep -q "not valid before" "$tmp/out"; then echo "FAIL decode: certificate judged at the synthetic clock"; fails=$((fails + 1)); else echo "ok   decode: certificate judged now"; fi
# TLS 1.2 at most, refused with protocol_version before any ServerHello: the
# server requires TLS 1.3 (it said "an old server limited to TLS 1.0/1.1")
check "decode: TLS 1.2 client to a TLS 1.3-only server" 0 "$T" decode tests/data/decode/s_client_tls12_to_tls13_only.txt
has "decode: TLS 1.3-only server named" "$tmp/out" "likely requires TLS 1.3"
if grep -q "limited to TLS 1.0/1.1" "$tmp/out"; then echo "FAIL decode: TLS 1.3-only server called old"; fails=$((fails + 1)); else echo "ok   decode: TLS 1.3-only server not called old"; fi
# decode: an InnerContent block that is not 1 byte is not copied into the
# rebuilt record (it made a bogus non-TLS record); a body shorter than its
# header before any ChangeCipherSpec is a paste that lost a line, not a
# decrypted record (it gave "ok" and hid the cut)
printf '<<< TLS 1.2, RecordHeader [length 0005]\n    17 03 03 00 20\n<<< TLS 1.3, InnerContent [length 0002]\n    16 16\n<<< TLS 1.3, Handshake [length 0004], Finished\n    14 00 00 00\n' >"$tmp/inner2.txt"
check "decode: 2-byte InnerContent" 0 "$T" decode "$tmp/inner2.txt"
if grep -q "not_tls_bytes" "$tmp/out" "$tmp/err"; then echo "FAIL decode: 2-byte InnerContent made non-TLS bytes"; fails=$((fails + 1)); else echo "ok   decode: 2-byte InnerContent copied once"; fi
sed '5d' tests/data/decode/msg12_ok.txt >"$tmp/cut12.txt"
"$T" decode "$tmp/cut12.txt" >"$tmp/out" 2>&1
has "decode: a paste that lost a line says so" "$tmp/out" "length_mismatch"
if grep -q "^  ok" "$tmp/out"; then echo "FAIL decode: a cut ClientHello read as decrypted, ok"; fails=$((fails + 1)); else echo "ok   decode: a cut ClientHello is not ok"; fi
# cut right after the ClientHello: the capture stopped, the server is not
# to blame (was: failed server_silent, error, by server)
head -c 1000 "$D/ok_tls12_full.pcap" >"$tmp/cut_ch.pcap"
check "cut after the ClientHello" 4 "$T" read --json "$tmp/cut_ch.pcap"
has "cut after the ClientHello: incomplete" "$tmp/out" '"outcome":"incomplete"'
has "cut after the ClientHello: capture_incomplete" "$tmp/out" '"code":"capture_incomplete"'
if grep -q server_silent "$tmp/out"; then echo "FAIL cut after the ClientHello: server blamed"; fails=$((fails + 1)); else echo "ok   cut after the ClientHello: server not blamed"; fi
check "stdin" 0 sh -c "\"$T\" read --json - < $D/fail_ssl3_hello.pcap"
has "stdin verdict" "$tmp/out" '"code":"protocol_version"'
check "gzip" 0 "$T" read --json "$D/gzip_tls12.pcap.gz"
has "gzip verdict" "$tmp/out" '"outcome":"ok"'
# gzip'd captures that go bad part way: the packets inflated before the
# damage are read and reported, then exit 4 naming the file and the offset
# in the decompressed data (zlib's gzread dropped all it had inflated in the
# call that met the error, up to 1 MiB: these lost every packet, exit 3)
python3 - "$D/gzip_tls12.pcap.gz" "$tmp" <<'PY'
import subprocess, sys, zlib
src, tmp = sys.argv[1], sys.argv[2]
d = bytearray(open(src, "rb").read())
d[-8] ^= 1  # the CRC-32 in the gzip trailer
open(tmp + "/gz_crc.pcap.gz", "wb").write(d)
# 40 connections of 3 packets each; records cut at connection 20
cap = subprocess.run([sys.executable, "tools/hostile-capture.py", "hellos", "40"], check=True,
                     stdout=subprocess.PIPE).stdout
off, n = 24, 0
while n < 60:
    off += 16 + int.from_bytes(cap[off + 8:off + 12], "little")
    n += 1
z = zlib.compressobj(6, zlib.DEFLATED, 31)
whole = z.compress(cap) + z.flush()
open(tmp + "/gz_trunc.pcap.gz", "wb").write(whole[:len(whole) // 2])
# corrupt deflate data: after the first 20 connections a block of the
# reserved type 3 (header bits 0,11: 0x06); the rest as it was
z = zlib.compressobj(6, zlib.DEFLATED, 31)
head = z.compress(cap[:off]) + z.flush(zlib.Z_FULL_FLUSH)
open(tmp + "/gz_bad.pcap.gz", "wb").write(head + b"\x06" + z.compress(cap[off:]) + z.flush())
open(tmp + "/gz_bad.off", "w").write(str(off))
PY
check "gzip with a bad CRC" 4 "$T" read --json "$tmp/gz_crc.pcap.gz"
has "bad CRC: the connection is reported" "$tmp/out" '"outcome":"ok"'
has "bad CRC: file, decompressed offset, cause" "$tmp/err" "gz_crc.pcap.gz: offset 9767 of the decompressed data: corrupt gzip data: incorrect data check"
check "gzip with a bad CRC on stdin, -j 2" 4 sh -c "\"$T\" read -j 2 --json - < \"$tmp/gz_crc.pcap.gz\""
has "bad CRC, stdin -j 2: the connection is reported" "$tmp/out" '"outcome":"ok"'
has "bad CRC, stdin -j 2: named" "$tmp/err" "^tlsdiag: -: offset 9767 of the decompressed data: corrupt gzip"
check "gzip truncated in the middle" 4 "$T" read -q "$tmp/gz_trunc.pcap.gz"
has "gzip truncated: the connections before the cut" "$tmp/out" "Summary: [1-9][0-9]* TLS connections"
has "gzip truncated: file, decompressed offset, cause" "$tmp/err" "gz_trunc.pcap.gz: offset [0-9]* of the decompressed data: gzip data truncated"
check "gzip with corrupt deflate data" 4 "$T" read -q "$tmp/gz_bad.pcap.gz"
has "corrupt deflate: the 20 connections before it" "$tmp/out" "Summary: 20 TLS connections: 0 ok, 20 failed"
has "corrupt deflate: file, decompressed offset, cause" "$tmp/err" "gz_bad.pcap.gz: offset $(cat "$tmp/gz_bad.off") of the decompressed data: corrupt gzip data: invalid block type"
check "BPF filter keeps" 0 "$T" read --json "$D/fail_ssl3_hello.pcap" tcp port 8443
has "filter keeps the connection" "$tmp/out" '"outcome":"failed"'
check "BPF filter drops" 0 "$T" read --json "$D/fail_ssl3_hello.pcap" 'tcp port 9'
if [ -s "$tmp/out" ]; then echo "FAIL filter should drop everything"; fails=$((fails + 1)); else echo "ok   filter drops"; fi
check "bad filter is a usage error" 2 "$T" read "$D/fail_ssl3_hello.pcap" 'port port'
check "--fail exits 1 on failures" 1 "$T" read --fail "$D/fail_ssl3_hello.pcap"
check "--fail exits 0 when all ok" 0 "$T" read --fail "$D/ok_tls12_full.pcap"
check "--help" 0 "$T" read --help
has "--help lists --json" "$tmp/out" "--json"
check "no colour when not a terminal" 0 "$T" read "$D/fail_ssl3_hello.pcap"
if grep -q "$(printf '\033')" "$tmp/out"; then echo "FAIL colour in a pipe"; fails=$((fails + 1)); else echo "ok   no colour in a pipe"; fi
# summary "causes" counts failed connections only (not the incomplete server-side one)
check "summary causes" 0 "$T" read -q "$D/fail_sni_reset_serverside.pcap" "$D/fail_port_closed.pcap" "$D/ok_tls13_full.pcap"
has "summary: 1 failed, 1 incomplete" "$tmp/out" "1 ok, 1 failed, 1 incomplete"
has "summary: causes of failed only" "$tmp/out" "^  causes: tcp_refused 1\$"
# every option in --help is in the man page, and the other way round
"$T" read --help | grep -o -- '--[a-z][a-z-]*' | sort -u >"$tmp/help-opts"
sed -n '/^\.SH OPTIONS/,/^\.SH /p' docs/tlsdiag.1 | sed 's/\\-/-/g' | grep '^\.[TB]' -A1 | grep -o -- '--[a-z][a-z-]*' | sort -u >"$tmp/man-opts"
if diff "$tmp/help-opts" "$tmp/man-opts" >"$tmp/d"; then echo "ok   --help and man page agree"; else echo "FAIL --help and man page differ:"; cat "$tmp/d"; fails=$((fails + 1)); fi
"$T" probe --help | grep -o -- '--[a-z][a-z-]*' | sort -u >"$tmp/help-opts"
sed -n '/^\.SH PROBE OPTIONS/,/^\.SH OUTPUT/p' docs/tlsdiag.1 | sed 's/\\-/-/g' | grep '^\.[TB]' -A1 | grep -o -- '--[a-z][a-z-]*' | sort -u >"$tmp/man-opts"
if diff "$tmp/help-opts" "$tmp/man-opts" >"$tmp/d"; then echo "ok   probe --help and man page agree"; else echo "FAIL probe --help and man page differ:"; cat "$tmp/d"; fails=$((fails + 1)); fi
check "probe without a target is a usage error" 2 "$T" probe
check "probe --starttls with an unknown protocol is a usage error" 2 "$T" probe --starttls gopher localhost:25
check "probe --starttls to a closed port names the plaintext failure" 1 "$T" probe --json --starttls smtp --connect-timeout 500 127.0.0.1:9
has "starttls connect failure" "$tmp/out" '"failure":"starttls_connect_failed"'
check "probe of a closed port finds problems" 1 "$T" probe --json --no-ciphers --connect-timeout 500 --read-timeout 500 127.0.0.1:9
has "closed port: tcp_refused" "$tmp/out" '"refusal":"tcp_refused"'
# JSON lines parse, and the fixed names are there
"$T" read --json "$D"/*.pcap >"$tmp/all.json" 2>/dev/null
python3 - "$tmp/all.json" <<'PY' || fails=$((fails + 1))
import json, sys
need = ["client", "server", "tls", "alerts", "outcome", "diagnoses", "timeline", "handshake"]
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    for k in need:
        assert k in o, k
    for k in ["version", "version_protocol", "cipher", "curve", "established", "resumed", "next_protocol", "client"]:
        assert k in o["tls"], k
    n += 1
assert n > 40, n
print(f"ok   {n} JSON lines parse with the fixed names")
PY
# decode: the field guide's two dumps, and prose
check "decode SSL 3.0 dump" 0 "$T" decode --json tests/data/decode/seed_ssl3.txt
has "decode: protocol_version" "$tmp/out" '"outcome":"failed","handshake":null,"diagnoses":\[{"code":"protocol_version"'
check "decode DHE-only dump" 0 "$T" decode --json tests/data/decode/seed_dhe_only.txt
has "decode: no_shared_cipher" "$tmp/out" '"diagnoses":\[{"code":"no_shared_cipher"'
# decode: real OpenSSL 3.0 -msg dumps (TLS 1.3, and TLS 1.2 past the CCS)
# print decrypted messages: read them as a decrypted capture, never not_tls
check "decode TLS 1.3 -msg ok" 0 "$T" decode --json tests/data/decode/msg13_ok.txt
has "decode: TLS 1.3 -msg ok" "$tmp/out" '"outcome":"ok","handshake":{"kind":"full"'
check "decode TLS 1.2 -msg ok" 0 "$T" decode --json tests/data/decode/msg12_ok.txt
has "decode: TLS 1.2 -msg ok" "$tmp/out" '"outcome":"ok","handshake":{"kind":"full"'
check "decode TLS 1.3 certificate_required" 0 "$T" decode --json tests/data/decode/msg13_cert_required.txt
has "decode: client_cert_missing" "$tmp/out" '"outcome":"failed","handshake":null,"diagnoses":\[{"code":"client_cert_missing"'
check "decode TLS 1.3 unknown_ca" 0 "$T" decode --json tests/data/decode/msg13_unknown_ca.txt
has "decode: server_cert_rejected unknown_ca" "$tmp/out" '"handshake":null,"diagnoses":\[{"code":"server_cert_rejected"'
has "decode: unknown_ca alert read" "$tmp/out" '"from":"client","level":"fatal","code":48,"description":"unknown_ca","encrypted":true,"decrypted":true'
check "decode TLS 1.3 bad_certificate" 0 "$T" decode --json tests/data/decode/msg13_bad_certificate.txt
has "decode: server_cert_rejected bad_certificate" "$tmp/out" '"handshake":null,"diagnoses":\[{"code":"server_cert_rejected"'
check "decode -msg with colour escapes" 0 "$T" decode --json tests/data/decode/msg12_ansi.txt
has "decode: colours stripped" "$tmp/out" '"diagnoses":\[{"code":"client_cert_missing"'
check "decode error line" 0 sh -c "echo 'error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:s3_pkt.c:1493:SSL alert number 40' | \"$T\" decode --json -"
has "decode: alert 40 raised by the peer" "$tmp/out" '"raised_by":"peer"'
has "decode: contract-shaped diagnoses" "$tmp/out" '"diagnoses":\[{"code":"no_shared_cipher","severity":"error"'
check "decode prose is not recognised" 3 sh -c "echo 'the weather is nice today' | \"$T\" decode -"
has "decode: says not recognised" "$tmp/out" "not recognised"
# hostile input (issue 5): peer bytes never reach the terminal raw
check "SNI with control bytes" 0 "$T" read -t tests/fuzz/regress/pipeline/sni_control_bytes_in_text.pcap
if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037]')" "$tmp/out"; then echo "FAIL raw control bytes in text output"; fails=$((fails + 1)); else echo "ok   control bytes escaped in text"; fi
has "SNI control byte shown as \\x04" "$tmp/out" 'servU\\x04\*lab'
# bad and hostile input files (tools/hostile-capture.py): each gives a clear
# error naming file and offset and the documented exit code, and what was
# read before the damage is still reported
H="python3 tools/hostile-capture.py"
$H badmagic >"$tmp/h_magic.pcap"
check "wrong magic" 3 "$T" read "$tmp/h_magic.pcap"
has "wrong magic: file, offset, magic" "$tmp/err" "h_magic.pcap: offset 0: not a pcap or pcapng file (magic 0x00010203)"
$H ngblock >"$tmp/h_ngblock.pcapng"
check "corrupt pcapng block length" 4 "$T" read "$tmp/h_ngblock.pcapng"
has "block length: file and offset" "$tmp/err" "h_ngblock.pcapng: offset 52: bad block total length 7"
$H jumbo >"$tmp/h_jumbo.pcap"
check "jumbo packet record" 4 "$T" read --json "$tmp/h_jumbo.pcap"
has "jumbo: file and offset" "$tmp/err" "h_jumbo.pcap: offset 136: packet of 300000 captured bytes exceeds the cap"
has "jumbo: packets before it reported" "$tmp/out" '"server":{"ip":"10.77.0.1"'
# each flow expires alone: an ended connection closes once past its 2 s
# linger although an older open flow is quiet, so a FIN 6 s later is a flow
# of its own, teardown only, hence partial (before: it joined the ended one)
$H latefin >"$tmp/latefin.pcap"
check "late FIN after the linger" 0 "$T" read -a --json "$tmp/latefin.pcap"
has "late FIN: the ended connection ends at its own FINs" "$tmp/out" '"first_frame":2,"last_frame":6,'
has "late FIN: a flow of its own, partial" "$tmp/out" '"first_frame":8,"last_frame":8,.*"outcome":"partial"'
check "late FIN, -j 2" 0 "$T" read -j 2 -a --json "$tmp/latefin.pcap"
has "late FIN, -j 2: the same flows" "$tmp/out" '"first_frame":8,"last_frame":8,.*"outcome":"partial"'
# the summary counts every failing server: 100 fail once, then one fails
# 5 times; counting only the first 64 names seen, it was not listed at all
$H servers 100 5 >"$tmp/servers.pcap"
check "101 failing servers" 0 "$T" read -q "$tmp/servers.pcap"
has "101 failing servers: the one failing most first" "$tmp/out" "failing servers: 10.201.0.1:443 (5) 10.200.0.0:443 (1) "
check "101 failing servers, -j 2 --json" 0 "$T" read -j 2 -q --json "$tmp/servers.pcap"
has "101 failing servers, JSON: the one failing most first" "$tmp/out" '"failing_servers":\[{"name":"10.201.0.1:443","connections":5},{"name":"10.200.0.0:443","connections":1}'
$H truncated >"$tmp/h_trunc.pcap"
check "truncated mid-packet" 4 "$T" read --json "$tmp/h_trunc.pcap"
has "truncated: file and offset" "$tmp/err" "h_trunc.pcap: offset 192: truncated packet record"
# -j 2 reads the file in every worker: the same error, named once
check "truncated mid-packet, -j 2" 4 "$T" read -j 2 --json "$tmp/h_trunc.pcap"
has "truncated, -j 2: file and offset" "$tmp/err" "h_trunc.pcap: offset 192: truncated packet record"
if [ "$(grep -c 'truncated packet record' "$tmp/err")" = 1 ]; then echo "ok   truncated, -j 2: said once"; else echo "FAIL truncated, -j 2: said $(grep -c 'truncated packet record' "$tmp/err") times"; fails=$((fails + 1)); fi
has "truncated: partial results" "$tmp/out" '"outcome":"incomplete"'
# -j by default: the usable CPUs, at most 4, for a regular uncompressed file;
# one for stdin and gzip, and under an affinity of one CPU.  The output is
# the same (tests/jobs.sh); TLSDIAG_THREAD_TIMES=1 names each worker.
f1=$(ls $D/*.pcap | head -1)
nw() { TLSDIAG_THREAD_TIMES=1 "$@" >/dev/null 2>"$tmp/err"; grep -o ', worker ' "$tmp/err" | wc -l | tr -d ' '; }
want=$(nproc)
[ "$want" -gt 4 ] && want=4
[ "$want" -lt 2 ] && want=0
got=$(nw "$T" read -q "$f1")
if [ "$got" = "$want" ]; then echo "ok   default -j on a file: $want workers on $(nproc) CPUs"; else echo "FAIL default -j on a file: $got workers, want $want"; fails=$((fails + 1)); fi
for how in "stdin" "-j 1" "taskset -c 0"; do
    case $how in
    stdin) got=$(nw sh -c '"$0" read -q - < "$1"' "$T" "$f1") ;;
    "-j 1") got=$(nw "$T" read -q -j 1 "$f1") ;;
    *) if command -v taskset >/dev/null; then got=$(nw taskset -c 0 "$T" read -q "$f1"); else got=0; fi ;;
    esac
    if [ "$got" = 0 ]; then echo "ok   one engine: $how"; else echo "FAIL $how: $got workers, want one engine"; fails=$((fails + 1)); fi
done
got=$(nw "$T" read -q -j 40 "$f1")
if [ "$got" = 16 ]; then echo "ok   -j 40 uses 16 workers (the partitions)"; else echo "FAIL -j 40: $got workers, want 16"; fails=$((fails + 1)); fi
got=$(nw "$T" read -q -j 8 --max-flows 3 "$f1")
if [ "$got" = 3 ]; then echo "ok   -j 8 --max-flows 3 uses 3 workers"; else echo "FAIL -j 8 --max-flows 3: $got workers, want 3"; fails=$((fails + 1)); fi
# a partition's share of --max-memory holds the largest flow the other caps
# allow: 192 MiB over 2 x (1 MiB + 16 MiB + 128 KiB + 16 x 64 KiB) is 5
got=$(nw "$T" read -q -j 16 --max-handshake 16777216 "$f1")
if [ "$got" = 5 ]; then echo "ok   -j 16 --max-handshake 16 MiB uses 5 workers"; else echo "FAIL -j 16 --max-handshake 16 MiB: $got workers, want 5"; fails=$((fails + 1)); fi
got=$(nw "$T" read -q -j 4 --max-memory 1 "$f1")
if [ "$got" = 0 ]; then echo "ok   -j 4 --max-memory 1: one engine"; else echo "FAIL -j 4 --max-memory 1: $got workers, want one engine"; fails=$((fails + 1)); fi
$H zero >"$tmp/h_zero.pcap"
check "zero-length packet record is read on" 0 "$T" read "$tmp/h_zero.pcap"
has "zero-length: counted as malformed" "$tmp/out" "malformed packets 1"
$H backwards >"$tmp/h_back.pcap"
check "timestamps going backwards are read" 0 "$T" read --json "$tmp/h_back.pcap"
has "backwards: connection reported" "$tmp/out" '"server":{"ip":"10.77.0.1"'
$H linktype >"$tmp/h_link.pcap"
check "unknown link type" 3 "$T" read "$tmp/h_link.pcap"
has "link type: file, offset, type" "$tmp/err" "h_link.pcap: offset 24: link type 147 is not decoded (4 of 4 packets skipped)"
# caps: a ClientHello claiming 16 MiB, too many flows, too much memory
$H bighs >"$tmp/h_bighs.pcap"
check "16 MiB handshake message" 0 "$T" read -t "$tmp/h_bighs.pcap"
has "16 MiB: the cap is named in the diagnosis" "$tmp/out" "tlsdiag's own limit (limit_handshake_message)"
has "16 MiB: the cap is in the summary" "$tmp/out" "limits hit (connections): limit_handshake_message 1"
check "16 MiB handshake message, JSON" 0 "$T" read --json "$tmp/h_bighs.pcap"
has "16 MiB: JSON anomaly" "$tmp/out" '"anomalies":\[{"code":"limit_handshake_message"'
# the correlation store's cap (262,144 records within its window): the
# summary names what it dropped; below the cap there is no such line
check "correlation store over its cap" 0 sh -c "$H hellos 263000 | \"$T\" read -q -"
has "correlation store: evictions in the summary" "$tmp/out" "correlation store full: 856 fallback records and 0 server keys dropped"
check "correlation store under its cap" 0 sh -c "$H hellos 2000 | \"$T\" read -q -"
if grep -q "correlation store full" "$tmp/out"; then echo "FAIL correlation store line without evictions"; fails=$((fails + 1)); else echo "ok   no correlation store line below the cap"; fi
# one client retrying one server 40,000 times: a fallback lookup walks at
# most the newest 256 records of that pair (before, every lookup walked all
# of them: quadratic), and the summary says how many it no longer looks at
check "one client's retry storm" 0 sh -c "$H hellos 40000 1 | \"$T\" read -q -"
has "retry storm: records past 256 per pair counted" "$tmp/out" "correlation store: 39744 fallback records not looked at"
# 100,000 IPv6 flows whose keys all collide under the flow hash without its
# per-process key: with the key they spread (about 2 s under ASan); without
# it every lookup walked one chain of all of them (20,000 took 2.3 s in a
# release build, 100,000 about a minute; minutes under ASan).  A hang check
# with a wide margin, not a speed test.
check "crafted flow-hash collisions are not a hang" 0 sh -c "$H hashflood 100000 | timeout 60 \"$T\" read -q -"
has "hash flood: every flow read" "$tmp/out" "TCP flows 100000"
# -q --json: the summary alone, one JSON line, the same counts as the text
check "read -q --json prints the summary as JSON" 0 "$T" read -q --json "$D/fail_alpn_refused.pcap" "$D/ok_tls12_full.pcap"
if [ "$(wc -l < "$tmp/out")" = 1 ] && python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
assert (s["connections"], s["ok"], s["failed"]) == (2, 1, 1), s
assert s["causes"] == {"alpn_mismatch": 1}, s
assert s["failing_servers"][0]["connections"] == 1, s
' "$tmp/out"; then echo "ok   summary JSON: one line, counts and causes"; else echo "FAIL summary JSON"; cat "$tmp/out"; fails=$((fails + 1)); fi
# a mid-stream flow of 60,000 one-byte segments that are never TLS: the
# resynchronisation goes on from where it stopped (it rescanned its whole
# window for every byte: 20,000 took 12 s in a release build).  Hang check.
check "mid-stream resync a byte at a time is not a hang" 0 sh -c "$H dribble 60000 | timeout 60 \"$T\" read -q -"
has "dribble: read to the end" "$tmp/out" "packets 60000, TCP flows 1"
# an SNI extension that names nothing is shown as such, not as a gap
check "empty SNI in the header and timeline" 0 "$T" read -t "$D/fail_malformed_hello.pcap"
has "empty SNI: header" "$tmp/out" "SNI (empty)  frames"
has "empty SNI: timeline" "$tmp/out" "2 cipher suites, SNI (empty)"
check "empty SNI in the summary" 0 "$T" read -q "$D/fail_malformed_hello.pcap"
has "empty SNI: summary" "$tmp/out" "failing SNIs: (empty) (1)"
$H tinyrec >"$tmp/h_tiny.pcap"
check "ClientHello in 1-byte records" 0 "$T" read -t "$tmp/h_tiny.pcap"
has "1-byte records: the hello is read" "$tmp/out" "ClientHello TLS 1.2, 1 cipher suites"
check "--max-records" 0 "$T" read -t --max-records 20 "$tmp/h_tiny.pcap"
has "--max-records: cap named" "$tmp/out" "limits hit (connections): limit_records 1"
check "--max-certs" 0 "$T" read --max-certs 1 "$D/ok_tls12_full.pcap"
has "--max-certs: cap named" "$tmp/out" "limits hit (connections): limit_certificates 1"
check "--max-certs above the compiled cap" 2 "$T" read --max-certs 17 "$D/ok_tls12_full.pcap"
check "--max-extensions" 0 "$T" read --max-extensions 3 "$D/ok_tls12_full.pcap"
has "--max-extensions: cap in the summary" "$tmp/out" "limits hit (connections): limit_extensions 1;"
check "--max-extensions, JSON" 0 "$T" read --json --max-extensions 3 "$D/ok_tls12_full.pcap"
has "--max-extensions: JSON anomaly at the 4th type" "$tmp/out" '"anomalies":\[{"code":"limit_extensions","offset":149}'
has "--max-extensions: JA4 made from the kept list (documented)" "$tmp/out" '"ja4":"t12d2803'
check "--max-extensions above the compiled cap" 2 "$T" read --max-extensions 129 "$D/ok_tls12_full.pcap"
has "--max-extensions: the maximum is named" "$tmp/err" "from 1 to 128"
check "--max-extensions default: no cap hit" 0 "$T" read "$D/ok_tls12_full.pcap"
if grep -q limit_extensions "$tmp/out"; then echo "FAIL default --max-extensions hits"; fails=$((fails + 1)); else echo "ok   default --max-extensions is not hit"; fi
check "--max-anomalies" 0 "$T" read --json --max-anomalies 1 "$D/capture_snaplen.pcap"
has "--max-anomalies: one kept, then the cut" "$tmp/out" '"anomalies":\[{"code":"tcp_gap","offset":134},{"code":"limit_anomalies","offset":134}\],"anomalies_total":2,'
check "--max-anomalies, summary" 0 "$T" read --max-anomalies 1 "$D/capture_snaplen.pcap"
has "--max-anomalies: cap in the summary" "$tmp/out" "limits hit (connections): limit_anomalies 1;"
has "--max-anomalies: counted in the stats" "$tmp/out" "limits hit 1"
check "--max-anomalies above the compiled cap" 2 "$T" read --max-anomalies 17 "$D/capture_snaplen.pcap"
has "--max-anomalies: the maximum is named" "$tmp/err" "from 1 to 16"
$H flows 3000 >"$tmp/h_flows.pcap"
check "--max-flows evicts" 0 "$T" read --max-flows 100 "$tmp/h_flows.pcap"
has "--max-flows: evictions in the summary" "$tmp/out" "flows evicted 2900 (--max-flows 2900, --max-memory 0)"
has "--max-flows: cap named" "$tmp/out" "limit_flows 2900"
# the eviction's timeline event is at the connection's last packet (frame 2
# of the first flow), not frame 0 at a negative time
check "--max-flows evicts, timelines" 0 "$T" read --max-flows 100 -a -t --color never "$tmp/h_flows.pcap"
has "--max-flows: the limit event at the flow's last packet" "$tmp/out" "^         2   0.000001  C>S  tlsdiag's own limit reached: limit_flows"
if grep -q "^ *0 *-" "$tmp/out"; then echo "FAIL an event at frame 0, before the capture"; fails=$((fails + 1)); else echo "ok   no event at frame 0"; fi
check "--max-memory evicts" 0 "$T" read --max-memory 1 "$tmp/h_flows.pcap"
has "--max-memory: evictions in the summary" "$tmp/out" "flows evicted [0-9]* (--max-flows 0, --max-memory [1-9]"
has "--max-memory: cap named" "$tmp/out" "limit_memory [1-9]"
check "--max-memory 0 is a usage error" 2 "$T" read --max-memory 0 "$tmp/h_flows.pcap"
# text fits a screen: off a terminal the text is laid out in 100 columns
# (--width N for another; 0 for none).  Over every lab capture no line of
# `read` passes the width unless it is one word that cannot be cut (a long
# name) after its indent, and the wrapped text holds the same words in the
# same order as the unwrapped (nothing dropped), which keeps each item on
# one line.  Before, 157 lines of 89 captures passed 100, up to 438.
long_lines() { # long_lines WIDTH FILE: lines past WIDTH with more than one word
    awk -v w="$1" 'length($0) > w { s = $0; sub(/^ +/, "", s); if (index(s, " ")) print }' "$2"
}
wbad=0 wsame=0 nl=0
for f in "$D"/*.pcap; do
    for wd in 100 60; do
        if [ $wd = 100 ]; then "$T" read "$f" >"$tmp/w" 2>/dev/null; else "$T" read -a -t --width 60 "$f" >"$tmp/w" 2>/dev/null; fi
        long_lines $wd "$tmp/w" >"$tmp/wl"
        if [ -s "$tmp/wl" ]; then
            echo "FAIL width $wd: $(basename "$f"): $(wc -l <"$tmp/wl") line(s) past it:"; head -2 "$tmp/wl"
            wbad=$((wbad + 1))
        fi
    done
    "$T" read "$f" 2>/dev/null | tr -s ' \n' '  ' >"$tmp/w1"
    "$T" read --width 0 "$f" 2>/dev/null | tr -s ' \n' '  ' >"$tmp/w0"
    if ! cmp -s "$tmp/w1" "$tmp/w0"; then
        [ $wsame -lt 3 ] && echo "FAIL $(basename "$f"): wrapped and --width 0 text differ in more than spaces"
        wsame=$((wsame + 1))
    fi
    nl=$((nl + 1))
done
if [ $wbad = 0 ]; then echo "ok   $nl captures: no text line past 100 columns (or 60 with --width 60 -a -t)"; else fails=$((fails + wbad)); fi
if [ $wsame = 0 ]; then echo "ok   $nl captures: wrapping drops nothing (the same words as --width 0)"; else fails=$((fails + wsame)); fi
check "--width 0: no wrapping" 0 "$T" read --width 0 "$D/fail_fallback_scsv.pcap"
has "--width 0: the why on one line" "$tmp/out" '^    why: The RST (frame 5) claims .* refused as inappropriate_fallback\.$'
if [ "$(awk 'length($0) > 300' "$tmp/out" | wc -l)" -ge 1 ]; then echo "ok   --width 0: lines as long as their text"; else echo "FAIL --width 0 wrapped"; fails=$((fails + 1)); fi
check "default width: the why wrapped" 0 "$T" read "$D/fail_fallback_scsv.pcap"
has "wrapped why: a hanging indent under its text" "$tmp/out" '^         SYN-ACK TTL 59\. A firewall'
check "--width 5 is a usage error" 2 "$T" read --width 5 "$D/fail_fallback_scsv.pcap"
check "--width x is a usage error" 2 "$T" read --width x "$D/fail_fallback_scsv.pcap"
check "decode wraps" 0 "$T" decode tests/data/decode/seed_ssl3.txt
long_lines 100 "$tmp/out" >"$tmp/wl"
if [ -s "$tmp/wl" ]; then echo "FAIL decode: lines past 100 columns:"; head -2 "$tmp/wl"; fails=$((fails + 1)); else echo "ok   decode: no line past 100 columns"; fi
check "decode --width 0" 0 "$T" decode --width 0 tests/data/decode/seed_ssl3.txt
if [ "$(awk 'length($0) > 200' "$tmp/out" | wc -l)" -ge 3 ]; then echo "ok   decode --width 0: not wrapped"; else echo "FAIL decode --width 0 wrapped"; fails=$((fails + 1)); fi
# the colour sequences take no columns: the same layout with and without
check "--color always --width 60" 0 "$T" read --color always --width 60 "$D/fail_fallback_scsv.pcap"
sed "s/$(printf '\033')\[[0-9;]*m//g" "$tmp/out" >"$tmp/wc"
"$T" read --color never --width 60 "$D/fail_fallback_scsv.pcap" >"$tmp/wn"
if cmp -s "$tmp/wc" "$tmp/wn"; then echo "ok   colour does not change the layout"; else echo "FAIL colour changes the layout"; diff "$tmp/wc" "$tmp/wn" | head -4; fails=$((fails + 1)); fi

# ---- fix/cli: command-line audit (one group per finding) -------------------
# 1. a word that looks like a path is a file even when missing: exit 3, not a
#    filter; an address prefix stays a filter
check "audit1: missing second file is a missing file" 3 "$T" read "$D/ok_tls12_full.pcap" /nonexistent.pcap
has "audit1: missing second file named" "$tmp/err" "/nonexistent.pcap: no such file"
check "audit1: missing x.pcap before a filter" 3 "$T" read "$D/ok_tls12_full.pcap" typo.pcap 'port 443'
has "audit1: typo.pcap named" "$tmp/err" "typo.pcap: no such file"
check "audit1: 10.0.0.0/8 after net stays a filter" 0 "$T" read -q "$D/ok_tls12_full.pcap" net 10.0.0.0/8
has "audit1: the man page states the path rule" docs/tlsdiag.1 "names no file but looks like a path"
# 2. decode: --json in the synopsis, its exit codes, the input cap, one input
sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' docs/tlsdiag.1 | sed 's/\\-/-/g' | grep -A1 '^\.B tlsdiag decode' >"$tmp/syn"
has "audit2: decode --json in the man synopsis" "$tmp/syn" "--json"
"$T" decode --help | grep -o -- '--[a-z][a-z-]*' | sort -u >"$tmp/help-opts"
sed -n '/^\.SH DECODE OPTIONS/,/^\.SH /p' docs/tlsdiag.1 | sed 's/\\-/-/g' | grep '^\.[TB]' -A1 | grep -o -- '--[a-z][a-z-]*' | sort -u >"$tmp/man-opts"
if [ -s "$tmp/help-opts" ] && diff "$tmp/help-opts" "$tmp/man-opts" >"$tmp/d"; then echo "ok   audit2: decode --help and man page agree"; else echo "FAIL audit2: decode --help and man page differ:"; cat "$tmp/d"; fails=$((fails + 1)); fi
sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' docs/tlsdiag.1 >"$tmp/exit"
has "audit2: EXIT STATUS covers decode's 3" "$tmp/exit" 'nothing in the text was'
{ echo 'error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:s3_pkt.c:1493:SSL alert number 40'
  head -c 1100000 /dev/zero | tr '\0' x; } >"$tmp/big.txt"
check "audit2: decode of 1.1 MB" 0 "$T" decode "$tmp/big.txt"
has "audit2: the cut is noted" "$tmp/out" "note: limit_input"
has "audit2: the cut is told on stderr" "$tmp/err" "only the first 1048576 were read"
check "audit2: decode with a second input is a usage error" 2 "$T" decode tests/data/decode/seed_ssl3.txt extra
check "audit2: decode of a missing file" 3 "$T" decode /nonexistent.txt
has "audit2: decode error has the tlsdiag: prefix" "$tmp/err" "^tlsdiag: /nonexistent.txt: "
# 3. an unreadable --ca-file is exit 3 in read and probe (probe: before any
#    connection), and probe's help says so
check "audit3: read --ca-file missing" 3 "$T" read --ca-file /nonexistent.pem "$D/ok_tls12_full.pcap"
check "audit3: probe --ca-file missing" 3 "$T" probe --ca-file /nonexistent.pem 127.0.0.1:9
check "audit3: probe --cert missing" 3 "$T" probe --cert /nonexistent.pem 127.0.0.1:9
"$T" probe --help >"$tmp/help"
has "audit3: probe --help: 3 for an unreadable --ca-file" "$tmp/help" "3 the host cannot be resolved or a FILE (--ca-file"
# 4. -j: 1 to 64 accepted, at most 16 used; --help and man say both
check "audit4: -j 64 is accepted" 0 "$T" read -q -j 64 "$D/ok_tls12_full.pcap"
check "audit4: -j 65 is a usage error" 2 "$T" read -q -j 65 "$D/ok_tls12_full.pcap"
"$T" read --help >"$tmp/help"
has "audit4: --help: -j 1 to 64, at most 16 used" "$tmp/help" "1 to 64; at most 16 are used"
has "audit4: man: -j 1 to 64, at most 16 used" docs/tlsdiag.1 "N from 1 to 64 is accepted, at most 16"
# 5. options of the other subcommand are usage errors naming it; live takes
#    no file; a bad filter is 2 in both (timeout: an old live would listen)
check "audit5: read -i" 2 "$T" read -i lo "$D/ok_tls12_full.pcap"
has "audit5: read -i names live" "$tmp/err" "tlsdiag read: -i is an option of 'tlsdiag live' only"
check "audit5: read -Z" 2 "$T" read -Z nobody "$D/ok_tls12_full.pcap"
check "audit5: live -j" 2 timeout 10 "$T" live -j 2 -i lo 'port 9'
has "audit5: live -j names read" "$tmp/err" "tlsdiag live: -j/--jobs is an option of 'tlsdiag read' only"
check "audit5: live with a file" 2 timeout 10 "$T" live -i lo "$D/ok_tls12_full.pcap"
has "audit5: live with a file: told" "$tmp/err" "live reads no files"
check "audit5: live bad filter is a usage error" 2 timeout 10 "$T" live -i lo 'port port'
"$T" live --help >"$tmp/help"
if grep -q -e '--jobs' -e '-j,' -e 'stdin' -e '^  FILE' "$tmp/help"; then echo "FAIL audit5: live --help lists read's FILE/-j"; fails=$((fails + 1)); else echo "ok   audit5: live --help lists no FILE or -j"; fi
grep -o -- '--[a-z][a-z-]*' "$tmp/help" | sort -u >"$tmp/help-opts"
sed -n '/^\.SH OPTIONS/,/^\.SH /p' docs/tlsdiag.1 | sed 's/\\-/-/g' | grep '^\.[TB]' -A1 | grep -o -- '--[a-z][a-z-]*' | sort -u >"$tmp/man-opts"
if [ -z "$(comm -23 "$tmp/help-opts" "$tmp/man-opts")" ]; then echo "ok   audit5: live --help options are in the man page"; else echo "FAIL audit5: live --help options not in the man page: $(comm -23 "$tmp/help-opts" "$tmp/man-opts")"; fails=$((fails + 1)); fi
# 6. the manual: make install puts it where man finds it; --help says how
"$T" --help >"$tmp/help"
has "audit6: --help names man -l docs/tlsdiag.1" "$tmp/help" "man -l docs/tlsdiag.1"
bdir=$(dirname "$T")
if [ "$bdir" = build ] || [ "$bdir" = build-san ]; then
    if make -s install DESTDIR="$tmp/inst" PREFIX=/usr BUILD="$bdir" >"$tmp/err" 2>&1 &&
        [ -x "$tmp/inst/usr/bin/tlsdiag" ] && [ -f "$tmp/inst/usr/share/man/man1/tlsdiag.1" ] &&
        { ! command -v man >/dev/null || MANPATH="$tmp/inst/usr/share/man" man -w tlsdiag >/dev/null 2>&1; }; then
        echo "ok   audit6: make install DESTDIR PREFIX: binary and man page"
    else echo "FAIL audit6: make install"; sed 's/^/    /' "$tmp/err" | head -5; fails=$((fails + 1)); fi
else echo "ok   audit6: make install not tried ($T is not this tree's build)"; fi
# 7. a valid header then part of a packet is 4 (corrupt), and limits.md says so
head -c 30 "$D/ok_tls12_full.pcap" >"$tmp/hdr_part.pcap"
check "audit7: header and a partial packet" 4 "$T" read "$tmp/hdr_part.pcap"
if tr '\n' ' ' <docs/limits.md | grep -q "valid header followed by only part of a packet"; then echo "ok   audit7: limits.md: 4 for a header and part of a packet"; else echo "FAIL audit7: limits.md"; fails=$((fails + 1)); fi
# 8. exit precedence: a failed handshake in a truncated file is 4 with --fail
check "audit8: --fail with a truncated file" 4 "$T" read --fail -q "$D/fail_ssl3_hello.pcap" "$tmp/hdr_part.pcap"
"$T" --help >"$tmp/help"
has "audit8: --help: the highest wins" "$tmp/help" "the highest wins"
has "audit8: man: the highest wins" "$tmp/exit" "the highest wins"
# 9. NO_COLOR= (empty) leaves colour on (no-color.org); --colour documented;
#    probe --help says one target
if python3 - "$T" "$D/fail_ssl3_hello.pcap" <<'PY'
import os, pty, subprocess, sys
def coloured(val):
    m, s = pty.openpty()
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    if val is not None:
        env["NO_COLOR"] = val
    p = subprocess.Popen([sys.argv[1], "read", sys.argv[2]], stdout=s, stderr=subprocess.DEVNULL, env=env)
    os.close(s)
    out = b""
    while True:
        try:
            d = os.read(m, 65536)
        except OSError:
            break
        if not d:
            break
        out += d
    p.wait()
    os.close(m)
    return b"\x1b[" in out
assert coloured(None), "no colour on a terminal"
assert coloured(""), "NO_COLOR= (empty) turned colour off"
assert not coloured("1"), "NO_COLOR=1 left colour on"
PY
then echo "ok   audit9: NO_COLOR only when non-empty"; else echo "FAIL audit9: NO_COLOR"; fails=$((fails + 1)); fi
"$T" read --help >"$tmp/help"
has "audit9: read --help documents --colour" "$tmp/help" "--colour"
"$T" probe --help >"$tmp/help"
if grep -q "per target" "$tmp/help"; then echo "FAIL audit9: probe --help says one JSON object per target"; fails=$((fails + 1)); else echo "ok   audit9: probe --help: one target"; fi
# ---- end fix/cli -------------------------------------------------------------
[ "$fails" = 0 ] || { echo "$fails CLI check(s) failed"; exit 1; }
