#include "model/config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace aftune {
namespace {

// TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json, as published.
const char kTinyLlama[] = R"({
  "architectures": [
    "LlamaForCausalLM"
  ],
  "attention_bias": false,
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 2048,
  "initializer_range": 0.02,
  "intermediate_size": 5632,
  "max_position_embeddings": 2048,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 22,
  "num_key_value_heads": 4,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": null,
  "rope_theta": 10000.0,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.35.0",
  "use_cache": true,
  "vocab_size": 32000
}
)";

// meta-llama/Llama-2-7b-hf config.json (no num_key_value_heads, no head_dim).
const char kLlama2[] = R"({
  "_name_or_path": "meta-llama/Llama-2-7b-hf",
  "architectures": ["LlamaForCausalLM"],
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 11008,
  "max_position_embeddings": 4096,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "pad_token_id": 0,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": null,
  "tie_word_embeddings": false,
  "torch_dtype": "float16",
  "transformers_version": "4.31.0.dev0",
  "use_cache": true,
  "vocab_size": 32000
})";

// mistralai/Mistral-7B-Instruct-v0.2 config.json (sliding_window null).
const char kMistral[] = R"({
  "architectures": ["MistralForCausalLM"],
  "attention_dropout": 0.0,
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 14336,
  "max_position_embeddings": 32768,
  "model_type": "mistral",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05,
  "rope_theta": 1000000.0,
  "sliding_window": null,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.36.0",
  "use_cache": true,
  "vocab_size": 32000
})";

// meta-llama/Llama-3.2-1B config.json: llama3 RoPE scaling, tied embeddings.
const char kLlama32[] = R"({
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 128000,
  "eos_token_id": 128001,
  "head_dim": 64,
  "hidden_act": "silu",
  "hidden_size": 2048,
  "initializer_range": 0.02,
  "intermediate_size": 8192,
  "max_position_embeddings": 131072,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 16,
  "num_key_value_heads": 8,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {
    "factor": 32.0,
    "high_freq_factor": 4.0,
    "low_freq_factor": 1.0,
    "original_max_position_embeddings": 8192,
    "rope_type": "llama3"
  },
  "rope_theta": 500000.0,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0",
  "use_cache": true,
  "vocab_size": 128256
})";

// Qwen/Qwen2.5-0.5B config.json: q/k/v biases, sliding window off.
const char kQwen25[] = R"({
  "architectures": ["Qwen2ForCausalLM"],
  "attention_dropout": 0.0,
  "bos_token_id": 151643,
  "eos_token_id": 151643,
  "hidden_act": "silu",
  "hidden_size": 896,
  "initializer_range": 0.02,
  "intermediate_size": 4864,
  "max_position_embeddings": 32768,
  "max_window_layers": 24,
  "model_type": "qwen2",
  "num_attention_heads": 14,
  "num_hidden_layers": 24,
  "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06,
  "rope_theta": 1000000.0,
  "sliding_window": 32768,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.40.1",
  "use_cache": true,
  "use_mrope": false,
  "use_sliding_window": false,
  "vocab_size": 151936
})";

// Qwen/Qwen3-0.6B config.json: q/k norms, head_dim 128 != 1024 / 16.
const char kQwen3[] = R"({
  "architectures": ["Qwen3ForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 151643,
  "eos_token_id": 151645,
  "head_dim": 128,
  "hidden_act": "silu",
  "hidden_size": 1024,
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "max_position_embeddings": 40960,
  "max_window_layers": 28,
  "model_type": "qwen3",
  "num_attention_heads": 16,
  "num_hidden_layers": 28,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06,
  "rope_scaling": null,
  "rope_theta": 1000000,
  "sliding_window": null,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.51.0",
  "use_cache": true,
  "use_sliding_window": false,
  "vocab_size": 151936
})";

// mistralai/Mistral-7B-v0.1 config.json: a 4096-token sliding window.
const char kMistral01[] = R"({
  "architectures": ["MistralForCausalLM"],
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 14336,
  "max_position_embeddings": 32768,
  "model_type": "mistral",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05,
  "rope_theta": 10000.0,
  "sliding_window": 4096,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.34.0.dev0",
  "use_cache": true,
  "vocab_size": 32000
})";

using Json = nlohmann::json;

// `base` with `key` set to the JSON text `value` (or removed when value is empty).
std::string With(const char* base, const std::string& key, const std::string& value) {
  Json j = Json::parse(base);
  if (value.empty()) {
    j.erase(key);
  } else {
    j[key] = Json::parse(value);
  }
  return j.dump();
}
std::string TinyWith(const std::string& key, const std::string& value) { return With(kTinyLlama, key, value); }

void ExpectRejected(const std::string& text, const std::string& want) {
  auto r = ParseModelConfig(text, "config.json");
  ASSERT_FALSE(r.ok()) << "accepted; wanted: " << want;
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("config.json: ", 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find(want), std::string::npos)
      << "message: " << r.status().message() << "\nwanted: " << want;
}

TEST(ConfigTest, ParsesTinyLlama) {
  auto r = ParseModelConfig(kTinyLlama, "config.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ModelConfig& c = *r;
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.intermediate_size, 5632);
  EXPECT_EQ(c.num_hidden_layers, 22);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_id, 2);
  EXPECT_TRUE(c.extra_eos_token_ids.empty());
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  EXPECT_EQ(c.q_dim(), 2048);
  EXPECT_EQ(c.kv_dim(), 256);
  // The published parameter count of TinyLlama-1.1B.
  EXPECT_EQ(c.NumParameters(), 1'100'048'384);
}

TEST(ConfigTest, ParsesLlama2WithDefaults) {
  auto r = ParseModelConfig(kLlama2, "config.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->num_key_value_heads, 32);  // absent: = num_attention_heads
  EXPECT_EQ(r->head_dim, 128);            // absent: hidden_size / heads
  EXPECT_EQ(r->rope_theta, 10000.0);      // absent: default
  EXPECT_EQ(r->torch_dtype, "float16");
  EXPECT_EQ(r->NumParameters(), 6'738'415'616);  // Llama-2-7b
}

TEST(ConfigTest, ParsesMistralWithoutSlidingWindow) {
  auto r = ParseModelConfig(kMistral, "config.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->num_key_value_heads, 8);
  EXPECT_EQ(r->head_dim, 128);
  EXPECT_EQ(r->rope_theta, 1e6);
  EXPECT_EQ(r->max_position_embeddings, 32768);
  EXPECT_EQ(r->NumParameters(), 7'241'732'096);  // Mistral-7B
}

TEST(ConfigTest, ExplicitHeadDimAndTiedEmbeddings) {
  std::string text = TinyWith("head_dim", "96");
  text = Json::parse(text).dump();
  Json j = Json::parse(text);
  j["tie_word_embeddings"] = true;
  auto r = ParseModelConfig(j.dump(), "config.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->head_dim, 96);
  EXPECT_EQ(r->q_dim(), 32 * 96);
  EXPECT_TRUE(r->tie_word_embeddings);
  const int64_t C = 2048, F = 5632, V = 32000, H = 32, Hk = 4, D = 96, L = 22;
  EXPECT_EQ(r->NumParameters(),
            V * C + L * (C * H * D + 2 * C * Hk * D + H * D * C + 3 * C * F + 2 * C) + C);
}

TEST(ConfigTest, TokenIdForms) {
  auto r = ParseModelConfig(TinyWith("eos_token_id", "[2, 7, 9]"), "config.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->eos_token_id, 2);
  EXPECT_EQ(r->extra_eos_token_ids, (std::vector<int64_t>{7, 9}));
  EXPECT_TRUE(r->IsEosToken(2));
  EXPECT_TRUE(r->IsEosToken(9));
  EXPECT_FALSE(r->IsEosToken(3));

  r = ParseModelConfig(TinyWith("eos_token_id", "null"), "config.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->eos_token_id, -1);
  EXPECT_FALSE(r->IsEosToken(-1));
  r = ParseModelConfig(TinyWith("eos_token_id", "[]"), "config.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->eos_token_id, -1);
  r = ParseModelConfig(TinyWith("bos_token_id", "null"), "config.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bos_token_id, -1);
  r = ParseModelConfig(TinyWith("bos_token_id", ""), "config.json");  // absent: LlamaConfig's default
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bos_token_id, 1);

  ExpectRejected(TinyWith("eos_token_id", "[2, \"7\"]"), "key 'eos_token_id': expected an integer, got a string");
  ExpectRejected(TinyWith("eos_token_id", "-5"), "key 'eos_token_id': must be >= 0 or null");
  ExpectRejected(TinyWith("eos_token_id", "32000"), "key 'eos_token_id': 32000 is not a token id");
  ExpectRejected(TinyWith("bos_token_id", "[1]"), "key 'bos_token_id': expected an integer, got an array");
  ExpectRejected(TinyWith("bos_token_id", "-1"), "key 'bos_token_id': must be >= 0 or null");
}

TEST(ConfigTest, WrongTypesNameTheKey) {
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                          "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings",
                          "bos_token_id", "eos_token_id", "pretraining_tp"}) {
    SCOPED_TRACE(key);
    ExpectRejected(TinyWith(key, "\"64\""), std::string("key '") + key + "': expected an integer, got a string");
    ExpectRejected(TinyWith(key, "64.0"), std::string("key '") + key + "': expected an integer, got a non-integer number");
    ExpectRejected(TinyWith(key, "true"), std::string("key '") + key + "': expected an integer, got a boolean");
  }
  ExpectRejected(TinyWith("hidden_size", "18446744073709551615"), "key 'hidden_size': integer out of range");
  ExpectRejected(TinyWith("rms_norm_eps", "\"1e-5\""), "key 'rms_norm_eps': expected a number, got a string");
  ExpectRejected(TinyWith("rope_theta", "[10000]"), "key 'rope_theta': expected a number, got an array");
  ExpectRejected(TinyWith("tie_word_embeddings", "0"), "key 'tie_word_embeddings': expected a boolean, got an integer");
  ExpectRejected(TinyWith("attention_bias", "\"false\""), "key 'attention_bias': expected a boolean, got a string");
  ExpectRejected(TinyWith("torch_dtype", "16"), "key 'torch_dtype': expected a string, got an integer");
  ExpectRejected(TinyWith("model_type", "1"), "key 'model_type': expected a string, got an integer");
  // Numbers accept integers.
  auto r = ParseModelConfig(TinyWith("rope_theta", "500000"), "config.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rope_theta, 500000.0);
}

TEST(ConfigTest, MissingRequiredKeys) {
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                          "vocab_size", "model_type"}) {
    SCOPED_TRACE(key);
    ExpectRejected(TinyWith(key, ""), std::string("key '") + key + "': missing (required)");
    ExpectRejected(TinyWith(key, "null"), std::string("key '") + key + "': missing (required)");
  }
}

TEST(ConfigTest, UnsupportedFeaturesNameTheKey) {
  ExpectRejected(TinyWith("hidden_act", "\"gelu\""), "key 'hidden_act': \"gelu\" is not supported");
  ExpectRejected(TinyWith("model_type", "\"gpt2\""), "key 'model_type': \"gpt2\" is not supported");
  ExpectRejected(TinyWith("model_type", "\"qwen2_moe\""), "key 'model_type': \"qwen2_moe\" is not supported");
  ExpectRejected(TinyWith("attention_dropout", "0.1"), "key 'attention_dropout': must be 0");
  ExpectRejected(TinyWith("partial_rotary_factor", "0.5"), "key 'partial_rotary_factor': must be 1");
  ExpectRejected(TinyWith("quantization_config", R"({"quant_method": "gptq"})"),
                 "key 'quantization_config': quantized weights are not supported");
  ExpectRejected(TinyWith("torch_dtype", "\"float64\""), "key 'torch_dtype': \"float64\" is not supported");
  ExpectRejected(TinyWith("dtype", "\"float16\""), "key 'dtype': \"float16\" disagrees with torch_dtype \"bfloat16\"");
  ExpectRejected(TinyWith("pretraining_tp", "0"), "key 'pretraining_tp': must be >= 1");
  ExpectRejected(TinyWith("rope_parameters", R"({"rope_type": "default", "rope_theta": 5.0})"),
                 "key 'rope_parameters': rope_theta disagrees");

  // LLaMA ignores sliding_window unless use_sliding_window is set.
  EXPECT_TRUE(ParseModelConfig(TinyWith("sliding_window", "4096"), "config.json").ok());
  Json l = Json::parse(TinyWith("sliding_window", "4096"));
  l["use_sliding_window"] = true;
  ExpectRejected(l.dump(), "key 'sliding_window': must be null");
  // Qwen's per-layer sliding windows are not implemented.
  ExpectRejected(With(kQwen25, "use_sliding_window", "true"), "key 'use_sliding_window': true is not supported");
  ExpectRejected(With(kQwen3, "use_sliding_window", "true"), "key 'use_sliding_window': true is not supported");
  ExpectRejected(With(kQwen25, "layer_types", R"(["full_attention", "sliding_attention"])"),
                 "key 'layer_types': only \"full_attention\" layers are supported");
  EXPECT_TRUE(ParseModelConfig(With(kQwen25, "layer_types", R"(["full_attention"])"), "config.json").ok());
  ExpectRejected(With(kMistral01, "sliding_window", "0"), "key 'sliding_window': must be > 0 or null");
  ExpectRejected(With(kMistral01, "sliding_window", "\"4096\""), "key 'sliding_window': expected an integer");

  // pretraining_tp > 1 is the same function; accepted.
  EXPECT_TRUE(ParseModelConfig(TinyWith("pretraining_tp", "2"), "config.json").ok());
  // transformers v5 spelling of the RoPE base.
  Json v5 = Json::parse(TinyWith("rope_theta", ""));
  v5["rope_parameters"] = Json::parse(R"({"rope_type": "default", "rope_theta": 500000.0})");
  v5.erase("torch_dtype");
  v5["dtype"] = "float16";
  auto r = ParseModelConfig(v5.dump(), "config.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rope_theta, 500000.0);
  EXPECT_EQ(r->torch_dtype, "float16");
}

TEST(ConfigTest, ParsesLlama32WithLlama3RopeScaling) {
  auto r = ParseModelConfig(kLlama32, "config.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rope_scaling.type, RopeType::kLlama3);
  EXPECT_EQ(r->rope_scaling.factor, 32.0);
  EXPECT_EQ(r->rope_scaling.low_freq_factor, 1.0);
  EXPECT_EQ(r->rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(r->rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(r->rope_theta, 500000.0);
  EXPECT_TRUE(r->tie_word_embeddings);
  EXPECT_EQ(r->NumParameters(), 1'235'814'400);  // Llama-3.2-1B

  // transformers v5: the same in rope_parameters, rope_theta inside.
  Json v5 = Json::parse(kLlama32);
  v5["rope_parameters"] = v5["rope_scaling"];
  v5["rope_parameters"]["rope_theta"] = 500000.0;
  v5.erase("rope_scaling");
  v5.erase("rope_theta");
  auto r5 = ParseModelConfig(v5.dump(), "config.json");
  ASSERT_TRUE(r5.ok()) << r5.status().ToString();
  EXPECT_EQ(r5->rope_scaling.type, RopeType::kLlama3);
  EXPECT_EQ(r5->rope_theta, 500000.0);
  EXPECT_EQ(ModelConfigToJson(*r5), ModelConfigToJson(*r));

  // original_max_position_embeddings absent: max_position_embeddings (transformers' standardisation).
  Json j = Json::parse(kLlama32);
  j["rope_scaling"].erase("original_max_position_embeddings");
  auto d = ParseModelConfig(j.dump(), "config.json");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->rope_scaling.original_max_position_embeddings, 131072);

  // The old spelling "type", and linear scaling.
  auto lin = ParseModelConfig(TinyWith("rope_scaling", R"({"type": "linear", "factor": 2.0})"), "config.json");
  ASSERT_TRUE(lin.ok()) << lin.status().ToString();
  EXPECT_EQ(lin->rope_scaling.type, RopeType::kLinear);
  EXPECT_EQ(lin->rope_scaling.factor, 2.0);
  auto def = ParseModelConfig(TinyWith("rope_scaling", R"({"rope_type": "default"})"), "config.json");
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->rope_scaling.type, RopeType::kDefault);
}

TEST(ConfigTest, RefusesOtherRopeScalingByName) {
  for (const char* type : {"yarn", "dynamic", "longrope", "proportional", "su", "mrope"}) {
    SCOPED_TRACE(type);
    ExpectRejected(TinyWith("rope_scaling", std::string(R"({"factor": 4.0, "rope_type": ")") + type + "\"}"),
                   std::string("key 'rope_scaling': rope_type \"") + type + "\" is not supported");
    ExpectRejected(TinyWith("rope_parameters", std::string(R"({"factor": 4.0, "type": ")") + type + "\"}"),
                   std::string("key 'rope_parameters': rope_type \"") + type + "\" is not supported");
  }
  ExpectRejected(TinyWith("rope_scaling", R"({"rope_type": "linear"})"), "key 'rope_scaling': factor is missing");
  ExpectRejected(TinyWith("rope_scaling", R"({"rope_type": "linear", "factor": "2"})"),
                 "key 'rope_scaling': factor must be a number");
  ExpectRejected(TinyWith("rope_scaling", R"({"rope_type": "linear", "factor": 0})"),
                 "key 'rope_scaling': factor must be a finite number > 0");
  ExpectRejected(TinyWith("rope_scaling", R"({"rope_type": "linear", "factor": 2, "low_freq_factor": 1})"),
                 "key 'rope_scaling': key \"low_freq_factor\" is not supported for rope_type \"linear\"");
  ExpectRejected(TinyWith("rope_scaling", R"({"rope_type": "linear", "factor": 2, "type": "yarn"})"),
                 "key 'rope_scaling': rope_type and type disagree");
  ExpectRejected(TinyWith("rope_scaling", R"({"rope_type": "llama3", "factor": 8, "low_freq_factor": 1})"),
                 "key 'rope_scaling': high_freq_factor is missing");
  ExpectRejected(TinyWith("rope_scaling", R"({"rope_type": "llama3", "factor": 8, "high_freq_factor": 4})"),
                 "key 'rope_scaling': low_freq_factor is missing");
  ExpectRejected(TinyWith("rope_scaling",
                          R"({"rope_type": "llama3", "factor": 8, "low_freq_factor": 2, "high_freq_factor": 2})"),
                 "key 'rope_scaling': high_freq_factor must differ from low_freq_factor");
  ExpectRejected(TinyWith("rope_scaling", R"({"rope_type": "llama3", "factor": 8, "low_freq_factor": 1,
      "high_freq_factor": 4, "original_max_position_embeddings": 8192.0})"),
                 "key 'rope_scaling': expected an integer, got a non-integer number");
  ExpectRejected(TinyWith("rope_scaling", R"({"rope_type": "llama3", "factor": 8, "low_freq_factor": 1,
      "high_freq_factor": 4, "attention_factor": 1.0})"),
                 "key 'rope_scaling': key \"attention_factor\" is not supported");
  ExpectRejected(TinyWith("rope_scaling", R"({"rope_type": "linear", "factor": 2, "partial_rotary_factor": 0.5})"),
                 "key 'rope_scaling': partial_rotary_factor must be 1");
  ExpectRejected(TinyWith("rope_scaling", "[2.0]"), "key 'rope_scaling': expected an object, got an array");
  Json both = Json::parse(TinyWith("rope_scaling", R"({"rope_type": "linear", "factor": 2})"));
  both["rope_parameters"] = Json::parse(R"({"rope_type": "linear", "factor": 2})");
  ExpectRejected(both.dump(), "key 'rope_parameters': given together with rope_scaling");
}

TEST(ConfigTest, ParsesQwen2WithQkvBiases) {
  auto r = ParseModelConfig(kQwen25, "config.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model_type, ModelType::kQwen2);
  EXPECT_TRUE(r->qkv_bias());
  EXPECT_FALSE(r->o_bias());
  EXPECT_FALSE(r->mlp_bias);
  EXPECT_FALSE(r->qk_norm());
  EXPECT_EQ(r->sliding_window, 0);  // use_sliding_window false
  EXPECT_EQ(r->head_dim, 64);
  EXPECT_EQ(r->bos_token_id, 151643);
  EXPECT_EQ(r->NumParameters(), 494'032'768);  // Qwen2.5-0.5B
  // Qwen2Config's defaults: no bos/eos, 32 kv heads.
  auto d = ParseModelConfig(With(With(With(kQwen25, "bos_token_id", "").c_str(), "eos_token_id", "").c_str(),
                                 "num_key_value_heads", ""),
                            "config.json");
  ASSERT_FALSE(d.ok());  // 32 kv heads do not divide 14 heads
  EXPECT_NE(d.status().message().find("key 'num_key_value_heads': 32 does not divide"), std::string::npos);
  auto n = ParseModelConfig(With(With(kQwen25, "bos_token_id", "").c_str(), "eos_token_id", ""), "config.json");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->bos_token_id, -1);
  EXPECT_EQ(n->eos_token_id, -1);
  // Qwen2Config has no attention_bias or mlp_bias: transformers ignores them.
  auto ignored = ParseModelConfig(With(kQwen25, "mlp_bias", "true"), "config.json");
  ASSERT_TRUE(ignored.ok());
  EXPECT_FALSE(ignored->mlp_bias);
}

TEST(ConfigTest, ParsesQwen3WithQkNorms) {
  auto r = ParseModelConfig(kQwen3, "config.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model_type, ModelType::kQwen3);
  EXPECT_TRUE(r->qk_norm());
  EXPECT_FALSE(r->qkv_bias());
  EXPECT_EQ(r->head_dim, 128);
  EXPECT_EQ(r->q_dim(), 2048);
  EXPECT_EQ(r->NumParameters(), 596'049'920);  // Qwen3-0.6B
  // Qwen3Config's head_dim default is 128, not hidden_size / heads.
  auto d = ParseModelConfig(With(With(kQwen3, "head_dim", "").c_str(), "hidden_size", "512"), "config.json");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->head_dim, 128);
  auto b = ParseModelConfig(With(kQwen3, "attention_bias", "true"), "config.json");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->qkv_bias());
  EXPECT_TRUE(b->o_bias());
}

TEST(ConfigTest, ParsesMistralSlidingWindow) {
  auto r = ParseModelConfig(kMistral01, "config.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model_type, ModelType::kMistral);
  EXPECT_EQ(r->sliding_window, 4096);
  EXPECT_EQ(r->NumParameters(), 7'241'732'096);  // Mistral-7B
  // MistralConfig's defaults: a 4096 window, 8 kv heads.
  auto d = ParseModelConfig(With(With(kMistral01, "sliding_window", "").c_str(), "num_key_value_heads", ""),
                            "config.json");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->sliding_window, 4096);
  EXPECT_EQ(d->num_key_value_heads, 8);
  auto none = ParseModelConfig(With(kMistral01, "sliding_window", "null"), "config.json");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->sliding_window, 0);
}

TEST(ConfigTest, LlamaBiases) {
  auto r = ParseModelConfig(With(TinyWith("attention_bias", "true").c_str(), "mlp_bias", "true"), "config.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->qkv_bias());
  EXPECT_TRUE(r->o_bias());
  EXPECT_TRUE(r->mlp_bias);
  const int64_t C = 2048, F = 5632, L = 22, kv = 256;
  EXPECT_EQ(r->NumParameters(), 1'100'048'384 + L * ((C + 2 * kv + C) + (2 * F + C)));
}

TEST(ConfigTest, ValidateRefusesOptionsOfOtherArchitectures) {
  ModelConfig c = *ParseModelConfig(kMistral01, "m");
  c.attention_bias = true;
  EXPECT_NE(c.Validate().message().find("key 'attention_bias': not an option of model_type mistral"),
            std::string::npos);
  c = *ParseModelConfig(kQwen3, "q");
  c.mlp_bias = true;
  EXPECT_NE(c.Validate().message().find("key 'mlp_bias': not an option of model_type qwen3"), std::string::npos);
  c = *ParseModelConfig(kTinyLlama, "t");
  c.sliding_window = 16;
  EXPECT_NE(c.Validate().message().find("key 'sliding_window': not supported for model_type llama"),
            std::string::npos);
  c = *ParseModelConfig(kLlama32, "l");
  c.rope_scaling.original_max_position_embeddings = 0;
  EXPECT_NE(c.Validate().message().find("key 'rope_scaling': original_max_position_embeddings 0 is out of range"),
            std::string::npos);
}

TEST(ConfigTest, ValidateNamesTheKey) {
  ExpectRejected(TinyWith("num_key_value_heads", "5"), "key 'num_key_value_heads': 5 does not divide num_attention_heads 32");
  ExpectRejected(TinyWith("num_key_value_heads", "0"), "key 'num_key_value_heads': 0 is out of range");
  ExpectRejected(TinyWith("hidden_size", "0"), "key 'hidden_size': 0 is out of range");
  ExpectRejected(TinyWith("hidden_size", "-8"), "key 'hidden_size': -8 is out of range");
  ExpectRejected(TinyWith("hidden_size", "2050"), "key 'head_dim': absent, and hidden_size 2050 is not a multiple of num_attention_heads 32");
  ExpectRejected(TinyWith("head_dim", "63"), "key 'head_dim': 63 is odd");
  ExpectRejected(TinyWith("num_attention_heads", "0"), "key 'num_attention_heads': 0 is out of range");
  ExpectRejected(TinyWith("vocab_size", "100000000"), "key 'vocab_size': 100000000 is out of range");
  ExpectRejected(TinyWith("rms_norm_eps", "0"), "key 'rms_norm_eps': must be a finite number > 0");
  ExpectRejected(TinyWith("rope_theta", "-1.0"), "key 'rope_theta': must be a finite number > 0");
  ExpectRejected(TinyWith("max_position_embeddings", "0"), "key 'max_position_embeddings'");
  ExpectRejected(TinyWith("bos_token_id", "40000"), "key 'bos_token_id': 40000 is not a token id");

  ModelConfig c;
  EXPECT_FALSE(c.Validate().ok());
}

TEST(ConfigTest, RejectsMalformedJson) {
  ExpectRejected("", "not valid JSON");
  ExpectRejected("{", "not valid JSON");
  ExpectRejected("[1, 2]", "not a JSON object");
  ExpectRejected("\"llama\"", "not a JSON object");
  ExpectRejected(std::string(kTinyLlama) + "x", "not valid JSON");
  ExpectRejected(std::string(kTinyLlama) + std::string("\0x", 2), "NUL byte");
  ExpectRejected("{\"hidden_size\": 1, \"hidden_size\": 2}", "key 'hidden_size' appears twice");
  ExpectRejected("{// comment\n}", "not valid JSON");
}

void ExpectSame(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.model_type, b.model_type);
  EXPECT_EQ(a.rope_scaling.type, b.rope_scaling.type);
  EXPECT_EQ(a.rope_scaling.factor, b.rope_scaling.factor);
  EXPECT_EQ(a.rope_scaling.low_freq_factor, b.rope_scaling.low_freq_factor);
  EXPECT_EQ(a.rope_scaling.high_freq_factor, b.rope_scaling.high_freq_factor);
  EXPECT_EQ(a.rope_scaling.original_max_position_embeddings, b.rope_scaling.original_max_position_embeddings);
  EXPECT_EQ(a.attention_bias, b.attention_bias);
  EXPECT_EQ(a.mlp_bias, b.mlp_bias);
  EXPECT_EQ(a.sliding_window, b.sliding_window);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.intermediate_size, b.intermediate_size);
  EXPECT_EQ(a.num_hidden_layers, b.num_hidden_layers);
  EXPECT_EQ(a.num_attention_heads, b.num_attention_heads);
  EXPECT_EQ(a.num_key_value_heads, b.num_key_value_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.rms_norm_eps, b.rms_norm_eps);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings);
  EXPECT_EQ(a.max_position_embeddings, b.max_position_embeddings);
  EXPECT_EQ(a.bos_token_id, b.bos_token_id);
  EXPECT_EQ(a.eos_token_id, b.eos_token_id);
  EXPECT_EQ(a.extra_eos_token_ids, b.extra_eos_token_ids);
  EXPECT_EQ(a.torch_dtype, b.torch_dtype);
}

TEST(ConfigTest, RoundTripsThroughJson) {
  std::vector<ModelConfig> configs;
  configs.push_back(*ParseModelConfig(kTinyLlama, "t"));
  configs.push_back(*ParseModelConfig(kLlama2, "l"));
  configs.push_back(*ParseModelConfig(kMistral, "m"));
  configs.push_back(*ParseModelConfig(kMistral01, "m01"));
  configs.push_back(*ParseModelConfig(kLlama32, "l32"));
  configs.push_back(*ParseModelConfig(kQwen25, "q2"));
  configs.push_back(*ParseModelConfig(kQwen3, "q3"));
  configs.push_back(*ParseModelConfig(TinyWith("rope_scaling", R"({"type": "linear", "factor": 2.5})"), "lin"));
  ModelConfig biased = *ParseModelConfig(TinyWith("mlp_bias", "true"), "b");
  biased.attention_bias = true;
  configs.push_back(biased);
  ModelConfig qwen3_biased = configs[6];
  qwen3_biased.attention_bias = true;
  qwen3_biased.bos_token_id = -1;
  configs.push_back(qwen3_biased);
  ModelConfig odd = configs[0];
  odd.head_dim = 96;
  odd.tie_word_embeddings = true;
  odd.bos_token_id = -1;
  odd.eos_token_id = 5;
  odd.extra_eos_token_ids = {6, 31999};
  odd.rms_norm_eps = 0.1 + 0.2;  // a double that needs all 17 digits
  odd.rope_theta = 123456.789;
  odd.torch_dtype = "float32";
  configs.push_back(odd);
  ModelConfig no_eos = configs[0];
  no_eos.eos_token_id = -1;
  configs.push_back(no_eos);
  for (const ModelConfig& c : configs) {
    ASSERT_TRUE(c.Validate().ok());
    std::string text = ModelConfigToJson(c);
    auto back = ParseModelConfig(text, "roundtrip");
    ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
    ExpectSame(c, *back);
    EXPECT_EQ(ModelConfigToJson(*back), text);  // stable
  }
}

TEST(ConfigTest, ToJsonIsWhatLlamaConfigReads) {
  ModelConfig c = *ParseModelConfig(kTinyLlama, "t");
  Json j = Json::parse(ModelConfigToJson(c));
  EXPECT_EQ(j["model_type"], "llama");
  EXPECT_EQ(j["architectures"], Json::parse(R"(["LlamaForCausalLM"])"));
  EXPECT_EQ(j["hidden_act"], "silu");
  EXPECT_TRUE(j["rope_scaling"].is_null());
  EXPECT_EQ(j["attention_bias"], false);
  EXPECT_EQ(j["mlp_bias"], false);
  EXPECT_EQ(j["num_key_value_heads"], 4);
  EXPECT_EQ(j["head_dim"], 64);
  EXPECT_TRUE(j["rms_norm_eps"].is_number_float());
  EXPECT_TRUE(j["rope_theta"].is_number_float());
  EXPECT_TRUE(j["hidden_size"].is_number_integer());
  EXPECT_EQ(j["torch_dtype"], "bfloat16");
  const std::string text = ModelConfigToJson(c);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\n  \"attention_bias\": false,\n"), std::string::npos);
}

// Each architecture is written as its own config class reads it.
TEST(ConfigTest, ToJsonKeepsTheArchitecture) {
  Json l = Json::parse(ModelConfigToJson(*ParseModelConfig(kLlama32, "l")));
  EXPECT_EQ(l["rope_scaling"], Json::parse(R"({"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
      "original_max_position_embeddings": 8192, "rope_type": "llama3"})"));
  Json m = Json::parse(ModelConfigToJson(*ParseModelConfig(kMistral01, "m")));
  EXPECT_EQ(m["model_type"], "mistral");
  EXPECT_EQ(m["architectures"], Json::parse(R"(["MistralForCausalLM"])"));
  EXPECT_EQ(m["sliding_window"], 4096);
  EXPECT_FALSE(m.contains("attention_bias"));
  Json q2 = Json::parse(ModelConfigToJson(*ParseModelConfig(kQwen25, "q2")));
  EXPECT_EQ(q2["model_type"], "qwen2");
  EXPECT_EQ(q2["architectures"], Json::parse(R"(["Qwen2ForCausalLM"])"));
  EXPECT_EQ(q2["use_sliding_window"], false);
  EXPECT_FALSE(q2.contains("attention_bias"));
  Json q3 = Json::parse(ModelConfigToJson(*ParseModelConfig(kQwen3, "q3")));
  EXPECT_EQ(q3["model_type"], "qwen3");
  EXPECT_EQ(q3["architectures"], Json::parse(R"(["Qwen3ForCausalLM"])"));
  EXPECT_EQ(q3["head_dim"], 128);
  EXPECT_EQ(q3["attention_bias"], false);
}

TEST(ConfigTest, ReadMissingFile) {
  auto r = ReadModelConfig("/nonexistent-dir/config.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace aftune
