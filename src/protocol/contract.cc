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
#include "train/training_terms.h"

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

// Everything but the input digests.
Status ValidateTerms(const Contract& c) {
  AFTUNE_RETURN_IF_ERROR(ValidateTrainingTerms(c.training, "training."));
  const AuditGrid& g = c.grid;
  AFTUNE_RETURN_IF_ERROR(CheckInt("audit_grid.steps_per_block", g.steps_per_block, 1));
  AFTUNE_RETURN_IF_ERROR(CheckInt("audit_grid.layers_per_block", g.layers_per_block, 1));
  AFTUNE_RETURN_IF_ERROR(CheckInt("audit_grid.checkpoint_interval", g.checkpoint_interval, 1));
  AFTUNE_RETURN_IF_ERROR(CheckInt("audit_grid.activation_interval", g.activation_interval, 1));
  if (c.precision != "f32")
    return Invalid("precision", "\"" + c.precision + "\" is not supported (aftune trains in \"f32\" only)");
  return Status::Ok();
}

bool ByName(Proj a, Proj b) { return std::string_view(ProjName(a)) < std::string_view(ProjName(b)); }

// The binding part of `t`, in normal form: operational terms (the path
// included) at their defaults, targets sorted by name, no LoRA settings for "full".
TrainConfig NormalizeTraining(const TrainConfig& t) {
  TrainConfig n = t;
  const TrainConfig defaults;
  for (const TrainingTerm& term : TrainingTerms())
    if (!term.binding) term.set(&n, term.get(defaults));
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

// One term of the "training" object, named "training.<key>".
Status TakeTerm(Members& m, const TrainingTerm& term, TrainConfig* t) {
  AFTUNE_ASSIGN_OR_RETURN(const Json* v, m.Take(term.key));
  return SetTermFromJson(term, *v, m.Key(term.key), t);
}

// The binding terms (training/training_terms.h), the method first: it says
// which terms apply. An operational term is unknown here, with the reason.
Status ParseTraining(const Json& j, TrainConfig* t) {
  Members m(j, "training.");
  const TrainingTerm& method = *FindTrainingTerm("method");
  AFTUNE_RETURN_IF_ERROR(TakeTerm(m, method, t));
  std::map<std::string, std::string> why_not;
  for (const TrainingTerm& term : TrainingTerms()) {
    if (!term.binding) {
      why_not[term.key] = term.not_in_contract;
    } else if (!TermApplies(term, *t)) {
      if (m.Has(term.key)) return Malformed(m.Key(term.key), "does not apply to method \"full\"");
    } else if (&term != &method) {
      AFTUNE_RETURN_IF_ERROR(TakeTerm(m, term, t));
    }
  }
  return m.Done(why_not);
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
  AFTUNE_RETURN_IF_ERROR(ParseTraining(*training, &c.training));
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

// A term's value (train/training_terms.h) in canonical JSON.
std::string CanonicalTermValue(const Json& v) {
  if (v.is_number_unsigned()) return CanonicalJsonUint(v.get<uint64_t>());
  if (v.is_number_integer()) return CanonicalJsonInt(v.get<int64_t>());
  if (v.is_number_float()) return CanonicalJsonNumber(v.get<double>());
  if (v.is_string()) return CanonicalJsonString(v.get<std::string>());
  std::vector<std::string> elements;
  for (const Json& e : v) elements.push_back(CanonicalJsonString(e.get<std::string>()));
  return CanonicalJsonArray(elements);
}

}  // namespace

Status ValidateContract(const Contract& c) {
  AFTUNE_RETURN_IF_ERROR(ValidateTerms(c));
  if (c.tokenizer_kind == "byte") {
    if (c.tokenizer_digest != ByteTokenizerDigest())
      return Invalid("tokenizer.digest", "must be " + Hex(ByteTokenizerDigest()) +
                                             " for kind \"byte\" (SHA-256 of \"" +
                                             std::string(kByteTokenizerDigestText) + "\")");
  } else if (!IsTokenizerKind(c.tokenizer_kind)) {
    return Invalid("tokenizer.kind", "\"" + c.tokenizer_kind +
                                         "\" is not supported (\"byte\", \"sentencepiece\" or \"tokenizer.json\")");
  }
  if (c.dataset_examples < 1 || c.dataset_examples > static_cast<int64_t>(0xFFFFFFFF))
    return Invalid("dataset.examples", "must be in [1, 2^32 - 1], got " + std::to_string(c.dataset_examples));
  return Status::Ok();
}

std::string CanonicalContract(const Contract& c) {
  Status st = ValidateContract(c);
  if (!st.ok()) std::fprintf(stderr, "CanonicalContract: %s\n", st.ToString().c_str());
  AFTUNE_CHECK(st.ok());

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
  const TrainConfig t = NormalizeTraining(c.training);
  for (const TrainingTerm& term : TrainingTerms())
    if (term.binding && TermApplies(term, t)) tr.Add(term.key, CanonicalTermValue(term.get(t)));

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
    out.push_back({"tokenizer", TokenizerSource(base_dir, model.tokenizer_kind), c.tokenizer_kind + " " + Hex(c.tokenizer_digest),
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
