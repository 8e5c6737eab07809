#!/usr/bin/env python3
"""pcaptool.py vlan IN.pcap OUT.pcap VID

Rewrite a classic Ethernet pcap, inserting an 802.1Q tag (TPID 0x8100, PCP 0,
the given VID) after the MAC addresses of every frame. Used because the lab
kernel has neither the 8021q module nor VLAN-filtering bridges nor tc vlan
actions, so real tagged frames cannot be produced there.
"""
import struct
import sys


def vlan(src, dst, vid):
    with open(src, "rb") as f:
        data = f.read()
    magic = data[:4]
    end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    hdr = bytearray(data[:24])
    if struct.unpack(end + "I", hdr[20:24])[0] != 1:
        raise SystemExit("not an Ethernet pcap")
    out = [bytes(hdr)]
    off = 24
    tag = struct.pack(">HH", 0x8100, vid & 0x0FFF)
    while off + 16 <= len(data):
        ts, tsu, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
        pkt = data[off + 16: off + 16 + incl]
        off += 16 + incl
        pkt = pkt[:12] + tag + pkt[12:]
        out.append(struct.pack(end + "IIII", ts, tsu, incl + 4, orig + 4) + pkt)
    with open(dst, "wb") as f:
        f.write(b"".join(out))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "vlan":
        vlan(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(__doc__)
