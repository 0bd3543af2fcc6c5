// An inference request as the server runs it, its canonical encoding and
// digest, and the response digest (docs/formats.md, "Inference requests and
// receipts"; vectors: tests/vectors/receipt.json).
//
// Canonical request encoding (all integers little-endian):
//
//   "aftune inference request v3\n"          the 28 ASCII bytes of the tag
//   str(model)                               the model name the client asked for
//   u32 n ‖ u32 prompt[0] … u32 prompt[n−1]  prompt token ids, BOS included
//   u64 max_tokens
//   u32 bits(temperature) ‖ u32 bits(top_p)  IEEE-754 binary32 bit patterns
//   u64 top_k ‖ u64 seed
//   u32 m ‖ str(stop[0]) … str(stop[m−1])    stop strings, in request order
//   u32 bits(presence_penalty) ‖ u32 bits(frequency_penalty)
//   u32 b ‖ (u32 id ‖ u32 bits(bias)) × b    logit_bias, ids ascending
//   u32 choice                               the choice's index j in [0, n)
//   u32 logprobs + 1                         0: no logprobs; else 1 + the
//                                            number of top alternatives
//
// where str(s) = u32 len(s) ‖ the bytes of s. request_digest = SHA-256 of it.
//
// Canonical response encoding: "aftune inference response v1\n" (29 bytes)
// ‖ u32 n ‖ u32 token[0] … u32 token[n−1], every generated token id (a final
// EOS and the token completing a stop string included, as
// GenerationResult::tokens), then, when the request asked for logprobs, for
// every token: u32 bits(logprob) ‖ u32 k ‖ (u32 id ‖ u32 bits(logprob)) × k
// (infer/logprobs.h, the top k in their order). response_digest = SHA-256.
//
// Example: model "m", prompt [256, 104, 105], max_tokens 4, temperature 0,
// top_p 1, top_k 0, seed 0, no stop strings encodes to the tag, then
// 01000000 6d, 03000000 00010000 68000000 69000000, 0400000000000000,
// 00000000 0000803f, 0000000000000000 0000000000000000, 00000000,
// 00000000 00000000, 00000000, 00000000 (choice), 00000000 (no logprobs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "commit/sha256.h"
#include "infer/generator.h"

namespace aftune {

struct InferenceRequest {
  std::string model;                 // the name the client asked for
  GenerationRequest generation;      // prompt ids, sampling, max_tokens, stop
  int64_t logprobs = -1;             // -1: none; else the top alternatives, [0, kMaxTopLogprobs]
};

// The canonical bytes above. REQUIRES: token ids >= 0, max_tokens >= 0,
// top_k >= 0 (a validated request).
std::string EncodeRequest(const InferenceRequest& request);
Hash RequestDigest(const InferenceRequest& request);

// `logprobs`: non-null iff the request asked for them, one per token.
std::string EncodeResponse(const std::vector<int32_t>& tokens, const std::vector<PositionLogprobs>* logprobs = nullptr);
Hash ResponseDigest(const std::vector<int32_t>& tokens, const std::vector<PositionLogprobs>* logprobs = nullptr);

}  // namespace aftune
