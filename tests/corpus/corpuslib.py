"""Shared helpers of the corpus tests (tests/corpus/*.py): where the corpus
is, which files are captures, and running `tlsdiag read --json` on one."""
import glob
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CAPTURE_PATTERNS = ("*.pcap", "*.pcapng", "*.pcap.gz", "*.pcapng.gz", "*.cap")
SUBDIRS = ("zeek", "ndpi", "ja4")


def corpus_dir():
    """$TD_SHARED/corpus, else ../shared/corpus next to the repository."""
    env = os.environ.get("TD_SHARED")
    if env:
        return os.path.join(env, "corpus")
    return os.path.join(ROOT, "..", "shared", "corpus")


def corpus_files(corpus):
    """Every capture under the corpus's zeek/, ndpi/ and ja4/, sorted."""
    out = []
    for sub in SUBDIRS:
        for pat in CAPTURE_PATTERNS:
            out.extend(glob.glob(os.path.join(corpus, sub, pat)))
    return sorted(set(out))


def rel(path):
    """"ndpi/x.pcap": the name the expectation tables use."""
    return os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))


def files_or_skip(args, need_subdir=None):
    """The files given on the command line, or every corpus capture; None
    (after printing SKIP) when there is no corpus."""
    if args:
        return list(args)
    corpus = corpus_dir()
    if not os.path.isdir(os.path.join(corpus, need_subdir) if need_subdir else corpus):
        print("SKIP: corpus not found at %s (set TD_SHARED)" % corpus)
        return None
    return corpus_files(corpus)


def read_json(tlsdiag, path, all_conns=False, timeout=120, env=None, tolerant=False):
    """Run `tlsdiag read --json` on |path|: (returncode, [objects], stderr).
    With |tolerant|, a line that is not JSON stops the parse and is reported
    as the string "line N is not JSON: ..." in place of the objects list
    tail (robustness checks want to see it, not crash)."""
    args = [tlsdiag, "read", "--json", "--no-progress"] + (["--all"] if all_conns else []) + [path]
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env,
                       errors="replace")
    conns = []
    for i, line in enumerate(p.stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            conns.append(json.loads(line))
        except ValueError as e:
            if not tolerant:
                raise
            conns.append("line %d is not JSON: %s" % (i, e))
            break
    return p.returncode, conns, p.stderr
