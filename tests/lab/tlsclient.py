#!/usr/bin/env python3
"""Small TLS lab clients that the stock tools cannot play.

  tlsclient.py raw HOST PORT HEX
      Send the given bytes (hex, whitespace ignored) on a fresh TCP connection,
      then read until the peer closes or 3 s pass. Prints what came back.

  tlsclient.py split HOST PORT SNI CAFILE KEYLOG
      Real TLS handshake (Python's ssl module over memory BIOs) whose
      ClientHello is written in 3 separate TCP segments (TCP_NODELAY, 50 ms
      apart). The middle segment holds the server_name bytes. Then GET / and
      read the answer.
"""
import socket
import ssl
import sys
import time


def raw(host, port, hexstr):
    data = bytes.fromhex("".join(hexstr.split()))
    s = socket.create_connection((host, int(port)), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(data)
    got = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except (socket.timeout, ConnectionResetError) as e:
        print("recv ended:", repr(e))
    print("received %d bytes: %s" % (len(got), got[:64].hex()))
    s.close()


def split(host, port, sni, cafile, keylog):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.keylog_filename = keylog
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inb, outb, server_hostname=sni)
    s = socket.create_connection((host, int(port)), timeout=4)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outb.read()
    i = hello.find(sni.encode())
    if i < 0:
        i = len(hello) // 2
    cuts = [0, max(6, i - 9), min(len(hello) - 1, i + len(sni) + 4), len(hello)]
    for a, b in zip(cuts, cuts[1:]):
        s.send(hello[a:b])
        time.sleep(0.05)
    print("ClientHello %d bytes sent as %s" % (len(hello), [b - a for a, b in zip(cuts, cuts[1:])]))
    done = False
    while not done:
        try:
            obj.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            pass
        out = outb.read()
        if out:
            s.sendall(out)
        if done:
            break
        b = s.recv(16384)
        if not b:
            raise SystemExit("peer closed during handshake")
        inb.write(b)
    print("handshake done:", obj.version(), obj.cipher()[0])
    obj.write(b"GET / HTTP/1.0\r\nHost: " + sni.encode() + b"\r\n\r\n")
    s.sendall(outb.read())
    resp = b""
    while True:
        try:
            resp += obj.read(16384)
        except ssl.SSLWantReadError:
            b = s.recv(16384)
            if not b:
                break
            inb.write(b)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            break
    print("response first line:", resp.split(b"\r\n", 1)[0])
    try:
        obj.unwrap()
    except ssl.SSLError:
        pass
    out = outb.read()
    if out:
        s.sendall(out)
    s.close()


if __name__ == "__main__":
    if sys.argv[1] == "raw":
        raw(*sys.argv[2:5])
    elif sys.argv[1] == "split":
        split(*sys.argv[2:7])
    else:
        raise SystemExit(__doc__)
