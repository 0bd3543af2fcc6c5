#!/usr/bin/env python3
"""Writes the demo task: single-digit addition as prompt/completion pairs.

All 100 sums a+b (a, b in 0..9) are shuffled with a fixed seed; 20 are held
out for evaluation, 80 are for training. Run from this folder to regenerate
train.jsonl and eval.jsonl (the committed files are its output).
"""
import json
import random

pairs = [(a, b) for a in range(10) for b in range(10)]
random.Random(7).shuffle(pairs)
for name, part in (("eval.jsonl", pairs[:20]), ("train.jsonl", pairs[20:])):
    with open(name, "w") as f:
        for a, b in part:
            f.write(json.dumps({"prompt": f"{a}+{b}=", "completion": str(a + b)}) + "\n")
