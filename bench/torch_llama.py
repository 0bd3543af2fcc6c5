#!/usr/bin/python3
"""The PyTorch side of train_bench: a float32 LLaMA in idiomatic PyTorch,
timed on the same model, data and workloads as aftune.

Usage: torch_llama.py MODEL_DIR DATA.json [--threads N] [--serve]

MODEL_DIR holds config.json and model.safetensors (parsed here with numpy, as
tests/oracle/llama_ref.py does). DATA.json, written by train_bench:
  {"train": [[129 token ids] x 8],      one step: inputs [:-1], targets [1:]
   "learning_rate": 1e-4, "max_grad_norm": 1.0,
   "lora_r": 8, "lora_alpha": 16,       LoRA on all seven projections
   "gen_prompts": [[16 ids] x 8],       batch 1 uses the first prompt
   "new_tokens": 128,
   "prefill_prompt": [144 ids],
   "train_steps": K, "gen_reps": R, "prefill_reps": P}   repetitions (one-shot mode)

Workloads (torch.set_num_threads(N) when --threads is given; OpenBLAS and
OpenMP threads come from the environment the caller sets):
  train_full / train_lora: one optimizer step on the 8 x 128 tokens: forward,
    mean cross-entropy, backward, clip_grad_norm_(1.0), torch.optim.AdamW
    (foreach=False, the faster path here); tokens/s.
  gen_b1 / gen_b8: greedy generation with a preallocated KV cache: prefill the
    16-token prompts in one pass, then one token per sequence per step, 128
    new tokens per sequence; tokens/s.
  prefill_144: one cached forward over the 144-token prompt and the choice of
    the next token; milliseconds.
Every repetition is timed in wall-clock and in process CPU seconds (all
threads' CPU time: a per-core rate that other load on the machine disturbs
less).

Default (one-shot) mode: for each workload one warm-up and K, R or P timed
repetitions; prints one JSON object with the best figures ("<workload>_tok_s",
"<workload>_cpu_tok_s", "prefill_144_ms", "prefill_144_cpu_ms", the first
step's loss, the batch-1 tokens). --serve: the line protocol of serve(), with
which train_bench interleaves single repetitions with aftune's.
"""
import argparse
import ctypes
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "oracle"))
from safetensors_np import read_arrays  # noqa: E402  (shared with the PyTorch oracle)


def read_safetensors(path):
    return {name: torch.from_numpy(arr.astype(np.float32)) for name, arr in read_arrays(path).items()}


class RMSNorm(nn.Module):
    def __init__(self, weight, eps):
        super().__init__()
        self.weight = nn.Parameter(weight.clone())
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def linear(weight):
    m = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        m.weight.copy_(weight)
    return m


class LoraLinear(nn.Module):
    """PEFT's Linear: y = base(x) + lora_B(lora_A(x)) * alpha / r, base frozen."""

    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scaling


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), -1)


class Attention(nn.Module):
    def __init__(self, p, prefix, cfg):
        super().__init__()
        self.H, self.Hk, self.D = cfg["H"], cfg["Hk"], cfg["D"]
        self.q_proj = linear(p[prefix + "q_proj.weight"])
        self.k_proj = linear(p[prefix + "k_proj.weight"])
        self.v_proj = linear(p[prefix + "v_proj.weight"])
        self.o_proj = linear(p[prefix + "o_proj.weight"])

    def forward(self, x, cos, sin, mask, cache, start):
        # x [B, T, C]; cos, sin [T, D]; mask [T, L] additive or None;
        # cache: (k [B, Hk, cap, D], v [B, Hk, cap, D]) or None.
        B, T, _ = x.shape
        H, Hk, D = self.H, self.Hk, self.D
        G = H // Hk
        q = self.q_proj(x).view(B, T, H, D).transpose(1, 2)
        k = self.k_proj(x).view(B, T, Hk, D).transpose(1, 2)
        v = self.v_proj(x).view(B, T, Hk, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            ck, cv = cache
            ck[:, :, start:start + T] = k
            cv[:, :, start:start + T] = v
            k, v = ck[:, :, :start + T], cv[:, :, :start + T]
        L = k.shape[2]
        # Grouped-query attention without copying K/V: the G query heads of a
        # kv head form one [G*T, D] block against that head's keys.
        s = torch.matmul(q.reshape(B, Hk, G * T, D), k.transpose(-1, -2)) * (1.0 / math.sqrt(D))
        if mask is not None:
            s = (s.view(B, Hk, G, T, L) + mask).view(B, Hk, G * T, L)
        o = torch.matmul(torch.softmax(s, -1), v)  # [B, Hk, G*T, D]
        o = o.view(B, H, T, D).transpose(1, 2).reshape(B, T, H * D)
        return self.o_proj(o)


class Mlp(nn.Module):
    def __init__(self, p, prefix):
        super().__init__()
        self.gate_proj = linear(p[prefix + "gate_proj.weight"])
        self.up_proj = linear(p[prefix + "up_proj.weight"])
        self.down_proj = linear(p[prefix + "down_proj.weight"])

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, p, l, cfg):
        super().__init__()
        pre = f"model.layers.{l}."
        self.input_layernorm = RMSNorm(p[pre + "input_layernorm.weight"], cfg["eps"])
        self.self_attn = Attention(p, pre + "self_attn.", cfg)
        self.post_attention_layernorm = RMSNorm(p[pre + "post_attention_layernorm.weight"], cfg["eps"])
        self.mlp = Mlp(p, pre + "mlp.")

    def forward(self, x, cos, sin, mask, cache, start):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache, start)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, config, p):
        super().__init__()
        H = config["num_attention_heads"]
        cfg = {"H": H, "Hk": config.get("num_key_value_heads") or H,
               "D": config.get("head_dim") or config["hidden_size"] // H,
               "eps": config["rms_norm_eps"]}
        self.cfg = cfg
        self.embed_tokens = nn.Embedding.from_pretrained(p["model.embed_tokens.weight"].clone(), freeze=False)
        self.layers = nn.ModuleList(Layer(p, l, cfg) for l in range(config["num_hidden_layers"]))
        self.norm = RMSNorm(p["model.norm.weight"], cfg["eps"])
        if config.get("tie_word_embeddings"):
            self.lm_head = nn.Linear(config["hidden_size"], config["vocab_size"], bias=False)
            self.lm_head.weight = self.embed_tokens.weight
        else:
            self.lm_head = linear(p["lm_head.weight"])
        D, theta = cfg["D"], config.get("rope_theta", 10000.0)
        inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
        ang = torch.arange(config["max_position_embeddings"], dtype=torch.float64)[:, None] * inv_freq[None, :]
        ang = torch.cat((ang, ang), -1)
        self.register_buffer("cos", ang.cos().float(), persistent=False)
        self.register_buffer("sin", ang.sin().float(), persistent=False)

    def add_lora(self, r, alpha):
        for p in self.parameters():
            p.requires_grad_(False)
        for layer in self.layers:
            for mod, names in ((layer.self_attn, ("q_proj", "k_proj", "v_proj", "o_proj")),
                               (layer.mlp, ("gate_proj", "up_proj", "down_proj"))):
                for n in names:
                    setattr(mod, n, LoraLinear(getattr(mod, n), r, alpha))

    def new_cache(self, B, capacity):
        c = self.cfg
        return [(torch.zeros(B, c["Hk"], capacity, c["D"]), torch.zeros(B, c["Hk"], capacity, c["D"]))
                for _ in self.layers]

    def forward(self, tokens, cache=None, start=0, last_only=False):
        # tokens [B, T] at positions start..start+T-1 of every sequence.
        T = tokens.shape[1]
        cos, sin = self.cos[start:start + T], self.sin[start:start + T]
        mask = None
        if T > 1:
            L = start + T
            mask = torch.full((T, L), float("-inf")).triu(start + 1)
        x = self.embed_tokens(tokens)
        for l, layer in enumerate(self.layers):
            x = layer(x, cos, sin, mask, cache[l] if cache is not None else None, start)
        if last_only:
            x = x[:, -1:]
        return self.lm_head(self.norm(x))


class TrainStep:
    """One optimizer step per call: forward, mean cross-entropy, backward,
    clip_grad_norm_, AdamW."""

    def __init__(self, model, data, V):
        seqs = torch.tensor(data["train"], dtype=torch.long)
        self.inputs, self.targets = seqs[:, :-1].contiguous(), seqs[:, 1:].contiguous()
        self.model, self.V, self.max_norm = model, V, data["max_grad_norm"]
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        # foreach=False: on this CPU build the per-tensor path measured faster
        # (0.20 s vs 0.48 s per full-model step, one thread).
        self.opt = torch.optim.AdamW(self.trainable, lr=data["learning_rate"], weight_decay=0.0, foreach=False)

    def __call__(self):
        logits = self.model(self.inputs)
        loss = F.cross_entropy(logits.view(-1, self.V), self.targets.view(-1))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.trainable, self.max_norm)
        self.opt.step()
        return {"loss": loss.item()}


@torch.inference_mode()
def generate(model, prompts, new_tokens):
    B, P = prompts.shape
    cache = model.new_cache(B, P + new_tokens)
    tok = model(prompts, cache, 0, last_only=True)[:, -1].argmax(-1)
    out = [tok]
    for i in range(new_tokens - 1):
        tok = model(tok[:, None], cache, P + i)[:, -1].argmax(-1)
        out.append(tok)
    return torch.stack(out, 1)


class Workloads:
    """The five workloads; run(name) times one repetition of one of them."""

    def __init__(self, model_dir, data):
        config = json.load(open(os.path.join(model_dir, "config.json")))
        params = read_safetensors(os.path.join(model_dir, "model.safetensors"))
        V, n = config["vocab_size"], data["new_tokens"]
        full = Llama(config, params)
        lora = Llama(config, params)
        lora.add_lora(data["lora_r"], data["lora_alpha"])
        infer = Llama(config, params).eval()
        prompts = torch.tensor(data["gen_prompts"], dtype=torch.long)
        prefill = torch.tensor([data["prefill_prompt"]], dtype=torch.long)
        tokens = len(data["train"]) * (len(data["train"][0]) - 1)

        def gen(batch):
            return lambda: {"tokens": generate(infer, batch, n)[0].tolist()}

        # name: (function, units per call: tokens, or 1 for a time in ms)
        self.work = {
            "train_full": (TrainStep(full, data, V), tokens),
            "train_lora": (TrainStep(lora, data, V), tokens),
            "gen_b1": (gen(prompts[:1]), n),
            "gen_b8": (gen(prompts), prompts.shape[0] * n),
            "prefill_144": (lambda: (generate(infer, prefill, 1), {})[1], 1),
        }

    def run(self, name):
        fn, units = self.work[name]
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        out.update(wall=time.perf_counter() - t0, cpu=time.process_time() - c0, units=units)
        return out


def openblas_kernel():
    """The kernel OpenBLAS chose (torch links Debian's OpenBLAS, already loaded)."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "unknown"


def describe():
    return {"torch": torch.__version__, "intra_op_threads": torch.get_num_threads(),
            "openblas_kernel": openblas_kernel(),
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", ""),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "")}


def one_shot(w, data):
    """Best of the configured repetitions after one warm-up, per workload."""
    out = describe()
    reps = {"train_full": data["train_steps"], "train_lora": data["train_steps"], "gen_b1": data["gen_reps"],
            "gen_b8": data["gen_reps"], "prefill_144": data["prefill_reps"]}
    for name, n in reps.items():
        first = w.run(name)
        runs = [w.run(name) for _ in range(n)]
        wall, cpu = min(r["wall"] for r in runs), min(r["cpu"] for r in runs)
        if name == "prefill_144":
            out["prefill_144_ms"], out["prefill_144_cpu_ms"] = 1e3 * wall, 1e3 * cpu
        else:
            out[name + "_tok_s"], out[name + "_cpu_tok_s"] = first["units"] / wall, first["units"] / cpu
        if "loss" in first:
            out[name + "_loss0"] = first["loss"]
        if name == "gen_b1":
            out["gen_b1_tokens"] = first["tokens"]
    print(json.dumps(out))


def serve(w):
    """Line protocol for train_bench: after a first line describing the
    process, each input line names a workload; the reply is one JSON line with
    one repetition's wall and cpu seconds, units, and loss or tokens. An empty
    line or "quit" ends the process."""
    print(json.dumps(describe()), flush=True)
    for line in sys.stdin:
        name = line.strip()
        if not name or name == "quit":
            break
        print(json.dumps(w.run(name)), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave the default)")
    ap.add_argument("--serve", action="store_true", help="time single repetitions named on stdin")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = json.load(open(args.data))
    w = Workloads(args.model_dir, data)
    if args.serve:
        serve(w)
    else:
        one_shot(w, data)


if __name__ == "__main__":
    main()
