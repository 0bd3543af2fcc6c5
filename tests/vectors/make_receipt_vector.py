#!/usr/bin/python3
"""Writes receipt.json: test vectors for aftune's inference formats
(docs/formats.md, "Inference requests and receipts" and "Receipt log"),
computed independently of the C++ code: struct/hashlib for the canonical
request and response encodings and their digests, hmac for the digests the
receipts hold blinded by their salts, python3-cryptography
(OpenSSL's Ed25519, not libsodium) for the receipt and checkpoint
signatures, and a recursive RFC 6962 tree for the log of receipts.

Run from anywhere: /usr/bin/python3 tests/vectors/make_receipt_vector.py
The output is deterministic; commit it. src/serve/receipt_test.cc loads it.
"""
import base64
import hashlib
import hmac
import json
import os
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

HERE = os.path.dirname(os.path.abspath(__file__))


def sha256(b):
    return hashlib.sha256(b).digest()


def blind(salt, digest):
    """The receipt's form of a digest: HMAC-SHA256 keyed by the receipt's salt."""
    return hmac.new(salt, digest, hashlib.sha256).digest()


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def f32_bits(x):
    return struct.pack("<f", x)  # binary32 nearest to x, little-endian


def s(text):
    b = text.encode("utf-8")
    return u32(len(b)) + b


def encode_request(r):
    out = b"aftune inference request v3\n" + s(r["model"])
    out += u32(len(r["prompt"])) + b"".join(u32(t) for t in r["prompt"])
    out += u64(r["max_tokens"]) + f32_bits(r["temperature"]) + f32_bits(r["top_p"])
    out += u64(r["top_k"]) + u64(r["seed"])
    out += u32(len(r["stop"])) + b"".join(s(x) for x in r["stop"])
    out += f32_bits(r["presence_penalty"]) + f32_bits(r["frequency_penalty"])
    bias = sorted(r["logit_bias"].items(), key=lambda kv: int(kv[0]))  # by token id
    out += u32(len(bias)) + b"".join(u32(int(k)) + f32_bits(v) for k, v in bias)
    out += u32(r["choice"])
    out += u32(0 if r["logprobs"] is None else r["logprobs"] + 1)  # None: no logprobs asked
    return out


def encode_response(tokens, logprobs=None):
    """logprobs: None, or per token [chosen, [[id, logprob], ...]]."""
    out = b"aftune inference response v1\n" + u32(len(tokens)) + b"".join(u32(t) for t in tokens)
    for chosen, top in logprobs or []:
        out += f32_bits(chosen) + u32(len(top)) + b"".join(u32(i) + f32_bits(x) for i, x in top)
    return out


# --- RFC 6962 §2.1, recursively -----------------------------------------------

def leaf_hash(data):
    return sha256(b"\x00" + data)


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = split(n)
    return sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def path(m, leaves):
    if len(leaves) == 1:
        return []
    k = split(len(leaves))
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


# --- keys and notes -------------------------------------------------------------

class Key:
    def __init__(self, name, seed):
        self.name = name
        self.sk = Ed25519PrivateKey.from_private_bytes(seed)
        pub = self.sk.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
        self.id = sha256(name.encode() + b"\n\x01" + pub)[:4]
        self.private_file = "aftune-ed25519-private %s %s\n" % (name, seed.hex())

    def sign(self, text):
        sig = self.sk.sign(text.encode())
        return text + "\n\u2014 " + self.name + " " + base64.b64encode(self.id + sig).decode() + "\n"


def receipt_text(log, index, model, adapter, commitment, request, response):
    def opt(h):
        return h.hex() if h is not None else "none"
    return ("aftune inference receipt v2\n"
            "log %s\nindex %d\nmodel %s\nadapter %s\ncommitment %s\nrequest %s\nresponse %s\n"
            % (log, index, model.hex(), opt(adapter), opt(commitment), request.hex(), response.hex()))


# logit_bias as a client sends it: token-id strings to numbers, in any order.
NO_PENALTIES = {"presence_penalty": 0.0, "frequency_penalty": 0.0, "logit_bias": {}, "choice": 0,
                "logprobs": None}
REQUESTS = [
    dict(NO_PENALTIES, model="m", prompt=[256, 104, 105], max_tokens=4, temperature=0.0,
         top_p=1.0, top_k=0, seed=0, stop=[]),
    dict(NO_PENALTIES, model="small", prompt=[256] + list(b"3+4="), max_tokens=16, temperature=0.7,
         top_p=0.9, top_k=40, seed=12345678901234567890, stop=["\n", "END"]),
    dict(NO_PENALTIES, model="mod\u00e8le", prompt=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], max_tokens=1,
         temperature=1.5, top_p=0.25, top_k=1, seed=7, stop=["", "\u00e9t\u00e9"]),
    {"model": "small", "prompt": [256, 65], "max_tokens": 8, "temperature": 0.9, "top_p": 1.0, "top_k": 0,
     "seed": 3, "stop": [], "presence_penalty": 0.5, "frequency_penalty": -0.3,
     "logit_bias": {"300": -100, "13": 2.5, "7": 0.1}, "choice": 2, "logprobs": None},
    dict(NO_PENALTIES, model="small", prompt=[256, 72], max_tokens=2, temperature=1.0, top_p=1.0, top_k=0,
         seed=11, stop=[], logprobs=2),
    dict(NO_PENALTIES, model="small", prompt=[256, 72], max_tokens=2, temperature=1.0, top_p=1.0, top_k=0,
         seed=11, stop=[], logprobs=0),
]
RESPONSES = [[104, 105, 33, 257], [55, 10], [], [0, 4294967295 // 2], [33, 257], [33, 257]]
# Per response: None, or the logprobs a request with logprobs k carries
# (binary32 values: these are exact in binary32).
LOGPROBS = [None, None, None, None,
            [[-0.5, [[33, -0.5], [7, -1.25]]], [-3.0, [[12, -0.0625], [257, -3.0]]]],
            [[-0.5, []], [-3.0, []]]]


def main():
    provider = Key("aftune.example/provider", sha256(b"aftune test key: provider"))
    origin = provider.name  # the log's origin is the provider key's name
    requests = []
    for r in REQUESTS:
        enc = encode_request(r)
        requests.append(dict(r, encoding_hex=enc.hex(), digest_hex=sha256(enc).hex()))
    responses = [{"tokens": t, "logprobs": lp, "encoding_hex": encode_response(t, lp).hex(),
                  "digest_hex": sha256(encode_response(t, lp)).hex()} for t, lp in zip(RESPONSES, LOGPROBS)]

    model = sha256(b"served model state")
    adapter = sha256(b"served adapter state")
    commitment = sha256(b"commitment note bytes")
    receipts, leaves = [], []
    for i in range(5):
        req = sha256(encode_request(REQUESTS[i % len(REQUESTS)]))
        resp = sha256(encode_response(RESPONSES[i % len(RESPONSES)], LOGPROBS[i % len(LOGPROBS)]))
        salt = sha256(b"aftune test salt %d" % i)  # a server draws 32 random bytes
        committed = i % 2 == 1
        text = receipt_text(origin, i, model, adapter if committed else None,
                            commitment if committed else None, blind(salt, req), blind(salt, resp))
        note = provider.sign(text)
        receipts.append({"index": i, "request": i % len(REQUESTS), "response": i % len(RESPONSES),
                         "salt_hex": salt.hex(), "text": text, "note": note})
        leaves.append(leaf_hash(note.encode()))

    root = mth(leaves)
    cp_text = "%s\n%d\n%s\n" % (origin, len(leaves), base64.b64encode(root).decode())
    out = {
        "about": "Canonical inference request/response encodings and digests, signed receipts "
                 "(their digests blinded by each receipt's salt: HMAC-SHA256(salt, digest)) "
                 "and a 5-receipt log (RFC 6962) with its checkpoint and proofs. Generated by "
                 "tests/vectors/make_receipt_vector.py independently of the C++ code.",
        "provider_private_file": provider.private_file,
        "requests": requests,
        "responses": responses,
        "model_hex": model.hex(), "adapter_hex": adapter.hex(), "commitment_hex": commitment.hex(),
        "receipts": receipts,
        "log": {
            "origin": origin,
            "leaf_hashes": [h.hex() for h in leaves],
            "root_hex": root.hex(),
            "checkpoint_text": cp_text,
            "checkpoint_note": provider.sign(cp_text),
            "inclusion": [{"index": i, "size": 5, "proof": [h.hex() for h in path(i, leaves)]}
                          for i in range(5)],
            "consistency": [{"old": m, "new": 5,
                             "old_root_hex": mth(leaves[:m]).hex(),
                             "proof": [h.hex() for h in subproof(m, leaves, True)] if 0 < m < 5 else []}
                            for m in range(6)],
        },
    }
    with open(os.path.join(HERE, "receipt.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
