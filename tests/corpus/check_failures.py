#!/usr/bin/env python3
"""Every corpus connection whose outcome is `failed` must have a primary
diagnosis (diagnoses[0].code) other than `unknown`, unless it is listed in
KNOWN_UNKNOWN below with the reason.

Usage: check_failures.py TLSDIAG [FILES...]
"""
import sys

from corpuslib import files_or_skip, read_json, rel as relname

_ONE_SIDED = ("one-sided capture, server direction only, handshake completed as far as visible: "
              "reported failed/unknown (lib/rules should say partial or one_sided)")

# ("folder/file", first_frame) -> why `failed` with primary code `unknown` is accepted for now.
# An entry the tool now diagnoses fails the check: the list must not outlive its reason.
KNOWN_UNKNOWN = {
    ("ndpi/tls_1.2_unidirectional_server_no_cert.pcapng", 1): _ONE_SIDED,
    ("ndpi/tls_1.3_unidirectional_server.pcapng", 1): _ONE_SIDED,
}


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    tlsdiag = sys.argv[1]
    files = files_or_skip(sys.argv[2:])
    if files is None:
        return 0
    failed = known = bad = 0
    seen = set()
    for path in files:
        rel = relname(path)
        _, conns, _ = read_json(tlsdiag, path, all_conns=True)
        for c in conns:
            if c.get("outcome") != "failed":
                continue
            failed += 1
            diags = c.get("diagnoses") or []
            code = diags[0]["code"] if diags else None
            if code not in (None, "unknown"):
                continue
            key = (rel, c["first_frame"])
            seen.add(key)
            if key in KNOWN_UNKNOWN:
                known += 1
                continue
            bad += 1
            print("FAIL %s first_frame=%d: outcome failed, primary code %s" % (rel, c["first_frame"], code))
    if not sys.argv[2:]:
        for key in sorted(set(KNOWN_UNKNOWN) - seen):
            bad += 1
            print("FAIL %s first_frame=%d is now diagnosed (or gone): drop it from KNOWN_UNKNOWN" % key)
    print("failures: %d failed connections, %d without a cause (%d listed, %d not)" % (
        failed, known + bad, known, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
