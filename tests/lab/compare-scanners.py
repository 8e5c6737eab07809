#!/usr/bin/env python3
"""compare-scanners.py TLSDIAG.json SSLSCAN.xml NMAP.xml CIPHERS.csv

Compares the versions and cipher suites `tlsdiag probe --json` found with
what sslscan (--xml) and nmap (--script ssl-enum-ciphers -oX) report for the
same server.  sslscan is compared by code point (its XML has the id), nmap by
IANA name.  Prints each difference; exit 1 if any."""
import json, sys, xml.etree.ElementTree as ET

tj, ssx, nmx, csvf = sys.argv[1:5]
ids = {}
for line in open(csvf):
    v, _, name = line.strip().partition(",")
    if v.startswith("0x"):
        ids[name] = int(v, 16)
j = json.load(open(tj))
ours = {v: set(j["ciphers"].get(v, [])) for v in ("3.0", "1.0", "1.1", "1.2", "1.3")}
ids.update({n.upper(): i for n, i in list(ids.items())})
our_vers = {v for v, a in j["versions"].items() if a["accepted"]}
fails = 0

# sslscan
root = ET.parse(ssx).getroot()
ss_vers, ss_ids = set(), {}
for p in root.iter("protocol"):
    key = {"ssl": {"2": "2.0", "3": "3.0"}, "tls": {}}[p.get("type")].get(p.get("version"), p.get("version"))
    if p.get("enabled") == "1":
        ss_vers.add(key)
for c in root.iter("cipher"):
    v = {"SSLv3": "3.0", "TLSv1.0": "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2", "TLSv1.3": "1.3"}[c.get("sslversion")]
    ss_ids.setdefault(v, set()).add(int(c.get("id"), 16))
if ss_vers != our_vers:
    print(f"  versions differ from sslscan: tlsdiag {sorted(our_vers)} sslscan {sorted(ss_vers)}"); fails += 1
for v in ours:
    mine = {ids.get(n, ids.get(n.upper(), -1)) for n in ours[v]}
    if mine != ss_ids.get(v, set()):
        print(f"  TLS {v} suites differ from sslscan: only tlsdiag {sorted(hex(x) for x in mine - ss_ids.get(v, set()))}, "
              f"only sslscan {sorted(hex(x) for x in ss_ids.get(v, set()) - mine)}"); fails += 1

# nmap ssl-enum-ciphers
root = ET.parse(nmx).getroot()
nm = {}
for t in root.iter("table"):
    k = t.get("key") or ""
    if k.startswith("TLSv") or k.startswith("SSLv"):
        v = {"SSLv3": "3.0", "TLSv1.0": "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2", "TLSv1.3": "1.3"}[k]
        names = set()
        for ct in t.iter("table"):
            if ct.get("key") == "ciphers":
                for e in ct.iter("elem"):
                    if e.get("key") == "name":
                        # spelling only: nmap 7.93 writes TLS 1.3 suites with the
                        # draft "TLS_AKE_WITH_" prefix and "anon" in lower case
                        names.add(e.text.replace("TLS_AKE_WITH_", "TLS_").upper())
        nm[v] = names
if set(nm) != our_vers:
    print(f"  versions differ from nmap: tlsdiag {sorted(our_vers)} nmap {sorted(nm)}"); fails += 1
for v in ours:
    up = {n.upper() for n in ours[v]}
    if up != nm.get(v, set()):
        print(f"  TLS {v} suites differ from nmap: only tlsdiag {sorted(up - nm.get(v, set()))}, "
              f"only nmap {sorted(nm.get(v, set()) - up)}"); fails += 1
print(f"  tlsdiag {j['connections']} connections {j['wall_ms']} ms; versions {sorted(our_vers)}; "
      + ", ".join(f"{v}: {len(ours[v])} suites" for v in sorted(our_vers)))
sys.exit(1 if fails else 0)
