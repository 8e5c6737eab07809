#!/usr/bin/env python3
"""Check tlsdiag's JA4 (tls.client.ja4) against FoxIO's expected values.

Each corpus/ja4/FILE.json lists, per stream, src/srcport/dst/dstport, the SNI
(`domain`) and `JA4.N` for the N-th ClientHello of the stream (JA4.2 after a
HelloRetryRequest).  tlsdiag reports one JA4 per connection, that of the
first ClientHello, so it is compared with JA4.1.  Connections are matched by
client and server address and port, in order of appearance when a 4-tuple is
reused; the SNI must match too.  Entries without JA4 (HTTP-only streams:
JA4H) are skipped.

Usage: check_ja4.py TLSDIAG [JSONFILES...]
"""
import glob
import json
import os
import sys

from corpuslib import corpus_dir, read_json

# (json basename, stream) -> why tlsdiag's JA4 differs from the expected one.
EXPECTED_DIFFERENCES = {
    # The ALPN "ja4" part of a non-alphanumeric ALPN value: the current JA4
    # spec takes the first and last hex nibble of the value; FoxIO's expected
    # file predates that change (it keeps the raw bytes), so only the two
    # ALPN characters differ.
    ("tls-non-ascii-alpn.pcapng.json", 0):
        "expected file predates the JA4 rule for non-alphanumeric ALPN (first/last hex nibble)",
}
# TLS inside a SOCKS tunnel (socks-https-example) is followed
# (lib/timeline/upgrade.c): its JA4 values agree.


def tlsdiag_conns(tlsdiag, pcap):
    return read_json(tlsdiag, pcap)[1]


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    tlsdiag = sys.argv[1]
    files = sys.argv[2:]
    if not files:
        corpus = corpus_dir()
        if not os.path.isdir(os.path.join(corpus, "ja4")):
            print("SKIP: corpus not found at %s (set TD_SHARED)" % corpus)
            return 0
        files = sorted(glob.glob(os.path.join(corpus, "ja4", "*.json")))
    total = agree = unexpected = expected_n = 0
    for jf in files:
        name = os.path.basename(jf)
        pcap = jf[:-len(".json")]
        with open(jf) as f:
            entries = json.load(f)
        conns = tlsdiag_conns(tlsdiag, pcap)
        by_tuple = {}
        for c in conns:
            key = (c["client"]["ip"], str(c["client"]["port"]), c["server"]["ip"], str(c["server"]["port"]))
            by_tuple.setdefault(key, []).append(c)
        used = {}
        nfile = nagree = 0
        for e in sorted(entries, key=lambda e: e["stream"]):
            if "JA4.1" not in e:
                continue
            nfile += 1
            key = (e["src"], e["srcport"], e["dst"], e["dstport"])
            cands = by_tuple.get(key, [])
            i = used.get(key, 0)
            used[key] = i + 1
            c = cands[i] if i < len(cands) else None
            got = ((c.get("tls") or {}).get("client") or {}).get("ja4") if c else None
            sni = ((c.get("tls") or {}).get("client") or {}).get("server_name") if c else None
            want = e["JA4.1"]
            problems = []
            if got != want:
                note = " (= JA4.2, the second ClientHello)" if got is not None and got == e.get("JA4.2") else ""
                problems.append("ja4 %s, expected %s%s" % (got, want, note))
            if e.get("domain") and c is not None and sni != e["domain"]:
                problems.append("sni %r, expected %r" % (sni, e["domain"]))
            if c is None:
                problems = ["no tlsdiag connection for %s:%s -> %s:%s" % key]
            if not problems:
                nagree += 1
                continue
            why = EXPECTED_DIFFERENCES.get((name, e["stream"]))
            tag = "expected" if why else "DIFF"
            if why:
                expected_n += 1
            else:
                unexpected += 1
            print("  %-8s %s stream %d (first_frame %s): %s%s" % (
                tag, name, e["stream"], c["first_frame"] if c else "-", "; ".join(problems),
                ("\n             why: " + why) if why else ""))
        total += nfile
        agree += nagree
        print("%-40s %3d streams with JA4, %3d agree" % (name, nfile, nagree))
    print("\nJA4: %d streams, %d agree, %d differ (%d expected, %d unexpected)" % (
        total, agree, total - agree, expected_n, unexpected))
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
