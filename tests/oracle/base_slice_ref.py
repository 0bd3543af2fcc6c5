#!/usr/bin/python3
"""The base slice answer of aftune's audit HTTP API, written independently of
the C++ code from docs/formats.md ("Audit HTTP API", base slices) and
DESIGN.md ("Tensor digest", "State digest", "Merkle trees"): struct and json
for safetensors, hashlib for SHA-256.

    base_slice_ref.py MODEL_DIR BEGIN END OUT

reads MODEL_DIR (config.json and model.safetensors, or the shards of
model.safetensors.index.json), writes to OUT the answer for layers
[BEGIN, END) and prints the base's state digest (hex). The digests and
proofs are tests/vectors/make_vectors.py's (hashlib, written from the RFC).
The C++ test compares the provider's answer with OUT byte for byte.
"""
import json
import os
import struct
import sys

# The project's independent RFC 6962 and tensor digest (tests/vectors).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors"))
from make_vectors import leaf_hash, mth, path, tensor_digest  # noqa: E402


def read_safetensors(path_):
    with open(path_, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    return {name: (e["dtype"], e["shape"], data[e["data_offsets"][0]:e["data_offsets"][1]])
            for name, e in header.items()}


def read_model(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    files = ["model.safetensors"]
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    tensors = {}
    for name in files:
        tensors.update(read_safetensors(os.path.join(model_dir, name)))
    return tensors


def slice_names(config, tensors, begin, end):
    names = [n for n in tensors
             if n.startswith("model.layers.") and begin <= int(n.split(".")[2]) < end]
    if begin == 0:
        names.append("model.embed_tokens.weight")
    if end == config["num_hidden_layers"]:
        names.append("model.norm.weight")
        names.append("model.embed_tokens.weight" if config.get("tie_word_embeddings") else "lm_head.weight")
    return sorted(set(names), key=lambda n: n.encode())


def main():
    model_dir, begin, end, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    tensors = read_model(model_dir)
    order = sorted(tensors, key=lambda n: n.encode())
    leaves = [leaf_hash(tensor_digest(n, *tensors[n])[2]) for n in order]
    metadata = {"format": "aftune base slice v1", "tensors": str(len(order))}
    header_items = []
    data = b""
    for name in slice_names(config, tensors, begin, end):
        dtype, shape, raw = tensors[name]
        i = order.index(name)
        metadata["proof." + name] = " ".join([str(i)] + [h.hex() for h in path(i, leaves)])
        header_items.append((name, {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}))
        data += raw
    parts = ['"__metadata__":' + json.dumps(dict(sorted(metadata.items())), separators=(",", ":"))]
    for name, e in header_items:
        parts.append(json.dumps(name) + ":" + json.dumps(e, separators=(",", ":")))
    header = ("{" + ",".join(parts) + "}").encode()
    header += b" " * (-len(header) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)
    print(mth(leaves).hex())


if __name__ == "__main__":
    main()
