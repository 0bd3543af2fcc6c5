// Fine-tuning datasets: JSONL files of examples, tokenized into sequences
// with a loss mask, and the packed batch of one optimizer step.
//
// The file format (the three line shapes, the token layout of each, the chat
// template, what counts as a line, every rejected input) is specified at the
// top of dataset.cc and in docs/formats.md, "Datasets and the chat template".
//
// Example i of a Dataset is the i-th non-empty line of the file, exactly the
// i-th leaf of the dataset digest (commit/digest.h, DatasetLines), so an
// auditor can open example i with a Merkle inclusion proof of leaf i.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/batch.h"
#include "model/chat_render.h"
#include "model/tokenizer.h"

namespace aftune {

// What to do with an example longer than max_seq_len tokens.
enum class OverflowPolicy {
  kReject,    // the load fails, naming the line
  kTruncate,  // keep the first max_seq_len tokens (counted in num_truncated)
};
// "reject" / "truncate".
std::string_view OverflowPolicyName(OverflowPolicy p);
Result<OverflowPolicy> ParseOverflowPolicy(std::string_view name);

struct DatasetOptions {
  DatasetOptions() = default;
  DatasetOptions(int64_t max_len, OverflowPolicy policy, std::shared_ptr<const ChatRenderer> chat_renderer = nullptr)
      : max_seq_len(max_len), overflow(policy), chat(std::move(chat_renderer)) {}

  // Most tokens per example, special tokens (a BOS) and EOS included. REQUIRES: >= 2.
  int64_t max_seq_len = 0;
  OverflowPolicy overflow = OverflowPolicy::kReject;
  // The model's chat template for `messages` lines (model/chat_render.h,
  // LoadChatRenderer): rendered and trained on the assistant turns only
  // (model/chat_encode.h). Null: aftune's default "llama2" layout
  // (model/chat_template.h).
  std::shared_ptr<const ChatRenderer> chat;
};

// The shape of a file's lines; one file uses one shape throughout.
enum class DatasetShape {
  kText,              // {"text": ...}
  kPromptCompletion,  // {"prompt": ..., "completion": ...}
  kMessages,          // {"messages": [{"role": ..., "content": ...}, ...]}
};
// "text" / "prompt-completion" / "messages".
std::string_view DatasetShapeName(DatasetShape s);

struct Example {
  std::vector<int32_t> tokens;  // 2 <= size <= max_seq_len
  // scored[t] == 1 when token t is a loss target, i.e. predicted from
  // tokens[0..t-1]. scored[0] == 0; at least one token is scored.
  std::vector<uint8_t> scored;
  int64_t line = 0;        // 1-based line number in the file (empty lines counted)
  bool truncated = false;  // cut to max_seq_len by OverflowPolicy::kTruncate

  int64_t num_scored() const;
};

struct Dataset {
  std::string source;  // the file name used in errors
  DatasetShape shape = DatasetShape::kText;
  std::vector<Example> examples;  // at least one
  int64_t num_truncated = 0;      // examples with truncated == true

  int64_t size() const { return static_cast<int64_t>(examples.size()); }
};

// Reads and tokenizes the JSONL file at `path`. Every error names the file
// and line ("data.jsonl:7: field 'completion' must be a non-empty string");
// no line is ever skipped, except empty ones.
Result<Dataset> LoadJsonlDataset(const std::string& path, const Tokenizer& tok, const DatasetOptions& opts);
// The same on the file's contents; `source` stands for the file name.
Result<Dataset> ParseJsonlDataset(std::string_view text, const std::string& source, const Tokenizer& tok,
                                  const DatasetOptions& opts);

// The packed batch of examples `indices` (in that order; repeats allowed):
// for each example of n tokens, inputs tokens[0..n-2] and targets
// tokens[1..n-1], a target replaced by kIgnoreIndex where that token is not
// scored. REQUIRES: every index in [0, ds.size()).
PackedBatch MakeTrainingBatch(const Dataset& ds, const std::vector<int64_t>& indices);

// The number of targets of `batch` that are not kIgnoreIndex (the loss's
// denominator).
int64_t CountScoredTargets(const PackedBatch& batch);

}  // namespace aftune
