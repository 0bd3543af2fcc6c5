#!/usr/bin/env python3
"""Reference LLaMA-family decoder in plain PyTorch: the independent oracle for
aftune's engine.

Usage: llama_ref.py MODEL_DIR REQUEST.json OUT.safetensors

Reads MODEL_DIR/config.json and MODEL_DIR/model.safetensors (parsed here with
numpy, not with aftune's code), an optional LoRA adapter, and a packed batch
from REQUEST.json:
  {"sequences": [{"tokens": [...], "targets": [...]}, ...],
   "adapter": null | {"path": "...safetensors", "r": R, "lora_alpha": A,
                       "target_modules": ["q_proj", ...]},
   "train": "full" | "lora",
   "ablate": [...]}   (optional)
computes in float64 the logits of every token, the mean cross-entropy over
targets != -100, and the gradient of that loss with respect to every trainable
tensor (every base tensor for "full", the LoRA A and B tensors for "lora"), and
writes them as F32 tensors "logits", "loss" and "grad/<name>" (zeros for a
tensor the computation did not use).

The architecture follows config.json as transformers reads it: model_type
llama (attention_bias: q/k/v/o biases, mlp_bias: gate/up/down biases),
mistral (sliding_window: a query sees the last W positions, itself included;
absent means 4096), qwen2 (q/k/v biases), qwen3 (attention_bias; RMSNorm of
each q and k head before RoPE); RoPE scaling "linear" or "llama3" from
rope_scaling or rope_parameters, in float64.

"ablate" leaves features out, so that a test can show it sees them:
"biases", "qk_norm", "window", "rope_scaling".
"""
import json
import math
import struct
import sys

import numpy as np
import torch

from safetensors_np import read_arrays

def read_safetensors(path):
    return {name: torch.tensor(arr.astype(np.float64)) for name, arr in read_arrays(path).items()}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name].detach().numpy().astype(np.float32))
        raw = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_scaling(c):
    r = c.get("rope_scaling") or c.get("rope_parameters") or {}
    return r, r.get("rope_type", r.get("type", "default"))


def inv_freq(c, d, ablate):
    theta = c.get("rope_theta") or rope_scaling(c)[0].get("rope_theta", 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    r, kind = rope_scaling(c)
    if "rope_scaling" in ablate or kind == "default":
        return inv
    if kind == "linear":
        return inv / r["factor"]
    assert kind == "llama3", kind
    factor, low, high = r["factor"], r["low_freq_factor"], r["high_freq_factor"]
    old = r.get("original_max_position_embeddings") or c["max_position_embeddings"]
    wavelen = 2 * math.pi / inv
    scaled = torch.where(wavelen > old / low, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    medium = (wavelen >= old / high) & (wavelen <= old / low)
    return torch.where(medium, (1 - smooth) * scaled / factor + smooth * scaled, scaled)


def rope(x, pos, inv):
    # x [T, heads, D]; Hugging Face rotate_half convention.
    d = x.shape[-1]
    ang = pos[:, None].double() * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None, :]
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def biased_projections(c):
    kind = c["model_type"]
    qkv = ["q_proj", "k_proj", "v_proj"]
    if kind == "qwen2":
        return set(qkv)
    out = set()
    if kind in ("llama", "qwen3") and c.get("attention_bias"):
        out |= set(qkv + ["o_proj"])
    if kind == "llama" and c.get("mlp_bias"):
        out |= {"gate_proj", "up_proj", "down_proj"}
    return out


class Llama:
    def __init__(self, cfg, params, lora, ablate):
        self.cfg, self.p, self.lora, self.ablate = cfg, params, lora, ablate
        self.biased = set() if "biases" in ablate else biased_projections(cfg)

    def linear(self, layer, module, proj, x):
        path = f"model.layers.{layer}.{module}.{proj}"
        y = x @ self.p[path + ".weight"].T
        if proj in self.biased:
            y = y + self.p[path + ".bias"]
        if self.lora and proj in self.lora["target_modules"]:
            prefix = "base_model.model." + path
            a, b = self.p[prefix + ".lora_A.weight"], self.p[prefix + ".lora_B.weight"]
            y = y + (x @ a.T) @ b.T * (self.lora["lora_alpha"] / self.lora["r"])
        return y

    def sequence_logits(self, tokens):
        c = self.cfg
        H, Hk = c["num_attention_heads"], c.get("num_key_value_heads") or c["num_attention_heads"]
        D = c.get("head_dim") or c["hidden_size"] // H
        eps = c["rms_norm_eps"]
        inv = inv_freq(c, D, self.ablate)
        qk_norm = c["model_type"] == "qwen3" and "qk_norm" not in self.ablate
        window = c.get("sliding_window", 4096) if c["model_type"] == "mistral" else None
        if "window" in self.ablate:
            window = None
        T = len(tokens)
        pos = torch.arange(T)
        x = self.p["model.embed_tokens.weight"][torch.tensor(tokens)]
        allowed = pos[None, :] <= pos[:, None]
        if window:
            allowed &= pos[None, :] > pos[:, None] - window
        mask = torch.zeros((T, T), dtype=torch.float64).masked_fill(~allowed, float("-inf"))
        for l in range(c["num_hidden_layers"]):
            attn = f"model.layers.{l}.self_attn."
            xn = rms_norm(x, self.p[f"model.layers.{l}.input_layernorm.weight"], eps)
            q = self.linear(l, "self_attn", "q_proj", xn).view(T, H, D)
            k = self.linear(l, "self_attn", "k_proj", xn).view(T, Hk, D)
            if qk_norm:
                q = rms_norm(q, self.p[attn + "q_norm.weight"], eps)
                k = rms_norm(k, self.p[attn + "k_norm.weight"], eps)
            q, k = rope(q, pos, inv), rope(k, pos, inv)
            v = self.linear(l, "self_attn", "v_proj", xn).view(T, Hk, D)
            k = k.repeat_interleave(H // Hk, dim=1)
            v = v.repeat_interleave(H // Hk, dim=1)
            s = torch.einsum("ihd,jhd->hij", q, k) / (D ** 0.5) + mask
            att = torch.einsum("hij,jhd->ihd", s.softmax(-1), v).reshape(T, H * D)
            x = x + self.linear(l, "self_attn", "o_proj", att)
            xn = rms_norm(x, self.p[f"model.layers.{l}.post_attention_layernorm.weight"], eps)
            g = self.linear(l, "mlp", "gate_proj", xn)
            u = self.linear(l, "mlp", "up_proj", xn)
            x = x + self.linear(l, "mlp", "down_proj", torch.nn.functional.silu(g) * u)
        x = rms_norm(x, self.p["model.norm.weight"], eps)
        head = self.p["model.embed_tokens.weight" if c.get("tie_word_embeddings") else "lm_head.weight"]
        return x @ head.T


def main():
    model_dir, request_path, out_path = sys.argv[1:4]
    cfg = json.load(open(model_dir + "/config.json"))
    req = json.load(open(request_path))
    params = read_safetensors(model_dir + "/model.safetensors")
    lora = req.get("adapter")
    if lora:
        params.update(read_safetensors(lora["path"]))
    trainable = [n for n in params if (".lora_" in n) == (req["train"] == "lora")]
    for n in trainable:
        params[n].requires_grad_(True)
    model = Llama(cfg, params, lora, set(req.get("ablate", [])))
    logits = torch.cat([model.sequence_logits(s["tokens"]) for s in req["sequences"]])
    targets = torch.tensor([t for s in req["sequences"] for t in s["targets"]])
    loss = torch.nn.functional.cross_entropy(logits, targets, ignore_index=-100)
    loss.backward()
    out = {"logits": logits, "loss": loss.reshape(1)}
    for n in trainable:
        g = params[n].grad
        out["grad/" + n] = torch.zeros_like(params[n]) if g is None else g
    write_safetensors(out_path, out)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
