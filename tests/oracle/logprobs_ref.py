#!/usr/bin/env python3
"""Reference logprobs: log-softmax of the penalised logits and the top
alternatives, computed with PyTorch. The independent oracle for
src/infer/logprobs.h ComputeLogprobs.

  logprobs_ref.py REQUEST.json OUT.json
      REQUEST: {"cases": [{penalty_ref.py's case fields (logits_bits,
                           generated, presence_penalty, frequency_penalty,
                           logit_bias), "chosen": id, "top": k}, ...]}
      OUT:     {"cases": [{"chosen_f32_bits": u32, "chosen_f64": x, "tol": x,
                           "top_ids": [id, ...], "top_f32_bits": [u32, ...],
                           "top_f64": [x, ...], "top_tol": [x, ...]}, ...]}

l: the penalised logits in binary32 (penalty_ref.py, OpenAI's formula).
f64: torch.log_softmax in float64 of those binary32 values: the exact
answer to within float64 rounding.
f32_bits: the documented binary32 procedure emulated operation by operation
in torch.float32, m = max l; d_v = l_v - m; e_v = exp(d_v); s = e_0 + ... +
e_{V-1} left to right; logprob_v = d_v - log(s), where exp and log are
computed in float64 and rounded once to binary32: correctly rounded (but for
a double rounding, about 2^-29 likely per call), as aftune's ExpF and LogF
are (tensor/mathfn.h: correctly rounded but for rare near-midpoint cases).
tol: a first-order bound on |binary32 result - exact|, u = 2^-24:
    u|d_v| (rounding d_v) + u max|d| + 2u + (V - 1)u (the relative error of
    s: the d's, exp's rounding, V - 1 additions) + u|log s| (log's rounding)
    + u|logprob_v| (the last subtraction), doubled for the higher-order terms.
top_ids: the k ids of largest binary32 l, ties to the lower id.
"""
import json
import math
import struct
import sys

import torch

from penalty_ref import penalised_logits

U = 2.0 ** -24


def f32(x):
    return torch.tensor(x, dtype=torch.float64).to(torch.float32)


def bits(x):
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


def binary32_logprobs(l):
    m = l.max()
    d = l - m  # one binary32 rounding each
    s = torch.tensor(0.0, dtype=torch.float32)
    for x in d.tolist():
        s = s + f32(math.exp(x))
    log_s = f32(math.log(float(s)))
    return d - log_s, d, float(log_s)


def main():
    request = json.load(open(sys.argv[1]))
    out = []
    for case in request["cases"]:
        l = penalised_logits(case)[torch.float32]
        V = l.numel()
        exact = torch.log_softmax(l.to(torch.float64), dim=0)
        lp32, d, log_s = binary32_logprobs(l)
        max_d = float(d.abs().max())
        tol = [2 * (U * abs(float(d[v])) + U * max_d + (V + 1) * U + U * abs(log_s) + U * abs(float(exact[v])))
               for v in range(V)]
        order = sorted(range(V), key=lambda v: (-float(l[v]), v))[: case["top"]]
        c = case["chosen"]
        out.append({"chosen_f32_bits": bits(lp32[c]), "chosen_f64": float(exact[c]), "tol": tol[c],
                    "top_ids": order, "top_f32_bits": [bits(lp32[v]) for v in order],
                    "top_f64": [float(exact[v]) for v in order], "top_tol": [tol[v] for v in order]})
    json.dump({"cases": out}, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
