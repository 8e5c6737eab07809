#!/usr/bin/env python3
"""clients-gen.py: maintain data/clients/*.client (the client simulation data).

  clients-gen.py captures DIR      write <id>.client files from the captures
                                   of tools/capture-clients.sh in DIR
  clients-gen.py document FILE     write rebuilt entries from a document of
                                   client parameters (the SSL Labs client list
                                   in testssl.sh's etc/client-simulation.txt
                                   format); the entries chosen are in SELECT
  clients-gen.py regen             rebuild the record/hex lines of every
                                   "kind rebuilt" entry from its param lines
  clients-gen.py check             parse every entry and compare the declared
                                   versions/ciphers with the hello

A rebuilt hello is made only from the "param" lines of its entry (version,
cipher suites in order, extensions in order with their contents); key shares
are fixed valid points (the curve generators, a fixed x25519 value), random
and session id are derived from the entry id, so the output is reproducible.
The C side (lib/probe/clients.c) reads only record/hex; the unit test
tests/unit/test_clients.c parses every hello with lib/tls/hello.c.
"""
import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "clients")
SNI = "client.tlsdiag.test"

VNAME = {0x0300: "3.0", 0x0301: "1.0", 0x0302: "1.1", 0x0303: "1.2", 0x0304: "1.3"}
VNUM = {v: k for k, v in VNAME.items()}


def grease(v):
    return (v & 0x0f0f) == 0x0a0a and (v >> 8) == (v & 0xff)


def u8(n):
    return bytes([n])


def u16(n):
    return n.to_bytes(2, "big")


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def u16list(vals):
    return b"".join(u16(v) for v in vals)


def parse_u16s(b):
    return [int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b) - 1, 2)]


def parse_hello(msg):
    """msg: handshake message with its 4-byte header -> dict."""
    assert msg[0] == 1, "not a ClientHello"
    n = int.from_bytes(msg[1:4], "big")
    b = msg[4:4 + n]
    assert len(b) == n, "truncated"
    h = {"legacy": int.from_bytes(b[0:2], "big")}
    p = 34
    sl = b[p]
    h["sid_len"] = sl
    p += 1 + sl
    cl = int.from_bytes(b[p:p + 2], "big")
    h["ciphers"] = parse_u16s(b[p + 2:p + 2 + cl])
    p += 2 + cl
    ml = b[p]
    h["comp"] = list(b[p + 1:p + 1 + ml])
    p += 1 + ml
    h["exts"] = []
    if p < len(b):
        el = int.from_bytes(b[p:p + 2], "big")
        q = p + 2
        while q < p + 2 + el:
            t = int.from_bytes(b[q:q + 2], "big")
            ln = int.from_bytes(b[q + 2:q + 4], "big")
            h["exts"].append((t, b[q + 4:q + 4 + ln]))
            q += 4 + ln
    return h


def ext(h, t):
    for et, body in h["exts"]:
        if et == t:
            return body
    return None


def offered_versions(h):
    sv = ext(h, 43)
    if sv is not None:
        return [v for v in parse_u16s(sv[1:]) if not grease(v)]
    return None


# ---- building a hello from parameters ----

P256_G = bytes.fromhex(
    "04" "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
P384_G = bytes.fromhex(
    "04" "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38"
    "5502f25dbf55296c3a545e3872760ab7"
    "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c0"
    "0a60b1ce1d7e819d7a431d7c90ea0e5f")
P521_G = bytes.fromhex(
    "04" "00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d"
    "3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66"
    "011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e"
    "662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650")


def share_for(group, seed):
    if group == 0x0017:
        return P256_G
    if group == 0x0018:
        return P384_G
    if group == 0x0019:
        return P521_G
    if group == 0x001d:
        return hashlib.sha256(seed + b"x25519").digest()
    if group == 0x001e:
        return (hashlib.sha256(seed + b"x448a").digest() + hashlib.sha256(seed + b"x448b").digest())[:56]
    if grease(group):
        return b"\x00"
    raise SystemExit("no key share recipe for group 0x%04x" % group)


def ext_body(t, prm, seed):
    """The body of extension |t| from the entry's params."""
    raw = prm["ext_raw"].get(t)
    if raw is not None:
        return raw
    if t == 0:
        name = SNI.encode()
        return vec16(u8(0) + vec16(name))
    if t == 10:
        return vec16(u16list(prm["groups"]))
    if t == 11:
        return vec8(bytes(prm["ecpf"]))
    if t == 13:
        return vec16(u16list(prm["sigalgs"]))
    if t == 16:
        return vec16(b"".join(vec8(a.encode()) for a in prm["alpn"]))
    if t == 43:
        return vec8(u16list(prm["versions"]))
    if t == 45:
        return vec8(bytes(prm["pskmodes"]))
    if t == 51:
        return vec16(b"".join(u16(g) + vec16(share_for(g, seed)) for g in prm["shares"]))
    if t in (21, 23, 22, 35, 18, 0x3374) or grease(t):
        return b""
    if t == 5:
        return bytes.fromhex("0100000000")
    if t == 0xff01:
        return b"\x00"
    raise SystemExit("extension %d needs 'param ext %d HEX'" % (t, t))


def build_hello(prm, seed):
    body = u16(prm["legacy"])
    body += hashlib.sha256(seed + b"random").digest()
    sid = hashlib.sha256(seed + b"sid").digest()[:prm["sid_len"]]
    body += vec8(sid)
    body += vec16(u16list(prm["ciphers"]))
    body += vec8(bytes(prm["comp"]))
    if prm["exts"] is not None:
        exts = []
        for t in prm["exts"]:
            exts.append([t, ext_body(t, prm, seed)])
        def total():
            return 4 + len(body) + 2 + sum(4 + len(b) for _, b in exts)
        for e in exts:
            if e[0] == 21 and 21 not in prm["ext_raw"]:
                # BoringSSL/NSS rule: a hello of 256..511 bytes is padded
                # to 512 (record header included in the count of NSS; we
                # count the handshake message as BoringSSL does).
                e[1] = b""
                n = total()
                if 0xff < n < 0x200:
                    e[1] = bytes(max(1, 0x200 - n))
        body += vec16(b"".join(u16(t) + vec16(b) for t, b in exts))
    return u8(1) + len(body).to_bytes(3, "big") + body


def params_from_hello(h):
    prm = {"legacy": h["legacy"], "sid_len": h["sid_len"], "ciphers": h["ciphers"],
           "comp": h["comp"], "exts": None, "ext_raw": {}, "groups": [], "ecpf": [],
           "sigalgs": [], "alpn": [], "versions": [], "pskmodes": [], "shares": []}
    if h["exts"]:
        prm["exts"] = [t for t, _ in h["exts"]]
    for t, b in h["exts"]:
        if t == 10:
            prm["groups"] = parse_u16s(b[2:])
        elif t == 11:
            prm["ecpf"] = list(b[1:])
        elif t == 13:
            prm["sigalgs"] = parse_u16s(b[2:])
        elif t == 16:
            q, names = 2, []
            while q < len(b):
                names.append(b[q + 1:q + 1 + b[q]].decode())
                q += 1 + b[q]
            prm["alpn"] = names
        elif t == 43:
            prm["versions"] = parse_u16s(b[1:])
        elif t == 45:
            prm["pskmodes"] = list(b[1:])
        elif t == 51:
            q, gs = 2, []
            while q < len(b):
                gs.append(int.from_bytes(b[q:q + 2], "big"))
                q += 4 + int.from_bytes(b[q + 2:q + 4], "big")
            prm["shares"] = gs
        elif t in (0, 21, 23, 22, 35, 18, 5, 0xff01, 0x3374) or grease(t):
            if t == 0xff01 and b != b"\x00":
                prm["ext_raw"][t] = b
            if t == 5 and b != bytes.fromhex("0100000000"):
                prm["ext_raw"][t] = b
            if t == 35 and b:
                prm["ext_raw"][t] = b
            if grease(t) and b:
                prm["ext_raw"][t] = b
        else:
            prm["ext_raw"][t] = b
    return prm


def hexs(vals):
    return ",".join("%04x" % v for v in vals)


def param_lines(prm):
    out = ["param legacy_version %04x" % prm["legacy"],
           "param session_id_len %d" % prm["sid_len"],
           "param ciphers %s" % hexs(prm["ciphers"]),
           "param compression %s" % ",".join("%02x" % c for c in prm["comp"])]
    if prm["exts"] is not None:
        out.append("param extensions %s" % hexs(prm["exts"]))
    for key, name in (("groups", "groups"), ("sigalgs", "sigalgs"), ("versions", "versions"),
                      ("shares", "key_shares")):
        if prm[key]:
            out.append("param %s %s" % (name, hexs(prm[key])))
    if prm["ecpf"]:
        out.append("param ec_point_formats %s" % ",".join("%02x" % c for c in prm["ecpf"]))
    if prm["pskmodes"]:
        out.append("param psk_modes %s" % ",".join("%02x" % c for c in prm["pskmodes"]))
    if prm["alpn"]:
        out.append("param alpn %s" % ",".join(prm["alpn"]))
    for t, b in sorted(prm["ext_raw"].items()):
        out.append("param ext %04x %s" % (t, b.hex()))
    return out


def read_params(lines):
    prm = {"legacy": 0x0303, "sid_len": 0, "ciphers": [], "comp": [0], "exts": None,
           "ext_raw": {}, "groups": [], "ecpf": [], "sigalgs": [], "alpn": [],
           "versions": [], "pskmodes": [], "shares": []}
    for ln in lines:
        f = ln.split()
        if not f or f[0] != "param":
            continue
        k, v = f[1], f[2:] if len(f) > 2 else [""]
        if k == "legacy_version":
            prm["legacy"] = int(v[0], 16)
        elif k == "session_id_len":
            prm["sid_len"] = int(v[0])
        elif k == "ext":
            prm["ext_raw"][int(v[0], 16)] = bytes.fromhex(v[1] if len(v) > 1 else "")
        elif k == "alpn":
            prm["alpn"] = v[0].split(",")
        else:
            key = {"ciphers": "ciphers", "compression": "comp", "extensions": "exts",
                   "groups": "groups", "sigalgs": "sigalgs", "versions": "versions",
                   "key_shares": "shares", "ec_point_formats": "ecpf",
                   "psk_modes": "pskmodes"}[k]
            prm[key] = [int(x, 16) for x in v[0].split(",") if x]
    return prm


def hex_lines(rec, msg):
    h = msg.hex()
    return ["record %04x" % rec] + ["hex %s" % h[i:i + 96] for i in range(0, len(h), 96)]


def declared(h, vmin_doc=None):
    """versions MIN-MAX and cipher count (GREASE excluded) as the file states them."""
    vs = offered_versions(h)
    if vs:
        lo, hi = min(vs), max(vs)
    else:
        hi = h["legacy"]
        lo = vmin_doc if vmin_doc is not None else hi
    n = len([c for c in h["ciphers"] if not grease(c)])
    return lo, hi, n


AIA = ("chromium", "chrome-", "ie-", "safari-")


def write_entry(path, head, h, rec, msg, params=None, vmin_doc=None, sni=True):
    lo, hi, n = declared(h, vmin_doc)
    lines = list(head)
    lines.append("versions %s-%s" % (VNAME.get(lo, "%04x" % lo), VNAME.get(hi, "%04x" % hi)))
    lines.append("ciphers %d" % n)
    lines.append("sni %s" % ("yes" if sni else "no"))
    cid = head[0].split()[1]
    # Clients that fetch a missing intermediate themselves (AIA): Chrome's
    # and Windows' and Apple's verifiers do; NSS, OpenSSL, GnuTLS, Java,
    # Go, Python, Node and Android's native stack do not.
    lines.append("aia %s" % ("yes" if cid.startswith(AIA) else "no"))
    if params:
        lines += params
    lines += hex_lines(rec, msg)
    lines.append("end")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def read_entry(path):
    with open(path) as f:
        return f.read().splitlines()


def entry_msg(lines):
    return bytes.fromhex("".join(l.split(None, 1)[1] for l in lines if l.startswith("hex ")))


# ---- modes ----

CAPTURED = {
    # id: (name, min version when the hello does not show it, note)
    "openssl-3.0": ("OpenSSL 3.0 s_client (defaults)", None, ""),
    "openssl-3.0-tls1_2": ("OpenSSL 3.0 s_client -tls1_2", None, ""),
    "openssl-3.0-no_tls1_3": ("OpenSSL 3.0 s_client -no_tls1_3", 0x0303,
                              "TLS 1.0/1.1 need security level 0 in OpenSSL 3"),
    "openssl-3.0-seclevel0": ("OpenSSL 3.0 s_client -cipher ALL:@SECLEVEL=0", None, ""),
    "openssl-3.0-tls1": ("OpenSSL 3.0 s_client -tls1 -cipher ALL:@SECLEVEL=0 (legacy TLS 1.0 client)", 0x0301, ""),
    "gnutls-3.7": ("GnuTLS 3.7 gnutls-cli (NORMAL priority)", None, ""),
    "curl-7.88": ("curl 7.88 (OpenSSL 3.0)", None, ""),
    "wget-1.21": ("GNU Wget 1.21 (GnuTLS)", None, ""),
    "python-3.11": ("Python 3.11 ssl.create_default_context()", None, ""),
    "java-17": ("Java 17 (OpenJDK 17.0.15 JSSE defaults)", None, ""),
    "node-20": ("Node.js 20 tls.connect defaults", None, ""),
    "go-1.19": ("Go 1.19 crypto/tls defaults", None, ""),
    "chromium": ("Chromium 156 (Chrome's BoringSSL stack, headless)", None, ""),
    "firefox-esr": ("Firefox ESR 153 (NSS, headless)", None, ""),
}


def mode_captures(d):
    for cid, (name, vmin, note) in CAPTURED.items():
        cap = os.path.join(d, cid + ".cap")
        if not os.path.exists(cap):
            print("missing capture", cid, file=sys.stderr)
            continue
        lines = read_entry(cap)
        rec = int(lines[0].split()[1], 16)
        msg = entry_msg(lines)
        h = parse_hello(msg)
        ver = open(os.path.join(d, cid + ".ver")).read().strip()
        cmd = open(os.path.join(d, cid + ".cmd")).read().strip()
        cmd = re.sub(r"/tmp/tmp\.\w+", "$tmp", cmd)
        cmd = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", cmd)
        head = ["client %s" % cid, "name %s" % name, "kind captured",
                "source captured on Debian 12 by tools/capture-clients.sh: %s" % ver,
                "source command: %s" % cmd]
        if note:
            head.append("source note: %s" % note)
        write_entry(os.path.join(DATA, cid + ".client"), head, h, rec, msg, vmin_doc=vmin,
                    sni=ext(h, 0) is not None)
        print("wrote", cid)


SELECT = {
    # document name -> (id, our name)
    "Android 4.4.2": ("android-4.4", "Android 4.4.2 (native)"),
    "Android 5.0.0": ("android-5.0", "Android 5.0.0 (native)"),
    "Android 7.0 (native)": ("android-7.0", "Android 7.0 (native)"),
    "Android 8.1 (native)": ("android-8.1", "Android 8.1 (native)"),
    "Android 9.0 (native)": ("android-9", "Android 9.0 (native)"),
    "Android 12 (native)": ("android-12", "Android 12 (native)"),
    "Java 7u25": ("java-7", "Java 7u25"),
    "Java 8u161": ("java-8", "Java 8u161"),
    "Java 11.0.2 (OpenJDK)": ("java-11", "Java 11.0.2 (OpenJDK)"),
    "OpenSSL 1.0.2e": ("openssl-1.0.2", "OpenSSL 1.0.2e"),
    "OpenSSL 1.1.1d (Debian)": ("openssl-1.1.1", "OpenSSL 1.1.1d (Debian)"),
    "IE 11 Win 7": ("ie-11-win7", "IE 11 on Windows 7 (SChannel)"),
    "IE 11 Win 10": ("ie-11-win10", "IE 11 on Windows 10 (SChannel)"),
    "Safari 10 iOS 10": ("safari-10-ios10", "Safari 10 on iOS 10"),
    "Safari 15.4 (macOS 12.3.1)": ("safari-15.4", "Safari 15.4 on macOS 12.3.1"),
    "Firefox 100 (Win 10)": ("firefox-100", "Firefox 100 on Windows 10"),
    "Chrome 101 (Win 10)": ("chrome-101", "Chrome 101 on Windows 10"),
    "go 1.17.8": ("go-1.17", "Go 1.17.8 crypto/tls"),
}


def read_document(path):
    """testssl.sh client-simulation.txt: bash array appends per client."""
    entries, cur = [], None
    for ln in open(path):
        m = re.match(r'\s*(\w+)\+=\((.*)\)\s*$', ln)
        if not m:
            continue
        k, v = m.group(1), m.group(2).strip().strip('"')
        if k == "names":
            cur = {}
            entries.append(cur)
        if cur is not None:
            cur[k] = v
    return entries


def mode_document(path):
    for e in read_document(path):
        if e["names"] not in SELECT:
            continue
        cid, name = SELECT[e["names"]]
        raw = bytes.fromhex(e["handshakebytes"])
        # one or more records -> handshake bytes
        rec = int.from_bytes(raw[1:3], "big")
        msg, p = b"", 0
        while p + 5 <= len(raw):
            ln = int.from_bytes(raw[p + 3:p + 5], "big")
            msg += raw[p + 5:p + 5 + ln]
            p += 5 + ln
        h = parse_hello(msg)
        prm = params_from_hello(h)
        sni = ext(h, 0) is not None
        seed = cid.encode()
        out = build_hello(prm, seed)
        h2 = parse_hello(out)
        assert h2["ciphers"] == h["ciphers"]
        assert [t for t, _ in h2["exts"]] == [t for t, _ in h["exts"]]
        lowest = int(e.get("lowest_protocol", "0"), 16) or None
        head = ["client %s" % cid, "name %s" % name, "kind rebuilt",
                "source SSL Labs client list (api.ssllabs.com/api/v3/getClients, entry \"%s\")"
                " as published in testssl.sh 3.0.8 etc/client-simulation.txt;"
                " parameters below taken from that entry, hello rebuilt by tools/clients-gen.py" % e["names"],
                "source lowest version per the document: %s" % VNAME.get(lowest or 0, "?")]
        write_entry(os.path.join(DATA, cid + ".client"), head, h2, rec, out,
                    params=param_lines(prm), vmin_doc=lowest, sni=sni)
        print("wrote", cid)


def mode_regen():
    for fn in sorted(os.listdir(DATA)):
        if not fn.endswith(".client"):
            continue
        path = os.path.join(DATA, fn)
        lines = read_entry(path)
        if "kind rebuilt" not in lines:
            continue
        cid = lines[0].split()[1]
        prm = read_params(lines)
        msg = build_hello(prm, cid.encode())
        rec = [int(l.split()[1], 16) for l in lines if l.startswith("record ")][0]
        keep = [l for l in lines if not l.startswith(("hex ", "record ", "end"))]
        with open(path, "w") as f:
            f.write("\n".join(keep + hex_lines(rec, msg) + ["end"]) + "\n")


def mode_check():
    bad = 0
    for fn in sorted(os.listdir(DATA)):
        if not fn.endswith(".client"):
            continue
        lines = read_entry(os.path.join(DATA, fn))
        h = parse_hello(entry_msg(lines))
        v = [l.split()[1] for l in lines if l.startswith("versions ")][0]
        n = int([l.split()[1] for l in lines if l.startswith("ciphers ")][0])
        lo, hi = (VNUM[x] for x in v.split("-"))
        dlo, dhi, dn = declared(h, lo)
        if (dlo, dhi, dn) != (lo, hi, n):
            print("%s: declared %s/%d, hello says %s-%s/%d" % (fn, v, n, VNAME[dlo], VNAME[dhi], dn))
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    m = sys.argv[1] if len(sys.argv) > 1 else ""
    if m == "captures":
        mode_captures(sys.argv[2])
    elif m == "document":
        mode_document(sys.argv[2])
    elif m == "regen":
        mode_regen()
    elif m == "check":
        mode_check()
    else:
        sys.exit(__doc__)
