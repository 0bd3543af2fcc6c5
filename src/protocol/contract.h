// The training contract: what the client and the provider agree before a
// fine-tuning job (DESIGN.md, "Protocols / Training"). It binds the base
// model, its configuration and tokenizer, and the dataset by digest
// (protocol/input_digest.h), the method and every hyper-parameter, the seed,
// the audit grid and the precision. Its digest is what the signed training
// commitment names.
//
// Format (docs/formats.md, "Training contract"): one JSON object, written in
// canonical form (protocol/canonical_json.h: sorted keys, no whitespace, numbers
// as Python's repr):
//
//   {"audit_grid":{"activation_interval":8,"checkpoint_interval":8,
//                  "layers_per_block":2,"steps_per_block":8},
//    "base_model":{"config_digest":"<hex>","state_digest":"<hex>"},
//    "dataset":{"digest":"<hex>","examples":40},
//    "format":"aftune training contract v1",
//    "precision":"f32",
//    "tokenizer":{"digest":"<hex>","kind":"byte"},   (+ "chat_digest":"<hex>" when
//                                                     the model has a chat template or special tokens)
//    "training":{"adam_beta1":0.9,"adam_beta2":0.999,"adam_epsilon":1e-08,
//                "gradient_accumulation_steps":1,"learning_rate":0.001,
//                "lora_alpha":16.0,"lr_scheduler_type":"linear",
//                "max_grad_norm":1.0,"max_seq_length":256,"max_steps":-1,
//                "method":"lora","num_train_epochs":1,"overflow":"reject",
//                "per_device_train_batch_size":8,"r":8,"seed":42,
//                "target_modules":["q_proj","v_proj"],"warmup_steps":0,
//                "weight_decay":0.0}}
//
// (shown wrapped; the canonical text is one line). Every key is required and
// no other is allowed; "r", "lora_alpha" and "target_modules" appear exactly
// when method is "lora". The contract digest is SHA-256 of the canonical
// text; a contract file holds exactly that text (no final newline), so
// `sha256sum contract.json` prints the digest.
//
// The audit grid (DESIGN.md, "The audit grid"): steps_per_block B_S
// optimizer steps per step-block, layers_per_block B_L decoder layers per
// layer-block (the last block of either kind may be shorter when the count
// does not divide), checkpoint_interval I_C (full state kept every I_C
// step-blocks), activation_interval I_A (boundary tensors kept every I_A
// steps).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commit/sha256.h"
#include "protocol/input_digest.h"
#include "train/train_config.h"
#include "train/training_terms.h"

namespace aftune {

inline constexpr std::string_view kContractFormat = "aftune training contract v1";
// Largest contract file read (a canonical contract is under 1.5 KiB).
inline constexpr size_t kMaxContractBytes = 64 * 1024;
// Largest value of every integer of a contract except the seed, so that
// products of them (examples per step, steps) cannot overflow.
inline constexpr int64_t kMaxContractInt = kMaxTermInt;

struct AuditGrid {
  int64_t steps_per_block = 8;      // B_S
  int64_t layers_per_block = 2;     // B_L
  int64_t checkpoint_interval = 8;  // I_C, in step-blocks
  int64_t activation_interval = 8;  // I_A, in steps
};

struct Contract {
  Hash base_state_digest{};   // state digest of the base model's tensors as stored
  Hash base_config_digest{};  // SHA-256 of its config.json
  std::string tokenizer_kind = "byte";  // "byte" | "sentencepiece" | "tokenizer.json"
  Hash tokenizer_digest{};
  // tokenizer.chat_digest: SHA-256 of the base model's chat configuration
  // (model/tokenizer_config.h, CanonicalBytes): present exactly when the model
  // directory has a chat template or special tokens.
  std::optional<Hash> chat_digest;
  Hash dataset_digest{};
  int64_t dataset_examples = 0;
  // The hyper-parameters: the binding training terms (train/training_terms.h).
  // The operational ones (base_model, save_steps, logging_steps,
  // layers_per_block) hold TrainConfig's defaults (see ContractTrainConfig);
  // target_modules is sorted by name; for method "full" lora is {}.
  TrainConfig training;
  AuditGrid grid;
  std::string precision = "f32";  // the only supported value
};

// Ok when every field holds a supported, in-range value; otherwise
// kInvalidArgument naming the contract key, e.g. "'training.r' must be >= 1".
Status ValidateContract(const Contract& c);

// Digests the base model directory and the dataset, checks that the job can
// run — the model's tensors have the names and shapes config.json implies,
// the dataset loads with the model's tokenizer under max_seq_length and
// overflow, max_seq_length fits the model's positions, layers_per_block does
// not exceed its layers — and returns the contract. `training.base_model`,
// `save_steps`, `logging_steps` and `layers_per_block` are ignored.
// Errors name the file, line or contract key.
Result<Contract> BuildContract(const std::string& base_dir, const std::string& data_path,
                               const TrainConfig& training, const AuditGrid& grid);

// The canonical text. REQUIRES: ValidateContract(c).ok() (aborts otherwise).
std::string CanonicalContract(const Contract& c);
// SHA-256 of CanonicalContract(c).
Hash ContractDigest(const Contract& c);

// Parses a contract strictly: `text` must be one JSON object (RFC 8259,
// UTF-8, no key repeated in any object, at most kMaxContractBytes) holding
// exactly the keys above with the JSON types above ("integer": a number
// without fraction or exponent; "number": any number). Whitespace, key order,
// number spelling and target_modules order are free: the digest is always
// that of the canonical form, and parsing a canonical text and writing it
// again gives the same bytes. Errors name `source` and the key:
//   kCorruption        not JSON, a repeated, missing or unknown key, a wrong
//                      type, a malformed digest, a wrong "format"
//   kInvalidArgument   an unsupported or out-of-range value (method,
//                      precision, lr_scheduler_type, a grid value < 1, …)
Result<Contract> ParseContract(std::string_view text, const std::string& source);
Result<Contract> ReadContract(const std::string& path);
// Writes CanonicalContract(c) to `path` atomically (no final newline).
Status WriteContract(const std::string& path, const Contract& c);

// One input that differs from what the contract binds.
struct ContractMismatch {
  std::string input;     // "base model", "base model config", "tokenizer", "chat template" or "dataset"
  std::string path;      // what was digested
  std::string expected;  // what the contract binds: a hex digest (with the tokenizer kind, the examples)
  std::string found;
  // "<input> <path> does not match the contract: found <found>, the contract binds <expected>"
  std::string ToString() const;
};

// The inputs whose digests (computed by the caller from the bytes it
// actually uses) differ from the contract's, in the order above. `model`
// needs only its digests and tokenizer_kind filled in.
std::vector<ContractMismatch> CompareContractInputs(const Contract& c, const std::string& base_dir,
                                                    const ModelDirDigests& model, const std::string& data_path,
                                                    const DatasetDigests& data);

// Recomputes the digests of the base model directory and the dataset file and
// compares them with the contract's: Ok; kMismatch whose message lists every
// ContractMismatch, joined by "; "; or the error of reading an input.
Status VerifyContractInputs(const Contract& c, const std::string& base_dir, const std::string& data_path);

// The TrainConfig that runs the contract on `base_dir`: its hyper-parameters,
// layers_per_block = B_L, save_steps = B_S * I_C (a resumable checkpoint at
// every full-state checkpoint of the grid), logging_steps the default.
TrainConfig ContractTrainConfig(const Contract& c, const std::string& base_dir);

}  // namespace aftune
