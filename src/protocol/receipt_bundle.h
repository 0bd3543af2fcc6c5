// The receipt bundle: what a client keeps of one served inference, enough
// for an auditor to recompute both digests of the receipt and re-execute
// the request. The server returns it as the "aftune_receipt" object of every
// completion response; `aftune client` appends it, with the server's URL, as
// one line of its receipts file (docs/formats.md, "Inference HTTP API" and
// "Receipts file").
//
//   {"log_index": 7,
//    "receipt": "<signed receipt note>",
//    "checkpoint": "<signed checkpoint note of a tree holding log_index>",
//    "request": {"model": "small", "prompt_tokens": [256, 51, ...],
//                "max_tokens": 16, "temperature": 0.699999988079071,
//                "top_p": 1.0, "top_k": 0, "seed": 0, "stop": ["\n"],
//                "presence_penalty": 0.0, "frequency_penalty": 0.5,
//                "logit_bias": [[13, -100.0]], "choice": 0},
//    "completion_tokens": [55, 10],
//    "completion_logprobs": null,
//    "salt": "<64 hex: the secret that blinds the receipt's digests>"}
//
// temperature, top_p, the penalties and biases are the binary32 values used, written as the
// doubles equal to them; reading them back to binary32 is exact.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "protocol/receipt.h"
#include "protocol/request.h"

namespace aftune {

struct ReceiptBundle {
  uint64_t log_index = 0;
  std::string receipt;     // signed note
  std::string checkpoint;  // signed note
  InferenceRequest request;
  std::vector<int32_t> completion_tokens;
  // One per token iff request.logprobs >= 0 (then bound in the response
  // digest); JSON "completion_logprobs": [[logprob, [[id, logprob], ...]], ...]
  // or null.
  std::vector<PositionLogprobs> completion_logprobs = {};
  // The receipt's request and response digests are BlindDigest(salt, ...) of
  // protocol/request.h's (protocol/receipt.h). Kept by the client alone.
  ReceiptSalt salt{};
};

nlohmann::json ReceiptBundleToJson(const ReceiptBundle& b);
// Strict: every field present with its type, no others but those in
// `extra_keys` (e.g. "server" in a receipts file line). kCorruption naming
// the field.
Result<ReceiptBundle> ReceiptBundleFromJson(const nlohmann::json& j, const std::vector<std::string>& extra_keys = {});

// The text of a signed note (everything up to its last blank line),
// without verifying any signature. kCorruption when there is no blank line.
Result<std::string> UnverifiedNoteText(const std::string& note);

// Well-formedness without the provider's key: the receipt note's text
// parses, names log_index and the digests of `request` and
// `completion_tokens` blinded by `salt`; the checkpoint's text parses, has the receipt's log
// as origin and covers log_index. Signatures, inclusion and consistency are
// the auditor's to check. Returns the parsed receipt; kMismatch or
// kCorruption naming what is wrong.
Result<Receipt> CheckReceiptBundle(const ReceiptBundle& b);

}  // namespace aftune
