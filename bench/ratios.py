#!/usr/bin/env python3
"""Per-round FD/counterpart ratios from interleaved go test -bench rounds.

Usage: ratios.py objective.txt
Each round runs every benchmark once, in order; a ratio is taken within a
round (both sides measured seconds apart), then the median over rounds is
printed with the range, for ms/step and for the peak metrics.
"""
import collections, statistics, sys

PAIRS = [("fd-ssm", "ssm"), ("fd-ssm", "ssm-vr"), ("fd-dsm", "dsm"), ("fd-mdsm", "mdsm"),
         ("score-fd-ssm-vr", "score-ssm-vr")]
METRICS = ["ms/step", "median-ms/step", "step-peak-bytes", "peak-bytes", "act-peak-bytes"]

rounds = collections.defaultdict(lambda: collections.defaultdict(list))  # (obj, cfg) -> metric -> per-round values
for line in open(sys.argv[1]):
    if not line.startswith("BenchmarkObjective/"):
        continue
    f = line.split()
    obj, cfg = f[0].split("/")[1], f[0].split("/")[2].rsplit("-", 1)[0]
    for i in range(2, len(f) - 1):
        if f[i + 1] in METRICS:
            rounds[(obj, cfg)][f[i + 1]].append(float(f[i]))
cfgs = sorted({c for _, c in rounds}, key=lambda c: ["toy", "mnist-mlp", "mnist-large"].index(c) if c in ["toy", "mnist-mlp", "mnist-large"] else 9)
for cfg in cfgs:
    for a, b in PAIRS:
        if (a, cfg) not in rounds or (b, cfg) not in rounds:
            continue
        parts = []
        for m in METRICS:
            xa, xb = rounds[(a, cfg)][m], rounds[(b, cfg)][m]
            r = [x / y for x, y in zip(xa, xb) if y]
            if not r:
                continue
            parts.append(f"{m} {statistics.median(r):.3f} [{min(r):.2f}-{max(r):.2f}]")
        print(f"{cfg:12s} {a:>16s} / {b:<13s} " + "  ".join(parts) + f"  rounds={len(xa)}")
