// Training contracts: validation, canonical text, strict parsing, building
// from inputs and checking inputs against a contract. The format is at the
// top of contract.h and in docs/formats.md, "Training contract".
#include "protocol/contract.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strict_json.h"
#include "model/llama_names.h"
#include "protocol/canonical_json.h"
#include "train/batch_sampler.h"
#include "train/dataset.h"

namespace aftune {

namespace {

using Json = nlohmann::json;

// ---- validation ------------------------------------------------------------

Status Invalid(const std::string& key, const std::string& what) {
  return Status::InvalidArgument("'" + key + "' " + what);
}

Status CheckInt(const std::string& key, int64_t v, int64_t lo) {
  if (v < lo || v > kMaxContractInt)
    return Invalid(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(kMaxContractInt) + "], got " +
                            std::to_string(v));
  return Status::Ok();
}

Status CheckFinite(const std::string& key, double v) {
  if (!std::isfinite(v)) return Invalid(key, "must be finite");
  return Status::Ok();
}

Status CheckPositive(const std::string& key, double v) {
  AFTUNE_RETURN_IF_ERROR(CheckFinite(key, v));
  if (!(v > 0)) return Invalid(key, "must be > 0, got " + CanonicalJsonNumber(v));
  return Status::Ok();
}

Status CheckUnitInterval(const std::string& key, double v) {
  AFTUNE_RETURN_IF_ERROR(CheckFinite(key, v));
  if (v < 0 || v >= 1) return Invalid(key, "must be in [0, 1), got " + CanonicalJsonNumber(v));
  return Status::Ok();
}

// Everything but the input digests.
Status ValidateTerms(const Contract& c) {
  const TrainConfig& t = c.training;
  const AuditGrid& g = c.grid;
  if (!t.full_finetune) {
    AFTUNE_RETURN_IF_ERROR(CheckInt("training.r", t.lora.r, 1));
    AFTUNE_RETURN_IF_ERROR(CheckPositive("training.lora_alpha", t.lora.lora_alpha));
    if (t.lora.target_modules.empty()) return Invalid("training.target_modules", "must name at least one module");
    std::set<Proj> seen;
    for (Proj p : t.lora.target_modules)
      if (!seen.insert(p).second) return Invalid("training.target_modules", "names '" + std::string(ProjName(p)) + "' twice");
  }
  if (c.optim != "adamw_torch")
    return Invalid("training.optim", "\"" + c.optim + "\" is not supported (\"adamw_torch\": torch.optim.AdamW)");
  AFTUNE_RETURN_IF_ERROR(CheckPositive("training.learning_rate", t.learning_rate));
  AFTUNE_RETURN_IF_ERROR(CheckFinite("training.weight_decay", t.weight_decay));
  if (t.weight_decay < 0) return Invalid("training.weight_decay", "must be >= 0, got " + CanonicalJsonNumber(t.weight_decay));
  AFTUNE_RETURN_IF_ERROR(CheckUnitInterval("training.adam_beta1", t.adam_beta1));
  AFTUNE_RETURN_IF_ERROR(CheckUnitInterval("training.adam_beta2", t.adam_beta2));
  AFTUNE_RETURN_IF_ERROR(CheckPositive("training.adam_epsilon", t.adam_epsilon));
  AFTUNE_RETURN_IF_ERROR(CheckFinite("training.max_grad_norm", t.max_grad_norm));
  AFTUNE_RETURN_IF_ERROR(CheckInt("training.warmup_steps", t.warmup_steps, 0));
  AFTUNE_RETURN_IF_ERROR(CheckInt("training.num_train_epochs", t.num_train_epochs, 1));
  AFTUNE_RETURN_IF_ERROR(CheckInt("training.max_steps", t.max_steps, -1));
  AFTUNE_RETURN_IF_ERROR(CheckInt("training.per_device_train_batch_size", t.per_device_train_batch_size, 1));
  AFTUNE_RETURN_IF_ERROR(CheckInt("training.gradient_accumulation_steps", t.gradient_accumulation_steps, 1));
  AFTUNE_RETURN_IF_ERROR(CheckInt("training.max_seq_length", t.max_seq_length, 2));
  AFTUNE_RETURN_IF_ERROR(CheckInt("audit_grid.steps_per_block", g.steps_per_block, 1));
  AFTUNE_RETURN_IF_ERROR(CheckInt("audit_grid.layers_per_block", g.layers_per_block, 1));
  AFTUNE_RETURN_IF_ERROR(CheckInt("audit_grid.checkpoint_interval", g.checkpoint_interval, 1));
  AFTUNE_RETURN_IF_ERROR(CheckInt("audit_grid.activation_interval", g.activation_interval, 1));
  if (c.precision != "f32")
    return Invalid("precision", "\"" + c.precision + "\" is not supported (aftune trains in \"f32\" only)");
  return Status::Ok();
}

bool ByName(Proj a, Proj b) { return std::string_view(ProjName(a)) < std::string_view(ProjName(b)); }

// The binding part of `t`, in normal form: no path, operational fields at
// their defaults, targets sorted by name, no LoRA settings for "full".
TrainConfig NormalizeTraining(const TrainConfig& t) {
  TrainConfig n = t;
  const TrainConfig defaults;
  n.base_model.clear();
  n.save_steps = defaults.save_steps;
  n.logging_steps = defaults.logging_steps;
  n.layers_per_block = defaults.layers_per_block;
  if (n.full_finetune) {
    n.lora = LoraConfig{};
  } else {
    std::sort(n.lora.target_modules.begin(), n.lora.target_modules.end(), ByName);
  }
  return n;
}

// ---- parsing ---------------------------------------------------------------

// Type errors while reading the JSON: the document is not a contract.
Status Malformed(const std::string& key, const std::string& what) {
  return Status::Corruption("'" + key + "' " + what);
}

// A JSON object whose members are consumed one by one; what is left is
// unknown.
class Members {
 public:
  Members(const Json& obj, std::string prefix) : prefix_(std::move(prefix)) {
    for (const auto& [k, v] : obj.items()) left_.emplace(k, &v);
  }
  std::string Key(const std::string& k) const { return prefix_ + k; }
  bool Has(const std::string& k) const { return left_.count(k) != 0; }
  // The member, or an error naming the missing key.
  Result<const Json*> Take(const std::string& k) {
    auto it = left_.find(k);
    if (it == left_.end()) return Status::Corruption("missing key '" + Key(k) + "'");
    const Json* v = it->second;
    left_.erase(it);
    return v;
  }
  // Ok when every member was taken; else names the first unknown one.
  Status Done(const std::map<std::string, std::string>& hints = {}) const {
    if (left_.empty()) return Status::Ok();
    const std::string& k = left_.begin()->first;
    auto h = hints.find(k);
    return Status::Corruption("unknown key '" + Key(k) + "'" + (h == hints.end() ? "" : " (" + h->second + ")"));
  }

 private:
  std::string prefix_;
  std::map<std::string, const Json*> left_;
};

Result<const Json*> TakeObject(Members& m, const std::string& k) {
  AFTUNE_ASSIGN_OR_RETURN(const Json* v, m.Take(k));
  if (!v->is_object()) return Malformed(m.Key(k), "must be an object");
  return v;
}

Result<std::string> TakeString(Members& m, const std::string& k) {
  AFTUNE_ASSIGN_OR_RETURN(const Json* v, m.Take(k));
  if (!v->is_string()) return Malformed(m.Key(k), "must be a string");
  return v->get<std::string>();
}

Result<int64_t> TakeInt(Members& m, const std::string& k) {
  AFTUNE_ASSIGN_OR_RETURN(const Json* v, m.Take(k));
  if (!v->is_number_integer()) return Malformed(m.Key(k), "must be an integer (digits, no fraction or exponent)");
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return Invalid(m.Key(k), "is out of range");
  return v->get<int64_t>();
}

Result<double> TakeNumber(Members& m, const std::string& k) {
  AFTUNE_ASSIGN_OR_RETURN(const Json* v, m.Take(k));
  if (!v->is_number()) return Malformed(m.Key(k), "must be a number");
  return v->get<double>();
}

Result<Hash> TakeHash(Members& m, const std::string& k) {
  AFTUNE_ASSIGN_OR_RETURN(std::string s, TakeString(m, k));
  Result<Hash> h = HashFromHex(s);
  if (!h.ok()) return Malformed(m.Key(k), "must be a SHA-256 digest: 64 lowercase hex characters");
  return *h;
}

Status ParseAuditGrid(const Json& j, AuditGrid* g) {
  Members m(j, "audit_grid.");
  AFTUNE_ASSIGN_OR_RETURN(g->activation_interval, TakeInt(m, "activation_interval"));
  AFTUNE_ASSIGN_OR_RETURN(g->checkpoint_interval, TakeInt(m, "checkpoint_interval"));
  AFTUNE_ASSIGN_OR_RETURN(g->layers_per_block, TakeInt(m, "layers_per_block"));
  AFTUNE_ASSIGN_OR_RETURN(g->steps_per_block, TakeInt(m, "steps_per_block"));
  return m.Done();
}

Status ParseTargets(const Json& v, std::vector<Proj>* out) {
  const std::string key = "training.target_modules";
  if (!v.is_array()) return Malformed(key, "must be an array of module names");
  out->clear();
  for (const Json& e : v) {
    if (!e.is_string()) return Malformed(key, "must hold strings");
    auto p = ParseProj(e.get<std::string>());
    if (!p)
      return Invalid(key, "names unknown module '" + e.get<std::string>() +
                              "' (known: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj)");
    out->push_back(*p);
  }
  return Status::Ok();
}

Status ParseTraining(const Json& j, TrainConfig* t, std::string* optim) {
  Members m(j, "training.");
  AFTUNE_ASSIGN_OR_RETURN(std::string method, TakeString(m, "method"));
  if (method != "lora" && method != "full")
    return Invalid("training.method", "\"" + method + "\" is not supported (\"lora\" or \"full\")");
  t->full_finetune = method == "full";
  if (!t->full_finetune) {
    AFTUNE_ASSIGN_OR_RETURN(t->lora.r, TakeInt(m, "r"));
    AFTUNE_ASSIGN_OR_RETURN(t->lora.lora_alpha, TakeNumber(m, "lora_alpha"));
    AFTUNE_ASSIGN_OR_RETURN(const Json* targets, m.Take("target_modules"));
    AFTUNE_RETURN_IF_ERROR(ParseTargets(*targets, &t->lora.target_modules));
  } else {
    for (const char* k : {"r", "lora_alpha", "target_modules"})
      if (m.Has(k)) return Malformed(m.Key(k), "does not apply to method \"full\"");
  }
  AFTUNE_ASSIGN_OR_RETURN(t->adam_beta1, TakeNumber(m, "adam_beta1"));
  AFTUNE_ASSIGN_OR_RETURN(t->adam_beta2, TakeNumber(m, "adam_beta2"));
  AFTUNE_ASSIGN_OR_RETURN(t->adam_epsilon, TakeNumber(m, "adam_epsilon"));
  AFTUNE_ASSIGN_OR_RETURN(t->gradient_accumulation_steps, TakeInt(m, "gradient_accumulation_steps"));
  AFTUNE_ASSIGN_OR_RETURN(t->learning_rate, TakeNumber(m, "learning_rate"));
  AFTUNE_ASSIGN_OR_RETURN(std::string sched, TakeString(m, "lr_scheduler_type"));
  // "constant" is not accepted: Hugging Face's ignores warmup_steps, aftune's
  // honours it (train/schedule.h); the contract names it unambiguously.
  if (sched == "linear") {
    t->lr_scheduler_type = LrSchedule::kLinear;
  } else if (sched == "cosine") {
    t->lr_scheduler_type = LrSchedule::kCosine;
  } else if (sched == "constant_with_warmup") {
    t->lr_scheduler_type = LrSchedule::kConstant;
  } else {
    return Invalid("training.lr_scheduler_type",
                   "\"" + sched + "\" is not supported (\"linear\", \"cosine\" or \"constant_with_warmup\")");
  }
  AFTUNE_ASSIGN_OR_RETURN(t->max_grad_norm, TakeNumber(m, "max_grad_norm"));
  AFTUNE_ASSIGN_OR_RETURN(t->max_seq_length, TakeInt(m, "max_seq_length"));
  AFTUNE_ASSIGN_OR_RETURN(t->max_steps, TakeInt(m, "max_steps"));
  AFTUNE_ASSIGN_OR_RETURN(t->num_train_epochs, TakeInt(m, "num_train_epochs"));
  AFTUNE_ASSIGN_OR_RETURN(*optim, TakeString(m, "optim"));
  AFTUNE_ASSIGN_OR_RETURN(std::string overflow, TakeString(m, "overflow"));
  Result<OverflowPolicy> policy = ParseOverflowPolicy(overflow);
  if (!policy.ok()) return Invalid("training.overflow", "\"" + overflow + "\" is not supported (\"reject\" or \"truncate\")");
  t->overflow = *policy;
  AFTUNE_ASSIGN_OR_RETURN(t->per_device_train_batch_size, TakeInt(m, "per_device_train_batch_size"));
  AFTUNE_ASSIGN_OR_RETURN(const Json* seed, m.Take("seed"));
  if (!seed->is_number_unsigned()) return Malformed("training.seed", "must be an integer in [0, 2^64)");
  t->seed = seed->get<uint64_t>();
  AFTUNE_ASSIGN_OR_RETURN(t->warmup_steps, TakeInt(m, "warmup_steps"));
  AFTUNE_ASSIGN_OR_RETURN(t->weight_decay, TakeNumber(m, "weight_decay"));
  return m.Done({{"base_model", "a contract binds the base model by digest, not by path"},
                 {"layers_per_block", "audit_grid.layers_per_block sets it"},
                 {"save_steps", "not part of a contract: it does not change the result"},
                 {"logging_steps", "not part of a contract: it does not change the result"}});
}

Result<Contract> ParseContractJson(std::string_view text) {
  if (text.size() > kMaxContractBytes)
    return Status::Corruption("larger than " + std::to_string(kMaxContractBytes) + " bytes");
  AFTUNE_ASSIGN_OR_RETURN(Json j, ParseStrictJson(text, ""));
  if (!j.is_object()) return Status::Corruption("must be a JSON object");
  if (!j.contains("format") || !j["format"].is_string() || j["format"].get<std::string>() != kContractFormat)
    return Status::Corruption("not a training contract: 'format' must be \"" + std::string(kContractFormat) + "\"");
  Contract c;
  Members m(j, "");
  AFTUNE_RETURN_IF_ERROR(m.Take("format").status());
  AFTUNE_ASSIGN_OR_RETURN(const Json* grid, TakeObject(m, "audit_grid"));
  AFTUNE_RETURN_IF_ERROR(ParseAuditGrid(*grid, &c.grid));
  AFTUNE_ASSIGN_OR_RETURN(const Json* base, TakeObject(m, "base_model"));
  {
    Members b(*base, "base_model.");
    AFTUNE_ASSIGN_OR_RETURN(c.base_config_digest, TakeHash(b, "config_digest"));
    AFTUNE_ASSIGN_OR_RETURN(c.base_state_digest, TakeHash(b, "state_digest"));
    AFTUNE_RETURN_IF_ERROR(b.Done());
  }
  AFTUNE_ASSIGN_OR_RETURN(const Json* data, TakeObject(m, "dataset"));
  {
    Members d(*data, "dataset.");
    AFTUNE_ASSIGN_OR_RETURN(c.dataset_digest, TakeHash(d, "digest"));
    AFTUNE_ASSIGN_OR_RETURN(c.dataset_examples, TakeInt(d, "examples"));
    AFTUNE_RETURN_IF_ERROR(d.Done());
  }
  AFTUNE_ASSIGN_OR_RETURN(c.precision, TakeString(m, "precision"));
  AFTUNE_ASSIGN_OR_RETURN(const Json* tok, TakeObject(m, "tokenizer"));
  {
    Members t(*tok, "tokenizer.");
    AFTUNE_ASSIGN_OR_RETURN(c.tokenizer_digest, TakeHash(t, "digest"));
    AFTUNE_ASSIGN_OR_RETURN(c.tokenizer_kind, TakeString(t, "kind"));
    if (t.Has("chat_digest")) {
      AFTUNE_ASSIGN_OR_RETURN(c.chat_digest, TakeHash(t, "chat_digest"));
    }
    AFTUNE_RETURN_IF_ERROR(t.Done());
  }
  AFTUNE_ASSIGN_OR_RETURN(const Json* training, TakeObject(m, "training"));
  AFTUNE_RETURN_IF_ERROR(ParseTraining(*training, &c.training, &c.optim));
  AFTUNE_RETURN_IF_ERROR(m.Done());
  c.training = NormalizeTraining(c.training);
  AFTUNE_RETURN_IF_ERROR(ValidateContract(c));
  return c;
}

// ---- building --------------------------------------------------------------

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The tensors the decoder loads must be there, shaped as config.json says,
// in a float storage dtype.
Status CheckBaseTensors(const ModelDirDigests& d, const std::string& weights_path) {
  for (const auto& [name, shape] : BaseTensorShapes(d.model_config, WholeModel(d.model_config))) {
    auto it = d.tensors.find(name);
    if (it == d.tensors.end())
      return Status::InvalidArgument(weights_path + ": no tensor '" + name + "', which config.json implies");
    if (it->second.shape != shape)
      return Status::InvalidArgument(weights_path + ": tensor '" + name + "' has shape " +
                                     ShapeText(it->second.shape) + ", config.json implies " + ShapeText(shape));
    if (!IsFloatStorage(it->second.dtype))
      return Status::InvalidArgument(weights_path + ": tensor '" + name + "' is " +
                                     std::string(DTypeName(it->second.dtype)) + ", not F32, BF16 or F16");
  }
  return Status::Ok();
}

std::string Hex(const Hash& h) { return HashToHex(h); }

}  // namespace

Status ValidateContract(const Contract& c) {
  AFTUNE_RETURN_IF_ERROR(ValidateTerms(c));
  if (c.tokenizer_kind == "byte") {
    if (c.tokenizer_digest != ByteTokenizerDigest())
      return Invalid("tokenizer.digest", "must be " + Hex(ByteTokenizerDigest()) +
                                             " for kind \"byte\" (SHA-256 of \"" +
                                             std::string(kByteTokenizerDigestText) + "\")");
  } else if (c.tokenizer_kind != "sentencepiece") {
    return Invalid("tokenizer.kind", "\"" + c.tokenizer_kind + "\" is not supported (\"byte\" or \"sentencepiece\")");
  }
  if (c.dataset_examples < 1 || c.dataset_examples > static_cast<int64_t>(0xFFFFFFFF))
    return Invalid("dataset.examples", "must be in [1, 2^32 - 1], got " + std::to_string(c.dataset_examples));
  return Status::Ok();
}

std::string CanonicalContract(const Contract& c) {
  Status st = ValidateContract(c);
  if (!st.ok()) std::fprintf(stderr, "CanonicalContract: %s\n", st.ToString().c_str());
  AFTUNE_CHECK(st.ok());
  const TrainConfig& t = c.training;

  CanonicalJsonObject grid;
  grid.Add("steps_per_block", CanonicalJsonInt(c.grid.steps_per_block));
  grid.Add("layers_per_block", CanonicalJsonInt(c.grid.layers_per_block));
  grid.Add("checkpoint_interval", CanonicalJsonInt(c.grid.checkpoint_interval));
  grid.Add("activation_interval", CanonicalJsonInt(c.grid.activation_interval));

  CanonicalJsonObject base;
  base.Add("state_digest", CanonicalJsonString(Hex(c.base_state_digest)));
  base.Add("config_digest", CanonicalJsonString(Hex(c.base_config_digest)));

  CanonicalJsonObject data;
  data.Add("digest", CanonicalJsonString(Hex(c.dataset_digest)));
  data.Add("examples", CanonicalJsonInt(c.dataset_examples));

  CanonicalJsonObject tok;
  tok.Add("kind", CanonicalJsonString(c.tokenizer_kind));
  tok.Add("digest", CanonicalJsonString(Hex(c.tokenizer_digest)));
  if (c.chat_digest) tok.Add("chat_digest", CanonicalJsonString(Hex(*c.chat_digest)));

  CanonicalJsonObject tr;
  tr.Add("method", CanonicalJsonString(t.full_finetune ? "full" : "lora"));
  if (!t.full_finetune) {
    tr.Add("r", CanonicalJsonInt(t.lora.r));
    tr.Add("lora_alpha", CanonicalJsonNumber(t.lora.lora_alpha));
    std::vector<Proj> targets = t.lora.target_modules;
    std::sort(targets.begin(), targets.end(), ByName);
    std::vector<std::string> names;
    for (Proj p : targets) names.push_back(CanonicalJsonString(ProjName(p)));
    tr.Add("target_modules", CanonicalJsonArray(names));
  }
  tr.Add("optim", CanonicalJsonString(c.optim));
  tr.Add("learning_rate", CanonicalJsonNumber(t.learning_rate));
  tr.Add("weight_decay", CanonicalJsonNumber(t.weight_decay));
  tr.Add("adam_beta1", CanonicalJsonNumber(t.adam_beta1));
  tr.Add("adam_beta2", CanonicalJsonNumber(t.adam_beta2));
  tr.Add("adam_epsilon", CanonicalJsonNumber(t.adam_epsilon));
  tr.Add("max_grad_norm", CanonicalJsonNumber(t.max_grad_norm));
  tr.Add("lr_scheduler_type", CanonicalJsonString(LrScheduleName(t.lr_scheduler_type)));
  tr.Add("warmup_steps", CanonicalJsonInt(t.warmup_steps));
  tr.Add("num_train_epochs", CanonicalJsonInt(t.num_train_epochs));
  tr.Add("max_steps", CanonicalJsonInt(t.max_steps));
  tr.Add("per_device_train_batch_size", CanonicalJsonInt(t.per_device_train_batch_size));
  tr.Add("gradient_accumulation_steps", CanonicalJsonInt(t.gradient_accumulation_steps));
  tr.Add("max_seq_length", CanonicalJsonInt(t.max_seq_length));
  tr.Add("overflow", CanonicalJsonString(OverflowPolicyName(t.overflow)));
  tr.Add("seed", CanonicalJsonUint(t.seed));

  CanonicalJsonObject top;
  top.Add("format", CanonicalJsonString(kContractFormat));
  top.Add("base_model", base.Text());
  top.Add("tokenizer", tok.Text());
  top.Add("dataset", data.Text());
  top.Add("training", tr.Text());
  top.Add("audit_grid", grid.Text());
  top.Add("precision", CanonicalJsonString(c.precision));
  return top.Text();
}

Hash ContractDigest(const Contract& c) { return Sha256Of(CanonicalContract(c)); }

Result<Contract> ParseContract(std::string_view text, const std::string& source) {
  Result<Contract> c = ParseContractJson(text);
  if (!c.ok()) return c.status().WithContext(source);
  return c;
}

Result<Contract> ReadContract(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseContract(text, path);
}

Status WriteContract(const std::string& path, const Contract& c) {
  return WriteFileAtomic(path, CanonicalContract(c));
}

Result<Contract> BuildContract(const std::string& base_dir, const std::string& data_path,
                               const TrainConfig& training, const AuditGrid& grid) {
  Contract c;
  c.training = NormalizeTraining(training);
  c.grid = grid;
  // The terms first: a bad value is reported before any input is read.
  AFTUNE_RETURN_IF_ERROR(ValidateTerms(c));

  AFTUNE_ASSIGN_OR_RETURN(ModelDirDigests model, DigestModelDir(base_dir));
  AFTUNE_RETURN_IF_ERROR(CheckBaseTensors(model, model.weights));
  const ModelConfig& mc = model.model_config;
  if (c.training.max_seq_length > mc.max_position_embeddings)
    return Invalid("training.max_seq_length", std::to_string(c.training.max_seq_length) +
                                                  " exceeds max_position_embeddings " +
                                                  std::to_string(mc.max_position_embeddings) + " of " + base_dir +
                                                  "/config.json");
  c.base_state_digest = model.state;
  c.base_config_digest = model.config;
  c.tokenizer_kind = model.tokenizer_kind;
  c.tokenizer_digest = model.tokenizer;
  c.chat_digest = model.chat;

  AFTUNE_ASSIGN_OR_RETURN(std::string data_bytes, ReadFile(data_path));
  const DatasetDigests dd = DigestDatasetBytes(data_bytes);
  // The job must be able to run: every line an example under these limits.
  AFTUNE_ASSIGN_OR_RETURN(std::shared_ptr<const ChatRenderer> chat, LoadChatRenderer(base_dir));
  AFTUNE_ASSIGN_OR_RETURN(Dataset ds, ParseJsonlDataset(data_bytes, data_path, *model.loaded_tokenizer,
                                                        {c.training.max_seq_length, c.training.overflow, chat}));
  AFTUNE_CHECK(static_cast<uint64_t>(ds.size()) == dd.examples);
  Status sampler = CheckSamplerArgs(ds.size(), c.training.examples_per_step());
  if (!sampler.ok()) return sampler.WithContext(data_path);
  c.dataset_digest = dd.digest;
  c.dataset_examples = static_cast<int64_t>(dd.examples);
  AFTUNE_RETURN_IF_ERROR(ValidateContract(c));
  return c;
}

std::string ContractMismatch::ToString() const {
  return input + " " + path + " does not match the contract: found " + found + ", the contract binds " + expected;
}

std::vector<ContractMismatch> CompareContractInputs(const Contract& c, const std::string& base_dir,
                                                    const ModelDirDigests& model, const std::string& data_path,
                                                    const DatasetDigests& data) {
  std::vector<ContractMismatch> out;
  if (model.state != c.base_state_digest)
    out.push_back({"base model", model.weights, "state digest " + Hex(c.base_state_digest),
                   "state digest " + Hex(model.state)});
  if (model.config != c.base_config_digest)
    out.push_back({"base model config", base_dir + "/config.json", "SHA-256 " + Hex(c.base_config_digest),
                   "SHA-256 " + Hex(model.config)});
  if (model.tokenizer != c.tokenizer_digest || model.tokenizer_kind != c.tokenizer_kind) {
    const std::string path = model.tokenizer_kind == "byte" ? base_dir + " (no tokenizer.model: the byte tokenizer)"
                                                            : base_dir + "/tokenizer.model";
    out.push_back({"tokenizer", path, c.tokenizer_kind + " " + Hex(c.tokenizer_digest),
                   model.tokenizer_kind + " " + Hex(model.tokenizer)});
  }
  if (model.chat != c.chat_digest) {
    auto shown = [](const std::optional<Hash>& h) {
      return h ? "chat digest " + Hex(*h) : std::string("no chat template");
    };
    out.push_back({"chat template", base_dir + "/tokenizer_config.json", shown(c.chat_digest), shown(model.chat)});
  }
  if (data.digest != c.dataset_digest || data.examples != static_cast<uint64_t>(c.dataset_examples))
    out.push_back({"dataset", data_path,
                   "digest " + Hex(c.dataset_digest) + " (" + std::to_string(c.dataset_examples) + " examples)",
                   "digest " + Hex(data.digest) + " (" + std::to_string(data.examples) + " examples)"});
  return out;
}

Status VerifyContractInputs(const Contract& c, const std::string& base_dir, const std::string& data_path) {
  Result<ModelDirDigests> model = DigestModelDir(base_dir);
  if (!model.ok()) {
    // A config.json that no longer parses, or that the tokenizer no longer
    // fits, is reported as the mismatch it is when it differs from the
    // contract's.
    const std::string config_path = base_dir + "/config.json";
    Result<std::string> config = ReadFile(config_path);
    if (config.ok() && Sha256Of(*config) != c.base_config_digest) {
      ContractMismatch m{"base model config", config_path, "SHA-256 " + Hex(c.base_config_digest),
                         "SHA-256 " + Hex(Sha256Of(*config))};
      return Status::Mismatch(m.ToString() + " (" + model.status().message() + ")");
    }
    return model.status();
  }
  AFTUNE_ASSIGN_OR_RETURN(DatasetDigests data, DigestDatasetFile(data_path));
  std::vector<ContractMismatch> mismatches = CompareContractInputs(c, base_dir, *model, data_path, data);
  if (mismatches.empty()) return Status::Ok();
  std::string msg;
  for (const ContractMismatch& m : mismatches) msg += (msg.empty() ? "" : "; ") + m.ToString();
  return Status::Mismatch(msg);
}

TrainConfig ContractTrainConfig(const Contract& c, const std::string& base_dir) {
  TrainConfig t = NormalizeTraining(c.training);
  t.base_model = base_dir;
  t.layers_per_block = c.grid.layers_per_block;
  t.save_steps = c.grid.steps_per_block * c.grid.checkpoint_interval;
  return t;
}

}  // namespace aftune
