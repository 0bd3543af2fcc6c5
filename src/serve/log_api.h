// The receipt log's HTTP endpoints (docs/formats.md, "Inference HTTP API"),
// as functions from the request's path and query values to a JSON reply:
//
//   GET /v1/log/checkpoint                          {"checkpoint": "<signed note>"}
//   GET /v1/log/receipts/<index>                    {"index": i, "receipt": "<signed note>"}
//   GET /v1/log/proof/inclusion?index=I&size=N      {"index": I, "size": N, "proof": ["<hex>", ...]}
//   GET /v1/log/proof/consistency?old=M&new=N       {"old": M, "new": N, "proof": ["<hex>", ...]}
//
// Numbers in paths and queries are canonical decimals. Proofs are RFC 6962
// PATH(I, D[N]) and PROOF(M, D[N]), hashes in the order the verifier
// consumes them. Errors are OpenAI-style: 400 for a malformed or
// out-of-range number (param names it), 404 for a missing receipt.
#pragma once

#include <string_view>

#include "serve/inference_service.h"
#include "serve/receipt_log.h"

namespace aftune {

HttpReply CheckpointReply(ReceiptLog& log);
HttpReply ReceiptReply(ReceiptLog& log, std::string_view index);
HttpReply InclusionProofReply(ReceiptLog& log, std::string_view index, std::string_view size);
HttpReply ConsistencyProofReply(ReceiptLog& log, std::string_view old_size, std::string_view new_size);

}  // namespace aftune
