// Training contracts: the vector written by tests/vectors/make_contract_vector.py
// (an independent Python implementation) reproduced from the same files,
// canonical numbers, strict parsing naming every bad key, and input
// verification catching a changed byte of the data, a tensor, the config and
// the tokenizer.
#include "protocol/contract.h"

#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "commit/digest.h"
#include "model/model_dir.h"
#include "model/model_init.h"
#include "protocol/canonical_json.h"
#include "protocol/input_digest.h"
#include "train/trainer.h"

namespace aftune {
namespace {

using Json = nlohmann::json;

const std::string kVectorDir = std::string(AFTUNE_SOURCE_DIR) + "/tests/vectors/";

const Json& Vector() {
  static const Json v = [] {
    Result<std::string> text = ReadFile(kVectorDir + "contract.json");
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return Json::parse(text.ok() ? *text : "{}");
  }();
  return v;
}

std::string TempDir(const std::string& tag) {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("aftune-contract-" + tag + "-" + std::to_string(::getpid())))
                        .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// ---- canonical JSON ------------------------------------------------------

TEST(CanonicalJson, NumbersAreSpelledAsPythonRepr) {
  const Json& numbers = Vector()["numbers"];
  ASSERT_GE(numbers.size(), 400u);
  for (const Json& n : numbers) {
    const std::string hex = n[0].get<std::string>(), repr = n[1].get<std::string>();
    uint64_t bits = std::stoull(hex, nullptr, 16);
    double x;
    std::memcpy(&x, &bits, 8);
    EXPECT_EQ(CanonicalJsonNumber(x), repr) << hex;
    // And the parser reads the canonical spelling back to the same bits.
    double back = Json::parse(repr).get<double>();
    uint64_t back_bits;
    std::memcpy(&back_bits, &back, 8);
    EXPECT_EQ(back_bits, bits) << repr;
  }
}

TEST(CanonicalJson, WorkedExamples) {
  EXPECT_EQ(CanonicalJsonNumber(0.001), "0.001");
  EXPECT_EQ(CanonicalJsonNumber(16.0), "16.0");
  EXPECT_EQ(CanonicalJsonNumber(1e-8), "1e-08");
  EXPECT_EQ(CanonicalJsonNumber(1e16), "1e+16");
  EXPECT_EQ(CanonicalJsonNumber(-0.0), "-0.0");
  EXPECT_EQ(CanonicalJsonNumber(1e-4), "0.0001");
  EXPECT_EQ(CanonicalJsonNumber(1e-5), "1e-05");
  EXPECT_EQ(CanonicalJsonNumber(1.5e300), "1.5e+300");
  EXPECT_EQ(CanonicalJsonInt(-1), "-1");
  EXPECT_EQ(CanonicalJsonUint(18446744073709551615ull), "18446744073709551615");
  // Python: json.dumps('a"b\\c\n\x01\x7f\u00e9', ensure_ascii=False)
  EXPECT_EQ(CanonicalJsonString("a\"b\\c\n\x01\x7f\xc3\xa9"), "\"a\\\"b\\\\c\\n\\u0001\x7f\xc3\xa9\"");
  EXPECT_EQ(CanonicalJsonString("\b\f\r\t\x1f"), "\"\\b\\f\\r\\t\\u001f\"");
  CanonicalJsonObject o;
  o.Add("b", CanonicalJsonArray({CanonicalJsonInt(1), CanonicalJsonInt(-2)}));
  o.Add("a", CanonicalJsonNumber(0.001));
  o.Add("c", CanonicalJsonNumber(1e-8));
  o.Add("\xc3\x89", CanonicalJsonString(""));  // sorts after ASCII
  o.Add("B", CanonicalJsonString("x"));        // uppercase sorts before lowercase
  EXPECT_EQ(o.Text(), "{\"B\":\"x\",\"a\":0.001,\"b\":[1,-2],\"c\":1e-08,\"\xc3\x89\":\"\"}");
  EXPECT_EQ(CanonicalJsonObject().Text(), "{}");
  EXPECT_EQ(CanonicalJsonArray({}), "[]");
}

// ---- the vector ------------------------------------------------------------

TrainConfig VectorTraining() {
  Result<TrainConfig> t = ParseTrainConfig(Vector()["training"].dump(), "vector training");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : TrainConfig{};
}

AuditGrid VectorGrid() {
  const Json& g = Vector()["audit_grid"];
  return {g["steps_per_block"].get<int64_t>(), g["layers_per_block"].get<int64_t>(),
          g["checkpoint_interval"].get<int64_t>(), g["activation_interval"].get<int64_t>()};
}

std::string VectorBase() { return kVectorDir + Vector()["base_dir"].get<std::string>(); }
std::string VectorData() { return kVectorDir + Vector()["data"].get<std::string>(); }

TEST(ContractVector, InputDigestsMatchThePythonImplementation) {
  Result<SafetensorsFile> f = SafetensorsFile::Read(VectorBase() + "/model.safetensors");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const Json& want = Vector()["tensor_digests"];
  ASSERT_EQ(f->entries().size(), want.size());
  for (const SafetensorsEntry& e : f->entries()) {
    std::vector<uint64_t> dims(e.shape.begin(), e.shape.end());
    EXPECT_EQ(HashToHex(TensorDigest(e.name, DTypeName(e.dtype), dims, e.bytes)), want[e.name]) << e.name;
  }
  Result<ModelDirDigests> d = DigestModelDir(VectorBase());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(HashToHex(d->state), Vector()["state_digest"]);
  EXPECT_EQ(HashToHex(d->config), Vector()["config_digest"]);
  EXPECT_EQ(d->tokenizer_kind, "byte");
  EXPECT_EQ(HashToHex(d->tokenizer), Vector()["tokenizer_digest"]);
  EXPECT_EQ(HashToHex(ByteTokenizerDigest()), "66847138ae47e4d306440d2395260ae50267eeca6893c8f7ea9cec232cce0ac2");
  Result<DatasetDigests> data = DigestDatasetFile(VectorData());
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(HashToHex(data->digest), Vector()["dataset_digest"]);
  EXPECT_EQ(data->examples, Vector()["examples"].get<uint64_t>());
}

TEST(ContractVector, BuildReproducesTheCanonicalTextAndDigest) {
  Result<Contract> c = BuildContract(VectorBase(), VectorData(), VectorTraining(), VectorGrid());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(CanonicalContract(*c), Vector()["canonical"].get<std::string>());
  EXPECT_EQ(HashToHex(ContractDigest(*c)), Vector()["digest"]);
  // The contract file holds exactly the canonical text.
  Result<std::string> file = ReadFile(kVectorDir + Vector()["contract_file"].get<std::string>());
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*file, CanonicalContract(*c));
  EXPECT_EQ(HashToHex(Sha256Of(*file)), Vector()["digest"]);
  EXPECT_TRUE(VerifyContractInputs(*c, VectorBase(), VectorData()).ok());
}

TEST(ContractVector, ParseThenWriteGivesTheSameBytes) {
  const std::string canonical = Vector()["canonical"].get<std::string>();
  Result<Contract> c = ParseContract(canonical, "vector");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(CanonicalContract(*c), canonical);
  // target_modules are kept sorted by name.
  ASSERT_EQ(c->training.lora.target_modules.size(), 3u);
  EXPECT_EQ(c->training.lora.target_modules[0], Proj::kO);
  EXPECT_EQ(c->training.lora.target_modules[1], Proj::kQ);
  EXPECT_EQ(c->training.lora.target_modules[2], Proj::kV);

  const std::string dir = TempDir("roundtrip");
  ASSERT_TRUE(WriteContract(dir + "/c.json", *c).ok());
  Result<std::string> written = ReadFile(dir + "/c.json");
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, canonical);
  Result<Contract> again = ReadContract(dir + "/c.json");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(CanonicalContract(*again), canonical);
  std::filesystem::remove_all(dir);
}

TEST(ContractVector, OtherSpellingsOfTheSameContractHaveItsDigest) {
  Json j = Json::parse(Vector()["canonical"].get<std::string>());
  j["training"]["lora_alpha"] = 8;  // an integer where a number is expected
  j["training"]["target_modules"] = {"v_proj", "o_proj", "q_proj"};
  std::string pretty = j.dump(4);
  // A long spelling of 0.0002 and an exponent form of 0.9.
  size_t at = pretty.find("0.0002");
  ASSERT_NE(at, std::string::npos);
  pretty.replace(at, 6, "2.0000000000000000000e-4");
  at = pretty.find("0.9,");
  ASSERT_NE(at, std::string::npos);
  pretty.replace(at, 3, "9E-1");
  Result<Contract> c = ParseContract(pretty, "pretty");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(CanonicalContract(*c), Vector()["canonical"].get<std::string>());
  EXPECT_EQ(HashToHex(ContractDigest(*c)), Vector()["digest"]);
}

// ---- strict parsing ----------------------------------------------------------

Json CanonicalJsonValue() { return Json::parse(Vector()["canonical"].get<std::string>()); }

Status ParseJson(const Json& j) { return ParseContract(j.dump(), "c.json").status(); }

void ExpectError(const Status& st, Status::Code code, const std::string& text) {
  EXPECT_FALSE(st.ok()) << "expected an error mentioning " << text;
  EXPECT_EQ(st.code(), code) << st.ToString();
  EXPECT_NE(st.message().find("c.json: "), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find(text), std::string::npos) << "wanted '" << text << "' in " << st.ToString();
}

// Every leaf of the contract, as (path "a.b", pointer).
std::vector<std::pair<std::string, Json::json_pointer>> Leaves(const Json& j) {
  std::vector<std::pair<std::string, Json::json_pointer>> out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_object()) {
      for (const auto& [k2, v2] : v.items()) out.push_back({k + "." + k2, Json::json_pointer("/" + k + "/" + k2)});
    } else {
      out.push_back({k, Json::json_pointer("/" + k)});
    }
  }
  return out;
}

TEST(ParseContract, NotJsonOrNotAContract) {
  ExpectError(ParseContract("{", "c.json").status(), Status::Code::kCorruption, "not valid JSON");
  ExpectError(ParseContract("", "c.json").status(), Status::Code::kCorruption, "not valid JSON");
  ExpectError(ParseContract("[]", "c.json").status(), Status::Code::kCorruption, "must be a JSON object");
  ExpectError(ParseContract("{} x", "c.json").status(), Status::Code::kCorruption, "not valid JSON");
  std::string canonical = Vector()["canonical"].get<std::string>();
  ExpectError(ParseContract(canonical + "\n{}", "c.json").status(), Status::Code::kCorruption, "not valid JSON");
  std::string nul = canonical;
  nul.insert(1, 1, '\0');
  ExpectError(ParseContract(nul, "c.json").status(), Status::Code::kCorruption, "NUL");
  std::string big = canonical;
  big.insert(1, kMaxContractBytes, ' ');
  ExpectError(ParseContract(big, "c.json").status(), Status::Code::kCorruption, "larger than");
  ExpectError(ParseContract("{\"r\":8}", "c.json").status(), Status::Code::kCorruption, "'format'");
  Json j = CanonicalJsonValue();
  j["format"] = "aftune training contract v2";
  ExpectError(ParseJson(j), Status::Code::kCorruption, "'format'");
  // A final newline is whitespace: fine (the digest is the canonical text's).
  EXPECT_TRUE(ParseContract(canonical + "\n", "c.json").ok());
}

TEST(ParseContract, RepeatedKeyAnywhereIsAnError) {
  std::string canonical = Vector()["canonical"].get<std::string>();
  std::string top = canonical;
  top.insert(1, "\"precision\":\"f32\",");
  ExpectError(ParseContract(top, "c.json").status(), Status::Code::kCorruption, "key 'precision' appears twice");
  std::string nested = canonical;
  size_t at = nested.find("\"r\":4");
  ASSERT_NE(at, std::string::npos);
  nested.insert(at, "\"r\":4,");
  ExpectError(ParseContract(nested, "c.json").status(), Status::Code::kCorruption, "key 'training.r' appears twice");
}

TEST(ParseContract, EveryMissingKeyIsNamed) {
  for (const auto& [path, ptr] : Leaves(CanonicalJsonValue())) {
    if (path == "format") continue;  // covered above
    Json j = CanonicalJsonValue();
    j[ptr.parent_pointer()].erase(ptr.back());
    ExpectError(ParseJson(j), Status::Code::kCorruption, "missing key '" + path + "'");
  }
  for (const char* section : {"audit_grid", "base_model", "dataset", "tokenizer", "training"}) {
    Json j = CanonicalJsonValue();
    j.erase(section);
    ExpectError(ParseJson(j), Status::Code::kCorruption, std::string("missing key '") + section + "'");
  }
  Json j = CanonicalJsonValue();
  j.erase("precision");
  ExpectError(ParseJson(j), Status::Code::kCorruption, "missing key 'precision'");
}

TEST(ParseContract, EveryUnknownKeyIsNamed) {
  for (const char* section : {"audit_grid", "base_model", "dataset", "tokenizer", "training"}) {
    Json j = CanonicalJsonValue();
    j[section]["extra"] = 1;
    ExpectError(ParseJson(j), Status::Code::kCorruption, std::string("unknown key '") + section + ".extra'");
  }
  Json j = CanonicalJsonValue();
  j["comment"] = "hello";
  ExpectError(ParseJson(j), Status::Code::kCorruption, "unknown key 'comment'");
  // TrainConfig keys that a contract does not bind are refused, with a reason.
  for (const char* k : {"base_model", "save_steps", "logging_steps", "layers_per_block"}) {
    j = CanonicalJsonValue();
    j["training"][k] = k == std::string("base_model") ? Json("out/base") : Json(1);
    ExpectError(ParseJson(j), Status::Code::kCorruption, std::string("unknown key 'training.") + k + "' (");
  }
}

TEST(ParseContract, EveryWrongTypeIsNamed) {
  for (const auto& [path, ptr] : Leaves(CanonicalJsonValue())) {
    Json j = CanonicalJsonValue();
    // A string where anything else is expected, a number where a string is.
    j[ptr] = j[ptr].is_string() ? Json(5) : Json("5");
    const Status st = ParseJson(j);
    if (path == "format") {
      ExpectError(st, Status::Code::kCorruption, "'format'");
    } else if (path == "audit_grid" || path == "base_model" || path == "dataset" || path == "tokenizer" ||
               path == "training") {
      ADD_FAILURE() << "sections are objects: " << path;
    } else {
      ExpectError(st, Status::Code::kCorruption, "'" + path + "' must be");
    }
  }
  Json targets = CanonicalJsonValue();
  targets["training"]["target_modules"] = Json::array({1});
  ExpectError(ParseJson(targets), Status::Code::kCorruption, "'training.target_modules' must hold strings");
  for (const char* section : {"audit_grid", "base_model", "dataset", "tokenizer", "training"}) {
    Json j = CanonicalJsonValue();
    j[section] = Json::array();
    ExpectError(ParseJson(j), Status::Code::kCorruption, std::string("'") + section + "' must be an object");
  }
}

TEST(ParseContract, IntegersMustBeWrittenAsIntegers) {
  for (const char* k : {"r", "warmup_steps", "max_steps", "seed", "max_seq_length", "num_train_epochs",
                        "per_device_train_batch_size", "gradient_accumulation_steps"}) {
    Json j = CanonicalJsonValue();
    j["training"][k] = 4.0;
    ExpectError(ParseJson(j), Status::Code::kCorruption, std::string("'training.") + k + "' must be");
  }
  Json j = CanonicalJsonValue();
  j["audit_grid"]["steps_per_block"] = 2.5;
  ExpectError(ParseJson(j), Status::Code::kCorruption, "'audit_grid.steps_per_block' must be an integer");
  j = CanonicalJsonValue();
  j["dataset"]["examples"] = 5.0;
  ExpectError(ParseJson(j), Status::Code::kCorruption, "'dataset.examples' must be an integer");
  j = CanonicalJsonValue();
  j["training"]["seed"] = -1;
  ExpectError(ParseJson(j), Status::Code::kCorruption, "'training.seed' must be an integer in [0, 2^64)");
  j["training"]["seed"] = 18446744073709551615ull;
  EXPECT_TRUE(ParseJson(j).ok());
  // Beyond 2^64 - 1 the JSON number is a float.
  std::string text = j.dump();
  size_t at = text.find("18446744073709551615");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 20, "18446744073709551616");
  ExpectError(ParseContract(text, "c.json").status(), Status::Code::kCorruption, "'training.seed'");
}

TEST(ParseContract, MalformedDigestsAreNamed) {
  for (const char* path : {"/base_model/state_digest", "/base_model/config_digest", "/tokenizer/digest",
                           "/dataset/digest"}) {
    for (const std::string& bad : {std::string(64, 'A'), std::string(63, 'a'), std::string(65, 'a'),
                                  std::string(64, 'g'), std::string("")}) {
      Json j = CanonicalJsonValue();
      j[Json::json_pointer(path)] = bad;
      std::string key = std::string(path).substr(1);
      key[key.find('/')] = '.';
      ExpectError(ParseJson(j), Status::Code::kCorruption, "'" + key + "' must be a SHA-256 digest");
    }
  }
}

struct BadValue {
  const char* pointer;
  Json value;
  const char* key;  // what the message must name
};

TEST(ParseContract, UnsupportedOrOutOfRangeValuesNameTheirKey) {
  const std::vector<BadValue> cases = {
      {"/precision", "bf16", "'precision' \"bf16\" is not supported"},
      {"/precision", "F32", "'precision'"},
      {"/training/optim", "sgd", "'training.optim' \"sgd\" is not supported"},
      {"/training/optim", "adamw_hf", "'training.optim'"},
      {"/training/method", "qlora", "'training.method' \"qlora\" is not supported"},
      {"/training/lr_scheduler_type", "cosine_with_restarts", "'training.lr_scheduler_type' \"cosine_with_restarts\""},
      {"/training/lr_scheduler_type", "polynomial", "'training.lr_scheduler_type'"},
      {"/training/overflow", "drop", "'training.overflow' \"drop\""},
      {"/tokenizer/kind", "tiktoken", "'tokenizer.kind' \"tiktoken\""},
      {"/tokenizer/digest", std::string(64, 'a'), "'tokenizer.digest' must be 66847138"},
      {"/training/target_modules", Json::array({"q_proj", "lm_head"}), "unknown module 'lm_head'"},
      {"/training/target_modules", Json::array({"q_proj", "q_proj"}), "'training.target_modules' names 'q_proj' twice"},
      {"/training/target_modules", Json::array(), "'training.target_modules' must name at least one"},
      {"/training/r", 0, "'training.r' must be in [1, 2147483647], got 0"},
      {"/training/r", int64_t{1} << 31, "'training.r' must be in [1, 2147483647]"},
      {"/training/r", 9223372036854775808ull, "'training.r' is out of range"},
      {"/training/lora_alpha", 0, "'training.lora_alpha' must be > 0"},
      {"/training/lora_alpha", -8.0, "'training.lora_alpha' must be > 0"},
      {"/training/learning_rate", 0.0, "'training.learning_rate' must be > 0"},
      {"/training/learning_rate", -1e-3, "'training.learning_rate' must be > 0, got -0.001"},
      {"/training/weight_decay", -0.1, "'training.weight_decay' must be >= 0"},
      {"/training/adam_beta1", 1.0, "'training.adam_beta1' must be in [0, 1)"},
      {"/training/adam_beta2", -0.5, "'training.adam_beta2' must be in [0, 1)"},
      {"/training/adam_epsilon", 0, "'training.adam_epsilon' must be > 0"},
      {"/training/warmup_steps", -1, "'training.warmup_steps' must be in [0,"},
      {"/training/num_train_epochs", 0, "'training.num_train_epochs' must be in [1,"},
      {"/training/max_steps", -2, "'training.max_steps' must be in [-1,"},
      {"/training/per_device_train_batch_size", 0, "'training.per_device_train_batch_size'"},
      {"/training/gradient_accumulation_steps", 0, "'training.gradient_accumulation_steps'"},
      {"/training/max_seq_length", 1, "'training.max_seq_length' must be in [2,"},
      {"/audit_grid/steps_per_block", 0, "'audit_grid.steps_per_block' must be in [1,"},
      {"/audit_grid/layers_per_block", 0, "'audit_grid.layers_per_block' must be in [1,"},
      {"/audit_grid/checkpoint_interval", -1, "'audit_grid.checkpoint_interval' must be in [1,"},
      {"/audit_grid/activation_interval", 0, "'audit_grid.activation_interval' must be in [1,"},
      {"/audit_grid/activation_interval", int64_t{1} << 40, "'audit_grid.activation_interval' must be in [1,"},
      {"/dataset/examples", 0, "'dataset.examples' must be in [1, 2^32 - 1]"},
      {"/dataset/examples", int64_t{1} << 32, "'dataset.examples'"},
  };
  for (const BadValue& b : cases) {
    Json j = CanonicalJsonValue();
    j[Json::json_pointer(b.pointer)] = b.value;
    ExpectError(ParseJson(j), Status::Code::kInvalidArgument, b.key);
  }
  // Non-finite numbers cannot be written in JSON; 1e400 overflows.
  std::string text = Vector()["canonical"].get<std::string>();
  size_t at = text.find("0.0002");
  text.replace(at, 6, "1e400");
  Status st = ParseContract(text, "c.json").status();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("c.json: "), std::string::npos) << st.ToString();
}

TEST(ParseContract, FullFineTuningHasNoLoraKeys) {
  Json j = CanonicalJsonValue();
  j["training"]["method"] = "full";
  ExpectError(ParseJson(j), Status::Code::kCorruption, "'training.r' does not apply to method \"full\"");
  for (const char* k : {"r", "lora_alpha", "target_modules"}) j["training"].erase(k);
  Result<Contract> c = ParseContract(j.dump(), "c.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->training.full_finetune);
  const std::string canonical = CanonicalContract(*c);
  EXPECT_EQ(canonical.find("lora_alpha"), std::string::npos);
  EXPECT_NE(canonical.find("\"method\":\"full\""), std::string::npos);
  Result<Contract> again = ParseContract(canonical, "c.json");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(CanonicalContract(*again), canonical);
  // And a LoRA contract needs them.
  j["training"]["method"] = "lora";
  ExpectError(ParseJson(j), Status::Code::kCorruption, "missing key 'training.r'");
}

TEST(ParseContract, EveryTruncationIsAnError) {
  const std::string canonical = Vector()["canonical"].get<std::string>();
  for (size_t n = 0; n < canonical.size(); ++n) {
    Result<Contract> c = ParseContract(canonical.substr(0, n), "c.json");
    EXPECT_FALSE(c.ok()) << n;
  }
}

TEST(ValidateContract, ChecksTheStruct) {
  Result<Contract> c = ParseContract(Vector()["canonical"].get<std::string>(), "v");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(ValidateContract(*c).ok());
  Contract bad = *c;
  bad.precision = "bf16";
  EXPECT_NE(ValidateContract(bad).message().find("'precision'"), std::string::npos);
  bad = *c;
  bad.training.learning_rate = std::numeric_limits<double>::infinity();
  EXPECT_NE(ValidateContract(bad).message().find("'training.learning_rate' must be finite"), std::string::npos);
  bad = *c;
  bad.training.max_grad_norm = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(ValidateContract(bad).message().find("'training.max_grad_norm' must be finite"), std::string::npos);
  bad = *c;
  bad.grid.layers_per_block = 0;
  EXPECT_DEATH(CanonicalContract(bad), "audit_grid.layers_per_block");
}

// ---- building and verifying against real inputs ------------------------------

// A tiny preset model and a prompt/completion dataset in a fresh directory.
class ContractInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("inputs");
    base_ = dir_ + "/base";
    data_ = dir_ + "/data.jsonl";
    Result<ModelConfig> cfg = PresetConfig("tiny");
    ASSERT_TRUE(cfg.ok());
    cfg_ = *cfg;
    params_ = InitModel(cfg_, 7);
    ASSERT_TRUE(SaveModelDir(base_, cfg_, params_).ok());
    std::string data;
    for (int a = 0; a < 6; ++a)
      data += "{\"prompt\": \"" + std::to_string(a) + "*2=\", \"completion\": \"" + std::to_string(2 * a) + "\"}\n";
    ASSERT_TRUE(WriteFileAtomic(data_, data).ok());
    training_.max_seq_length = 16;
    training_.per_device_train_batch_size = 2;
    training_.max_steps = 3;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Contract Build() {
    Result<Contract> c = BuildContract(base_, data_, training_, grid_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : Contract{};
  }
  // Ok, or the mismatch message.
  Status Verify(const Contract& c) { return VerifyContractInputs(c, base_, data_); }

  std::string dir_, base_, data_;
  ModelConfig cfg_;
  TensorMap params_;
  TrainConfig training_;
  AuditGrid grid_;
};

// A kMismatch listing exactly `count` inputs and mentioning each of `texts`.
void ExpectMismatch(const Status& st, size_t count, const std::vector<std::string>& texts) {
  ASSERT_EQ(st.code(), Status::Code::kMismatch) << st.ToString();
  for (const std::string& t : texts) EXPECT_NE(st.message().find(t), std::string::npos) << t << " in " << st.ToString();
  size_t listed = 0;
  for (size_t at = st.message().find("does not match the contract"); at != std::string::npos;
       at = st.message().find("does not match the contract", at + 1))
    ++listed;
  EXPECT_EQ(listed, count) << st.ToString();
}

TEST_F(ContractInputs, BuildBindsTheDigestsAndNotThePaths) {
  training_.base_model = "/somewhere/else";
  training_.save_steps = 1;
  training_.logging_steps = 1;
  training_.layers_per_block = 1;
  Contract c = Build();
  EXPECT_TRUE(Verify(c).ok());
  Result<ModelDirDigests> d = DigestModelDir(base_);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(c.base_state_digest, d->state);
  EXPECT_EQ(c.base_config_digest, Sha256Of(*ReadFile(base_ + "/config.json")));
  EXPECT_EQ(c.tokenizer_kind, "byte");
  EXPECT_EQ(c.tokenizer_digest, ByteTokenizerDigest());
  EXPECT_EQ(c.dataset_digest, DatasetDigest(*ReadFile(data_)));
  EXPECT_EQ(c.dataset_examples, 6);
  const std::string canonical = CanonicalContract(c);
  EXPECT_EQ(canonical.find("/somewhere"), std::string::npos);
  EXPECT_EQ(canonical.find("save_steps"), std::string::npos);
  // The same terms elsewhere on disk give the same contract.
  std::filesystem::copy(base_, dir_ + "/copy", std::filesystem::copy_options::recursive);
  training_.base_model.clear();
  Result<Contract> again = BuildContract(dir_ + "/copy", data_, training_, grid_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(CanonicalContract(*again), canonical);
  EXPECT_TRUE(VerifyContractInputs(c, dir_ + "/copy", data_).ok());
}

TEST_F(ContractInputs, DatasetByteChangeIsADatasetMismatch) {
  Contract c = Build();
  std::string data = *ReadFile(data_);
  data[data.find("3*2")] = '4';  // one byte of one line
  ASSERT_TRUE(WriteFileAtomic(data_, data).ok());
  Status st = Verify(c);
  ExpectMismatch(st, 1, {"dataset " + data_});
  EXPECT_NE(st.message().find("the contract binds digest " + HashToHex(c.dataset_digest) + " (6 examples)"),
            std::string::npos)
      << st.ToString();
  EXPECT_NE(st.message().find("found digest " + HashToHex(DatasetDigest(data)) + " (6 examples)"),
            std::string::npos)
      << st.ToString();
  // An extra example too.
  ASSERT_TRUE(WriteFileAtomic(data_, data + "{\"prompt\": \"x\", \"completion\": \"y\"}\n").ok());
  ExpectMismatch(Verify(c), 1, {"(7 examples)"});
}

TEST_F(ContractInputs, EmptyLinesAndLineEndingsDoNotChangeTheDataset) {
  Contract c = Build();
  std::string data = *ReadFile(data_);
  std::string crlf;
  for (char ch : data) crlf += ch == '\n' ? std::string("\r\n\n") : std::string(1, ch);
  ASSERT_TRUE(WriteFileAtomic(data_, crlf).ok());
  EXPECT_TRUE(Verify(c).ok());
}

TEST_F(ContractInputs, ChangedTensorIsABaseModelMismatch) {
  Contract c = Build();
  TensorMap changed = params_;
  Tensor& t = changed.at("model.layers.1.mlp.down_proj.weight");
  t.data()[5] = std::nextafter(t.data()[5], 1.0f);  // one ulp of one element
  ASSERT_TRUE(SaveModelDir(base_, cfg_, changed).ok());
  Status st = Verify(c);
  ExpectMismatch(st, 1, {"base model " + base_ + "/model.safetensors", "state digest " + HashToHex(c.base_state_digest)});
  // Stored as bfloat16 instead: the same values, another state.
  ModelConfig bf = cfg_;
  ASSERT_TRUE(SaveModelDir(base_, cfg_, params_).ok());
  EXPECT_TRUE(Verify(c).ok());
  bf.torch_dtype = "bfloat16";
  ASSERT_TRUE(SaveModelDir(base_, bf, params_).ok());
  ExpectMismatch(Verify(c), 2, {"base model " + base_ + "/model.safetensors", "base model config "});
}

TEST_F(ContractInputs, ChangedConfigIsAConfigMismatch) {
  Contract c = Build();
  ModelConfig other = cfg_;
  other.rope_theta = 500000.0;
  ASSERT_TRUE(WriteFileAtomic(base_ + "/config.json", ModelConfigToJson(other)).ok());
  ExpectMismatch(Verify(c), 1, {"base model config " + base_ + "/config.json"});
  // Only whitespace differs: still another file, another digest.
  ASSERT_TRUE(WriteFileAtomic(base_ + "/config.json", ModelConfigToJson(cfg_) + "\n").ok());
  ExpectMismatch(Verify(c), 1, {"base model config "});
  // A config the tokenizer no longer fits is still reported as the mismatch.
  other = cfg_;
  other.vocab_size = 300;
  ASSERT_TRUE(WriteFileAtomic(base_ + "/config.json", ModelConfigToJson(other)).ok());
  Status st = Verify(c);
  ASSERT_EQ(st.code(), Status::Code::kMismatch) << st.ToString();
  EXPECT_NE(st.message().find("base model config " + base_ + "/config.json"), std::string::npos) << st.ToString();
}

TEST_F(ContractInputs, ChangedChatTemplateIsAChatTemplateMismatch) {
  // Without tokenizer_config.json the contract has no chat digest (and keeps its v1 encoding).
  Contract plain = Build();
  EXPECT_FALSE(plain.chat_digest.has_value());
  EXPECT_EQ(CanonicalContract(plain).find("chat_digest"), std::string::npos);
  const std::string tc = base_ + "/tokenizer_config.json";
  const std::string config = R"({"eos_token": "</s>", "chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"})";
  ASSERT_TRUE(WriteFileAtomic(tc, config).ok());
  ExpectMismatch(Verify(plain), 1, {"chat template " + tc, "the contract binds no chat template"});
  Contract c = Build();
  ASSERT_TRUE(c.chat_digest.has_value());
  EXPECT_TRUE(Verify(c).ok());
  Result<Contract> back = ParseContract(CanonicalContract(c), "contract.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->chat_digest, c.chat_digest);
  // One character of the template, or another special token: a mismatch.
  std::string edited = config;
  edited.replace(edited.find("m.content"), 9, "m.role");
  ASSERT_TRUE(WriteFileAtomic(tc, edited).ok());
  ExpectMismatch(Verify(c), 1, {"chat template " + tc, "chat digest " + HashToHex(*c.chat_digest)});
  ASSERT_TRUE(WriteFileAtomic(tc, R"({"eos_token": "<|im_end|>", "chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"})").ok());
  ExpectMismatch(Verify(c), 1, {"chat template "});
  // A chat_template.jinja beside it replaces the template.
  ASSERT_TRUE(WriteFileAtomic(tc, config).ok());
  EXPECT_TRUE(Verify(c).ok());
  ASSERT_TRUE(WriteFileAtomic(base_ + "/chat_template.jinja", "{{ messages[0].content }}").ok());
  ExpectMismatch(Verify(c), 1, {"chat template "});
}

TEST_F(ContractInputs, SeveralMismatchesAreAllNamed) {
  Contract c = Build();
  ModelConfig other = cfg_;
  other.rms_norm_eps = 1e-6;
  ASSERT_TRUE(SaveModelDir(base_, other, InitModel(other, 8)).ok());
  ASSERT_TRUE(WriteFileAtomic(data_, "{\"text\": \"x\"}\n").ok());
  ExpectMismatch(Verify(c), 3, {"base model " + base_, "base model config ", "dataset " + data_});
}

TEST_F(ContractInputs, MissingInputsAreErrorsNamingThem) {
  Contract c = Build();
  std::filesystem::remove(data_);
  Status st = Verify(c);
  EXPECT_EQ(st.code(), Status::Code::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find(data_), std::string::npos) << st.ToString();
  st = VerifyContractInputs(c, dir_ + "/nothing", data_);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find(dir_ + "/nothing/config.json"), std::string::npos) << st.ToString();
}

// Two different SentencePiece models with the same vocabulary size.
std::string TrainSentencePiece(const std::string& words) {
  std::vector<std::string> sentences;
  uint32_t x = 1;
  std::vector<std::string> w;
  for (size_t p = 0, q; p < words.size(); p = q + 1) {
    q = words.find(' ', p);
    if (q == std::string::npos) q = words.size();
    w.push_back(words.substr(p, q - p));
  }
  for (int s = 0; s < 300; ++s) {
    std::string line;
    for (int k = 0; k < 6; ++k) {
      x = x * 1664525u + 1013904223u;
      line += (k ? " " : "") + w[(x >> 16) % w.size()];
    }
    sentences.push_back(line);
  }
  std::string model;
  class It : public sentencepiece::SentenceIterator {
   public:
    explicit It(std::vector<std::string> v) : v_(std::move(v)) {}
    bool done() const override { return i_ >= v_.size(); }
    void Next() override { ++i_; }
    const std::string& value() const override { return v_[i_]; }
    sentencepiece::util::Status status() const override { return {}; }

   private:
    std::vector<std::string> v_;
    size_t i_ = 0;
  } it(sentences);
  auto st = sentencepiece::SentencePieceTrainer::Train(
      "--model_type=bpe --vocab_size=300 --byte_fallback=true --character_coverage=1.0 --unk_id=0 "
      "--bos_id=1 --eos_id=2 --pad_id=-1 --num_threads=1 --minloglevel=2",
      &it, &model);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return model;
}

TEST_F(ContractInputs, ChangedTokenizerIsATokenizerMismatch) {
  ModelConfig sp = cfg_;
  sp.vocab_size = 300;
  sp.bos_token_id = 1;
  sp.eos_token_id = 2;
  ASSERT_TRUE(SaveModelDir(base_, sp, InitModel(sp, 7)).ok());
  const std::string first = TrainSentencePiece("audit trace model data learns step loss gradient batch seed");
  const std::string second = TrainSentencePiece("alpha beta gamma delta epsilon zeta eta theta iota kappa");
  ASSERT_NE(first, second);
  ASSERT_TRUE(WriteFileAtomic(base_ + "/tokenizer.model", first).ok());
  Contract c = Build();
  EXPECT_EQ(c.tokenizer_kind, "sentencepiece");
  EXPECT_EQ(c.tokenizer_digest, Sha256Of(first));
  EXPECT_TRUE(Verify(c).ok());
  ASSERT_TRUE(WriteFileAtomic(base_ + "/tokenizer.model", second).ok());
  Status st = Verify(c);
  ExpectMismatch(st, 1, {"tokenizer " + base_ + "/tokenizer.model", "found sentencepiece " + HashToHex(Sha256Of(second)),
                      "the contract binds sentencepiece " + HashToHex(Sha256Of(first))});
}

TEST_F(ContractInputs, BuildRefusesAJobThatCannotRun) {
  // The terms are checked before any input is read.
  TrainConfig bad = training_;
  bad.lora.r = 0;
  Result<Contract> c = BuildContract(dir_ + "/nothing", data_, bad, grid_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'training.r'"), std::string::npos) << c.status().ToString();
  bad = training_;
  bad.max_seq_length = 300;  // tiny has 256 positions
  c = BuildContract(base_, data_, bad, grid_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'training.max_seq_length' 300 exceeds max_position_embeddings 256"),
            std::string::npos)
      << c.status().ToString();
  bad = training_;
  bad.max_seq_length = 4;  // every example is longer; overflow "reject"
  c = BuildContract(base_, data_, bad, grid_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(data_ + ":1:"), std::string::npos) << c.status().ToString();
  ASSERT_TRUE(WriteFileAtomic(data_, "{\"text\": \"a\"}\n{\"text\": 5}\n").ok());
  c = BuildContract(base_, data_, training_, grid_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(data_ + ":2:"), std::string::npos) << c.status().ToString();
  c = BuildContract(base_, dir_ + "/none.jsonl", training_, grid_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(dir_ + "/none.jsonl"), std::string::npos) << c.status().ToString();
  // A weights file without a tensor config.json implies.
  TensorMap fewer = params_;
  fewer.erase("model.layers.1.self_attn.k_proj.weight");
  ASSERT_TRUE(SaveModelDir(base_, cfg_, fewer).ok());
  c = BuildContract(base_, data_, training_, grid_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no tensor 'model.layers.1.self_attn.k_proj.weight'"), std::string::npos)
      << c.status().ToString();
}

TEST_F(ContractInputs, TheTrainConfigOfAContractRuns) {
  grid_ = {2, 1, 3, 1};
  Contract c = Build();
  TrainConfig t = ContractTrainConfig(c, base_);
  EXPECT_EQ(t.base_model, base_);
  EXPECT_EQ(t.layers_per_block, 1);
  EXPECT_EQ(t.save_steps, 6);
  EXPECT_EQ(t.max_steps, 3);
  EXPECT_EQ(t.max_seq_length, 16);
  // Through the text and back, the same configuration.
  Result<Contract> parsed = ParseContract(CanonicalContract(c), "c");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(TrainConfigToJson(ContractTrainConfig(*parsed, base_)), TrainConfigToJson(t));

  Result<LoadedModel> m = LoadModelDir(base_);
  ASSERT_TRUE(m.ok());
  std::unique_ptr<Tokenizer> tok = std::move(LoadTokenizer(base_, m->config).value());
  Result<Dataset> ds = ParseJsonlDataset(*ReadFile(data_), data_, *tok, {t.max_seq_length, t.overflow});
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  auto trainer = Trainer::Create(t, std::move(*m), &*ds);
  ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
  EXPECT_EQ((*trainer)->blocks().size(), 2u);
  EXPECT_EQ((*trainer)->total_steps(), 3);
  Result<StepReport> r = (*trainer)->RunStep();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(std::isfinite(r->loss));
}

TEST_F(ContractInputs, FullFineTuningContract) {
  training_.full_finetune = true;
  Contract c = Build();
  EXPECT_FALSE(c.training.lora.enabled());
  const std::string canonical = CanonicalContract(c);
  EXPECT_EQ(canonical.find("\"r\":"), std::string::npos);
  EXPECT_EQ(canonical.find("target_modules"), std::string::npos);
  EXPECT_TRUE(ContractTrainConfig(c, base_).full_finetune);
  // The LoRA settings the caller left in do not change a full contract.
  training_.lora.r = 64;
  EXPECT_EQ(CanonicalContract(Build()), canonical);
}

}  // namespace
}  // namespace aftune
