#!/usr/bin/env python3
"""Markdown table of BenchmarkObjective from interleaved rounds (run_benchmarks.sh's objective.txt).

Per objective and configuration: medians over the rounds of the mean and the median ms/step, the step
peak (tensor bytes beyond the parameters), the peak with parameters, the activation peak, heap bytes
allocated per step (and as a percentage of the tensor bytes) and tensor bytes allocated per step. For each FD objective, ratios to its counterpart taken within
each round (both measured seconds apart), then the median over rounds.

Usage: tables.py objective.txt
"""
import collections, statistics, sys

COUNTER = {"fd-ssm": "ssm", "fd-dsm": "dsm", "fd-mdsm": "mdsm", "score-fd-ssm-vr": "score-ssm-vr"}
NAMES = {"sm": "SM (exact)", "ssm": "SSM", "ssm-vr": "SSM-VR", "fd-ssm": "FD-SSM", "dsm": "DSM", "fd-dsm": "FD-DSM",
         "mdsm": "MDSM", "fd-mdsm": "FD-MDSM", "score-ssm-vr": "SSM-VR (score net)", "score-fd-ssm-vr": "FD-SSM-VR (score net)"}
rounds = collections.defaultdict(lambda: collections.defaultdict(list))
order = []
for line in open(sys.argv[1]):
    if not line.startswith("BenchmarkObjective/"):
        continue
    f = line.split()
    _, obj, cfg = f[0].split("/")
    cfg = cfg.rsplit("-", 1)[0]
    if (obj, cfg) not in rounds:
        order.append((obj, cfg))
    for i in range(2, len(f) - 1):
        try:
            rounds[(obj, cfg)][f[i + 1]].append(float(f[i]))
        except ValueError:
            pass

def med(obj, cfg, m):
    v = rounds[(obj, cfg)].get(m)
    return statistics.median(v) if v else float("nan")

def ratio(a, b, cfg, m):
    xa, xb = rounds[(a, cfg)].get(m, []), rounds[(b, cfg)].get(m, [])
    r = [x / y for x, y in zip(xa, xb) if y]
    return statistics.median(r) if r else float("nan")

print("| config | objective | ms/step mean | ms/step median | step peak MB | with params MB | activations MB | heap kB/step (% of tensor) | tensor MB/step | FD / counterpart: time (mean, median), step peak |")
print("|---|---|---|---|---|---|---|---|---|---|")
for obj, cfg in order:
    mb = lambda m: med(obj, cfg, m) / 1e6
    cmp = ""
    if obj in COUNTER and (COUNTER[obj], cfg) in rounds:
        c = COUNTER[obj]
        t, tm, p = ratio(obj, c, cfg, "ms/step"), ratio(obj, c, cfg, "median-ms/step"), ratio(obj, c, cfg, "step-peak-bytes")
        cmp = f"**{t:.2f}**, {tm:.2f}, **{p:.2f}** vs {NAMES[c]}"
    heap = f"{med(obj, cfg, 'B/op') / 1e3:.3g} ({100 * med(obj, cfg, 'B/op') / med(obj, cfg, 'tensor-B/op'):.2g}%)"
    print(f"| {cfg} | {NAMES.get(obj, obj)} | {med(obj, cfg, 'ms/step'):.3g} | {med(obj, cfg, 'median-ms/step'):.3g} | "
          f"{mb('step-peak-bytes'):.3g} | {mb('peak-bytes'):.3g} | {mb('act-peak-bytes'):.3g} | {heap} | {mb('tensor-B/op'):.3g} | {cmp} |")
n = max(len(v) for d in rounds.values() for v in d.values())
print(f"\n({n} rounds.)")
