#!/usr/bin/env python3
"""Hostile TLS 'servers' for the probe test: hostile.py MODE PORT.
silent   accept and never answer
drip     answer with a plausible ServerHello header, one byte per second
garbage  answer with bytes that are not TLS
bigrec   a record header claiming 65535 bytes (over the 2^14+2048 limit)
bighs    a handshake header claiming a 16 MB ServerHello, then nothing
endless  a real TLS 1.2 ServerHello (echoing the client's first suite), then a
         Certificate message claiming 16 MB whose certificates never end:
         records of certificate-like bytes as fast as the client reads, never
         closing"""
import socket, sys, threading, time

mode, port = sys.argv[1], int(sys.argv[2])

def tls12_suite(hello):
    """a TLS 1.2 suite the client offered (ECDHE-RSA/ECDSA GCM first; never a
    TLS 1.3 one), or 0xc02f when the hello cannot be read"""
    try:
        p = 5 + 4 + 2 + 32             # record, handshake headers, version, random
        p += 1 + hello[p]              # session id
        n = int.from_bytes(hello[p:p + 2], "big")
        offered = [hello[i:i + 2] for i in range(p + 2, p + 2 + n, 2)]
    except IndexError:
        return b"\xc0\x2f"
    for want in ("c02f", "c02b", "c030", "c02c", "cca8", "cca9", "009c"):
        if bytes.fromhex(want) in offered:
            return bytes.fromhex(want)
    rest = [x for x in offered if len(x) == 2 and x[0] not in (0x13, 0x00) or x == b"\x00\x9c"]
    return rest[0] if rest else b"\xc0\x2f"

def endless(c, hello):
    # renegotiation_info (RFC 5746), or libssl refuses the hello outright
    ext = b"\xff\x01\x00\x01\x00"
    body = b"\x03\x03" + bytes(32) + b"\x00" + tls12_suite(hello) + b"\x00" + len(ext).to_bytes(2, "big") + ext
    sh = b"\x02" + len(body).to_bytes(3, "big") + body
    c.sendall(b"\x16\x03\x03" + len(sh).to_bytes(2, "big") + sh)
    # Certificate: 16 MB claimed, one "certificate" of 16 MB - 3 bytes, whose
    # DER is a SEQUENCE that keeps going
    cert = b"\x0b\xff\xff\xff" + b"\xff\xff\xfc" + b"\xff\xff\xf9" + b"\x30\x84\x00\xff\xff\xf0"
    c.sendall(b"\x16\x03\x03" + len(cert).to_bytes(2, "big") + cert)
    chunk = b"\x16\x03\x03\x40\x00" + (b"\x06\x03\x55\x04\x03" * 3277)[:16384]
    deadline = time.time() + 60
    while time.time() < deadline:
        c.sendall(chunk)

def serve(c):
    try:
        c.settimeout(30)
        hello = c.recv(65536)
        if mode == "silent":
            time.sleep(30)
        elif mode == "drip":
            for b in bytes.fromhex("160303005002000046030300") + bytes(60):
                c.sendall(bytes([b]))
                time.sleep(1)
        elif mode == "garbage":
            c.sendall(b"\x00\xffHELLO this is not TLS\r\n" * 4)
            time.sleep(5)
        elif mode == "bigrec":
            c.sendall(bytes.fromhex("160303ffff") + bytes(100))
            time.sleep(30)
        elif mode == "bighs":
            c.sendall(bytes.fromhex("1603030010" "02ffffff") + bytes(12))
            time.sleep(30)
        elif mode == "endless":
            endless(c, hello)
    except OSError:
        pass
    finally:
        c.close()

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
