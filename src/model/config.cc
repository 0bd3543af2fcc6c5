// config.json: Hugging Face LLaMA-family configuration.
//
// Input: one JSON object (UTF-8, no comments, no raw NUL byte, no key
// repeated at the top level). The keys aftune reads, with the JSON type each must have:
//
//   key                       type                      absent / null means
//   model_type                "llama" | "mistral" |     error (required)
//                             "qwen2" | "qwen3"
//   hidden_size               integer > 0               error (required)
//   intermediate_size         integer > 0               error (required)
//   num_hidden_layers         integer > 0               error (required)
//   num_attention_heads       integer > 0               error (required)
//   vocab_size                integer > 0               error (required)
//   num_key_value_heads       integer > 0               llama: num_attention_heads;
//                                                       mistral: 8; qwen2, qwen3: 32
//   head_dim                  integer > 0               qwen3: 128; others:
//                                                       hidden_size / num_attention_heads
//                                                       (which must divide exactly)
//   rms_norm_eps              number > 0                1e-6
//   rope_theta                number > 0                10000
//   rope_scaling              object (below)            no scaling
//   rope_parameters           object (below; v5)        no scaling
//   max_position_embeddings   integer > 0               llama: 2048; mistral: 131072;
//                                                       qwen2, qwen3: 32768
//   tie_word_embeddings       boolean                   false
//   attention_bias            boolean (llama, qwen3)    false: q/k/v/o without bias
//   mlp_bias                  boolean (llama)           false: gate/up/down without bias
//   sliding_window            integer > 0 (mistral)     absent: 4096; null: no window
//   use_sliding_window        boolean (qwen2, qwen3)    false (true is refused)
//   bos_token_id              integer                   absent: llama, mistral 1, qwen none;
//                                                       null: none (-1)
//   eos_token_id              integer | [integer, ...]  absent: llama, mistral 2, qwen none;
//                                                       null or []: none (-1);
//                                                       a list is [eos, extra eos...]
//   torch_dtype (or "dtype")  "float32" | "bfloat16" |  "float32" (both keys given:
//                             "float16"                 they must agree)
//
// The defaults are those of transformers' config class for the model_type.
// Qwen2 always has q/k/v biases (Qwen2Config has no attention_bias); keys
// another architecture's class does not read (attention_bias for mistral or
// qwen2, mlp_bias outside llama, sliding_window outside mistral unless
// use_sliding_window) are ignored, as transformers ignores them.
//
// RoPE scaling: rope_scaling (transformers v4) or rope_parameters (v5; at
// most one of the two non-null), an object with
//   rope_type (or "type")     "default" | "linear" | "llama3"; absent: "default"
//   rope_theta                number > 0 (must agree with a top-level rope_theta)
//   factor                    number > 0 (linear, llama3: required)
//   low_freq_factor, high_freq_factor   numbers > 0, unequal (llama3: required)
//   original_max_position_embeddings    integer > 0 (llama3; absent:
//                                       max_position_embeddings)
//   partial_rotary_factor     1
// Other types (dynamic, yarn, longrope, ...) and other keys are refused,
// naming the type or key.
//
// "Integer" means a JSON number written without fraction or exponent (4096,
// not 4096.0 or "4096"); "number" accepts integers too. A known key with
// another type is an error naming the key.
//
// Keys that would change the computation in a way aftune does not implement
// are rejected, naming the key:
//   hidden_act            anything but "silu" (absent: silu)
//   attention_dropout     non-zero (dropout is not implemented)
//   partial_rotary_factor anything but 1
//   sliding_window        for "llama" together with use_sliding_window true
//                         (LlamaConfig itself ignores sliding_window)
//   use_sliding_window    true for "qwen2" / "qwen3" (per-layer windows)
//   layer_types           for "qwen2" / "qwen3", any entry but "full_attention"
//   quantization_config   present (quantized weights are not supported)
// pretraining_tp (an integer >= 1 when present) is accepted and ignored: in
// transformers it only splits the projections into slices, which is the same
// function; aftune computes the unsplit form. Every other key (architectures,
// initializer_range, use_cache, pad_token_id, transformers_version, ...) is
// ignored.
//
// Output (ModelConfigToJson): every key above that the model_type's config
// class reads, with its architectures (LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM, Qwen3ForCausalLM), rope_scaling null or the scaling
// object, keys sorted as transformers writes them, 2-space indent, a
// trailing newline.
#include "model/config.h"

#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strict_json.h"

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

// transformers' defaults for a key absent from config.json, by model_type.
struct TypeDefaults {
  int64_t num_key_value_heads;  // 0: num_attention_heads
  int64_t head_dim;             // 0: hidden_size / num_attention_heads
  int64_t max_position_embeddings;
  int64_t sliding_window;       // 0: none
  int64_t bos_token_id, eos_token_id;
};
TypeDefaults DefaultsFor(ModelType t) {
  switch (t) {
    case ModelType::kLlama: return {0, 0, 2048, 0, 1, 2};
    case ModelType::kMistral: return {8, 0, 4096 * 32, 4096, 1, 2};
    case ModelType::kQwen2: return {32, 0, 32768, 0, -1, -1};
    case ModelType::kQwen3: return {32, 128, 32768, 0, -1, -1};
  }
  return {};
}

Status ReadModelType(const Fields& f, ModelType* out) {
  std::string name;
  if (f.Get("model_type") == nullptr) return f.Error("model_type", "missing (required)");
  AFTUNE_RETURN_IF_ERROR(f.String("model_type", &name));
  for (ModelType t : {ModelType::kLlama, ModelType::kMistral, ModelType::kQwen2, ModelType::kQwen3}) {
    if (name == ModelTypeName(t)) {
      *out = t;
      return Status::Ok();
    }
  }
  return f.Error("model_type", Quoted(name) + " is not supported (llama, mistral, qwen2 or qwen3)");
}

// The keys whose non-default values aftune rejects.
Status CheckUnsupported(const Fields& f, ModelType type) {
  std::string act = "silu";
  AFTUNE_RETURN_IF_ERROR(f.String("hidden_act", &act));
  if (act != "silu") return f.Error("hidden_act", Quoted(act) + " is not supported (only \"silu\")");
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
  const bool qwen = type == ModelType::kQwen2 || type == ModelType::kQwen3;
  if (qwen && use_sliding) {
    return f.Error("use_sliding_window", "true is not supported (Qwen's per-layer sliding windows)");
  }
  if (type == ModelType::kLlama && use_sliding) {
    if (const Json* v = f.Get("sliding_window")) {
      return f.Error("sliding_window", "must be null: sliding-window attention (" + v->dump().substr(0, 40) +
                                           ") is not supported for llama");
    }
  }
  if (const Json* v = f.Get("layer_types"); v != nullptr && qwen) {
    if (!v->is_array()) return f.WrongType("layer_types", "an array", *v);
    for (const Json& e : *v) {
      if (!e.is_string() || e.get<std::string>() != "full_attention") {
        return f.Error("layer_types", "only \"full_attention\" layers are supported, got " + e.dump().substr(0, 40));
      }
    }
  }

  int64_t tp = 1;
  AFTUNE_RETURN_IF_ERROR(f.Int("pretraining_tp", &tp));
  if (tp < 1) return f.Error("pretraining_tp", "must be >= 1");
  return Status::Ok();
}

// One RoPE scaling object (rope_scaling or rope_parameters, named `key`).
// `top_theta` is the top-level rope_theta when present.
Status ReadRopeObject(const Fields& f, const char* key, const Json& p, bool top_theta, ModelConfig* c) {
  if (!p.is_object()) return f.WrongType(key, "an object", p);
  std::string type = "default";
  for (const char* k : {"rope_type", "type"}) {
    auto it = p.find(k);
    if (it == p.end()) continue;
    if (!it->is_string()) return f.Error(key, std::string(k) + " must be a string");
    if (p.contains("rope_type") && p.contains("type") && p["rope_type"] != p["type"]) {
      return f.Error(key, "rope_type and type disagree");
    }
    type = it->get<std::string>();
  }
  RopeScaling& r = c->rope_scaling;
  if (type == "default") {
    r.type = RopeType::kDefault;
  } else if (type == "linear") {
    r.type = RopeType::kLinear;
  } else if (type == "llama3") {
    r.type = RopeType::kLlama3;
  } else {
    return f.Error(key, "rope_type " + Quoted(type) + " is not supported (default, linear or llama3)");
  }
  auto number = [&](const std::string& k, const Json& v, double* out) -> Status {
    if (!v.is_number()) return f.Error(key, k + " must be a number");
    *out = v.get<double>();
    return Status::Ok();
  };
  bool has_factor = false, has_low = false, has_high = false;
  for (const auto& [k, v] : p.items()) {
    const bool llama3 = r.type == RopeType::kLlama3, scaled = r.type != RopeType::kDefault;
    if (k == "rope_type" || k == "type") {
      continue;
    } else if (k == "rope_theta") {
      double theta = 0;
      AFTUNE_RETURN_IF_ERROR(number(k, v, &theta));
      if (top_theta && theta != c->rope_theta) {
        return f.Error(key, "rope_theta disagrees with the top-level rope_theta");
      }
      c->rope_theta = theta;
    } else if (k == "partial_rotary_factor") {
      double partial = 0;
      AFTUNE_RETURN_IF_ERROR(number(k, v, &partial));
      if (partial != 1.0) return f.Error(key, "partial_rotary_factor must be 1 (partial RoPE is not supported)");
    } else if (k == "factor" && scaled) {
      AFTUNE_RETURN_IF_ERROR(number(k, v, &r.factor));
      has_factor = true;
    } else if (k == "low_freq_factor" && llama3) {
      AFTUNE_RETURN_IF_ERROR(number(k, v, &r.low_freq_factor));
      has_low = true;
    } else if (k == "high_freq_factor" && llama3) {
      AFTUNE_RETURN_IF_ERROR(number(k, v, &r.high_freq_factor));
      has_high = true;
    } else if (k == "original_max_position_embeddings" && llama3) {
      AFTUNE_RETURN_IF_ERROR(f.ToInt(key, v, &r.original_max_position_embeddings));
    } else {
      return f.Error(key, "key \"" + k.substr(0, 40) + "\" is not supported for rope_type " + Quoted(type));
    }
  }
  if (r.type != RopeType::kDefault && !has_factor) return f.Error(key, "factor is missing");
  if (r.type == RopeType::kLlama3 && (!has_low || !has_high)) {
    return f.Error(key, std::string(has_low ? "high_freq_factor" : "low_freq_factor") + " is missing");
  }
  return Status::Ok();
}

// rope_theta and the RoPE scaling, from the top level and rope_scaling (v4)
// or rope_parameters (v5).
Status ReadRope(const Fields& f, ModelConfig* c) {
  bool top = f.Get("rope_theta") != nullptr;
  AFTUNE_RETURN_IF_ERROR(f.Number("rope_theta", &c->rope_theta));
  const Json* scaling = f.Get("rope_scaling");
  const Json* params = f.Get("rope_parameters");
  if (scaling != nullptr && params != nullptr) {
    return f.Error("rope_parameters", "given together with rope_scaling (give one)");
  }
  if (scaling != nullptr) AFTUNE_RETURN_IF_ERROR(ReadRopeObject(f, "rope_scaling", *scaling, top, c));
  if (params != nullptr) AFTUNE_RETURN_IF_ERROR(ReadRopeObject(f, "rope_parameters", *params, top, c));
  return Status::Ok();
}

Status ReadTokenIds(const Fields& f, ModelConfig* c) {
  const TypeDefaults defaults = DefaultsFor(c->model_type);
  c->bos_token_id = defaults.bos_token_id;
  c->eos_token_id = defaults.eos_token_id;
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

// The architecture's own keys: biases and the sliding window.
Status ReadArchitectureKeys(const Fields& f, ModelConfig* c) {
  const ModelType t = c->model_type;
  bool attention_bias = false, mlp_bias = false;
  AFTUNE_RETURN_IF_ERROR(f.Bool("attention_bias", &attention_bias));
  AFTUNE_RETURN_IF_ERROR(f.Bool("mlp_bias", &mlp_bias));
  c->attention_bias = (t == ModelType::kLlama || t == ModelType::kQwen3) && attention_bias;
  c->mlp_bias = t == ModelType::kLlama && mlp_bias;
  if (t != ModelType::kMistral) return Status::Ok();
  c->sliding_window = DefaultsFor(t).sliding_window;
  if (f.Present("sliding_window")) {
    c->sliding_window = 0;
    AFTUNE_RETURN_IF_ERROR(f.Int("sliding_window", &c->sliding_window));
    if (f.Get("sliding_window") != nullptr && c->sliding_window <= 0) {
      return f.Error("sliding_window", "must be > 0 or null");
    }
  }
  return Status::Ok();
}

Status ParseFields(const Fields& f, ModelConfig* c) {
  AFTUNE_RETURN_IF_ERROR(ReadModelType(f, &c->model_type));
  AFTUNE_RETURN_IF_ERROR(CheckUnsupported(f, c->model_type));
  const TypeDefaults defaults = DefaultsFor(c->model_type);

  AFTUNE_RETURN_IF_ERROR(f.Int("hidden_size", &c->hidden_size, /*required=*/true));
  AFTUNE_RETURN_IF_ERROR(f.Int("intermediate_size", &c->intermediate_size, true));
  AFTUNE_RETURN_IF_ERROR(f.Int("num_hidden_layers", &c->num_hidden_layers, true));
  AFTUNE_RETURN_IF_ERROR(f.Int("num_attention_heads", &c->num_attention_heads, true));
  AFTUNE_RETURN_IF_ERROR(f.Int("vocab_size", &c->vocab_size, true));
  c->num_key_value_heads = defaults.num_key_value_heads ? defaults.num_key_value_heads : c->num_attention_heads;
  AFTUNE_RETURN_IF_ERROR(f.Int("num_key_value_heads", &c->num_key_value_heads));
  if (f.Get("head_dim") != nullptr) {
    AFTUNE_RETURN_IF_ERROR(f.Int("head_dim", &c->head_dim));
  } else if (defaults.head_dim != 0) {
    c->head_dim = defaults.head_dim;
  } else if (c->num_attention_heads > 0 && c->hidden_size > 0) {  // else Validate names the key
    if (c->hidden_size % c->num_attention_heads != 0) {
      return f.Error("head_dim", "absent, and hidden_size " + std::to_string(c->hidden_size) +
                                     " is not a multiple of num_attention_heads " +
                                     std::to_string(c->num_attention_heads));
    }
    c->head_dim = c->hidden_size / c->num_attention_heads;
  }
  AFTUNE_RETURN_IF_ERROR(f.Number("rms_norm_eps", &c->rms_norm_eps));
  c->max_position_embeddings = defaults.max_position_embeddings;
  AFTUNE_RETURN_IF_ERROR(f.Int("max_position_embeddings", &c->max_position_embeddings));
  AFTUNE_RETURN_IF_ERROR(ReadRope(f, c));
  if (c->rope_scaling.type == RopeType::kLlama3 && c->rope_scaling.original_max_position_embeddings == 0) {
    c->rope_scaling.original_max_position_embeddings = c->max_position_embeddings;
  }
  AFTUNE_RETURN_IF_ERROR(f.Bool("tie_word_embeddings", &c->tie_word_embeddings));
  AFTUNE_RETURN_IF_ERROR(ReadArchitectureKeys(f, c));
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
            MulAdd(2, C, &layer) &&               // input and post-attention norms
            MulAdd(c.qkv_bias() ? 1 : 0, c.q_dim() + 2 * c.kv_dim(), &layer) &&
            MulAdd(c.o_bias() ? 1 : 0, C, &layer) &&
            MulAdd(c.mlp_bias ? 2 : 0, F, &layer) && MulAdd(c.mlp_bias ? 1 : 0, C, &layer) &&
            MulAdd(c.qk_norm() ? 2 : 0, c.head_dim, &layer);
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

Status CheckRopeScaling(const ModelConfig& c) {
  const RopeScaling& r = c.rope_scaling;
  if (r.type == RopeType::kDefault) return Status::Ok();
  auto positive = [](double v) { return v > 0.0 && std::isfinite(v); };
  if (!positive(r.factor)) return Invalid("rope_scaling", "factor must be a finite number > 0");
  if (r.type == RopeType::kLinear) return Status::Ok();
  if (!positive(r.low_freq_factor)) return Invalid("rope_scaling", "low_freq_factor must be a finite number > 0");
  if (!positive(r.high_freq_factor)) return Invalid("rope_scaling", "high_freq_factor must be a finite number > 0");
  if (r.low_freq_factor == r.high_freq_factor) {
    return Invalid("rope_scaling", "high_freq_factor must differ from low_freq_factor");
  }
  if (r.original_max_position_embeddings <= 0 || r.original_max_position_embeddings > kMaxPositions) {
    return Invalid("rope_scaling", "original_max_position_embeddings " +
                                       std::to_string(r.original_max_position_embeddings) + " is out of range");
  }
  return Status::Ok();
}

// Keys that only some architectures have.
Status CheckArchitectureKeys(const ModelConfig& c) {
  const ModelType t = c.model_type;
  if (c.attention_bias && t != ModelType::kLlama && t != ModelType::kQwen3) {
    return Invalid("attention_bias", std::string("not an option of model_type ") + ModelTypeName(t));
  }
  if (c.mlp_bias && t != ModelType::kLlama) {
    return Invalid("mlp_bias", std::string("not an option of model_type ") + ModelTypeName(t));
  }
  if (c.sliding_window < 0) return Invalid("sliding_window", "must be > 0 or null");
  if (c.sliding_window != 0 && t != ModelType::kMistral) {
    return Invalid("sliding_window", std::string("not supported for model_type ") + ModelTypeName(t));
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

const char* ModelTypeName(ModelType t) {
  switch (t) {
    case ModelType::kLlama: return "llama";
    case ModelType::kMistral: return "mistral";
    case ModelType::kQwen2: return "qwen2";
    case ModelType::kQwen3: return "qwen3";
  }
  return "?";
}

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
  AFTUNE_RETURN_IF_ERROR(CheckRopeScaling(*this));
  AFTUNE_RETURN_IF_ERROR(CheckArchitectureKeys(*this));
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
  StrictJsonOptions strict;
  strict.code = Status::Code::kInvalidArgument;
  AFTUNE_ASSIGN_OR_RETURN(Json obj, ParseStrictJson(json_text, source, strict));
  if (!obj.is_object()) return Status::InvalidArgument(source + ": not a JSON object");
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

namespace {

const char* Architecture(ModelType t) {
  switch (t) {
    case ModelType::kLlama: return "LlamaForCausalLM";
    case ModelType::kMistral: return "MistralForCausalLM";
    case ModelType::kQwen2: return "Qwen2ForCausalLM";
    case ModelType::kQwen3: return "Qwen3ForCausalLM";
  }
  return "?";
}

Json RopeScalingJson(const RopeScaling& r) {
  switch (r.type) {
    case RopeType::kDefault: return nullptr;
    case RopeType::kLinear: return {{"factor", r.factor}, {"rope_type", "linear"}};
    case RopeType::kLlama3:
      return {{"factor", r.factor},
              {"high_freq_factor", r.high_freq_factor},
              {"low_freq_factor", r.low_freq_factor},
              {"original_max_position_embeddings", r.original_max_position_embeddings},
              {"rope_type", "llama3"}};
  }
  return nullptr;
}

}  // namespace

std::string ModelConfigToJson(const ModelConfig& c) {
  Json j;  // std::map keys: written sorted, as transformers does
  j["architectures"] = Json::array({Architecture(c.model_type)});
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
  j["model_type"] = ModelTypeName(c.model_type);
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_scaling"] = RopeScalingJson(c.rope_scaling);
  j["rope_theta"] = c.rope_theta;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["torch_dtype"] = c.torch_dtype;
  j["use_cache"] = true;
  j["vocab_size"] = c.vocab_size;
  switch (c.model_type) {
    case ModelType::kLlama:
      j["attention_bias"] = c.attention_bias;
      j["mlp_bias"] = c.mlp_bias;
      j["pretraining_tp"] = 1;
      break;
    case ModelType::kMistral:
      j["sliding_window"] = c.sliding_window == 0 ? Json(nullptr) : Json(c.sliding_window);
      break;
    case ModelType::kQwen3:
      j["attention_bias"] = c.attention_bias;
      [[fallthrough]];
    case ModelType::kQwen2:
      j["max_window_layers"] = c.num_hidden_layers;
      j["sliding_window"] = nullptr;
      j["use_sliding_window"] = false;
      break;
  }
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace aftune
