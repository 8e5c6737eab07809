#!/usr/bin/env python3
"""seeds.py OUTDIR CAPTURE...: cut fuzz seeds out of captures.

For each TCP flow of each classic-pcap capture (Ethernet, Linux SLL/SLL2,
raw IP), the payload of each direction is put in sequence order and split
into TLS records and handshake messages.  Written under OUTDIR:
  record_stream/  the flow's segments in fuzz_common.h's segment format
  client_hello/ server_hello/ certificate/ cert_request/ alert/
                handshake bodies (and alert record bodies) with the harness's
                option byte in front where it takes one
Seeds are made at fuzz time into build-fuzz/, never committed.
"""
import hashlib
import os
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return  # pcapng and others: not cut here
    link = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + caplen]
        off += caplen
        yield link, pkt


def tcp_of(link, pkt):
    if link == 1:
        if len(pkt) < 14:
            return None
        et = struct.unpack(">H", pkt[12:14])[0]
        ip = pkt[14:]
        while et == 0x8100 and len(ip) >= 4:
            et = struct.unpack(">H", ip[2:4])[0]
            ip = ip[4:]
    elif link == 113:
        et, ip = struct.unpack(">H", pkt[14:16])[0] if len(pkt) >= 16 else 0, pkt[16:]
    elif link == 276:
        et, ip = struct.unpack(">H", pkt[0:2])[0] if len(pkt) >= 20 else 0, pkt[20:]
    elif link in (101, 12, 14, 228, 229):
        et = 0x0800 if pkt[:1] and pkt[0] >> 4 == 4 else 0x86DD
        ip = pkt
    else:
        return None
    if et == 0x0800 and len(ip) >= 20 and ip[9] == 6:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack(">H", ip[2:4])[0] or len(ip)
        src, dst, tcp = ip[12:16], ip[16:20], ip[ihl:tot]
    elif et == 0x86DD and len(ip) >= 40 and ip[6] == 6:
        plen = struct.unpack(">H", ip[4:6])[0] or len(ip) - 40
        src, dst, tcp = ip[8:24], ip[24:40], ip[40:40 + plen]
    else:
        return None
    if len(tcp) < 20:
        return None
    sp, dp, seq = struct.unpack(">HHI", tcp[:8])
    doff = (tcp[12] >> 4) * 4
    return (src, sp), (dst, dp), seq, tcp[12 + 1], tcp[doff:]


def flows(path):
    out = {}
    for link, pkt in packets(path):
        t = tcp_of(link, pkt)
        if t is None:
            continue
        a, b, seq, flags, payload = t
        key = tuple(sorted([a, b]))
        fl = out.setdefault(key, {"first": a, "segs": [], "isn": {}})
        d = 0 if a == fl["first"] else 1
        if flags & 2:
            fl["isn"][d] = seq + 1
        if payload:
            fl["segs"].append((d, seq, payload))
    for fl in out.values():
        streams = {0: b"", 1: b""}
        order = []
        for d in (0, 1):
            segs = sorted([s for s in fl["segs"] if s[0] == d], key=lambda s: s[1])
            nxt = fl["isn"].get(d, segs[0][1] if segs else 0)
            buf = b""
            for _, seq, p in segs:
                if seq < nxt:
                    p = p[nxt - seq:]
                    seq = nxt
                if seq != nxt or not p:
                    continue
                buf += p
                nxt += len(p)
            streams[d] = buf
        seen = {0: set(), 1: set()}
        for d, seq, p in fl["segs"]:
            if (seq, len(p)) in seen[d]:
                continue
            seen[d].add((seq, len(p)))
            order.append((d, p))
        yield streams, order


def messages(stream):
    hs = b""
    i = 0
    while i + 5 <= len(stream):
        ct, _, n = stream[i], stream[i + 1:i + 3], struct.unpack(">H", stream[i + 3:i + 5])[0]
        body = stream[i + 5:i + 5 + n]
        i += 5 + n
        if ct == 21:
            yield "alert", None, body
        elif ct == 22:
            hs += body
        elif ct in (20, 23):
            break  # encrypted from here on
        else:
            return
    j = 0
    while j + 4 <= len(hs):
        t = hs[j]
        n = struct.unpack(">I", b"\0" + hs[j + 1:j + 4])[0]
        if j + 4 + n > len(hs):
            break
        yield "hs", t, hs[j + 4:j + 4 + n]
        j += 4 + n


def main():
    outdir = sys.argv[1]
    count = {}

    def put(sub, blob):
        d = os.path.join(outdir, sub)
        os.makedirs(d, exist_ok=True)
        name = hashlib.sha1(blob).hexdigest()
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)
        count[sub] = count.get(sub, 0) + 1

    # probe_roundtrip: a few probe specs in fuzz_probe_roundtrip.c's format
    def spec(flags, legacy, rec, pad, ciphers, groups, versions, sigs, shares,
             sni, alpn, sid):
        b = struct.pack(">HHH", flags, legacy, rec)
        if flags & 0x400:
            b += struct.pack(">H", pad)
        for lst in (ciphers, groups, versions, sigs):
            b += bytes([len(lst)]) + b"".join(struct.pack(">H", v) for v in lst)
        b += bytes([len(shares)] + shares)
        if flags & 0x200:
            b += bytes([len(sni)]) + sni
        b += bytes([len(alpn)]) + b"".join(bytes([len(a)]) + a for a in alpn)
        b += bytes([len(sid)]) + sid + bytes(range(32)) + b"\x00"
        return b
    tls13 = [0x1301, 0x1302, 0x1303]
    tls12 = [0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0x009C, 0x002F]
    put("probe_roundtrip", spec(0x2FE, 0x0303, 0, 0, tls13 + tls12, [0x1D, 0x17, 0x18],
                                [0x0304, 0x0303], [0x0403, 0x0804, 0x0401], [0, 1],
                                b"example.com", [b"h2", b"http/1.1"], bytes(32)))
    put("probe_roundtrip", spec(0x61C, 0x0303, 0x0301, 512, tls12, [0x1D, 0x17], [],
                                [0x0401, 0x0201], [], b"www.example.org", [b"http/1.1"], b""))
    put("probe_roundtrip", spec(0x001, 0x0301, 0, 0, [0x0035, 0x002F, 0x000A], [], [], [], [],
                                b"", [], bytes(16)))
    put("probe_roundtrip", spec(0x300, 0x0300, 0, 0, [0x000A], [], [], [], [], b"\x00x",
                                [], b""))

    for path in sys.argv[2:]:
        try:
            fl = list(flows(path))
        except Exception as ex:  # a capture we cannot cut: skip it
            print(f"seeds.py: {path}: {ex}", file=sys.stderr)
            continue
        for streams, order in fl:
            seg = b"\x00"
            for d, p in order[:64]:
                p = p[:0x3FFF]
                seg += bytes([(d << 7) | (len(p) >> 8), len(p) & 0xFF]) + p
            if len(seg) > 1:
                put("record_stream", seg[:200000])
            # probe_response: the server's flight, {dt_ms, u16 len, bytes}
            # chunks after a close-kind byte (FIN, RST)
            srv = b"".join(bytes([1, len(p) >> 8, len(p) & 0xFF]) + p
                           for d, p in order[:64] if d == 1)
            if srv:
                put("probe_response", b"\x00" + srv[:200000])
                put("probe_response", b"\x01" + srv[:200000])
            for d in (0, 1):
                for kind, t, body in messages(streams[d]):
                    if kind == "alert":
                        put("alert", body)
                    elif t == 1:
                        put("client_hello", b"\x00" + body)
                    elif t == 2:
                        put("server_hello", body)
                    elif t == 11:
                        put("certificate", b"\x00" + body)
                        put("certificate", b"\x0c" + body)
                        k = 3
                        while k + 3 <= len(body):
                            n = struct.unpack(">I", b"\0" + body[k:k + 3])[0]
                            if n and k + 3 + n <= len(body):
                                put("certificate", b"\x02" + body[k + 3:k + 3 + n])
                            k += 3 + n
                    elif t == 13:
                        put("cert_request", b"\x00" + body)
                    elif t == 12:
                        put("cert_request", b"\x00" + body)
    for k in sorted(count):
        print(f"  seeds {k}: {count[k]}")


if __name__ == "__main__":
    main()
