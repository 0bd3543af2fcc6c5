#!/usr/bin/env python3
"""Writes an aftune (Hugging Face layout) LLaMA model directory as a GGUF file
with llama.cpp's own gguf-py, for bench/llamacpp_bench.sh.

Usage: PYTHONPATH=LLAMA_CPP/gguf-py write_gguf.py MODEL_DIR OUT.gguf [f32]
  (f32: every tensor widened to f32, exactly; llama.cpp then keeps its
  activations in f32 too, which makes the logits comparison a check of the
  conversion itself)

Does what llama.cpp's convert_hf_to_gguf.py does for LlamaForCausalLM (which
cannot run here: it needs transformers and a tokenizer, and aftune's synthetic
models have none):
  - tensor names through gguf-py's own name map;
  - q_proj and k_proj rows reordered from Hugging Face's rotate-half RoPE
    layout to llama.cpp's interleaved pairs (head h, half s, index i ->
    head h, index i, half s);
  - llama3 RoPE scaling as a rope_freqs tensor of per-frequency factors;
  - projections and the embedding kept in their stored dtype (bf16 or f32,
    the same bytes aftune reads), norms as f32;
  - no tokenizer ("no_vocab" with the vocabulary size): the benchmark feeds
    token ids.
Only the llama architecture (no biases, no q/k norms) is handled.
"""
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np

import gguf


def read_safetensors(model_dir):
    """name -> (dtype string, shape, raw little-endian bytes as a numpy array)."""
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        sys.exit(f"{model_dir}: no .safetensors files")
    tensors = {}
    for f in files:
        data = np.memmap(f, dtype=np.uint8, mode="r")
        n = struct.unpack("<Q", bytes(data[:8]))[0]
        header = json.loads(bytes(data[8:8 + n]))
        base = 8 + n
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            tensors[name] = (info["dtype"], info["shape"], data[base + begin:base + end])
    return tensors


def as_array(dtype, shape, raw):
    if dtype == "BF16":
        return raw.view(np.uint16).reshape(shape)
    if dtype == "F32":
        return raw.view(np.float32).reshape(shape)
    sys.exit(f"unsupported dtype {dtype}")


def to_f32(dtype, arr):
    if dtype == "BF16":
        return (arr.astype(np.uint32) << 16).view(np.float32)
    return arr.astype(np.float32)


def rope_pairs(w, heads):
    """Rows (h, s, i) -> (h, i, s): rotate-half halves to interleaved pairs."""
    rows, cols = w.shape
    return np.ascontiguousarray(w.reshape(heads, 2, rows // heads // 2, cols).swapaxes(1, 2).reshape(rows, cols))


def llama3_factors(cfg):
    scaling = cfg.get("rope_scaling") or {}
    if scaling.get("rope_type", scaling.get("type", "")) != "llama3":
        return None
    dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    base = cfg.get("rope_theta", 10000.0)
    factor = scaling.get("factor", 8.0)
    low, high = scaling.get("low_freq_factor", 1.0), scaling.get("high_freq_factor", 4.0)
    old = scaling.get("original_max_position_embeddings", 8192)
    out = []
    for j in range(0, dim, 2):
        freq = 1.0 / (base ** (np.float32(j) / dim))
        wavelen = 2 * math.pi / freq
        if wavelen < old / high:
            out.append(1.0)
        elif wavelen > old / low:
            out.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[3:] not in ([], ["f32"]):
        sys.exit(__doc__)
    model_dir, out, widen = sys.argv[1], sys.argv[2], sys.argv[3:] == ["f32"]
    cfg = json.loads((Path(model_dir) / "config.json").read_text())
    if cfg.get("model_type") not in ("llama", "mistral"):
        sys.exit(f"{model_dir}: model_type {cfg.get('model_type')} is not handled (llama only)")
    tensors = read_safetensors(model_dir)
    arch = gguf.MODEL_ARCH.LLAMA
    layers, heads, kv_heads = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
    names = gguf.get_tensor_name_map(arch, layers)
    stored = "F32" if widen else tensors["model.embed_tokens.weight"][0]

    w = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[arch])
    w.add_name(Path(model_dir).name)
    w.add_vocab_size(cfg["vocab_size"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(layers)
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_freq_base(cfg.get("rope_theta", 10000.0))
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16 if stored == "BF16" else gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("no_vocab")

    for name, (dtype, shape, raw) in tensors.items():
        arr = as_array(dtype, shape, raw)
        if widen:
            arr, dtype = to_f32(dtype, arr), "F32"
        gname = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if gname is None:
            sys.exit(f"{model_dir}: tensor {name} has no GGUF name")
        if len(shape) == 1:  # norms: f32, as llama.cpp's converter keeps them
            w.add_tensor(gname, to_f32(dtype, arr))
            continue
        if name.endswith("q_proj.weight"):
            arr = rope_pairs(arr, heads)
        elif name.endswith("k_proj.weight"):
            arr = rope_pairs(arr, kv_heads)
        if dtype == "BF16":
            w.add_tensor(gname, np.ascontiguousarray(arr), raw_dtype=gguf.GGMLQuantizationType.BF16)
        else:
            w.add_tensor(gname, np.ascontiguousarray(arr))
    factors = llama3_factors(cfg)
    if factors is not None:
        w.add_tensor(gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight", factors)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {out}: {len(tensors)} tensors, {stored} weights")


if __name__ == "__main__":
    main()
