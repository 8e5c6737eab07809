#!/usr/bin/env python3
"""Decryption checks on the lab fixtures that carry key logs.

1. For every capture in tests/data/lab with a key log next to it (NAME.keys),
   and every pcapng with embedded secrets (dec_dsb_*.pcapng, read with no
   flag), every handshake message and every alert that tlsdiag reports agrees
   with tshark run with the same key log (-o tls.keylog_file:FILE): the same
   (frame, handshake type) pairs and the same (frame, alert code) pairs, clear
   and decrypted alike.  tlsdiag must also report no decryption anomaly and
   no side whose decryption failed.
2. Every suite is covered: the five TLS 1.3 suites and the TLS 1.2 kinds
   (GCM, ChaCha20, CCM_8, CBC with and without encrypt_then_mac, TLS 1.0).
3. The TLS 1.3 failure scenarios get their primary code with "high"
   confidence with the key log, and the same code without it.

tshark's side is committed in tests/data/lab/decrypt_tshark.json (what
`tshark -o tls.keylog_file:FILE` printed for each capture), so the suite
does not start tshark 75 times; a capture missing from it is asked of
tshark on the spot.  --tshark asks tshark for every capture instead (and
fails on any difference with the committed file), --update rewrites it.

Usage: check_decrypt.py [--tshark | --update] TLSDIAG
"""
import concurrent.futures
import glob
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(HERE, "data", "lab")
GOLDEN = os.path.join(LAB, "decrypt_tshark.json")

HS_TYPES = {
    "HelloRequest": 0, "ClientHello": 1, "ServerHello": 2, "HelloRetryRequest": 2,
    "NewSessionTicket": 4, "EndOfEarlyData": 5, "EncryptedExtensions": 8, "Certificate": 11,
    "ServerKeyExchange": 12, "CertificateRequest": 13, "ServerHelloDone": 14,
    "CertificateVerify": 15, "ClientKeyExchange": 16, "Finished": 20, "CertificateStatus": 22,
    "KeyUpdate": 24,
}

SUITES_NEEDED = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "TLS_RSA_WITH_AES_128_CCM_8",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
}

# Differences with tshark that are right, by capture: (frame, type) pairs
# tshark reports and tlsdiag rightly does not, and why.
EXPLAINED_TSHARK_ONLY = {
    # snaplen 200: tshark names the ClientKeyExchange from the first bytes of
    # a record cut by the capture; tlsdiag reports only whole messages and
    # names the cut (capture_snaplen) instead.
    "capture_snaplen.pcap": {(10, 16)},
}

# TLS 1.3 failures: (scenario capture, expected primary code)
TLS13_FAILURES = [
    ("fail_client_cert_missing_tls13", "client_cert_missing"),
    ("fail_client_cert_unknown_ca_tls13", "client_cert_rejected"),
    ("fail_untrusted_tls13", "server_cert_rejected"),
    ("fail_untrusted_tls13_curl", "server_cert_rejected"),
    ("fail_expired_tls13", "server_cert_rejected"),
    ("fail_wrong_name_tls13", "server_cert_rejected"),
]


def tlsdiag_json(tlsdiag, cap, keys):
    cmd = [tlsdiag, "read", "--json", "--no-progress"]
    if keys:
        cmd += ["--keylog", keys]
    p = subprocess.run(cmd + [cap], capture_output=True, text=True)
    # read exits 1 only with --fail, never passed here: 1 is what ASan and
    # UBSan exit with (halt_on_error, abort_on_error=0), so it is a failure
    if p.returncode != 0 or "Sanitizer" in p.stderr or "runtime error" in p.stderr:
        raise RuntimeError(f"{cap}: exit {p.returncode}: {p.stderr.strip()[:2000]}")
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def tlsdiag_facts(conns):
    hs, alerts = [], []
    for c in conns:
        for t in c["timeline"]:
            m = re.match(r"([A-Za-z]+)", t["what"])
            word = m.group(1) if m else ""
            if word in HS_TYPES:
                hs.append((t["frame"], HS_TYPES[word]))
            elif word == "handshake":
                m2 = re.match(r"handshake type (\d+)", t["what"])
                if m2:
                    hs.append((t["frame"], int(m2.group(1))))
        for a in c["alerts"]:
            if a["code"] is not None:
                alerts.append((a["frame"], a["code"]))
    return sorted(hs), sorted(alerts)


def tshark_facts(cap, keys):
    cmd = ["tshark", "-n", "-r", cap, "-d", "tcp.port==8080,tls"]
    if keys:
        cmd += ["-o", "tls.keylog_file:" + keys]
    cmd += ["-Y", "tls", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
            "-e", "frame.number", "-e", "tls.handshake.type", "-e", "tls.alert_message.desc"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"tshark {cap}: {p.stderr.strip()}")
    hs, alerts = [], []
    for line in p.stdout.splitlines():
        cols = line.split("\t")
        frame = int(cols[0])
        for v in filter(None, (cols[1] if len(cols) > 1 else "").split(",")):
            hs.append((frame, int(v)))
        for v in filter(None, (cols[2] if len(cols) > 2 else "").split(",")):
            alerts.append((frame, int(v)))
    return sorted(hs), sorted(alerts)


def main():
    args = sys.argv[1:]
    live = update = False
    if args[:1] == ["--tshark"]:
        live, args = True, args[1:]
    elif args[:1] == ["--update"]:
        live = update = True
        args = args[1:]
    if len(args) != 1:
        print(__doc__)
        return 2
    tlsdiag = args[0]
    golden = {}
    if os.path.exists(GOLDEN):
        with open(GOLDEN) as f:
            golden = json.load(f)
    failures = passed = 0
    suites = set()
    cases = []
    for keys in sorted(glob.glob(os.path.join(LAB, "*.keys"))):
        base = keys[:-5]
        caps = [c for c in (base + ".pcap", base + ".pcapng", base + ".pcap.gz") if os.path.exists(c)]
        if caps:
            cases.append((caps[0], keys))
    for cap in sorted(glob.glob(os.path.join(LAB, "dec_dsb_*.pcapng"))):
        cases.append((cap, None))

    def one(case):
        cap, keys = case
        conns = tlsdiag_json(tlsdiag, cap, keys)
        g = golden.get(os.path.basename(cap))
        drift = False
        if live or g is None:
            want = tshark_facts(cap, keys)
            if live and g is not None and not update:
                drift = (sorted(tuple(x) for x in g["handshake"]), sorted(tuple(x) for x in g["alerts"])) != want
        else:
            want = (sorted(tuple(x) for x in g["handshake"]), sorted(tuple(x) for x in g["alerts"]))
        return conns, tlsdiag_facts(conns), want, drift

    # tshark's start-up dominates: run the cases side by side
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        results = list(ex.map(one, cases))

    if update:
        out = {os.path.basename(cap): {"handshake": r[2][0], "alerts": r[2][1]} for (cap, _), r in zip(cases, results)}
        with open(GOLDEN, "w") as f:
            json.dump(out, f, indent=0, sort_keys=True)
            f.write("\n")
        print(f"wrote {GOLDEN} ({len(out)} captures)")

    for (cap, keys), (conns, (got_hs, got_al), (want_hs, want_al), drift) in zip(cases, results):
        name = os.path.basename(cap)
        problems = []
        if drift:
            problems.append(f"tshark now differs from {os.path.basename(GOLDEN)} (--update rewrites it)")
        want_hs = [x for x in want_hs if tuple(x) not in EXPLAINED_TSHARK_ONLY.get(name, set())]
        if got_hs != want_hs:
            problems.append(f"handshake messages differ: only tlsdiag {sorted(set(got_hs) - set(want_hs))}, "
                            f"only tshark {sorted(set(want_hs) - set(got_hs))}")
        if got_al != want_al:
            problems.append(f"alerts differ: tlsdiag {got_al}, tshark {want_al}")
        for c in conns:
            dec = c["tls"].get("decryption")
            if dec is None:
                problems.append(f"#{c['id']}: no decryption block although a key log was given")
                continue
            bad = [a["code"] for a in c["anomalies"] if a["code"].startswith("decrypt_")]
            # a client that aborts before logging its own secrets is fine as
            # long as it sent nothing encrypted (state stays none/keys)
            if bad or "failed" in (dec["client"], dec["server"]) or "unsupported" in (dec["client"], dec["server"]):
                problems.append(f"#{c['id']}: decryption {dec['client']}/{dec['server']}, anomalies {bad}")
            if dec["server"] == "ok" or dec["client"] == "ok":
                suites.add(c["tls"]["cipher"])
        if problems:
            failures += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            passed += 1
            n_dec = sum(1 for c in conns for t in c["timeline"] if "decrypted" in t["what"])
            print(f"ok   {name}: {len(got_hs)} handshake messages, {len(got_al)} alerts agree with tshark "
                  f"({n_dec} decrypted timeline entries)")

    missing = SUITES_NEEDED - suites
    if missing:
        failures += 1
        print(f"FAIL suites never decrypted: {sorted(missing)}")
    else:
        passed += 1
        print(f"ok   every suite decrypted at least once ({len(suites)} suites)")

    for base, code in TLS13_FAILURES:
        cap = os.path.join(LAB, base + ".pcap")
        keys = os.path.join(LAB, base + ".keys")
        with_keys = tlsdiag_json(tlsdiag, cap, keys)[-1]
        without = tlsdiag_json(tlsdiag, cap, None)[-1]
        d1 = with_keys["diagnoses"][0] if with_keys["diagnoses"] else {}
        d0 = without["diagnoses"][0] if without["diagnoses"] else {}
        ok = (d1.get("code") == code and d1.get("confidence") == "high" and d0.get("code") == code
              and with_keys["outcome"] == "failed" and without["outcome"] == "failed")
        # with keys, the alert that ended it is read: its code is known
        ok = ok and any(a["code"] is not None and a["level"] == "fatal" for a in with_keys["alerts"])
        if ok:
            passed += 1
            print(f"ok   {base}: {code} high with the key log, {code} {d0.get('confidence')} without")
        else:
            failures += 1
            print(f"FAIL {base}: with keys {d1.get('code')} {d1.get('confidence')}, without {d0.get('code')} "
                  f"{d0.get('confidence')} (want {code})")

    print(f"{passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
