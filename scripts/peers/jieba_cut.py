#!/usr/bin/env python3
"""Times Python jieba (installed from PyPI, not part of the project) cutting a text file,
as the peer of `yuqing bench analyze`. Prints one JSON line: {"mb_per_sec": …}.

usage: jieba_cut.py FILE REPEATS
"""
import json
import statistics
import sys
import time

import jieba

jieba.setLogLevel(60)
jieba.initialize()  # load the dictionary before timing, as the Rust side does

path, repeats = sys.argv[1], int(sys.argv[2])
with open(path, encoding="utf-8") as f:
    lines = f.read().splitlines()
size_mb = sum(len(line.encode("utf-8")) for line in lines) / 1e6
rates = []
for _ in range(repeats):
    start = time.perf_counter()
    for line in lines:
        for _word in jieba.cut(line, HMM=True):
            pass
    rates.append(size_mb / (time.perf_counter() - start))
print(json.dumps({"mb_per_sec": statistics.median(rates)}))
