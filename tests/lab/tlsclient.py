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

  tlsclient.py silent PORT SECONDS
      A TCP server that accepts one connection, reads what comes and never
      answers (a hung backend), closing after SECONDS.

  tlsclient.py stall HOST PORT SNI SECONDS [rst]
      A real TLS 1.2 ClientHello (Python ssl), then read the server's first
      flight and stay silent for SECONDS; then close the socket (FIN, no
      alert; with "rst": SO_LINGER 0, so the close is a RST): a client that
      gives up mid-handshake.

  tlsclient.py plainsrv PORT PROTO MODE CERT KEY
      A one-connection server for the plaintext phase before TLS, for real
      clients (openssl s_client -starttls, curl -x): PROTO smtp, postgres or
      connect (an HTTP proxy); MODE accept (then TLS with Python's ssl, the
      lab certificate) or refuse (SMTP 454, PostgreSQL 'N', HTTP 403).

  tlsclient.py snifail PORT CERT KEY
      A one-connection TLS server (Python's ssl, OpenSSL underneath) whose
      SNI callback fails the way a per-name certificate lookup does when its
      store is down: it returns ALERT_DESCRIPTION_INTERNAL_ERROR, so OpenSSL
      answers the ClientHello with a fatal internal_error(80).

  tlsclient.py badhello HOST PORT SNI [nosigalgs]
      With "nosigalgs": a well-formed TLS 1.3-only ClientHello (key_share
      x25519) without the signature_algorithms extension instead.
      A TLS 1.2 ClientHello whose server_name list length claims 2 bytes more
      than the extension holds (malformed on purpose), sent raw; prints the answer.
"""
import socket
import struct
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


def silent(port, seconds):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(4)
    ls.settimeout(float(seconds))
    end = time.time() + float(seconds)
    try:
        c, _ = ls.accept()
    except socket.timeout:
        return
    got = 0
    c.settimeout(0.2)
    while time.time() < end:
        try:
            b = c.recv(4096)
            if not b:
                break
            got += len(b)
        except socket.timeout:
            pass
    print("silent server read %d bytes" % got)
    c.close()


def stall(host, port, sni, seconds, how="fin"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inb, outb, server_hostname=sni)
    s = socket.create_connection((host, int(port)), timeout=float(seconds) + 1)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s.sendall(outb.read())
    # Read the whole first flight (until ServerHelloDone's 0e000000, or a
    # quiet 0.5 s): a close() with bytes left unread sends a RST instead of
    # a FIN, which made the "gave up" scenario a client reset under load.
    got = b""
    s.settimeout(0.5)
    while b"\x0e\x00\x00\x00" not in got and len(got) < 65536:
        try:
            b = s.recv(16384)
        except socket.timeout:
            break
        if not b:
            break
        got += b
    print("server flight: %d bytes; now silent for %s s" % (len(got), seconds))
    time.sleep(float(seconds))
    if how == "rst":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def plainsrv(port, proto, mode, cert, key):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(4)
    ls.settimeout(20)
    c, _ = ls.accept()
    c.settimeout(5)
    f = c.makefile("rb")
    ok = mode == "accept"
    if proto == "smtp":
        c.sendall(b"220 server.lab.test ESMTP lab\r\n")
        while True:
            line = f.readline()
            if not line:
                c.close()
                return
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
                c.sendall(b"250-server.lab.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
            elif cmd == b"STARTTLS":
                if ok:
                    c.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                    break
                c.sendall(b"454 4.7.0 TLS not available due to local problem\r\n")
            elif cmd == b"QUIT":
                c.sendall(b"221 2.0.0 Bye\r\n")
                c.close()
                return
            else:
                c.sendall(b"502 5.5.2 Error: command not recognized\r\n")
    elif proto == "postgres":
        req = f.read(8)
        print("postgres request:", req.hex())
        if not ok:
            c.sendall(b"N")
            time.sleep(1)
            c.close()
            return
        c.sendall(b"S")
    elif proto == "connect":
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            b = f.read(1)
            if not b:
                break
            head += b
        print("proxy request:", head.split(b"\r\n", 1)[0])
        c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 17\r\nConnection: close\r\n\r\nblocked by policy")
        time.sleep(0.5)
        c.close()
        return
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    t = ctx.wrap_socket(c, server_side=True)
    data = t.recv(4096)
    print("TLS:", t.version(), "got", len(data), "bytes")
    try:
        t.sendall(b"221 2.0.0 Bye\r\n")
        t.unwrap()
    except (ssl.SSLError, OSError):
        pass
    t.close()


def badhello(host, port, sni, variant="badlen"):
    if variant == "nosigalgs":
        name = sni.encode()
        entry = b"\x00" + len(name).to_bytes(2, "big") + name
        sn = len(entry).to_bytes(2, "big") + entry
        ext = b"\x00\x00" + len(sn).to_bytes(2, "big") + sn
        ext += bytes.fromhex("000a00040002001d")          # supported_groups x25519
        ext += bytes.fromhex("002b0003020304")            # supported_versions TLS 1.3
        ext += bytes.fromhex("00330026" "0024" "001d" "0020") + bytes(range(1, 33))  # key_share x25519
        body = b"\x03\x03" + bytes(range(32)) + b"\x20" + bytes(range(32)) + \
            bytes.fromhex("00021301") + b"\x01\x00"
        body += len(ext).to_bytes(2, "big") + ext
        hs = b"\x01" + len(body).to_bytes(3, "big") + body
        rec = b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs
        raw(host, port, rec.hex())
        return
    name = sni.encode()
    entry = b"\x00" + len(name).to_bytes(2, "big") + name
    # the server_name list length says 2 more bytes than follow
    sn = (len(entry) + 2).to_bytes(2, "big") + entry
    ext = b"\x00\x00" + len(sn).to_bytes(2, "big") + sn
    ext += bytes.fromhex("000a00040002001d" "000b00020100" "000d000400020401")
    body = b"\x03\x03" + bytes(range(32)) + b"\x00" + bytes.fromhex("0004c02fc030") + b"\x01\x00"
    body += len(ext).to_bytes(2, "big") + ext
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    rec = b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs
    raw(host, port, rec.hex())


def snifail(port, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.sni_callback = lambda sock, name, c: ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(4)
    ls.settimeout(20)
    c, _ = ls.accept()
    try:
        ctx.wrap_socket(c, server_side=True).close()
    except (ssl.SSLError, OSError) as e:
        print("server: %s" % e)
    c.close()


if __name__ == "__main__":
    if sys.argv[1] == "raw":
        raw(*sys.argv[2:5])
    elif sys.argv[1] == "split":
        split(*sys.argv[2:7])
    elif sys.argv[1] == "silent":
        silent(*sys.argv[2:4])
    elif sys.argv[1] == "stall":
        stall(*sys.argv[2:7])
    elif sys.argv[1] == "plainsrv":
        plainsrv(*sys.argv[2:7])
    elif sys.argv[1] == "snifail":
        snifail(*sys.argv[2:5])
    elif sys.argv[1] == "badhello":
        badhello(*sys.argv[2:6])
    else:
        raise SystemExit(__doc__)
