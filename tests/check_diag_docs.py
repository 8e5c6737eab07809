#!/usr/bin/env python3
"""Check docs/diagnoses.md against the contract (docs/contract.md).

docs/diagnoses.md is written by tools/gen-diag-docs.py; this checks what it
says each name means, without the generator's code: every diagnosis code of
the contract's failure-cause and warning tables has a `## `code`` section
whose first paragraph is that table's meaning, and the outcomes (a separate
table: `not_tls` is both an outcome and a code, with different meanings) are
listed with the Outcome table's meanings.  The generator once took the
first contract row naming a code, so `not_tls` the code read as the outcome.

Usage: check_diag_docs.py [DIAGNOSES_MD]
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROW = re.compile(r"^\| `([a-z_]+)`((?:(?: /|,) `[a-z_]+`)*) \| (.*) \|$")


def tables(path):
    """{"outcome": {name: meaning}, "code": {name: meaning}} from the contract"""
    out = {"outcome": {}, "code": {}}
    kind = None
    for line in open(path):
        if line.startswith("## "):
            kind = "outcome" if line.startswith("## Outcome") else \
                "code" if line.startswith("## Failure causes") or line.startswith("## Warnings") else None
            continue
        m = ROW.match(line.rstrip("\n"))
        if kind and m:
            for name in [m.group(1)] + re.findall(r"`([a-z_]+)`", m.group(2)):
                out[kind].setdefault(name, m.group(3).strip())
    return out


def main():
    doc = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "diagnoses.md")
    want = tables(os.path.join(ROOT, "docs", "contract.md"))
    text = open(doc).read()
    bad = []
    for code, meaning in want["code"].items():
        m = re.search(r"^## `%s`\n\n(.*)\n" % re.escape(code), text, re.M)
        if m is None:
            bad.append(f"code {code}: no section")
        elif m.group(1).strip() != meaning:
            bad.append(f"code {code}: says {m.group(1).strip()!r}, the contract's code table {meaning!r}")
    for name, meaning in want["outcome"].items():
        if f"| `{name}` | {meaning} |" not in text:
            bad.append(f"outcome {name}: not listed with {meaning!r}")
    for b in bad:
        print("FAIL " + b)
    print(f"{len(want['code'])} codes, {len(want['outcome'])} outcomes: {'ok' if not bad else str(len(bad)) + ' wrong'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
