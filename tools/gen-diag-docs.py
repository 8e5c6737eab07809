#!/usr/bin/env python3
"""Write docs/diagnoses.md: every code of the diagnosis contract
(docs/contract.md, a copy of shared/spec/diagnoses.md) with a real example
from the committed lab fixtures, as tlsdiag reports it.

Usage: tools/gen-diag-docs.py build/tlsdiag > docs/diagnoses.md
"""
import json, os, re, subprocess, sys, glob

T = sys.argv[1]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
lab = os.path.join(root, "tests", "data", "lab")
contract = open(os.path.join(root, "docs", "contract.md")).read()

# The contract's tables by section: "## Outcome" holds the outcomes, the
# failure-cause and warning sections the diagnosis codes.  A name can be in
# both (`not_tls` is an outcome and a code, with different meanings), so each
# meaning is taken from its own section's table, never from the first row
# anywhere that mentions the name.
ROW = re.compile(r"^\| `([a-z_]+)`(?: / `([a-z_]+)`)?(?:, `([a-z_]+)`)? \| ([^\n]*) \|$", re.M)


def sections(text):
    """[(heading, body)] for the "## " sections of |text|"""
    parts = re.split(r"^## (.*)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def rows(body):
    """[(name, meaning)] of the table rows of |body| that name codes"""
    out = []
    for m in ROW.finditer(body):
        for g in m.groups()[:3]:
            if g:
                out.append((g, m.group(4).strip()))
    return out


outcomes, codes, meaning = [], [], {}
for head, body in sections(contract):
    if head.startswith("Outcome"):
        outcomes = rows(body)
    elif head.startswith("Failure causes") or head.startswith("Warnings"):
        for c, text in rows(body):
            if c not in meaning:
                codes.append(c)
                meaning[c] = text
examples = {}
files = sorted(glob.glob(os.path.join(lab, "*.pcap*")))
controls = [os.path.join(lab, "ok_sni_control.pcap")]
for f in files:
    args = [T, "read", "--json", "--no-progress"] + (controls if "sni_drop" in f else []) + [f]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    for line in out.splitlines():
        o = json.loads(line)
        if not o["source"].endswith(os.path.basename(f)):
            continue
        for d in o["diagnoses"]:
            examples.setdefault(d["code"], (os.path.basename(f), o, d))
print("# Diagnosis codes")
print()
print("The codes, outcomes and fields are a contract (docs/contract.md, copied from the project's")
print("specification): scripts match on them, so they are never renamed or reused. Below, every code")
print("with the diagnosis tlsdiag reported for it on a committed capture (`tests/data/lab/`, made by")
print("`tests/lab/make-fixtures.sh` with real servers and clients): the fields of its `--json` record")
print("(code, severity, by, confidence, summary, explanation, evidence, fix) laid out one per line.")
print("The text report shows the same for a failure and the first line of each warning. Regenerate with")
print("`tools/gen-diag-docs.py build/tlsdiag > docs/diagnoses.md`.")
print()
print("## Outcomes")
print()
print("Every connection has exactly one outcome (the `outcome` field; not a diagnosis code):")
print()
print("| outcome | meaning |")
print("|---|---|")
for o, text in outcomes:
    print(f"| `{o}` | {text} |")
print()
for c in codes:
    print(f"## `{c}`")
    print()
    print(meaning[c])
    print()
    if c in examples:
        f, o, d = examples[c]
        print(f"Example: `tlsdiag read --json tests/data/lab/{f}`" + (" (after ok_sni_control.pcap)" if "sni_drop" in f else ""))
        print()
        print("```")
        print(f'{d["code"]} ({d["severity"]}, by {d["by"]}, {d["confidence"]} confidence): {d["summary"]}')
        print(f'why: {d["explanation"]}')
        for e in d["evidence"]:
            print(f'  frame {e["frame"]} {e["time"]:.6f} {e["from"] or ""}: {e["what"]}')
        print(f'fix: {d["fix"]}')
        print("```")
    elif c == "unknown":
        print("The fallback when no rule explains a failed handshake; no lab scenario should end here, so no")
        print("fixture shows it (a lab capture that did would be a rule to write). On ../shared/corpus the")
        print("connections that still end here (captures that begin at the teardown, flows seen in one")
        print("direction only) are listed with their reason in tests/corpus/check_failures.py.")
    else:
        print("No committed capture shows this code yet; the rule is in `lib/rules/`.")
    print()
