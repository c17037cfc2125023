#!/usr/bin/env python3
"""Peer for `yuqing dict eval --peer`: SnowNLP's sentiment on the same labelled texts.

Reads the labelled JSONL file given as the first argument, labels each text with
SnowNLP (probability of positive: below 0.4 negative, above 0.6 positive, else
neutral, the usual reading of its score), and prints {"accuracy", "labelled"} as JSON.
Needs `pip install snownlp` (not part of the project).
"""
import json
import sys

from snownlp import SnowNLP


def label(probability):
    if probability < 0.4:
        return "negative"
    if probability > 0.6:
        return "positive"
    return "neutral"


def main(path):
    labelled = correct = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            example = json.loads(line)
            expected = example.get("sentiment")
            if expected is None:
                continue
            text = (example.get("title", "") + "。" + example["text"]).strip("。")
            labelled += 1
            correct += label(SnowNLP(text).sentiments) == expected
    print(json.dumps({"accuracy": correct / labelled if labelled else 0.0, "labelled": labelled}))


if __name__ == "__main__":
    main(sys.argv[1])
