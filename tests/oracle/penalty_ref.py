#!/usr/bin/env python3
"""Reference penalised logits: OpenAI's presence/frequency penalties and
logit_bias, computed with PyTorch. The independent oracle for
src/infer/sampler.h PenalizedLogits.

  penalty_ref.py REQUEST.json OUT.json
      REQUEST: {"cases": [{"logits_bits": [u32, ...],   binary32 bit patterns
                           "generated": [token id, ...],
                           "presence_penalty": x, "frequency_penalty": x,
                           "logit_bias": {"<id>": x, ...}}, ...]}
               (x: the binary32 values, as the doubles equal to them)
      OUT:     {"cases": [{"f32_bits": [u32, ...], "f64": [x, ...],
                           "argmax": id}, ...]}

OpenAI's definition (platform.openai.com, "Parameter details"):
    mu[j] -> mu[j] - c[j] * alpha_frequency - float(c[j] > 0) * alpha_presence
then logit_bias added to the biased tokens' logits, c[j] the number of times
token j was generated so far. f32: that formula in binary32, one rounding per
operation, left to right, applied where c[j] > 0; f64: the same in float64
from the binary32 inputs. argmax: of f32, the lowest id on ties.
"""
import json
import struct
import sys

import torch


def penalised_logits(case):
    """{torch.float32: the formula in binary32, torch.float64: in float64}."""
    bits = torch.tensor(case["logits_bits"], dtype=torch.int64).to(torch.int32)
    logits = bits.view(torch.float32)
    V = logits.numel()
    counts = torch.bincount(torch.tensor(case["generated"], dtype=torch.int64), minlength=V)
    seen = counts > 0
    results = {}
    for dtype in (torch.float32, torch.float64):
        mu = logits.to(dtype)
        c = counts.to(dtype)
        freq = torch.tensor(case["frequency_penalty"], dtype=dtype)
        pres = torch.tensor(case["presence_penalty"], dtype=dtype)
        penalised = (mu - c * freq) - pres
        mu = torch.where(seen, penalised, mu)
        for key, bias in case["logit_bias"].items():
            mu[int(key)] = mu[int(key)] + torch.tensor(bias, dtype=dtype)
        results[dtype] = mu
    return results


def main():
    request = json.load(open(sys.argv[1]))
    out = []
    for case in request["cases"]:
        results = penalised_logits(case)
        f32 = results[torch.float32]
        V = f32.numel()
        f32_bits = [struct.unpack("<I", struct.pack("<f", float(x)))[0] for x in f32.tolist()]
        best = 0
        for v in range(1, V):
            if f32[v] > f32[best]:
                best = v
        out.append({"f32_bits": f32_bits, "f64": results[torch.float64].tolist(), "argmax": best})
    json.dump({"cases": out}, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
