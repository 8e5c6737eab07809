#!/usr/bin/env python3
"""Check every lab fixture against tests/data/lab/SCENARIOS.tsv.

For each scenario, `tlsdiag read --json` must give the expected outcome and
primary diagnosis code on the scenario's connection (the last connection in
the file; earlier ones, e.g. the first of two in a resumption capture, must
not have failed when the scenario expects ok).  Some scenarios are judged
together with a control capture taken on the same path (CONTROLS below):
the proof that a middlebox filters one name is that another name passes.

Usage: check_fixtures.py [--dir CAPTURE_DIR] TLSDIAG [NAME...]
  --dir: read the captures from CAPTURE_DIR (a fresh lab run) instead of the
         committed fixtures; the expectations stay those of SCENARIOS.tsv.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(HERE, "data", "lab")

# scenario -> captures read before it (same run, same path)
CONTROLS = {
    "fail_sni_drop": ["ok_sni_control.pcap"],
    "fail_proxy_no_sni": ["ok_proxy_sni.pcap"],
}

# scenario -> what else the last connection must carry: a diagnosis code
# (a warning on an ok handshake), a text in the primary's evidence
# (cross-connection links such as a version fallback), or a text in the
# summary or explanation of a diagnosis with the given code; a list when
# several
MUST_HAVE = {
    "ok_tls13_hrr": ("code", "hello_retry"),
    "warn_expired_accepted": ("code", "cert_expired"),
    "warn_wrong_name_accepted": [("code", "cert_hostname_mismatch"),
                                 ("summary", "cert_hostname_mismatch", '"server.lab.test" (it names wrong.lab.test)')],
    # the client's certificate is readable (TLS 1.2): the likely cause named
    "fail_client_cert_weak_key_tls12": ("explanation", "client_cert_rejected", "client certificate CN=lab weak client has a 1024-bit RSA key"),
    "fail_client_cert_unknown_ca_tls12": ("summary", "client_cert_rejected", 'issuer "CN=rogue ca"'),
    # TLS_EMPTY_RENEGOTIATION_INFO_SCSV is no suite: one suite, named
    "fail_no_shared_cipher": ("summary", "no_shared_cipher", "offered only TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"),
    "warn_self_signed_tls12": ("code", "cert_self_signed"),
    "warn_untrusted_tls12": [("code", "cert_untrusted"), ("summary", "cert_untrusted", 'ends in root "CN=rogue ca"')],
    # leaf + intermediate sent, the lab root not in the system store: a
    # complete chain to an untrusted root, not a missing intermediate
    "ok_tls12_full": ("summary", "cert_untrusted", 'leads to root "CN=tlsdiag lab root"'),
    "warn_not_yet_valid": ("code", "cert_not_yet_valid"),
    "warn_weak_key": ("code", "cert_weak_key"),
    "warn_weak_signature": ("code", "cert_weak_signature"),
    "warn_chain_order": ("code", "cert_chain_order"),
    "warn_obsolete_tls10": ("code", "obsolete_version"),
    "warn_weak_cipher": ("code", "weak_cipher"),
    "warn_no_sni": ("code", "no_sni"),
    "warn_resumption_rejected": ("code", "resumption_rejected"),
    "warn_untrusted_accepted": ("code", "cert_self_signed"),     # read with its key log (KEYLOG)
    "fail_wrong_name_tls12": ("code", "cert_hostname_mismatch"),
    "fail_fallback_scsv": ("evidence", "earlier attempt: connection #1 ClientHello TLS 1.3 failed (middlebox_reset)"),
    "fail_version_fallback": ("evidence", "earlier attempt: connection #2 ClientHello TLS 1.2 failed (protocol_version)"),
    # the control is connection #1 of the other file: named with its file,
    # not as this file's connection #1 (nor as evidence, see evidence_frames)
    "fail_sni_drop": ("explanation", "middlebox_drop", "Connection #1 of "),
    "fail_proxy_no_sni": ("summary", "sni_required", "connection #1 of "),
}
# the certificate these need is encrypted (TLS 1.3): read with NAME.keys
KEYLOG = {"warn_untrusted_accepted"}


# codes no lab connection may carry: every lab server sends its full chain
# (leaf + intermediate; the lab root is in no system store), so
# cert_chain_incomplete there would be the old misjudgement of an
# untrusted root as a missing intermediate
NEVER = {"cert_chain_incomplete"}


def evidence_frames(conn):
    """Evidence must point at frames of the connection's own file: an item
    whose frame is one of the connection's own timeline frames must carry
    that frame's time, and no item is before the file's first packet.
    (A control read from another file once came out as `frame 4 -1.012707`:
    frame 4 of this file is its own ClientHello, at 0.001566.)"""
    times = {}
    for e in conn.get("timeline", []):
        times.setdefault(e["frame"], set()).add(round(e["time"], 6))
    bad = []
    for d in conn["diagnoses"]:
        for e in d["evidence"]:
            if e["frame"] is None or e["time"] is None:
                continue
            if e["time"] < 0 or (e["frame"] in times and round(e["time"], 6) not in times[e["frame"]]):
                bad.append(f'{d["code"]}: frame {e["frame"]} {e["time"]:.6f} {e["what"]!r}')
    return bad


def main():
    global LAB
    args = sys.argv[1:]
    capdir = LAB
    if args[:1] == ["--dir"]:
        capdir = args[1]
        args = args[2:]
    tlsdiag = args[0]
    only = set(args[1:])
    rows = []
    with open(os.path.join(LAB, "SCENARIOS.tsv")) as f:
        for line in f:
            if line.startswith("name\t") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            rows.append(cols)
    failures = 0
    for cols in rows:
        name, fname, side, outcome, code = cols[:5]
        if only and name not in only:
            continue
        files = [os.path.join(capdir, c) for c in CONTROLS.get(name, [])] + [os.path.join(capdir, fname)]
        if not os.path.exists(files[-1]):
            print(f"FAIL {name}: {files[-1]} missing")
            failures += 1
            continue
        keys = []
        if name in KEYLOG:
            keys = ["--keylog", os.path.join(capdir, os.path.splitext(fname)[0] + ".keys")]
        p = subprocess.run([tlsdiag, "read", "--json", "--no-progress"] + keys + files,
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(f"FAIL {name}: exit {p.returncode}: {p.stderr.strip()}")
            failures += 1
            continue
        conns = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        conns = [c for c in conns if c.get("source", "").endswith(fname)]
        if not conns:
            print(f"FAIL {name}: no connection reported")
            failures += 1
            continue
        last = conns[-1]
        got_code = last["diagnoses"][0]["code"] if last["diagnoses"] and last["outcome"] != "ok" else "-"
        ok = last["outcome"] == outcome and got_code == code
        if outcome == "ok":
            ok = ok and all(c["outcome"] == "ok" for c in conns)
        extra = ""
        wants = MUST_HAVE.get(name, [])
        for w in wants if isinstance(wants, list) else [wants]:
            kind, want = w[0], w[-1]
            if kind == "code":
                have = any(d["code"] == want for d in last["diagnoses"])
            elif kind == "evidence":
                have = bool(last["diagnoses"]) and any(want in e["what"] for e in last["diagnoses"][0]["evidence"])
            else:
                have = any(d["code"] == w[1] and want in d[kind] for d in last["diagnoses"])
            if not have:
                ok = False
                extra += f" (missing {kind} {want!r})"
            else:
                extra += f" + {want}" if kind == "code" else " + fallback evidence" if kind == "evidence" else f" + {w[1]} {kind}"
        for c in conns:
            never = sorted({d["code"] for d in c["diagnoses"]} & NEVER)
            if never:
                ok = False
                extra += f" (#{c['id']} has {', '.join(never)})"
            bad = evidence_frames(c)
            if bad:
                ok = False
                extra += f" (#{c['id']} evidence not of its own file: {'; '.join(bad)})"
        if ok:
            print(f"ok   {name}: {outcome} {code}{extra}")
        else:
            got = ", ".join(f'#{c["id"]} {c["outcome"]} {c["diagnoses"][0]["code"] if c["diagnoses"] else "-"}' for c in conns)
            print(f"FAIL {name}: expected {outcome} {code}, got {got}{extra}")
            failures += 1
    print(f"{len(rows) - failures if not only else len(only) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
