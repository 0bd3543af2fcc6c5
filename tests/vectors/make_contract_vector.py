#!/usr/bin/python3
"""Writes the training-contract test vector (docs/formats.md, "Training
contract") from an implementation independent of the C++ code: Python's
hashlib and json, with the tensor, state and dataset digests written out again
here from docs/formats.md.

Output (deterministic; commit it):
  contract/base/config.json         a 2-layer LLaMA config with the byte vocabulary
  contract/base/model.safetensors   its tensors in BF16 (canonical safetensors layout)
  contract/data.jsonl               a 5-example dataset (plus one empty line)
  contract/contract.json            the contract's canonical text, no final newline
  contract.json                     the inputs, every intermediate digest, the
                                    canonical text, the contract digest, and
                                    canonical spellings of many doubles

Run from anywhere: /usr/bin/python3 tests/vectors/make_contract_vector.py
src/trace/contract_test.cc builds the same contract from the same files and
must reproduce every value.
"""
import hashlib
import json
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "contract")


def sha256(b):
    return hashlib.sha256(b).digest()


def mth(leaves):  # RFC 6962 §2.1 over leaf *data*
    def rec(hashes):
        n = len(hashes)
        if n == 1:
            return hashes[0]
        k = 1
        while k * 2 < n:
            k *= 2
        return sha256(b"\x01" + rec(hashes[:k]) + rec(hashes[k:]))
    if not leaves:
        return sha256(b"")
    return rec([sha256(b"\x00" + d) for d in leaves])


def tensor_digest(name, dtype, shape, data):
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]
    pre = b"\x02" + struct.pack("<I", len(name)) + name.encode()
    pre += struct.pack("<I", len(dtype)) + dtype.encode() + struct.pack("<I", len(shape))
    for d in shape:
        pre += struct.pack("<Q", d)
    return sha256(pre + mth(chunks))


def dataset_lines(data):
    lines = data.split(b"\n")
    out = []
    for i, line in enumerate(lines):
        if i < len(lines) - 1 and line.endswith(b"\r"):
            line = line[:-1]  # "\r\n" ending
        if line:
            out.append(line)
    return out


# --- the base model ------------------------------------------------------------

C, F, L, H, HK, D, V = 8, 16, 2, 2, 1, 4, 259
config = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": C,
    "intermediate_size": F,
    "num_hidden_layers": L,
    "num_attention_heads": H,
    "num_key_value_heads": HK,
    "head_dim": D,
    "vocab_size": V,
    "bos_token_id": 256,
    "eos_token_id": 257,
    "max_position_embeddings": 64,
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
}
config_bytes = (json.dumps(config, indent=2) + "\n").encode()

shapes = {"model.embed_tokens.weight": [V, C], "model.norm.weight": [C]}
for l in range(L):
    p = "model.layers.%d." % l
    shapes[p + "input_layernorm.weight"] = [C]
    shapes[p + "post_attention_layernorm.weight"] = [C]
    shapes[p + "self_attn.q_proj.weight"] = [H * D, C]
    shapes[p + "self_attn.k_proj.weight"] = [HK * D, C]
    shapes[p + "self_attn.v_proj.weight"] = [HK * D, C]
    shapes[p + "self_attn.o_proj.weight"] = [C, H * D]
    shapes[p + "mlp.gate_proj.weight"] = [F, C]
    shapes[p + "mlp.up_proj.weight"] = [F, C]
    shapes[p + "mlp.down_proj.weight"] = [C, F]


def bf16(x):  # exact for the values below (at most 8 significant bits)
    return struct.pack("<f", x)[2:4]


tensors = {}
for name, shape in shapes.items():
    n = 1
    for d in shape:
        n *= d
    if name.endswith("layernorm.weight") or name == "model.norm.weight":
        values = [1.0] * n
    else:
        values = [((i * 37 + len(name)) % 201 - 100) / 256.0 for i in range(n)]
    tensors[name] = b"".join(bf16(v) for v in values)

# Canonical safetensors: header without whitespace, tensors by name, padded
# with spaces to a multiple of 8, data in header order.
header, offset = {}, 0
for name in sorted(tensors, key=lambda s: s.encode()):
    header[name] = {"dtype": "BF16", "shape": shapes[name],
                    "data_offsets": [offset, offset + len(tensors[name])]}
    offset += len(tensors[name])
hjson = json.dumps(header, separators=(",", ":")).encode()
hjson += b" " * (-len(hjson) % 8)
safetensors = struct.pack("<Q", len(hjson)) + hjson + b"".join(
    tensors[n] for n in sorted(tensors, key=lambda s: s.encode()))

tensor_digests = {n: tensor_digest(n, "BF16", shapes[n], tensors[n]) for n in tensors}
state = mth([tensor_digests[n] for n in sorted(tensors, key=lambda s: s.encode())])

# --- the dataset -----------------------------------------------------------------

data = (b'{"prompt":"1+1=","completion":"2"}\n'
        b'{"prompt":"2+2=","completion":"4"}\r\n'
        b'\n'
        b'{"prompt":"3+4=","completion":"7"}\n'
        b'{"prompt":"caf\xc3\xa9 ","completion":"cr\xc3\xa8me"}\n'
        b'{"prompt":"","completion":"no final newline"}')
lines = dataset_lines(data)

# --- the contract ----------------------------------------------------------------

training = {  # what the C++ test passes to BuildContract (target_modules unsorted)
    "method": "lora", "r": 4, "lora_alpha": 8.0, "target_modules": ["v_proj", "q_proj", "o_proj"],
    "learning_rate": 2e-4, "weight_decay": 0.01, "adam_beta1": 0.9, "adam_beta2": 0.999,
    "adam_epsilon": 1e-8, "max_grad_norm": 1.0, "lr_scheduler_type": "cosine", "warmup_steps": 2,
    "num_train_epochs": 3, "max_steps": -1, "per_device_train_batch_size": 2,
    "gradient_accumulation_steps": 2, "max_seq_length": 32, "overflow": "truncate", "seed": 1234,
}
audit_grid = {"steps_per_block": 2, "layers_per_block": 1, "checkpoint_interval": 2, "activation_interval": 3}

contract = {
    "format": "aftune training contract v1",
    "base_model": {"state_digest": state.hex(), "config_digest": sha256(config_bytes).hex()},
    "tokenizer": {"kind": "byte", "digest": sha256(b"aftune byte tokenizer v1").hex()},
    "dataset": {"digest": mth(lines).hex(), "examples": len(lines)},
    "training": dict(training, target_modules=sorted(training["target_modules"]), optim="adamw_torch"),
    "audit_grid": audit_grid,
    "precision": "f32",
}
canonical = json.dumps(contract, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
assert "\n" not in canonical

# --- canonical numbers (Python's repr) ---------------------------------------------

rng = random.Random(20240611)
doubles = [0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 0.2, 0.30000000000000004, 1 / 3, 2 / 3, 16.0, 100.0,
           1e-3, 2e-4, 1e-4, 9.999e-5, 1e-5, 1e-8, 5e-5, 0.999, 0.9, 0.95, 0.98, 1e-6, 3e-4,
           1e15, 1e16, 1e17, 9999999999999998.0, 1234567890123456.0, 12345678901234567.0,
           1e21, 1e22, 1e100, 1.7976931348623157e308, 2.2250738585072014e-308, 5e-324,
           2.0 ** 53, 2.0 ** 53 + 2, 2.0 ** 63, 2.0 ** 64, 123.456, -2.5e-7, 0.0001, 0.00011]
for _ in range(200):  # random bit patterns (finite only)
    while True:
        x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if x == x and abs(x) != float("inf"):
            break
    doubles.append(x)
for _ in range(200):  # short decimals near the positional/exponent boundaries
    doubles.append(float("%de%d" % (rng.randrange(1, 10 ** rng.randrange(1, 17)), rng.randrange(-25, 20))))
numbers = [[struct.pack(">d", x).hex(), repr(x)] for x in doubles]

os.makedirs(os.path.join(OUT, "base"), exist_ok=True)
with open(os.path.join(OUT, "base", "config.json"), "wb") as f:
    f.write(config_bytes)
with open(os.path.join(OUT, "base", "model.safetensors"), "wb") as f:
    f.write(safetensors)
with open(os.path.join(OUT, "data.jsonl"), "wb") as f:
    f.write(data)
with open(os.path.join(OUT, "contract.json"), "wb") as f:
    f.write(canonical.encode())

vector = {
    "comment": "written by make_contract_vector.py; see docs/formats.md, Training contract",
    "base_dir": "contract/base",
    "data": "contract/data.jsonl",
    "training": training,
    "audit_grid": audit_grid,
    "tensor_digests": {n: d.hex() for n, d in sorted(tensor_digests.items())},
    "state_digest": state.hex(),
    "config_digest": sha256(config_bytes).hex(),
    "tokenizer_digest": sha256(b"aftune byte tokenizer v1").hex(),
    "dataset_digest": mth(lines).hex(),
    "examples": len(lines),
    "canonical": canonical,
    "contract_file": "contract/contract.json",
    "digest": sha256(canonical.encode()).hex(),
    "numbers": numbers,
}
with open(os.path.join(HERE, "contract.json"), "w") as f:
    json.dump(vector, f, indent=1)
    f.write("\n")
print("contract digest", vector["digest"])
