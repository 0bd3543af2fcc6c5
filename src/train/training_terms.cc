#include "train/training_terms.h"

#include <charconv>
#include <cmath>
#include <set>

#include "model/llama_names.h"

namespace aftune {

namespace {

using Json = nlohmann::json;

Status Invalid(std::string_view name, const std::string& what) {
  return Status::InvalidArgument("'" + std::string(name) + "' " + what);
}

Status Malformed(std::string_view name, const std::string& what) {
  return Status::Corruption("'" + std::string(name) + "' " + what);
}

std::string ModuleList() {
  std::string s;
  for (Proj p : kAllProjs) s += (s.empty() ? "" : " ") + std::string(ProjName(p));
  return s;
}

std::string ChoiceList(const std::vector<std::string>& choices) {
  std::string s;
  for (size_t i = 0; i < choices.size(); ++i)
    s += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + ("\"" + choices[i] + "\"");
  return s;
}

// ---- the table ---------------------------------------------------------------

using C = TrainConfig;

TrainingTerm Term(std::string key, TermKind kind, std::string help) {
  TrainingTerm t;
  t.key = std::move(key);
  t.kind = kind;
  t.help = std::move(help);
  return t;
}

TrainingTerm Integer(std::string key, int64_t min, std::string help) {
  TrainingTerm t = Term(std::move(key), TermKind::kInteger, std::move(help));
  t.min_int = min;
  return t;
}

TrainingTerm Number(std::string key, NumberRange range, std::string help) {
  TrainingTerm t = Term(std::move(key), TermKind::kNumber, std::move(help));
  t.range = range;
  return t;
}

TrainingTerm Choice(std::string key, std::vector<std::string> choices, std::string help) {
  TrainingTerm t = Term(std::move(key), TermKind::kChoice, std::move(help));
  t.choices = std::move(choices);
  return t;
}

TrainingTerm Access(TrainingTerm t, std::function<Json(const C&)> get, std::function<void(C*, const Json&)> set) {
  t.get = std::move(get);
  t.set = std::move(set);
  return t;
}

// A term held in a field of TrainConfig of the JSON value's type.
template <typename T>
TrainingTerm Field(TrainingTerm t, T C::*field) {
  return Access(
      std::move(t), [field](const C& c) { return Json(c.*field); },
      [field](C* c, const Json& v) { c->*field = v.get<T>(); });
}

TrainingTerm Operational(TrainingTerm t, std::string why) {
  t.binding = false;
  t.not_in_contract = std::move(why);
  return t;
}

TrainingTerm LoraOnly(TrainingTerm t) {
  t.lora_only = true;
  return t;
}

std::vector<std::string> ScheduleNames() {
  std::vector<std::string> out;
  for (LrSchedule s : kLrSchedules) out.push_back(LrScheduleName(s));
  return out;
}

Json ModuleNames(const std::vector<Proj>& projs) {
  Json a = Json::array();
  for (Proj p : projs) a.push_back(ProjName(p));
  return a;
}

std::vector<Proj> ParsedModules(const Json& names) {
  std::vector<Proj> out;
  for (const Json& e : names) out.push_back(*ParseProj(e.get<std::string>()));
  return out;
}

std::vector<TrainingTerm> MakeTerms() {
  const std::string no_effect = "it does not change the result";
  return {
      Operational(Field(Term("base_model", TermKind::kPath, "base model directory (aftune train --model overrides)"),
                        &C::base_model),
                  "a contract binds the base model by digest, not by path"),
      Access(Choice("method", {"lora", "full"},
                    "\"lora\" (the base frozen, a PEFT adapter trained) or \"full\" (every base tensor trained)"),
             [](const C& c) { return Json(c.full_finetune ? "full" : "lora"); },
             [](C* c, const Json& v) { c->full_finetune = v.get<std::string>() == "full"; }),
      LoraOnly(Access(Integer("r", 1, "LoRA rank"), [](const C& c) { return Json(c.lora.r); },
                      [](C* c, const Json& v) { c->lora.r = v.get<int64_t>(); })),
      LoraOnly(Access(Number("lora_alpha", NumberRange::kPositive, "LoRA alpha: the adapter's scale is lora_alpha / r"),
                      [](const C& c) { return Json(c.lora.lora_alpha); },
                      [](C* c, const Json& v) { c->lora.lora_alpha = v.get<double>(); })),
      LoraOnly(Access(Term("target_modules", TermKind::kModules, "the projections LoRA adapts"),
                      [](const C& c) { return ModuleNames(c.lora.target_modules); },
                      [](C* c, const Json& v) { c->lora.target_modules = ParsedModules(v); })),
      Field(Choice("optim", {"adamw_torch"}, "the optimizer: torch.optim.AdamW as src/train/adamw.h computes it"),
            &C::optim),
      Field(Number("learning_rate", NumberRange::kPositive, "peak learning rate"), &C::learning_rate),
      Access(Choice("lr_scheduler_type", ScheduleNames(),
                    "the learning rate's schedule, as HF's get_scheduler (\"constant\" ignores warmup_steps)"),
             [](const C& c) { return Json(LrScheduleName(c.lr_scheduler_type)); },
             [](C* c, const Json& v) { c->lr_scheduler_type = *ParseLrSchedule(v.get<std::string>()); }),
      Field(Integer("warmup_steps", 0, "linear warm-up from 0 over this many steps (the first step has rate 0, as in HF)"),
            &C::warmup_steps),
      Field(Number("weight_decay", NumberRange::kNonNegative,
                   "AdamW's decoupled weight decay (biases and norms exempt, as in HF's Trainer)"),
            &C::weight_decay),
      Field(Number("adam_beta1", NumberRange::kUnitInterval, "AdamW beta1"), &C::adam_beta1),
      Field(Number("adam_beta2", NumberRange::kUnitInterval, "AdamW beta2"), &C::adam_beta2),
      Field(Number("adam_epsilon", NumberRange::kPositive, "AdamW epsilon"), &C::adam_epsilon),
      Field(Number("max_grad_norm", NumberRange::kAny, "global gradient-norm clipping (<= 0: none)"), &C::max_grad_norm),
      Field(Integer("num_train_epochs", 1, "passes over the dataset (when max_steps <= 0)"), &C::num_train_epochs),
      Field(Integer("max_steps", -1, "> 0: exactly this many optimizer steps"), &C::max_steps),
      Field(Integer("per_device_train_batch_size", 1, "examples per micro-batch"), &C::per_device_train_batch_size),
      Field(Integer("gradient_accumulation_steps", 1, "micro-batches per optimizer step"),
            &C::gradient_accumulation_steps),
      Field(Integer("max_seq_length", 2, "tokens per example, special tokens and EOS included"), &C::max_seq_length),
      Access(Choice("overflow", {"reject", "truncate"},
                    "a longer example: \"reject\" (an error naming its line) or \"truncate\" (counted and reported)"),
             [](const C& c) { return Json(std::string(OverflowPolicyName(c.overflow))); },
             [](C* c, const Json& v) { c->overflow = *ParseOverflowPolicy(v.get<std::string>()); }),
      Field(Term("seed", TermKind::kSeed, "the LoRA initialisation and the data order"), &C::seed),
      Operational(Field(Integer("save_steps", 0, "a resumable checkpoint every this many steps (0: only at the end)"),
                        &C::save_steps),
                  no_effect + "; a contract's run checkpoints every B_S × I_C steps"),
      Operational(Field(Integer("logging_steps", 1, "a log line every this many steps when the output is not a terminal"),
                        &C::logging_steps),
                  no_effect),
      Operational(Field(Integer("layers_per_block", 0,
                                "run the model as layer-blocks of this many layers (0, or the layer count or more: "
                                "one block); results do not change"),
                        &C::layers_per_block),
                  "audit_grid.layers_per_block sets it"),
  };
}

// ---- values ------------------------------------------------------------------

// The value with its JSON type checked, in the type `set` reads.
Result<Json> TypedValue(const TrainingTerm& term, const Json& v, std::string_view name) {
  switch (term.kind) {
    case TermKind::kInteger:
      if (!v.is_number_integer()) return Malformed(name, "must be an integer (digits, no fraction or exponent)");
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        return Invalid(name, "is out of range");
      return Json(v.get<int64_t>());
    case TermKind::kNumber:
      if (!v.is_number()) return Malformed(name, "must be a number");
      return Json(v.get<double>());
    case TermKind::kSeed:
      if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0))
        return Malformed(name, "must be an integer in [0, 2^64)");
      return Json(v.get<uint64_t>());
    case TermKind::kChoice:
    case TermKind::kPath:
      if (!v.is_string()) return Malformed(name, "must be a string");
      return v;
    case TermKind::kModules:
      if (!v.is_array()) return Malformed(name, "must be an array of module names");
      for (const Json& e : v)
        if (!e.is_string()) return Malformed(name, "must hold strings");
      return v;
  }
  return Malformed(name, "has an unknown kind");
}

Status CheckNumber(NumberRange range, double x, std::string_view name) {
  if (!std::isfinite(x)) return Invalid(name, "must be finite");
  switch (range) {
    case NumberRange::kAny: return Status::Ok();
    case NumberRange::kPositive:
      return x > 0 ? Status::Ok() : Invalid(name, "must be > 0, got " + Json(x).dump());
    case NumberRange::kNonNegative:
      return x >= 0 ? Status::Ok() : Invalid(name, "must be >= 0, got " + Json(x).dump());
    case NumberRange::kUnitInterval:
      return x >= 0 && x < 1 ? Status::Ok() : Invalid(name, "must be in [0, 1), got " + Json(x).dump());
  }
  return Status::Ok();
}

Status CheckModules(const Json& v, std::string_view name) {
  if (v.empty()) return Invalid(name, "must name at least one module");
  std::set<std::string> seen;
  for (const Json& e : v) {
    const std::string m = e.get<std::string>();
    if (!ParseProj(m)) return Invalid(name, "names unknown module '" + m + "' (known: " + ModuleList() + ")");
    if (!seen.insert(m).second) return Invalid(name, "names '" + m + "' twice");
  }
  return Status::Ok();
}

// Decimal digits, with a leading '-' when `negative_ok`, read whole.
template <typename T>
Result<T> ParseDecimal(std::string_view text, bool negative_ok, std::string_view name, const std::string& want) {
  const bool digits = !text.empty() && text.find_first_not_of("0123456789", negative_ok && text[0] == '-') ==
                                           std::string_view::npos && text != "-";
  T x{};
  if (!digits) return Invalid(name, want + ", got \"" + std::string(text) + "\"");
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (ec != std::errc() || end != text.data() + text.size()) return Invalid(name, "is out of range");
  return x;
}

Result<Json> ValueFromText(const TrainingTerm& term, std::string_view text, std::string_view name) {
  switch (term.kind) {
    case TermKind::kInteger: {
      AFTUNE_ASSIGN_OR_RETURN(int64_t x, ParseDecimal<int64_t>(text, true, name, "must be an integer"));
      return Json(x);
    }
    case TermKind::kSeed: {
      AFTUNE_ASSIGN_OR_RETURN(uint64_t x, ParseDecimal<uint64_t>(text, false, name, "must be an integer in [0, 2^64)"));
      return Json(x);
    }
    case TermKind::kNumber: {
      const std::string s(text);
      char* end = nullptr;
      const double x = s.empty() || std::isspace(static_cast<unsigned char>(s[0])) ? 0 : std::strtod(s.c_str(), &end);
      if (end == nullptr || *end != '\0') return Invalid(name, "must be a number, got \"" + s + "\"");
      return Json(x);
    }
    case TermKind::kChoice:
    case TermKind::kPath: return Json(std::string(text));
    case TermKind::kModules: {
      Json a = Json::array();
      size_t start = 0;
      for (size_t comma; (comma = text.find(',', start)) != std::string_view::npos; start = comma + 1)
        a.push_back(std::string(text.substr(start, comma - start)));
      a.push_back(std::string(text.substr(start)));
      return a;
    }
  }
  return Invalid(name, "has an unknown kind");
}

// ---- the documentation -------------------------------------------------------

std::string ValuesText(const TrainingTerm& t) {
  switch (t.kind) {
    case TermKind::kInteger: return "integer ≥ " + std::to_string(t.min_int);
    case TermKind::kSeed: return "integer in [0, 2⁶⁴)";
    case TermKind::kPath: return "directory";
    case TermKind::kModules: return "distinct names from `" + ModuleList() + "`";
    case TermKind::kChoice: {
      std::string s;
      for (const std::string& c : t.choices) s += (s.empty() ? "" : ", ") + ("`\"" + c + "\"`");
      return s;
    }
    case TermKind::kNumber:
      switch (t.range) {
        case NumberRange::kAny: return "number";
        case NumberRange::kPositive: return "number > 0";
        case NumberRange::kNonNegative: return "number ≥ 0";
        case NumberRange::kUnitInterval: return "number in [0, 1)";
      }
  }
  return "";
}

}  // namespace

const std::vector<TrainingTerm>& TrainingTerms() {
  static const std::vector<TrainingTerm> terms = MakeTerms();
  return terms;
}

const TrainingTerm* FindTrainingTerm(std::string_view key) {
  for (const TrainingTerm& t : TrainingTerms())
    if (t.key == key) return &t;
  return nullptr;
}

bool TermApplies(const TrainingTerm& term, const TrainConfig& c) { return !term.lora_only || !c.full_finetune; }

Status CheckTermValue(const TrainingTerm& term, const Json& v, std::string_view name) {
  switch (term.kind) {
    case TermKind::kInteger: {
      const int64_t x = v.get<int64_t>();
      if (x < term.min_int || x > kMaxTermInt)
        return Invalid(name, "must be in [" + std::to_string(term.min_int) + ", " + std::to_string(kMaxTermInt) +
                                 "], got " + std::to_string(x));
      return Status::Ok();
    }
    case TermKind::kNumber: return CheckNumber(term.range, v.get<double>(), name);
    case TermKind::kChoice:
      for (const std::string& c : term.choices)
        if (v.get<std::string>() == c) return Status::Ok();
      return Invalid(name, "\"" + v.get<std::string>() + "\" is not supported (" + ChoiceList(term.choices) + ")");
    case TermKind::kModules: return CheckModules(v, name);
    case TermKind::kSeed:
    case TermKind::kPath: return Status::Ok();
  }
  return Status::Ok();
}

Status SetTermFromJson(const TrainingTerm& term, const Json& v, std::string_view name, TrainConfig* c) {
  AFTUNE_ASSIGN_OR_RETURN(Json typed, TypedValue(term, v, name));
  AFTUNE_RETURN_IF_ERROR(CheckTermValue(term, typed, name));
  term.set(c, typed);
  return Status::Ok();
}

Status SetTermFromText(const TrainingTerm& term, std::string_view text, std::string_view name, TrainConfig* c) {
  AFTUNE_ASSIGN_OR_RETURN(Json v, ValueFromText(term, text, name));
  AFTUNE_RETURN_IF_ERROR(CheckTermValue(term, v, name));
  term.set(c, v);
  return Status::Ok();
}

Status ValidateTrainingTerms(const TrainConfig& c, std::string_view prefix) {
  for (const TrainingTerm& t : TrainingTerms())
    if (TermApplies(t, c)) AFTUNE_RETURN_IF_ERROR(CheckTermValue(t, t.get(c), std::string(prefix) + t.key));
  return Status::Ok();
}

std::string TermValueText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const Json& e : v) s += (s.empty() ? "" : ",") + e.get<std::string>();
    return s;
  }
  return v.dump();
}

std::string TrainingTermsMarkdown() {
  const TrainConfig defaults;
  std::string s = "| key | default | values | meaning | in a contract |\n| --- | --- | --- | --- | --- |\n";
  for (const TrainingTerm& t : TrainingTerms()) {
    const Json d = t.get(defaults);
    const std::string shown = t.kind == TermKind::kPath ? "—" : "`" + d.dump() + "`";
    const std::string contract = !t.binding ? "no: " + t.not_in_contract : t.lora_only ? "yes, with `\"lora\"`" : "yes";
    s += "| `" + t.key + "` | " + shown + " | " + ValuesText(t) + " | " + t.help + " | " + contract + " |\n";
  }
  return s;
}

}  // namespace aftune
