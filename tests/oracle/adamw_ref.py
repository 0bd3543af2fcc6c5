#!/usr/bin/env python3
"""Reference optimizer: torch.optim.AdamW, LambdaLR and clip_grad_norm_.

The independent oracle for src/train/{adamw,schedule,grad_clip}. Two modes:

  adamw_ref.py schedule REQUEST.json OUT.json
      REQUEST: {"cases": [{"type": "constant"|"constant_with_warmup"|"linear"|"cosine",
                           "learning_rate": lr, "warmup_steps": W,
                           "total_steps": S, "steps": K}, ...]}
      OUT:     {"lr": [[lr_0, ..., lr_{K-1}], ...]} as LambdaLR gives them
               (Python floats, f64), one list per case.

  adamw_ref.py adamw DIR
      DIR/request.json: {"beta1", "beta2", "eps", "weight_decay",
                         "no_decay": [names], "max_grad_norm": x | null,
                         "schedule": {as above, without "steps"}, "steps": K}
      DIR/inputs.safetensors: F32 "param/<name>" and "grad/<k>/<name>" for
                         k in 0..K-1.
      Runs K steps in float32: per step, p.grad = grad k; clip_grad_norm_
      (when max_grad_norm is not null); AdamW.step(); LambdaLR.step().
      Writes DIR/ref.safetensors with F32 "<k>/param/<name>",
      "<k>/exp_avg/<name>", "<k>/exp_avg_sq/<name>" after step k, and
      DIR/ref.json {"lr": [...], "norm": [...]} (the learning rate each step
      used and the pre-clip global norm).

The schedule lambdas are transcribed from Hugging Face transformers
(src/transformers/optimization.py, not installed here):
  _get_constant_schedule_with_warmup_lr_lambda:
      step < W: step / max(1.0, W); else 1.0
  _get_linear_schedule_with_warmup_lr_lambda:
      step < W: step / max(1, W)
      else max(0.0, (S - step) / max(1, S - W))
  _get_cosine_schedule_with_warmup_lr_lambda (num_cycles = 0.5):
      step < W: step / max(1, W)
      progress = (step - W) / max(1, S - W)
      max(0.0, 0.5 * (1.0 + cos(pi * num_cycles * 2.0 * progress)))
The safetensors files are read and written here with the struct module, not
with aftune's code.
"""
import json
import math
import struct
import sys

import numpy as np
import torch


def hf_lambda(sched):
    kind = sched["type"]
    W = sched["warmup_steps"]
    S = sched["total_steps"]

    def constant(step):  # get_constant_schedule: warmup_steps plays no part
        return 1.0

    def constant_with_warmup(step):
        if step < W:
            return float(step) / float(max(1.0, W))
        return 1.0

    def linear(step):
        if step < W:
            return float(step) / float(max(1, W))
        return max(0.0, float(S - step) / float(max(1, S - W)))

    def cosine(step, num_cycles=0.5):
        if step < W:
            return float(step) / float(max(1, W))
        progress = float(step - W) / float(max(1, S - W))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))

    return {"constant": constant, "constant_with_warmup": constant_with_warmup, "linear": linear,
            "cosine": cosine}[kind]


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + b:8 + n + e], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        raw = tensors[name].detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def lambda_lrs(sched, steps):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=sched["learning_rate"])
    lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, hf_lambda(sched))
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        lr_sched.step()
    return lrs


def run_schedule(request_path, out_path):
    with open(request_path) as f:
        req = json.load(f)
    out = {"lr": [lambda_lrs(c, c["steps"]) for c in req["cases"]]}
    with open(out_path, "w") as f:
        json.dump(out, f)


def run_adamw(d):
    with open(d + "/request.json") as f:
        req = json.load(f)
    inputs = read_safetensors(d + "/inputs.safetensors")
    names = sorted(k[len("param/"):] for k in inputs if k.startswith("param/"))
    params = {n: torch.nn.Parameter(inputs["param/" + n].clone()) for n in names}
    no_decay = set(req["no_decay"])
    groups = [{"params": [params[n] for n in names if n not in no_decay],
               "weight_decay": req["weight_decay"]},
              {"params": [params[n] for n in names if n in no_decay], "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    opt = torch.optim.AdamW(groups, lr=req["schedule"]["learning_rate"],
                            betas=(req["beta1"], req["beta2"]), eps=req["eps"],
                            foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, hf_lambda(req["schedule"]))
    out, lrs, norms = {}, [], []
    for k in range(req["steps"]):
        for n in names:
            params[n].grad = inputs["grad/%d/%s" % (k, n)].clone()
        ordered = [params[n] for n in names]
        if req["max_grad_norm"] is not None:
            norm = torch.nn.utils.clip_grad_norm_(ordered, req["max_grad_norm"])
        else:
            norm = torch.norm(torch.stack([torch.norm(p.grad, 2.0) for p in ordered]), 2.0)
        norms.append(float(norm))
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        for n in names:
            st = opt.state[params[n]]
            out["%d/param/%s" % (k, n)] = params[n].detach().clone()
            out["%d/exp_avg/%s" % (k, n)] = st["exp_avg"].clone()
            out["%d/exp_avg_sq/%s" % (k, n)] = st["exp_avg_sq"].clone()
    write_safetensors(d + "/ref.safetensors", out)
    with open(d + "/ref.json", "w") as f:
        json.dump({"lr": lrs, "norm": norms}, f)


def main():
    torch.set_default_dtype(torch.float32)
    if len(sys.argv) == 4 and sys.argv[1] == "schedule":
        run_schedule(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "adamw":
        run_adamw(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
