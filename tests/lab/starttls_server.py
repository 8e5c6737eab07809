#!/usr/bin/env python3
"""starttls_server.py PROTO PORT CERT KEY [MODE] [SECONDS]: a small STARTTLS
server on 127.0.0.1 for tests/lab/starttls-probe.sh.

PROTO: smtp imap pop3 ftp xmpp ldap postgres.  MODE: ok (the plaintext phase
of the RFC examples, then TLS 1.2/1.3 through Python's ssl module), nostarttls
(capabilities without STARTTLS), refuse (STARTTLS answered with an error).
One thread per connection; exits after SECONDS (default 60).  Loopback only.
"""
import socket
import ssl
import sys
import threading
import time

PROTO, PORT, CERT, KEY = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
MODE = sys.argv[5] if len(sys.argv) > 5 else "ok"
LIFE = float(sys.argv[6]) if len(sys.argv) > 6 else 60.0

CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
CTX.load_cert_chain(CERT, KEY)
CTX.minimum_version = ssl.TLSVersion.TLSv1_2


def readline(c, buf):
    while b"\n" not in buf[0]:
        d = c.recv(4096)
        if not d:
            raise EOFError
        buf[0] += d
    line, buf[0] = buf[0].split(b"\n", 1)
    return line.rstrip(b"\r")


def read_until(c, buf, marker):
    while marker not in buf[0]:
        d = c.recv(4096)
        if not d:
            raise EOFError
        buf[0] += d
    i = buf[0].index(marker) + len(marker)
    out, buf[0] = buf[0][:i], buf[0][i:]
    return out


def plaintext(c):
    """True when the connection should go on to TLS."""
    buf = [b""]
    offer = MODE != "nostarttls"
    yes = MODE == "ok"
    if PROTO == "smtp":
        c.sendall(b"220 mail.example.org ESMTP test\r\n")
        readline(c, buf)  # EHLO
        c.sendall(b"250-mail.example.org\r\n" + (b"250-STARTTLS\r\n" if offer else b"") + b"250 8BITMIME\r\n")
        if not offer:
            return False
        readline(c, buf)  # STARTTLS
        c.sendall(b"220 2.0.0 Ready to start TLS\r\n" if yes else b"454 4.7.0 TLS not available\r\n")
        return yes
    if PROTO == "imap":
        c.sendall(b"* OK IMAP4rev1 test ready\r\n")
        readline(c, buf)
        c.sendall(b"* CAPABILITY IMAP4rev1" + (b" STARTTLS" if offer else b"") + b" LOGINDISABLED\r\na1 OK done\r\n")
        if not offer:
            return False
        readline(c, buf)
        c.sendall(b"a2 OK Begin TLS negotiation now\r\n" if yes else b"a2 NO TLS unavailable\r\n")
        return yes
    if PROTO == "pop3":
        c.sendall(b"+OK POP3 test ready\r\n")
        readline(c, buf)
        c.sendall(b"+OK\r\nUSER\r\n" + (b"STLS\r\n" if offer else b"") + b".\r\n")
        if not offer:
            return False
        readline(c, buf)
        c.sendall(b"+OK Begin TLS\r\n" if yes else b"-ERR no TLS\r\n")
        return yes
    if PROTO == "ftp":
        c.sendall(b"220 test FTP ready\r\n")
        readline(c, buf)  # FEAT
        c.sendall(b"211-Features:\r\n" + (b" AUTH TLS\r\n" if offer else b"") + b" SIZE\r\n211 End\r\n")
        readline(c, buf)  # AUTH TLS
        if not offer:
            c.sendall(b"530 Please login with USER and PASS.\r\n")
            return False
        c.sendall(b"234 AUTH TLS OK\r\n" if yes else b"431 Unable to accept security mechanism\r\n")
        return yes
    if PROTO == "xmpp":
        read_until(c, buf, b"version='1.0'>")
        c.sendall(b"<?xml version='1.0'?><stream:stream from='example.org' id='x1' version='1.0' "
                  b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
                  b"<stream:features>" +
                  (b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" if offer else b"") +
                  b"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
                  b"</mechanisms></stream:features>")
        if not offer:
            return False
        read_until(c, buf, b"/>")
        c.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" if yes else
                  b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>")
        return yes
    if PROTO == "ldap":
        req = read_until(c, buf, b"1.3.6.1.4.1.1466.20037")
        code = 0 if yes else (2 if not offer else 52)
        c.sendall(bytes([0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, code, 0x04, 0x00, 0x04, 0x00]))
        return yes
    if PROTO == "postgres":
        while len(buf[0]) < 8:
            d = c.recv(8 - len(buf[0]))
            if not d:
                raise EOFError
            buf[0] += d
        c.sendall(b"S" if yes else b"N")
        return yes
    return False


def serve(c):
    try:
        c.settimeout(10)
        if plaintext(c):
            t = CTX.wrap_socket(c, server_side=True)
            try:
                t.sendall(b"hello over TLS\r\n")
                t.recv(100)
            except (OSError, ssl.SSLError):
                pass
            t.close()
            return
    except (OSError, EOFError, ssl.SSLError):
        pass
    try:
        c.close()
    except OSError:
        pass


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", PORT))
    ls.listen(64)
    ls.settimeout(0.5)
    end = time.time() + LIFE
    print("ready", flush=True)
    while time.time() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
