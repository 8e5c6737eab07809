#!/usr/bin/env python3
"""Hostile TLS 'servers' for the probe test: hostile.py MODE PORT.
silent   accept and never answer
drip     answer with a plausible ServerHello header, one byte per second
garbage  answer with bytes that are not TLS
bigrec   a record header claiming 65535 bytes (over the 2^14+2048 limit)
bighs    a handshake header claiming a 16 MB ServerHello, then nothing"""
import socket, sys, threading, time

mode, port = sys.argv[1], int(sys.argv[2])

def serve(c):
    try:
        c.settimeout(30)
        c.recv(65536)
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
