#!/usr/bin/env python3
"""Reference LLaMA in plain PyTorch: the independent oracle for aftune's engine.

Usage: llama_ref.py MODEL_DIR REQUEST.json OUT.safetensors

Reads MODEL_DIR/config.json and MODEL_DIR/model.safetensors (parsed here with
numpy, not with aftune's code), an optional LoRA adapter, and a packed batch
from REQUEST.json:
  {"sequences": [{"tokens": [...], "targets": [...]}, ...],
   "adapter": null | {"path": "...safetensors", "r": R, "lora_alpha": A,
                       "target_modules": ["q_proj", ...]},
   "train": "full" | "lora"}
computes in float64 the logits of every token, the mean cross-entropy over
targets != -100, and the gradient of that loss with respect to every trainable
tensor (every base tensor for "full", the LoRA A and B tensors for "lora"), and
writes them as F32 tensors "logits", "loss" and "grad/<name>".
"""
import json
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


def rope(x, pos, theta):
    # x [T, heads, D]; Hugging Face rotate_half convention.
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    ang = pos[:, None].double() * inv_freq[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None, :]
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Llama:
    def __init__(self, cfg, params, lora):
        self.cfg, self.p, self.lora = cfg, params, lora

    def linear(self, layer, module, proj, x):
        w = self.p[f"model.layers.{layer}.{module}.{proj}.weight"]
        y = x @ w.T
        if self.lora and proj in self.lora["target_modules"]:
            prefix = f"base_model.model.model.layers.{layer}.{module}.{proj}"
            a, b = self.p[prefix + ".lora_A.weight"], self.p[prefix + ".lora_B.weight"]
            y = y + (x @ a.T) @ b.T * (self.lora["lora_alpha"] / self.lora["r"])
        return y

    def sequence_logits(self, tokens):
        c = self.cfg
        H, Hk = c["num_attention_heads"], c.get("num_key_value_heads") or c["num_attention_heads"]
        D = c.get("head_dim") or c["hidden_size"] // H
        eps, theta = c["rms_norm_eps"], c.get("rope_theta", 10000.0)
        T = len(tokens)
        pos = torch.arange(T)
        x = self.p["model.embed_tokens.weight"][torch.tensor(tokens)]
        mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
        for l in range(c["num_hidden_layers"]):
            xn = rms_norm(x, self.p[f"model.layers.{l}.input_layernorm.weight"], eps)
            q = rope(self.linear(l, "self_attn", "q_proj", xn).view(T, H, D), pos, theta)
            k = rope(self.linear(l, "self_attn", "k_proj", xn).view(T, Hk, D), pos, theta)
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
    model = Llama(cfg, params, lora)
    logits = torch.cat([model.sequence_logits(s["tokens"]) for s in req["sequences"]])
    targets = torch.tensor([t for s in req["sequences"] for t in s["targets"]])
    loss = torch.nn.functional.cross_entropy(logits, targets, ignore_index=-100)
    loss.backward()
    out = {"logits": logits, "loss": loss.reshape(1)}
    for n in trainable:
        out["grad/" + n] = params[n].grad
    write_safetensors(out_path, out)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
