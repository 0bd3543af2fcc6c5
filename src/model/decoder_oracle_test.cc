// The engine against an independent oracle: a plain-PyTorch LLaMA in float64
// (tests/oracle/llama_ref.py) loads the same safetensors; logits, loss and the
// gradient of every trainable tensor must agree to <= 1e-5 relative L2 error.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "model/model_dir.h"
#include "model/safetensors.h"
#include "model/test_util.h"

namespace aftune {
namespace {

using testing::RelativeL2;

struct OracleCase {
  const char* name;
  ModelConfig cfg;
  bool lora;
};

class DecoderOracleTest : public ::testing::TestWithParam<OracleCase> {};

TEST_P(DecoderOracleTest, MatchesPyTorch) {
  const OracleCase& tc = GetParam();
  const ModelConfig& cfg = tc.cfg;
  std::string dir = testing::TempDir(std::string("oracle-") + tc.name);
  TensorMap params = InitModel(cfg, 11);
  ASSERT_TRUE(SaveModelDir(dir, cfg, params).ok());

  LoraConfig lora;
  nlohmann::json request;
  if (tc.lora) {
    lora.r = 4;
    lora.lora_alpha = 8;
    lora.target_modules.assign(std::begin(kAllProjs), std::end(kAllProjs));
    TensorMap adapter = testing::RandomLora(cfg, lora, 5);
    ASSERT_TRUE(WriteSafetensors(dir + "/adapter.safetensors", adapter, DType::kF32).ok());
    nlohmann::json targets = nlohmann::json::array();
    for (Proj p : lora.target_modules) targets.push_back(ProjName(p));
    request["adapter"] = {{"path", dir + "/adapter.safetensors"}, {"r", lora.r},
                          {"lora_alpha", lora.lora_alpha}, {"target_modules", targets}};
    params.merge(adapter);
  } else {
    request["adapter"] = nullptr;
  }
  request["train"] = tc.lora ? "lora" : "full";

  auto seqs = testing::RandomSequences({6, 10, 3}, cfg.vocab_size, 1);
  PackedBatch batch = testing::BatchWithIgnored(seqs);
  request["sequences"] = nlohmann::json::array();
  for (int64_t s = 0; s < batch.num_sequences(); ++s) {
    auto b = batch.starts[s], e = batch.starts[s + 1];
    request["sequences"].push_back(
        {{"tokens", std::vector<int32_t>(batch.tokens.begin() + b, batch.tokens.begin() + e)},
         {"targets", std::vector<int32_t>(batch.targets.begin() + b, batch.targets.begin() + e)}});
  }
  std::ofstream(dir + "/request.json") << request.dump();

  std::string cmd = std::string(AFTUNE_PYTHON) + " " + AFTUNE_SOURCE_DIR + "/tests/oracle/llama_ref.py " + dir +
                    " " + dir + "/request.json " + dir + "/ref.safetensors";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto ref = ReadSafetensorsF32(dir + "/ref.safetensors");
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();

  auto decoder = Decoder::Create(cfg, lora, WholeModel(cfg), &params);
  ASSERT_TRUE(decoder.ok()) << decoder.status().ToString();
  Activations acts;
  (*decoder)->Forward(batch, nullptr, true, &acts);
  TensorMap grads = testing::ZeroGrads(params, tc.lora);
  (*decoder)->Backward(batch, nullptr, &acts, &grads, nullptr);

  double worst = RelativeL2(acts.logits, ref->at("logits"));
  EXPECT_LE(worst, 1e-5);
  EXPECT_NEAR(acts.loss.loss, ref->at("loss")[0], 1e-5 * ref->at("loss")[0]);
  ASSERT_FALSE(grads.empty());
  for (const auto& [name, g] : grads) {
    auto it = ref->find("grad/" + name);
    ASSERT_NE(it, ref->end()) << name;
    double err = RelativeL2(g, it->second);
    EXPECT_LE(err, 1e-5) << name;
    worst = std::max(worst, err);
  }
  std::printf("%s: %zu gradients, largest relative L2 error %.2e\n", tc.name, grads.size(), worst);
}

// GQA or not, tied or untied, a head_dim that is not a power of two (12, 24)
// and one that differs from hidden_size / heads (24 with C = 64, H = 4).
const OracleCase kCases[] = {
    {"gqa_untied_full", testing::TestConfig(64, 4, 2, 16, 2, false), false},
    {"gqa_untied_lora", testing::TestConfig(64, 4, 2, 16, 2, false), true},
    {"mha_tied_d12_full", testing::TestConfig(36, 3, 3, 12, 2, true), false},
    {"mha_tied_d12_lora", testing::TestConfig(36, 3, 3, 12, 2, true), true},
    {"gqa_d24_full", testing::TestConfig(64, 4, 1, 24, 3, false), false},
    {"gqa_d24_tied_lora", testing::TestConfig(64, 4, 1, 24, 3, true), true},
};
INSTANTIATE_TEST_SUITE_P(Configs, DecoderOracleTest, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace aftune
