#!/usr/bin/env python3
"""Read every corpus file with a (sanitizer) tlsdiag build: `read --json --all`,
60 s each, two at a time.  Exit 0 or 4 (corrupt or truncated input, results
printed) is fine; anything else, a sanitizer report on stderr, a timeout or an
output line that is not JSON is a failure.

Usage: robustness.py TLSDIAG [FILES...]
"""
import concurrent.futures
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TIMEOUT = 60


def corpus_dir():
    env = os.environ.get("TD_SHARED")
    if env:
        return os.path.join(env, "corpus")
    return os.path.join(ROOT, "..", "shared", "corpus")


def corpus_files(corpus):
    out = []
    for sub in ("zeek", "ndpi", "ja4"):
        for pat in ("*.pcap", "*.pcapng", "*.pcap.gz", "*.pcapng.gz", "*.cap"):
            out.extend(glob.glob(os.path.join(corpus, sub, pat)))
    return sorted(set(out))


def run_one(tlsdiag, path):
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    try:
        p = subprocess.run([tlsdiag, "read", "--json", "--all", "--no-progress", path],
                           capture_output=True, text=True, timeout=TIMEOUT, env=env,
                           errors="replace")
    except subprocess.TimeoutExpired:
        return path, ["timeout after %d s" % TIMEOUT], 0
    problems = []
    if p.returncode not in (0, 4):
        problems.append("exit %d" % p.returncode)
    if "Sanitizer" in p.stderr or "runtime error:" in p.stderr:
        problems.append("sanitizer: " + p.stderr.strip()[:2000])
    n = 0
    for i, line in enumerate(p.stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            json.loads(line)
            n += 1
        except ValueError as e:
            problems.append("line %d is not JSON: %s" % (i, e))
            break
    return path, problems, n, p.returncode


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    tlsdiag = sys.argv[1]
    files = sys.argv[2:]
    if not files:
        corpus = corpus_dir()
        if not os.path.isdir(corpus):
            print("SKIP: corpus not found at %s (set TD_SHARED)" % corpus)
            return 0
        files = corpus_files(corpus)
    bad = 0
    total = 0
    exit4 = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        for res in ex.map(lambda f: run_one(tlsdiag, f), files):
            path, problems = res[0], res[1]
            total += res[2]
            if len(res) > 3 and res[3] == 4:
                exit4.append(os.path.basename(path))
            if problems:
                bad += 1
                print("FAIL %s: %s" % (path, "; ".join(problems)))
    if exit4:
        print("exit 4 (corrupt or truncated input): %s" % ", ".join(exit4))
    print("robustness: %d files, %d connections, %d failures" % (len(files), total, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
