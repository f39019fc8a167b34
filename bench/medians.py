#!/usr/bin/env python3
"""Medians of go test -bench metrics over repeated runs: one line per benchmark."""
import collections, statistics, sys

vals = collections.defaultdict(lambda: collections.defaultdict(list))
order = []
for line in open(sys.argv[1]):
    if not line.startswith("Benchmark"):
        continue
    f = line.split()
    name = f[0]  # the -N suffix is GOMAXPROCS: kept apart
    if name not in vals:
        order.append(name)
    for i in range(2, len(f) - 1):
        try:
            v = float(f[i])
        except ValueError:
            continue
        vals[name][f[i + 1]].append(v)
for name in order:
    d = vals[name]
    n = max(len(v) for v in d.values())
    parts = [f"{k}={statistics.median(v):.4g}" for k, v in d.items() if k != "ns/op" or "ms/step" not in d]
    print(name, " ".join(parts), f"n={n}")
