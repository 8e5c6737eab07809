#!/usr/bin/env python3
"""bench/summarize.py RESULTS_DIR: markdown tables from bench/run.sh's results.tsv.

Per case: runs, median wall time with min-max, median CPU time (user+sys) with
min-max, median peak RSS, load average seen before the runs.  Then the ratios
the issue asks for, each computed from medians of the same run, on wall time
and on CPU time (on a shared machine CPU time is the steadier of the two).
Last, -j 1 against -j 2 and the default paired by round: the ratio of the two
runs of each round, which were minutes apart at most."""
import csv
import os
import statistics
import sys

res = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(res, "results.tsv")), delimiter="\t"))
cases = {}
for r in rows:
    try:
        wall, cpu = float(r["wall_s"]), float(r["user_s"]) + float(r["sys_s"])
        rss = int(r["maxrss_kb"])
    except (ValueError, KeyError):
        continue
    c = cases.setdefault(r["case"], {"wall": [], "cpu": [], "rss": [], "load": [], "exit": set(), "est": [],
                                     "byrun": {}})
    c["byrun"][r["run"]] = wall
    thr = [float(x) for x in (r.get("thread_cpu_s") or "-").split() if x not in ("-", "")]
    if thr:
        # on 2 idle cores a run takes at least its busiest thread's CPU time
        # and at least half of all the CPU time it used
        c["est"].append(max(max(thr), cpu / 2))
    c["wall"].append(wall)
    c["cpu"].append(cpu)
    c["rss"].append(rss)
    c["load"].append(float(r["load1"]))
    c["exit"].add(r["exit"])

env = {}
for line in open(os.path.join(res, "env.txt")):
    k, _, v = line.strip().partition("=")
    env[k] = v
print("Machine: %s, %s CPUs (%s), %s RAM; tlsdiag %s; %s" % (
    env.get("host", "?"), env.get("nproc", "?"), env.get("cpu", "?"), env.get("mem", "?"),
    env.get("tlsdiag", "?"), env.get("date_utc", "?")))
print()
for k, v in env.items():
    if k.startswith("file_") or k.startswith("pkg_"):
        print("- %s: %s" % (k[5:] if k.startswith("file_") else k[4:], v))
print()
print("| case | runs | wall median (min-max) s | CPU median (min-max) s | peak RSS MB | load1 before | exit |")
print("|---|---|---|---|---|---|---|")
med = {}
for name, c in cases.items():
    w, u = statistics.median(c["wall"]), statistics.median(c["cpu"])
    med[name] = (w, u, statistics.median(c["rss"]) / 1024, statistics.median(c["est"]) if c["est"] else None)
    print("| %s | %d | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | %.0f | %.1f-%.1f | %s |" % (
        name, len(c["wall"]), w, min(c["wall"]), max(c["wall"]), u, min(c["cpu"]), max(c["cpu"]),
        med[name][2], min(c["load"]), max(c["load"]), ",".join(sorted(c["exit"]))))
print()


def ratio(a, b, what):
    if a in med and b in med and med[b][0] > 0 and med[b][1] > 0:
        print("| %s | %.2f | %.2f |" % (what, med[a][0] / med[b][0], med[a][1] / med[b][1]))


print("| ratio (medians) | wall | CPU |")
print("|---|---|---|")
for f in ("handshakes", "handshakes-sub", "bulk", "handshakes2x"):
    ratio(f + ".ndpiReader", f + ".tlsdiag_json", "%s: ndpiReader / tlsdiag --json (target >= 10)" % f)
    ratio(f + ".ndpiReader", f + ".tlsdiag_json_j1", "%s: ndpiReader / tlsdiag --json -j 1" % f)
    ratio(f + ".ssldump", f + ".tlsdiag_json", "%s: ssldump / tlsdiag --json" % f)
    ratio(f + ".tshark", f + ".tlsdiag_json", "%s: tshark / tlsdiag --json" % f)
    ratio(f + ".tlsdiag_summary", f + ".pcaploop", "%s: tlsdiag -q / libpcap loop (target <= 2)" % f)
    ratio(f + ".tlsdiag_summary_j1", f + ".pcaploop", "%s: tlsdiag -q -j 1 / libpcap loop" % f)
    ratio(f + ".tlsdiag_json", f + ".pcaploop", "%s: tlsdiag --json / libpcap loop" % f)
    ratio(f + ".tlsdiag_json_j1", f + ".tlsdiag_json_j2", "%s: -j 1 / -j 2, --json (target >= 1.6)" % f)
    ratio(f + ".tlsdiag_summary_j1", f + ".tlsdiag_summary_j2", "%s: -j 1 / -j 2, -q" % f)
    ratio(f + ".tlsdiag_json_j1", f + ".tlsdiag_json", "%s: -j 1 / default, --json" % f)
ests = [(n, m) for n, m in med.items() if m[3] is not None and n.endswith("_j2")]
if ests:
    print()
    print("-j 2 on a machine whose cores are busy with other work cannot show its wall time; the")
    print("estimate below is the wall time on 2 idle cores: max(busiest thread's CPU, all CPU / 2),")
    print("from the thread CPU times tlsdiag reports with TLSDIAG_THREAD_TIMES=1.")
    print()
    print("| case | CPU -j 1 s | est. wall -j 2 on 2 idle cores s | est. speed-up (target >= 1.6) |")
    print("|---|---|---|---|")
    for n, m in ests:
        one = n.replace("_j2", "_j1")
        if one in med:
            print("| %s | %.2f | %.2f | %.2f |" % (n, med[one][1], m[3], med[one][1] / m[3]))
for c in ("pcaploop", "tlsdiag_json", "tlsdiag_summary"):
    a, b = "handshakes2x." + c, "handshakes." + c
    if a in med and b in med:
        print("| doubling: %s 2x / 1x (time should be ~2, RSS ~1) | %.2f | %.2f (RSS %.2f) |" % (
            c, med[a][0] / med[b][0], med[a][1] / med[b][1], med[a][2] / med[b][2]))
# -j 1 / -j 2 per round: the two runs of a round are at most one round
# apart in time, so a slow spell of the machine weighs on both; the medians
# above pair the fastest -j 1 with whichever -j 2 happens to be the median.
pairs = []
for f in ("handshakes", "handshakes-sub", "bulk", "handshakes2x"):
    for one, two, what in (("tlsdiag_json_j1", "tlsdiag_json_j2", "--json, -j 1 / -j 2"),
                           ("tlsdiag_json_j1", "tlsdiag_json", "--json, -j 1 / default"),
                           ("tlsdiag_summary_j1", "tlsdiag_summary_j2", "-q, -j 1 / -j 2"),
                           ("tlsdiag_summary_j1", "tlsdiag_summary", "-q, -j 1 / default")):
        a, b = cases.get(f + "." + one), cases.get(f + "." + two)
        if a is None or b is None:
            continue
        rs = sorted(a["byrun"][k] / b["byrun"][k] for k in a["byrun"] if k in b["byrun"] and b["byrun"][k] > 0)
        if rs:
            pairs.append((f, what, rs))
if pairs:
    print()
    print("| paired by round (-j target >= 1.6) | rounds | wall ratio per round: median (min-max) | rounds >= 1.6 |")
    print("|---|---|---|---|")
    for f, what, rs in pairs:
        print("| %s: %s | %d | %.2f (%.2f-%.2f) | %d |" % (f, what, len(rs), statistics.median(rs), rs[0], rs[-1],
                                                          sum(1 for x in rs if x >= 1.6)))
