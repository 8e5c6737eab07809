#!/usr/bin/env python3
"""capture-hello.py PORT OUT [TIMEOUT]: record the first ClientHello sent to
127.0.0.1:PORT.

Listens on loopback, accepts one connection, reads TLS records until one whole
ClientHello handshake message is there (bounded: 64 KiB), writes
"record XXXX" and "hex ..." lines to OUT, answers with a fatal
handshake_failure alert so the client gives up at once, and exits.  Used by
tools/capture-clients.sh to build data/clients/ from real clients.
"""
import socket
import sys

CAP = 64 * 1024


def main():
    port = int(sys.argv[1])
    out = sys.argv[2]
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    ls.settimeout(timeout)
    print("ready", flush=True)
    conn, _ = ls.accept()
    conn.settimeout(timeout)
    buf = b""
    msg = b""
    recver = None
    while len(buf) < CAP:
        # whole records -> handshake bytes
        while len(buf) >= 5:
            ln = int.from_bytes(buf[3:5], "big")
            if buf[0] != 22 or len(buf) < 5 + ln:
                break
            if recver is None:
                recver = buf[1:3].hex()
            msg += buf[5:5 + ln]
            buf = buf[5 + ln:]
        if len(msg) >= 4 and len(msg) >= 4 + int.from_bytes(msg[1:4], "big"):
            break
        if buf and buf[0] != 22:
            sys.exit("not a TLS handshake record: %s" % buf[:16].hex())
        d = conn.recv(4096)
        if not d:
            sys.exit("closed before a whole ClientHello")
        buf += d
    n = 4 + int.from_bytes(msg[1:4], "big")
    if msg[0] != 1:
        sys.exit("first handshake message is not a ClientHello")
    try:
        conn.sendall(bytes.fromhex("150303000202" + "28"))
    except OSError:
        pass
    conn.close()
    h = msg[:n].hex()
    with open(out, "w") as f:
        f.write("record %s\n" % recver)
        for i in range(0, len(h), 96):
            f.write("hex %s\n" % h[i:i + 96])


if __name__ == "__main__":
    main()
