// The training terms: every hyper-parameter and setting of a training job, in
// one table. It drives every place that names them, so they cannot disagree:
//   - `aftune train --config FILE` (train/train_config.cc: JSON keys, checks,
//     the canonical JSON a checkpoint records);
//   - the training contract's "training" object (protocol/contract.cc: which
//     keys it binds, their parsing, checks and canonical text);
//   - `aftune contract create`'s options (cli/cmd_contract.cc);
//   - the table of docs/training.md (TrainingTermsMarkdown, checked by a test).
//
// Names are Hugging Face TrainingArguments' and, for LoRA, PEFT LoraConfig's.
// A term's value is carried as JSON: an integer (int64), a number (double), an
// unsigned integer (the seed), a string, or an array of strings (the LoRA
// target modules).
//
// Errors name the term as the caller spells it (`name`: "r", "training.r",
// "--r"). Two kinds, as a contract reader tells them apart:
//   kCorruption       the JSON value has the wrong type;
//   kInvalidArgument  a value of the right type that is out of range or not
//                     supported, e.g. "'training.r' must be in [1, 2147483647], got 0".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "train/train_config.h"

namespace aftune {

// The largest value of every integer term, so that products of them (examples
// per step, steps) cannot overflow. The seed alone spans [0, 2^64).
inline constexpr int64_t kMaxTermInt = (int64_t{1} << 31) - 1;

enum class TermKind {
  kInteger,  // in [min_int, kMaxTermInt]
  kNumber,   // finite, in `range`
  kSeed,     // an integer in [0, 2^64)
  kChoice,   // one of `choices`
  kModules,  // distinct LoRA target module names, at least one
  kPath,     // a directory
};

enum class NumberRange { kAny, kPositive, kNonNegative, kUnitInterval };

struct TrainingTerm {
  std::string key;  // the JSON key and, with "--", the option
  TermKind kind;
  std::string help;  // one line: the option's help and the docs' meaning
  // A binding term is part of the contract. An operational one does not change
  // the result, or the contract sets it otherwise: `not_in_contract` says why.
  bool binding = true;
  std::string not_in_contract;
  bool lora_only = false;  // applies with method "lora" only
  int64_t min_int = 0;
  NumberRange range = NumberRange::kAny;
  std::vector<std::string> choices;
  std::function<nlohmann::json(const TrainConfig&)> get;
  // REQUIRES: CheckTermValue(*this, v, ...) is ok.
  std::function<void(TrainConfig*, const nlohmann::json&)> set;
};

// Every term, in the order of the documentation.
const std::vector<TrainingTerm>& TrainingTerms();
// The term with this key, or null.
const TrainingTerm* FindTrainingTerm(std::string_view key);
// Whether the term has a value in `c` (LoRA terms do not under "full").
bool TermApplies(const TrainingTerm& term, const TrainConfig& c);

// Checks the value's JSON type (kCorruption) and its range (kInvalidArgument),
// then sets it in *c.
Status SetTermFromJson(const TrainingTerm& term, const nlohmann::json& v, std::string_view name, TrainConfig* c);
// The same for a command-line spelling: an integer in decimal digits, a
// number as strtod reads it (whole), modules separated by commas. Every error
// is kInvalidArgument.
Status SetTermFromText(const TrainingTerm& term, std::string_view text, std::string_view name, TrainConfig* c);
// Checks a value of the right JSON type.
Status CheckTermValue(const TrainingTerm& term, const nlohmann::json& v, std::string_view name);
// Checks every term that applies to `c`, naming it `prefix` + key.
Status ValidateTrainingTerms(const TrainConfig& c, std::string_view prefix);

// The value as a command line spells it (what SetTermFromText reads back).
std::string TermValueText(const nlohmann::json& v);
// The Markdown table of docs/training.md: key, default, values, meaning, and
// whether a contract binds it.
std::string TrainingTermsMarkdown();

}  // namespace aftune
