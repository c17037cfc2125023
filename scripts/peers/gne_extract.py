#!/usr/bin/env python3
"""Runs GNE (GeneralNewsExtractor, installed from PyPI, not part of the project) on the
pages of `yuqing bench crawl`, as its peer. Prints one JSON line per page, in order:
{"file", "title", "publish_time", "author", "content"}, then one line {"pages_per_sec",
"mb_per_sec"}: the median over REPEATS runs of extraction alone (files already read).

usage: gne_extract.py LIST_FILE REPEATS   (LIST_FILE: one page path per line)
"""
import json
import statistics
import sys
import time

from gne import GeneralNewsExtractor

list_file, repeats = sys.argv[1], int(sys.argv[2])
with open(list_file, encoding="utf-8") as f:
    paths = [line.strip() for line in f if line.strip()]
pages = []
for path in paths:
    with open(path, encoding="utf-8") as f:
        pages.append(f.read())
size_mb = sum(len(page.encode("utf-8")) for page in pages) / 1e6

extractor = GeneralNewsExtractor()
results = []
for path, html in zip(paths, pages):
    try:
        found = extractor.extract(html)
        results.append({
            "file": path,
            "title": found.get("title") or "",
            "publish_time": found.get("publish_time") or "",
            "author": found.get("author") or "",
            "content": found.get("content") or "",
        })
    except Exception as error:  # a page GNE cannot read counts as a miss, not a crash
        results.append({"file": path, "error": str(error)})

elapsed = []
for _ in range(repeats):
    start = time.perf_counter()
    for html in pages:
        try:
            extractor.extract(html)
        except Exception:
            pass
    elapsed.append(time.perf_counter() - start)
seconds = statistics.median(elapsed)

for result in results:
    print(json.dumps(result, ensure_ascii=False))
print(json.dumps({"pages_per_sec": len(pages) / seconds, "mb_per_sec": size_mb / seconds}))
