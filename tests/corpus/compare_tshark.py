#!/usr/bin/env python3
"""Compare what tlsdiag reads in the conformance corpus with what tshark reads.

For every capture under the corpus (zeek/, ndpi/, ja4/: pcap, pcapng, .gz),
run `tlsdiag read --json --all` and tshark, match the TCP connections (by the
unordered 4-tuple and the first frame, falling back to the 4-tuple alone when
that is unambiguous) and compare, per connection:

  version    the version the ServerHello selected (supported_versions if present)
  cipher     the ServerHello's cipher suite, as a number
  sni        the ClientHello's server_name
  alpn       the ALPN protocols offered in the ClientHello
  alpn_sel   the ALPN protocol chosen in the ServerHello
  alerts     the alerts sent in clear: (frame, sender, description code)
  ja3        the ClientHello's JA3 hash (tshark's tls.handshake.ja3)

tshark does not look for TLS on every port the way tlsdiag does: when tlsdiag
sees a ClientHello on a connection where tshark decoded no TLS at all, tshark
is run again with `-d tcp.port==SERVER_PORT,tls` and that connection's facts
are taken from the second run.

Disagreements listed in EXPECTED_DIFFERENCES (with the reason) are reported
but do not fail the run; any other disagreement makes the exit status 1.
The corpus is found in $TD_SHARED/corpus or ../shared/corpus from the repo
root; when it is missing the script says so and exits 0.

Usage: compare_tshark.py TLSDIAG [FILES...]
"""
import csv
import os
import subprocess
import sys

from corpuslib import ROOT, files_or_skip, read_json, rel

# ("folder/file", first_frame of the tlsdiag connection or None for every
#  connection of that file, fact) -> why the two tools differ.
def _same(why, files, facts):
    return {(f, None, fact): why for f in files for fact in facts}


_HS = ["version", "cipher", "ja3"]
_HS_SNI = _HS + ["sni"]

EXPECTED_DIFFERENCES = {}
# STARTTLS (SMTP, IMAP, POP3, FTP AUTH TLS), HTTP CONNECT and SOCKS4/5 are
# followed to the TLS inside (lib/timeline/upgrade.c): those captures agree.
EXPECTED_DIFFERENCES.update(_same(
    "TLS carried inside OpenVPN over TCP: tshark dissects OpenVPN, tlsdiag (rightly) sees no TLS records",
    ["ndpi/443-opvn.pcap"], _HS))
# GTP-U tunnels (ndpi/ja3_lots_of_cipher_suites_2_anon, tls_invalid_reads):
# tlsdiag decapsulates GTP-U like tshark (lib/capture/decode.c).
# SSLv2-framed ClientHello: tshark computes no JA3 for it.  In google_ssl the
# server's first segment is missing; tshark then decodes nothing of the server
# side, tlsdiag resyncs on the next record boundary and still reads the ServerHello.
EXPECTED_DIFFERENCES[("zeek/ssl.v3.pcap", None, "ja3")] = \
    "SSLv2-framed ClientHello: tshark gives no JA3 for it, tlsdiag does"
EXPECTED_DIFFERENCES.update(_same(
    "SSLv2 ClientHello (no tshark JA3) and a lost server segment: tlsdiag resyncs mid-stream "
    "and reads the ServerHello, tshark does not", ["ndpi/google_ssl.pcap"], _HS))
# Fuzzed ClientHellos: JA3 of a malformed hello is not defined; tshark hashes the
# fields it got before the error (e.g. "769,4-5-...-37," without the trailing
# empty fields), tlsdiag always hashes the five JA3 fields.
EXPECTED_DIFFERENCES[("ndpi/tls_invalid_reads.pcap", None, "ja3")] = \
    "malformed ClientHello: tshark hashes a truncated JA3 string"
EXPECTED_DIFFERENCES[("ndpi/tls_cipher_lens.pcap", None, "ja3")] = \
    "malformed ClientHellos (bad cipher-list lengths): JA3 undefined, the tools truncate differently"
# TLS 1.3 drafts and experiments (0x7fXX, 0x7e01, 0xfb1a): tlsdiag names them
# "1.3" like tshark, with tls.version_detail saying which draft.
EXPECTED_DIFFERENCES[("zeek/chrome-63.0.3211.0-canary-tls_experiment.pcap", None, "version")] = \
    "Google's TLS 1.3 experiment 0x7e01: tshark has no name for it, tlsdiag says 1.3 (version_detail: experiment 1)"

FACTS = ["version", "cipher", "sni", "alpn", "alpn_sel", "alerts", "ja3"]

TSHARK_FIELDS = [
    "tcp.stream", "frame.number", "ip.src", "ipv6.src", "tcp.srcport",
    "ip.dst", "ipv6.dst", "tcp.dstport",
    "tls.handshake.type", "tls.handshake.extensions_server_name",
    "tls.handshake.ciphersuite", "tls.handshake.version",
    "tls.handshake.extensions.supported_version",
    "tls.alert_message.desc", "tls.handshake.extensions_alpn_str",
    "tls.handshake.ja3",
]

VERSION_NAMES = {0x0304: "1.3", 0x0303: "1.2", 0x0302: "1.1", 0x0301: "1.0", 0x0300: "3.0"}


def load_ciphers():
    names = {}
    with open(os.path.join(ROOT, "data", "iana", "cipher-suites.csv")) as f:
        for row in csv.DictReader(f):
            names[row["name"]] = int(row["value"], 16)
    return names


def version_name(v):
    if v is None:
        return None
    if v in VERSION_NAMES:
        return VERSION_NAMES[v]
    if (v & 0xff00) == 0x7f00 or v in (0xfb17, 0xfb1a):  # TLS 1.3 drafts
        return "1.3"
    return "0x%04x" % v


def ints(s):
    return [int(x, 0) for x in s.split(",") if x] if s else []


def strs(s):
    return [x for x in s.split(",") if x] if s else []


def last(s):
    vals = [x for x in s.split(",") if x]
    return vals[-1] if vals else ""


# ---------------------------------------------------------------- tshark

def run_tshark(path, ports=()):
    cmd = ["tshark", "-n", "-r", path, "-o", "tls.desegment_ssl_records:TRUE",
           "-o", "tcp.desegment_tcp_streams:TRUE", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for p in sorted(ports):
        cmd += ["-d", "tcp.port==%d,tls" % p]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    streams = {}
    for line in p.stdout.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(TSHARK_FIELDS) - len(cols))
        r = dict(zip(TSHARK_FIELDS, cols))
        if r["tcp.stream"] == "":
            continue
        sid = int(r["tcp.stream"].split(",")[0])
        frame = int(r["frame.number"])
        src = last(r["ipv6.src"]) or last(r["ip.src"])
        dst = last(r["ipv6.dst"]) or last(r["ip.dst"])
        sport, dport = int(last(r["tcp.srcport"])), int(last(r["tcp.dstport"]))
        st = streams.get(sid)
        if st is None:
            st = streams[sid] = {
                "stream": sid, "first_frame": frame,
                "ends": frozenset([(src, sport), (dst, dport)]),
                "ch": None, "sh": None, "alerts": [], "tls": False,
                "syn_src": None,
            }
        types = ints(r["tls.handshake.type"])
        if r["tls.handshake.type"] or r["tls.alert_message.desc"]:
            st["tls"] = True
        if 1 in types and st["ch"] is None:
            st["ch"] = {
                "src": (src, sport),
                "sni": (strs(r["tls.handshake.extensions_server_name"]) or [None])[0],
                "alpn": strs(r["tls.handshake.extensions_alpn_str"]),
                "ja3": (strs(r["tls.handshake.ja3"]) or [None])[0],
            }
        if 2 in types:
            ciphers = ints(r["tls.handshake.ciphersuite"])
            sv = ints(r["tls.handshake.extensions.supported_version"])
            hv = ints(r["tls.handshake.version"])
            alpn = strs(r["tls.handshake.extensions_alpn_str"])
            # the last ServerHello wins (after a HelloRetryRequest)
            st["sh"] = {
                "src": (src, sport),
                "version": version_name(sv[-1] if sv else (hv[-1] if hv else None)),
                "cipher": ciphers[-1] if ciphers else None,
                "alpn": alpn[-1] if alpn else None,
            }
        for code in ints(r["tls.alert_message.desc"]):
            st["alerts"].append((frame, (src, sport), code))
    return streams


def tshark_facts(st, client):
    ch, sh = st["ch"], st["sh"]
    alerts = [(fr, "client" if ep == client else "server", code) for fr, ep, code in st["alerts"]]
    return {
        "version": sh["version"] if sh else None,
        "cipher": sh["cipher"] if sh else None,
        "sni": ch["sni"] if ch else None,
        "alpn": ch["alpn"] if ch else [],
        "alpn_sel": sh["alpn"] if sh else None,
        "alerts": sorted(alerts),
        "ja3": ch["ja3"] if ch else None,
    }


# ---------------------------------------------------------------- tlsdiag

def run_tlsdiag(tlsdiag, path):
    rc, objs, _ = read_json(tlsdiag, path, all_conns=True)
    return rc, [c for c in objs if c.get("network", {}).get("transport", "tcp") == "tcp"]


def tlsdiag_facts(c, ciphers):
    tls = c.get("tls") or {}
    cl = tls.get("client") or {}
    cipher = tls.get("cipher")
    if isinstance(cipher, str):
        cipher = int(cipher, 16) if cipher.startswith("0x") else ciphers.get(cipher, cipher)
    alerts = sorted((a["frame"], a["from"], a["code"]) for a in c.get("alerts") or []
                    if not a.get("encrypted"))
    return {
        "version": tls.get("version"),
        "cipher": cipher,
        "sni": cl.get("server_name"),
        "alpn": cl.get("alpn") or [],
        "alpn_sel": tls.get("next_protocol"),
        "alerts": alerts,
        "ja3": cl.get("ja3"),
    }


def has_client_hello(c):
    tls = c.get("tls") or {}
    return bool((tls.get("client") or {}).get("ja3"))


# ---------------------------------------------------------------- compare

def match(conns, streams):
    by_key = {}
    by_ends = {}
    for st in streams.values():
        by_key[(st["ends"], st["first_frame"])] = st
        by_ends.setdefault(st["ends"], []).append(st)
    pairs = []
    for c in conns:
        ends = frozenset([(c["client"]["ip"], c["client"]["port"]),
                          (c["server"]["ip"], c["server"]["port"])])
        st = by_key.get((ends, c["first_frame"]))
        if st is None and len(by_ends.get(ends, [])) == 1:
            st = by_ends[ends][0]
        pairs.append((c, st, ends))
    return pairs


def expected(fname, first_frame, fact):
    return (EXPECTED_DIFFERENCES.get((fname, first_frame, fact))
            or EXPECTED_DIFFERENCES.get((fname, None, fact)))


def compare_file(tlsdiag, path, ciphers, stats, report):
    fname = rel(path)
    rc, conns = run_tlsdiag(tlsdiag, path)
    streams = run_tshark(path)
    pairs = match(conns, streams)
    # connections where tlsdiag saw a ClientHello and tshark no TLS: decode the port as TLS
    ports = {c["server"]["port"] for c, st, _ in pairs
             if has_client_hello(c) and st is not None and not st["tls"]}
    if ports:
        streams2 = run_tshark(path, ports)
        pairs2 = match(conns, streams2)
        pairs = [(c, st2 if (st is not None and not st["tls"]) else st, e)
                 for (c, st, e), (_, st2, _) in zip(pairs, pairs2)]
        stats["decode_as"].append((fname, sorted(ports)))
    seen_streams = set()
    nfile = {"conns": 0, "agree": 0, "diff": 0, "expected": 0}
    for c, st, ends in pairs:
        if st is not None:
            seen_streams.add(st["stream"])
        if not has_client_hello(c) and (st is None or not st["tls"]) and c.get("outcome") == "not_tls":
            continue  # neither tool sees TLS here
        nfile["conns"] += 1
        ff = c["first_frame"]
        if st is None:
            facts_t = None
        else:
            client = (c["client"]["ip"], c["client"]["port"])
            facts_t = tshark_facts(st, client)
        facts_d = tlsdiag_facts(c, ciphers)
        for fact in FACTS:
            vd = facts_d[fact]
            vt = facts_t[fact] if facts_t else "<no tshark stream>"
            if vd == vt:
                nfile["agree"] += 1
                continue
            why = expected(fname, ff, fact)
            if why:
                nfile["expected"] += 1
                report.append(("expected", fname, ff, fact, vd, vt, why))
            else:
                nfile["diff"] += 1
                report.append(("DIFF", fname, ff, fact, vd, vt, ""))
    # TLS streams tshark saw that tlsdiag did not report at all
    for st in streams.values():
        if st["stream"] in seen_streams or not (st["ch"] or st["sh"]):
            continue
        ff = st["first_frame"]
        why = expected(fname, ff, "missing")
        nfile["conns"] += 1
        if why:
            nfile["expected"] += 1
            report.append(("expected", fname, ff, "missing", None, "tcp.stream %d" % st["stream"], why))
        else:
            nfile["diff"] += 1
            report.append(("DIFF", fname, ff, "missing", None, "tcp.stream %d" % st["stream"], ""))
    for k, v in nfile.items():
        stats[k] += v
    stats["files"] += 1
    return fname, rc, nfile


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    tlsdiag = sys.argv[1]
    files = files_or_skip(sys.argv[2:])
    if files is None:
        return 0
    ciphers = load_ciphers()
    stats = {"files": 0, "conns": 0, "agree": 0, "diff": 0, "expected": 0, "decode_as": []}
    report = []
    print("%-55s %3s %5s %6s %5s %5s" % ("file", "rc", "conns", "agree", "diff", "expct"))
    for path in files:
        fname, rc, n = compare_file(tlsdiag, path, ciphers, stats, report)
        print("%-55s %3d %5d %6d %5d %5d" % (fname[:55], rc, n["conns"], n["agree"], n["diff"], n["expected"]))
    if stats["decode_as"]:
        print("\ntshark re-run with -d tcp.port==N,tls:")
        for fname, ports in stats["decode_as"]:
            print("  %s: %s" % (fname, ",".join(map(str, ports))))
    if report:
        print("\ndifferences (tlsdiag | tshark):")
        for kind, fname, ff, fact, vd, vt, why in report:
            print("  %-8s %s first_frame=%s %s: %r | %r%s" % (
                kind, fname, ff, fact, vd, vt, ("\n             why: " + why) if why else ""))
    used = {(r[1], r[2], r[3]) for r in report if r[0] == "expected"} | \
           {(r[1], None, r[3]) for r in report if r[0] == "expected"}
    stale = [k for k in EXPECTED_DIFFERENCES if k not in used and (not sys.argv[2:])]
    for k in stale:
        print("  note: expected difference no longer seen: %r" % (k,))
    print("\n%d files, %d connections compared, %d facts agree, %d differ (%d expected, %d unexpected)" % (
        stats["files"], stats["conns"], stats["agree"], stats["diff"] + stats["expected"],
        stats["expected"], stats["diff"]))
    return 1 if stats["diff"] else 0


if __name__ == "__main__":
    sys.exit(main())
