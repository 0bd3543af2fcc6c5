// config.json: Hugging Face LLaMA-family configuration.
//
// Input: one JSON object (UTF-8, no comments, no raw NUL byte, no key
// repeated at the top level). The keys aftune reads, with the JSON type each must have:
//
//   key                       type                      absent / null means
//   model_type                "llama" | "mistral"       error (required)
//   hidden_size               integer > 0               error (required)
//   intermediate_size         integer > 0               error (required)
//   num_hidden_layers         integer > 0               error (required)
//   num_attention_heads       integer > 0               error (required)
//   vocab_size                integer > 0               error (required)
//   num_key_value_heads       integer > 0               num_attention_heads
//   head_dim                  integer > 0               hidden_size / num_attention_heads
//                                                       (which must divide exactly)
//   rms_norm_eps              number > 0                1e-6
//   rope_theta                number > 0                10000
//   max_position_embeddings   integer > 0               2048
//   tie_word_embeddings       boolean                   false
//   bos_token_id              integer                   absent: 1, null: none (-1)
//   eos_token_id              integer | [integer, ...]  absent: 2, null or []: none (-1);
//                                                       a list is [eos, extra eos...]
//   torch_dtype (or "dtype")  "float32" | "bfloat16" |  "float32" (both keys given:
//                             "float16"                 they must agree)
//
// "Integer" means a JSON number written without fraction or exponent (4096,
// not 4096.0 or "4096"); "number" accepts integers too. A known key with
// another type is an error naming the key.
//
// Keys that would change the computation in a way aftune does not implement
// are rejected, naming the key:
//   hidden_act            anything but "silu" (absent: silu)
//   rope_scaling          anything but null / absent (linear, dynamic, yarn,
//                         llama3 scaling are not implemented)
//   rope_parameters       (transformers v5) anything but an object with
//                         rope_type "default" and optionally rope_theta, which
//                         then must agree with a top-level rope_theta
//   attention_bias        true        mlp_bias   true
//   attention_dropout     non-zero (dropout is not implemented)
//   partial_rotary_factor anything but 1
//   sliding_window        non-null for model_type "mistral", or for "llama"
//                         together with use_sliding_window true (LlamaConfig
//                         itself ignores sliding_window)
//   quantization_config   present (quantized weights are not supported)
// pretraining_tp (an integer >= 1 when present) is accepted and ignored: in
// transformers it only splits the projections into slices, which is the same
// function; aftune computes the unsplit form. Every other key (architectures,
// initializer_range, use_cache, pad_token_id, transformers_version, ...) is
// ignored.
//
// Output (ModelConfigToJson): every key above that LlamaConfig reads, with
// model_type "llama" and architectures ["LlamaForCausalLM"], keys sorted as
// transformers writes them, 2-space indent, a trailing newline.
#include "model/config.h"

#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "base/file.h"

namespace aftune {

namespace {

using Json = nlohmann::json;

// Sanity caps: far above any released model, low enough that no size product
// below overflows before the explicit checks.
constexpr int64_t kMaxWidth = int64_t{1} << 20;     // hidden, intermediate, head_dim
constexpr int64_t kMaxCount = int64_t{1} << 16;     // layers, heads
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxPositions = int64_t{1} << 24;

const char* TypeName(const Json& v) {
  if (v.is_number_float()) return "a non-integer number";
  if (v.is_number()) return "an integer";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  return "an object";
}

// Typed access to the top-level object; every error names the key.
class Fields {
 public:
  Fields(const Json& obj, const std::string& source) : obj_(obj), source_(source) {}

  // The value of `key`, or nullptr when absent or null.
  const Json* Get(const char* key) const {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  bool Present(const char* key) const { return obj_.contains(key); }

  Status Error(const char* key, const std::string& msg) const {
    return Status::InvalidArgument(source_ + ": key '" + key + "': " + msg);
  }
  Status WrongType(const char* key, const char* want, const Json& v) const {
    return Error(key, std::string("expected ") + want + ", got " + TypeName(v));
  }

  // Fills `out` when the key is present and non-null; error when required and missing.
  Status Int(const char* key, int64_t* out, bool required = false) const {
    const Json* v = Get(key);
    if (v == nullptr) return required ? Error(key, "missing (required)") : Status::Ok();
    return ToInt(key, *v, out);
  }
  Status ToInt(const char* key, const Json& v, int64_t* out) const {
    if (v.is_number_unsigned()) {
      if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Error(key, "integer out of range");
      }
      *out = static_cast<int64_t>(v.get<uint64_t>());
      return Status::Ok();
    }
    if (v.is_number_integer()) {
      *out = v.get<int64_t>();
      return Status::Ok();
    }
    return WrongType(key, "an integer", v);
  }
  Status Number(const char* key, double* out) const {
    const Json* v = Get(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_number()) return WrongType(key, "a number", *v);
    *out = v->get<double>();
    return Status::Ok();
  }
  Status Bool(const char* key, bool* out) const {
    const Json* v = Get(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_boolean()) return WrongType(key, "a boolean", *v);
    *out = v->get<bool>();
    return Status::Ok();
  }
  Status String(const char* key, std::string* out) const {
    const Json* v = Get(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return WrongType(key, "a string", *v);
    *out = v->get<std::string>();
    return Status::Ok();
  }

 private:
  const Json& obj_;
  const std::string& source_;
};

std::string Quoted(const std::string& s) {
  if (s.size() > 64) return "\"" + s.substr(0, 64) + "...\"";
  return "\"" + s + "\"";
}

bool KnownTorchDType(const std::string& s) {
  return s == "float32" || s == "bfloat16" || s == "float16";
}

// The keys whose non-default values aftune rejects.
Status CheckUnsupported(const Fields& f, const std::string& model_type) {
  std::string act = "silu";
  AFTUNE_RETURN_IF_ERROR(f.String("hidden_act", &act));
  if (act != "silu") return f.Error("hidden_act", Quoted(act) + " is not supported (only \"silu\")");

  if (const Json* v = f.Get("rope_scaling")) {
    return f.Error("rope_scaling", "must be null: RoPE scaling (" + v->dump().substr(0, 80) +
                                       ") is not supported");
  }
  for (const char* key : {"attention_bias", "mlp_bias"}) {
    bool b = false;
    AFTUNE_RETURN_IF_ERROR(f.Bool(key, &b));
    if (b) return f.Error(key, "true is not supported (LLaMA projections have no bias)");
  }
  double dropout = 0.0;
  AFTUNE_RETURN_IF_ERROR(f.Number("attention_dropout", &dropout));
  if (dropout != 0.0) return f.Error("attention_dropout", "must be 0 (dropout is not supported)");
  double partial = 1.0;
  AFTUNE_RETURN_IF_ERROR(f.Number("partial_rotary_factor", &partial));
  if (partial != 1.0) return f.Error("partial_rotary_factor", "must be 1 (partial RoPE is not supported)");
  if (f.Present("quantization_config")) {
    return f.Error("quantization_config", "quantized weights are not supported");
  }

  bool use_sliding = false;
  AFTUNE_RETURN_IF_ERROR(f.Bool("use_sliding_window", &use_sliding));
  if (const Json* v = f.Get("sliding_window")) {
    if (model_type == "mistral" || use_sliding) {
      return f.Error("sliding_window", "must be null: sliding-window attention (" +
                                           v->dump().substr(0, 40) + ") is not supported");
    }
  }

  int64_t tp = 1;
  AFTUNE_RETURN_IF_ERROR(f.Int("pretraining_tp", &tp));
  if (tp < 1) return f.Error("pretraining_tp", "must be >= 1");
  return Status::Ok();
}

// rope_theta, possibly inside transformers v5's rope_parameters.
Status ReadRope(const Fields& f, ModelConfig* c) {
  bool top = f.Get("rope_theta") != nullptr;
  AFTUNE_RETURN_IF_ERROR(f.Number("rope_theta", &c->rope_theta));
  const Json* p = f.Get("rope_parameters");
  if (p == nullptr) return Status::Ok();
  if (!p->is_object()) return f.WrongType("rope_parameters", "an object", *p);
  auto type = p->find("rope_type");
  if (type != p->end() && (!type->is_string() || type->get<std::string>() != "default")) {
    return f.Error("rope_parameters", "rope_type must be \"default\" (RoPE scaling is not supported)");
  }
  for (const auto& [k, v] : p->items()) {
    if (k == "rope_type") {
      continue;
    } else if (k == "rope_theta") {
      if (!v.is_number()) return f.Error("rope_parameters", "rope_theta must be a number");
      double theta = v.get<double>();
      if (top && theta != c->rope_theta) {
        return f.Error("rope_parameters", "rope_theta disagrees with the top-level rope_theta");
      }
      c->rope_theta = theta;
    } else {
      return f.Error("rope_parameters", "unsupported key \"" + k.substr(0, 40) + "\"");
    }
  }
  return Status::Ok();
}

Status ReadTokenIds(const Fields& f, ModelConfig* c) {
  if (f.Present("bos_token_id")) {
    c->bos_token_id = -1;
    AFTUNE_RETURN_IF_ERROR(f.Int("bos_token_id", &c->bos_token_id));
    if (f.Get("bos_token_id") != nullptr && c->bos_token_id < 0) {
      return f.Error("bos_token_id", "must be >= 0 or null");
    }
  }
  if (!f.Present("eos_token_id")) return Status::Ok();
  c->eos_token_id = -1;
  c->extra_eos_token_ids.clear();
  const Json* v = f.Get("eos_token_id");
  if (v == nullptr) return Status::Ok();
  std::vector<int64_t> ids;
  if (v->is_array()) {
    for (const Json& e : *v) {
      int64_t id = 0;
      AFTUNE_RETURN_IF_ERROR(f.ToInt("eos_token_id", e, &id));
      ids.push_back(id);
    }
  } else {
    int64_t id = 0;
    AFTUNE_RETURN_IF_ERROR(f.ToInt("eos_token_id", *v, &id));
    ids.push_back(id);
  }
  for (int64_t id : ids) {
    if (id < 0) return f.Error("eos_token_id", "must be >= 0 or null");
  }
  if (!ids.empty()) {
    c->eos_token_id = ids[0];
    c->extra_eos_token_ids.assign(ids.begin() + 1, ids.end());
  }
  return Status::Ok();
}

Status ReadTorchDType(const Fields& f, ModelConfig* c) {
  std::string a, b;
  AFTUNE_RETURN_IF_ERROR(f.String("torch_dtype", &a));
  AFTUNE_RETURN_IF_ERROR(f.String("dtype", &b));
  if (!a.empty() && !b.empty() && a != b) {
    return f.Error("dtype", Quoted(b) + " disagrees with torch_dtype " + Quoted(a));
  }
  const char* key = a.empty() ? "dtype" : "torch_dtype";
  std::string d = a.empty() ? b : a;
  if (d.empty()) return Status::Ok();  // default float32
  if (!KnownTorchDType(d)) {
    return f.Error(key, Quoted(d) + " is not supported (float32, bfloat16 or float16)");
  }
  c->torch_dtype = d;
  return Status::Ok();
}

Status ParseFields(const Fields& f, ModelConfig* c) {
  std::string model_type;
  if (f.Get("model_type") == nullptr) return f.Error("model_type", "missing (required)");
  AFTUNE_RETURN_IF_ERROR(f.String("model_type", &model_type));
  if (model_type != "llama" && model_type != "mistral") {
    return f.Error("model_type", Quoted(model_type) + " is not supported (llama or mistral)");
  }
  AFTUNE_RETURN_IF_ERROR(CheckUnsupported(f, model_type));

  AFTUNE_RETURN_IF_ERROR(f.Int("hidden_size", &c->hidden_size, /*required=*/true));
  AFTUNE_RETURN_IF_ERROR(f.Int("intermediate_size", &c->intermediate_size, true));
  AFTUNE_RETURN_IF_ERROR(f.Int("num_hidden_layers", &c->num_hidden_layers, true));
  AFTUNE_RETURN_IF_ERROR(f.Int("num_attention_heads", &c->num_attention_heads, true));
  AFTUNE_RETURN_IF_ERROR(f.Int("vocab_size", &c->vocab_size, true));
  c->num_key_value_heads = c->num_attention_heads;
  AFTUNE_RETURN_IF_ERROR(f.Int("num_key_value_heads", &c->num_key_value_heads));
  if (f.Get("head_dim") != nullptr) {
    AFTUNE_RETURN_IF_ERROR(f.Int("head_dim", &c->head_dim));
  } else if (c->num_attention_heads > 0 && c->hidden_size > 0) {  // else Validate names the key
    if (c->hidden_size % c->num_attention_heads != 0) {
      return f.Error("head_dim", "absent, and hidden_size " + std::to_string(c->hidden_size) +
                                     " is not a multiple of num_attention_heads " +
                                     std::to_string(c->num_attention_heads));
    }
    c->head_dim = c->hidden_size / c->num_attention_heads;
  }
  AFTUNE_RETURN_IF_ERROR(f.Number("rms_norm_eps", &c->rms_norm_eps));
  AFTUNE_RETURN_IF_ERROR(ReadRope(f, c));
  AFTUNE_RETURN_IF_ERROR(f.Int("max_position_embeddings", &c->max_position_embeddings));
  AFTUNE_RETURN_IF_ERROR(f.Bool("tie_word_embeddings", &c->tie_word_embeddings));
  AFTUNE_RETURN_IF_ERROR(ReadTokenIds(f, c));
  return ReadTorchDType(f, c);
}

// a*b + acc, false on overflow.
bool MulAdd(int64_t a, int64_t b, int64_t* acc) {
  int64_t p = 0;
  return !__builtin_mul_overflow(a, b, &p) && !__builtin_add_overflow(*acc, p, acc);
}

// The parameter count, or false when it overflows int64.
// REQUIRES: every size > 0 and below its cap (so single products fit).
bool CountParameters(const ModelConfig& c, int64_t* out) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  int64_t layer = 0;
  bool ok = MulAdd(C, c.q_dim(), &layer) &&      // q
            MulAdd(2 * C, c.kv_dim(), &layer) &&  // k, v
            MulAdd(c.q_dim(), C, &layer) &&       // o
            MulAdd(3 * C, F, &layer) &&           // gate, up, down
            MulAdd(2, C, &layer);                 // input and post-attention norms
  int64_t total = 0;
  ok = ok && MulAdd(V, C, &total) &&                                   // embedding
       MulAdd(c.num_hidden_layers, layer, &total) &&                   // layers
       MulAdd(1, C, &total) &&                                         // final norm
       MulAdd(c.tie_word_embeddings ? 0 : V, C, &total);               // lm_head
  if (ok) *out = total;
  return ok;
}

Status Invalid(const char* key, const std::string& msg) {
  return Status::InvalidArgument(std::string("key '") + key + "': " + msg);
}

Status CheckRange(const char* key, int64_t v, int64_t cap) {
  if (v <= 0 || v > cap) {
    return Invalid(key, std::to_string(v) + " is out of range [1, " + std::to_string(cap) + "]");
  }
  return Status::Ok();
}

Status CheckTokenId(const char* key, int64_t id, int64_t vocab) {
  if (id < -1 || id >= vocab) {
    return Invalid(key, std::to_string(id) + " is not a token id (vocab_size " +
                            std::to_string(vocab) + ")");
  }
  return Status::Ok();
}

}  // namespace

bool ModelConfig::IsEosToken(int64_t id) const {
  if (id < 0) return false;
  if (id == eos_token_id) return true;
  for (int64_t e : extra_eos_token_ids)
    if (id == e) return true;
  return false;
}

Status ModelConfig::Validate() const {
  AFTUNE_RETURN_IF_ERROR(CheckRange("hidden_size", hidden_size, kMaxWidth));
  AFTUNE_RETURN_IF_ERROR(CheckRange("intermediate_size", intermediate_size, kMaxWidth));
  AFTUNE_RETURN_IF_ERROR(CheckRange("num_hidden_layers", num_hidden_layers, kMaxCount));
  AFTUNE_RETURN_IF_ERROR(CheckRange("num_attention_heads", num_attention_heads, kMaxCount));
  AFTUNE_RETURN_IF_ERROR(CheckRange("num_key_value_heads", num_key_value_heads, kMaxCount));
  AFTUNE_RETURN_IF_ERROR(CheckRange("head_dim", head_dim, kMaxWidth));
  AFTUNE_RETURN_IF_ERROR(CheckRange("vocab_size", vocab_size, kMaxVocab));
  AFTUNE_RETURN_IF_ERROR(CheckRange("max_position_embeddings", max_position_embeddings, kMaxPositions));
  if (num_attention_heads % num_key_value_heads != 0) {
    return Invalid("num_key_value_heads", std::to_string(num_key_value_heads) +
                                              " does not divide num_attention_heads " +
                                              std::to_string(num_attention_heads));
  }
  if (head_dim % 2 != 0) {
    return Invalid("head_dim", std::to_string(head_dim) + " is odd (RoPE rotates pairs)");
  }
  if (!(rms_norm_eps > 0.0) || !std::isfinite(rms_norm_eps)) {
    return Invalid("rms_norm_eps", "must be a finite number > 0");
  }
  if (!(rope_theta > 0.0) || !std::isfinite(rope_theta)) {
    return Invalid("rope_theta", "must be a finite number > 0");
  }
  AFTUNE_RETURN_IF_ERROR(CheckTokenId("bos_token_id", bos_token_id, vocab_size));
  AFTUNE_RETURN_IF_ERROR(CheckTokenId("eos_token_id", eos_token_id, vocab_size));
  if (!extra_eos_token_ids.empty() && eos_token_id < 0) {
    return Invalid("eos_token_id", "extra end-of-sequence ids need a first one");
  }
  for (int64_t id : extra_eos_token_ids) {
    if (id < 0) return Invalid("eos_token_id", std::to_string(id) + " is not a token id");
    AFTUNE_RETURN_IF_ERROR(CheckTokenId("eos_token_id", id, vocab_size));
  }
  if (!KnownTorchDType(torch_dtype)) {
    return Invalid("torch_dtype", Quoted(torch_dtype) + " is not float32, bfloat16 or float16");
  }
  int64_t n = 0;
  if (!CountParameters(*this, &n)) return Invalid("hidden_size", "the parameter count overflows 64 bits");
  return Status::Ok();
}

int64_t ModelConfig::NumParameters() const {
  int64_t n = 0;
  AFTUNE_CHECK(CountParameters(*this, &n));
  return n;
}

Result<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& source) {
  // The DOM parser, with a callback that spots a key repeated at the top
  // level (nlohmann keeps the last silently).
  std::set<std::string> keys;
  std::string repeated;
  auto cb = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key && depth == 1 && !keys.insert(parsed.get<std::string>()).second &&
        repeated.empty()) {
      repeated = parsed.get<std::string>();
    }
    return true;
  };
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore
  // whatever follows it; valid JSON never holds a raw NUL.
  if (size_t nul = json_text.find('\0'); nul != std::string::npos) {
    return Status::InvalidArgument(source + ": not valid JSON: NUL byte at byte " + std::to_string(nul));
  }
  Json obj;
  try {
    obj = Json::parse(json_text, cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const Json::exception& ex) {
    std::string what = ex.what();
    size_t cut = what.find("] ");
    if (cut != std::string::npos) what = what.substr(cut + 2);
    return Status::InvalidArgument(source + ": not valid JSON: " + what);
  }
  if (!obj.is_object()) return Status::InvalidArgument(source + ": not a JSON object");
  if (!repeated.empty()) {
    return Status::InvalidArgument(source + ": key '" + repeated.substr(0, 64) + "' appears twice");
  }
  ModelConfig c;
  Fields f(obj, source);
  AFTUNE_RETURN_IF_ERROR(ParseFields(f, &c));
  Status st = c.Validate();
  if (!st.ok()) return st.WithContext(source);
  return c;
}

Result<ModelConfig> ReadModelConfig(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseModelConfig(text, path);
}

std::string ModelConfigToJson(const ModelConfig& c) {
  Json j;  // std::map keys: written sorted, as transformers does
  j["architectures"] = Json::array({"LlamaForCausalLM"});
  j["attention_bias"] = false;
  j["attention_dropout"] = 0.0;
  j["bos_token_id"] = c.bos_token_id < 0 ? Json(nullptr) : Json(c.bos_token_id);
  if (c.extra_eos_token_ids.empty()) {
    j["eos_token_id"] = c.eos_token_id < 0 ? Json(nullptr) : Json(c.eos_token_id);
  } else {
    Json ids = Json::array({c.eos_token_id});
    for (int64_t id : c.extra_eos_token_ids) ids.push_back(id);
    j["eos_token_id"] = ids;
  }
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = "silu";
  j["hidden_size"] = c.hidden_size;
  j["initializer_range"] = 0.02;
  j["intermediate_size"] = c.intermediate_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["mlp_bias"] = false;
  j["model_type"] = "llama";
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["pretraining_tp"] = 1;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_scaling"] = nullptr;
  j["rope_theta"] = c.rope_theta;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["torch_dtype"] = c.torch_dtype;
  j["use_cache"] = true;
  j["vocab_size"] = c.vocab_size;
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace aftune
