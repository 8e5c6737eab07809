#!/usr/bin/env python3
"""Read every corpus file with a (sanitizer) tlsdiag build: `read --json --all`,
60 s each, two at a time.  Exit 0 or 4 (corrupt or truncated input, results
printed) is fine; anything else, a sanitizer report on stderr, a timeout or an
output line that is not JSON is a failure.

Usage: robustness.py TLSDIAG [FILES...]
"""
import concurrent.futures
import os
import subprocess
import sys

from corpuslib import files_or_skip, read_json

TIMEOUT = 60


def run_one(tlsdiag, path):
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    try:
        rc, objs, err = read_json(tlsdiag, path, all_conns=True, timeout=TIMEOUT, env=env, tolerant=True)
    except subprocess.TimeoutExpired:
        return path, ["timeout after %d s" % TIMEOUT], 0
    problems = []
    if rc not in (0, 4):
        problems.append("exit %d" % rc)
    if "Sanitizer" in err or "runtime error:" in err:
        problems.append("sanitizer: " + err.strip()[:2000])
    bad = [o for o in objs if isinstance(o, str)]
    problems.extend(bad)
    return path, problems, len(objs) - len(bad), rc


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    tlsdiag = sys.argv[1]
    files = files_or_skip(sys.argv[2:])
    if files is None:
        return 0
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
