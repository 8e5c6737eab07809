#!/usr/bin/env python3
"""hostile-capture.py KIND [ARGS] > out.pcap: captures that attack the reader
and the engine's caps (issue 5).  Written as a stream, never held in memory,
so `tools/hostile-capture.py flows 10000000 | tlsdiag read -` measures the
tool, not this script.  Raw IPv4 (LINKTYPE_RAW), TCP checksums left zero.

  flows N        N distinct flows that never finish: a SYN and the first 64
                 bytes of a ClientHello record that claims 512 bytes, so each
                 flow holds a record buffer until it is evicted or closed
  hellos N [C]   N short connections to one server, each a SYN, a whole
                 ClientHello and a RST from the server, 1 ms apart, from C
                 client addresses (default N): over 262,144 is more than the
                 correlation store keeps within its window; C = 1 is one
                 client's retry storm
  servers N M    not hostile, but large: N servers each fail one connection
                 (a ClientHello answered by a RST), then one more server
                 fails M: the summary must count every name to put the last
                 server first (it once counted only the first 64 seen)
  hashflood N    N IPv6 flows (a SYN each) whose flow keys all have one hash
                 under tlsdiag's flow hash with a zero seed (what it was
                 before the seed): with an unseeded hash every lookup walks
                 one chain of all of them
  dribble N      a flow seen mid-stream (no SYN) whose client sends N bytes
                 that are never a TLS record, one byte per segment: the
                 resynchronisation window fills a byte at a time
  bighs          one flow whose ClientHello claims a 16 MiB handshake message
                 (u24 length 0xffffff), then 300 KB of it and a FIN
  tinyrec        a complete ClientHello cut into 1-byte handshake records
  backwards      packets whose timestamps go backwards (not an error)
  zero           a zero-length packet record between good ones
  jumbo          a packet record claiming 300000 captured bytes (> 256 KiB)
  linktype       a pcap with link type 147 (USER0), not decoded
  badmagic       eight bytes that are neither pcap nor pcapng
  ngblock        a pcapng file whose second block's length is corrupt
  truncated      a good handshake start cut in the middle of a packet
  latefin        not hostile, but odd: a quiet open flow, then a connection
                 to :443 that ends (FIN both ways), another flow's SYN 3 s
                 later, then a FIN of that client 6 s later; the ended
                 connection closes at the SYN, past its 2 s linger, although
                 the quiet flow is older, so the late FIN is a flow of its
                 own (teardown only: `partial`)
"""
import struct
import sys

out = sys.stdout.buffer


def pcap_header(link=101):
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, link))


def ip_tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, src, dst)
    return ip + tcp + payload


def rec(ts_us, data, caplen=None):
    n = len(data) if caplen is None else caplen
    out.write(struct.pack("<IIII", ts_us // 1000000, ts_us % 1000000, n, len(data)))
    out.write(data)


def client_hello_start(claim_hs, claim_rec, body_len):
    """A handshake record header claiming |claim_rec| bytes, a ClientHello
    header claiming |claim_hs|, then |body_len| bytes of a plausible body."""
    body = struct.pack(">H", 0x0303) + b"\x11" * 32 + b"\x00" + struct.pack(">H", 2) + b"\x13\x01" + b"\x01\x00"
    body = (body + b"\x00" * body_len)[:body_len]
    hs = bytes([1]) + claim_hs.to_bytes(3, "big") + body
    return bytes([22, 3, 1]) + struct.pack(">H", claim_rec) + hs


CLI = bytes([10, 66, 0, 1])
SRV = bytes([10, 77, 0, 1])


def flows(n):
    pcap_header()
    ch = client_hello_start(508, 512, 60)
    ts = 1700000000 * 1000000
    for i in range(n):
        src = bytes([10, 64 + (i >> 24 & 63), i >> 16 & 255, i >> 8 & 255])
        sport = 1024 + (i & 0xFFFF) % 64000
        dst = bytes([10, 200, (i & 255), 1])
        seq = (i * 2654435761) & 0xFFFFFFFF
        rec(ts, ip_tcp(src, dst, sport, 443, seq, 0, 0x02))
        rec(ts + 1, ip_tcp(src, dst, sport, 443, (seq + 1) & 0xFFFFFFFF, 1, 0x18, ch))
        ts += 2


HELLO = client_hello_start(43, 47, 43)  # a whole ClientHello, no extensions


def hello_reset(i, src, dst, ch=HELLO):
    """Connection |i| of a series, 1 ms apart: a SYN from |src| to |dst|:443,
    a whole ClientHello and a RST from the server."""
    ts = 1700000000 * 1000000 + i * 1000
    sport = 1024 + i % 64000
    seq = (i * 2654435761) & 0xFFFFFFFF
    rec(ts, ip_tcp(src, dst, sport, 443, seq, 0, 0x02))
    rec(ts + 1, ip_tcp(src, dst, sport, 443, (seq + 1) & 0xFFFFFFFF, 1, 0x18, ch))
    rec(ts + 2, ip_tcp(dst, src, 443, sport, 1, (seq + 1 + len(ch)) & 0xFFFFFFFF, 0x14))


def hellos(n, clients):
    pcap_header()
    for i in range(n):
        a = i % clients
        hello_reset(i, bytes([10, 64 + (a >> 16 & 63), a >> 8 & 255, a & 255]), SRV)


def servers(n, m):
    pcap_header()
    for i in range(n + m):
        hello_reset(i, CLI, bytes([10, 200, i >> 8 & 255, i & 255]) if i < n else bytes([10, 201, 0, 1]))


M64 = (1 << 64) - 1


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def rotr(x, r):
    return ((x >> r) | (x << (64 - r))) & M64


def ip6_tcp(src, dst, sport, dport, seq, ack, flags):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack(">IHBB", 6 << 28, len(tcp), 6, 64) + src + dst
    return ip + tcp


def hashflood(n):
    # td_hash_words5 (lib/util/hash.h), the flow table's hash, over the key's words w0..w4 (w1, w2:
    # the lower address, little-endian): with the other words fixed, w2 is
    # solved so that rotl(w1*C1, 13) ^ rotl(w2*C2, 27) stays the same
    c1, c2 = 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
    c2inv = pow(c2, -1, 1 << 64)
    target = rotl(0x20 * c1 & M64, 13)  # the value for w1 = 0x20, w2 = 0
    srv = bytes([0xFF, 0x02]) + bytes(13) + b"\x01"
    pcap_header()
    ts = 1700000000 * 1000000
    for i in range(n):
        w1 = 0x20 | (i + 1) << 8
        w2 = c2inv * rotr(target ^ rotl(w1 * c1 & M64, 13), 27) & M64
        src = struct.pack("<QQ", w1, w2)
        rec(ts, ip6_tcp(src, srv, 40000, 443, 1000, 0, 0x02))
        ts += 10


def dribble(n):
    pcap_header()
    ts = 1700000000 * 1000000
    seq = 1000
    for i in range(n):
        b = bytes([(i * 7) % 20])  # 0..19: never a record type
        rec(ts, ip_tcp(CLI, SRV, 40000, 443, seq, 5000, 0x18, b))
        seq += 1
        ts += 10


def latefin():
    pcap_header()
    ts = 1700000000 * 1000000
    cli2 = bytes([10, 77, 0, 3])
    rec(ts, ip_tcp(cli2, SRV, 41000, 8443, 1, 0, 0x02)); ts += 1000  # quiet, open
    ts = three_way(ts)
    seq, sseq = 1001, 5001
    rec(ts, ip_tcp(CLI, SRV, 40000, 443, seq, sseq, 0x11)); ts += 10
    rec(ts, ip_tcp(SRV, CLI, 443, 40000, sseq, seq + 1, 0x11)); ts += 10
    ts += 3 * 1000000  # another flow's packet: the clock moves past the linger
    rec(ts, ip_tcp(bytes([10, 77, 0, 4]), SRV, 42000, 8443, 1, 0, 0x02))
    ts += 3 * 1000000
    rec(ts, ip_tcp(CLI, SRV, 40000, 443, seq, sseq + 1, 0x11))


def bighs():
    pcap_header()
    ts = three_way(1700000000 * 1000000)
    seq, sseq = 1001, 5001
    # records of 16384 bytes carrying one ClientHello that claims 0xffffff
    first = client_hello_start(0xFFFFFF, 16384, 16380)
    stream = first
    while len(stream) < 300000:
        stream += bytes([22, 3, 3]) + struct.pack(">H", 16384) + b"\x00" * 16384
    for off in range(0, len(stream), 1400):
        p = stream[off:off + 1400]
        rec(ts, ip_tcp(CLI, SRV, 40000, 443, seq, sseq, 0x18, p)); ts += 10
        seq += len(p)
        rec(ts, ip_tcp(SRV, CLI, 443, 40000, sseq, seq, 0x10)); ts += 10
    rec(ts, ip_tcp(CLI, SRV, 40000, 443, seq, sseq, 0x11)); ts += 10
    rec(ts, ip_tcp(SRV, CLI, 443, 40000, sseq, seq + 1, 0x11)); ts += 10


def tinyrec():
    pcap_header()
    ts = 1700000000 * 1000000
    hs = client_hello_start(43, 47, 43)[5:]  # the handshake message alone
    stream = b"".join(bytes([22, 3, 1, 0, 1, b]) for b in hs)
    pk = handshake_start(ts)[:3]
    pk.append(ip_tcp(CLI, SRV, 40000, 443, 1001, 5001, 0x18, stream))
    for i, p in enumerate(pk):
        rec(ts + i, p)


def three_way(ts):
    """handshake_start's SYN, SYN/ACK and ACK, 10 us apart from |ts|; returns
    the time after them (the client's next seq is 1001, the server's 5001)"""
    for p in handshake_start(ts)[:3]:
        rec(ts, p)
        ts += 10
    return ts


def handshake_start(ts, sport=40000):
    seq, sseq = 1000, 5000
    pk = [ip_tcp(CLI, SRV, sport, 443, seq, 0, 0x02),
          ip_tcp(SRV, CLI, 443, sport, sseq, seq + 1, 0x12),
          ip_tcp(CLI, SRV, sport, 443, seq + 1, sseq + 1, 0x10),
          ip_tcp(CLI, SRV, sport, 443, seq + 1, sseq + 1, 0x18, client_hello_start(46, 50, 46))]
    return pk


def simple(kind):
    ts = 1700000000 * 1000000
    if kind == "badmagic":
        out.write(b"\x00\x01\x02\x03\x04\x05\x06\x07")
        return
    if kind == "ngblock":
        shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
        idb = struct.pack("<IIHHI", 1, 20, 101, 0, 262144) + struct.pack("<I", 20)
        bad = struct.pack("<II", 6, 7) + b"\x00" * 16  # length 7: not a multiple of 4
        out.write(shb + idb + bad)
        return
    pcap_header(147 if kind == "linktype" else 101)
    pk = handshake_start(ts)
    for i, p in enumerate(pk):
        if kind == "backwards":
            rec(ts - i * 1000000, p)
        elif kind == "zero" and i == 2:
            rec(ts, b"")
            rec(ts, p)
        elif kind == "jumbo" and i == 2:
            out.write(struct.pack("<IIII", ts // 1000000, 0, 300000, 300000))
            out.write(p)
            return
        elif kind == "truncated" and i == 3:
            out.write(struct.pack("<IIII", ts // 1000000, 0, len(p), len(p)))
            out.write(p[:len(p) // 2])
            return
        else:
            rec(ts + i, p)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    kind = sys.argv[1]
    if kind == "flows":
        flows(int(sys.argv[2]))
    elif kind == "hellos":
        hellos(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else int(sys.argv[2]))
    elif kind == "servers":
        servers(int(sys.argv[2]), int(sys.argv[3]))
    elif kind == "hashflood":
        hashflood(int(sys.argv[2]))
    elif kind == "dribble":
        dribble(int(sys.argv[2]))
    elif kind == "bighs":
        bighs()
    elif kind == "latefin":
        latefin()
    elif kind == "tinyrec":
        tinyrec()
    elif kind in ("backwards", "zero", "jumbo", "linktype", "badmagic", "ngblock", "truncated"):
        simple(kind)
    else:
        sys.exit(__doc__)
    out.flush()


if __name__ == "__main__":
    main()
