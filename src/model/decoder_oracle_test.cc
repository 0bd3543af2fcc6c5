// The engine against an independent oracle: a plain-PyTorch LLaMA-family
// decoder in float64 (tests/oracle/llama_ref.py) loads the same config.json
// and safetensors; logits, loss and the gradient of every trainable tensor
// must agree to <= 1e-5 relative L2 error, for plain LLaMA and for each
// architecture feature (biases, q/k norms, sliding window, RoPE scaling),
// and the reference without the feature must not.
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
  std::string name;
  ModelConfig cfg;
  bool lora;
  const char* feature = nullptr;  // the architecture feature the case exercises
};

void PrintTo(const OracleCase& c, std::ostream* os) { *os << c.name; }

// Runs the engine and llama_ref.py (leaving out `ablate` there) on the same
// model and batch; returns the largest relative L2 error over the logits, the
// loss and every gradient. With `expect_match`, also expects each <= 1e-5.
double OracleError(const OracleCase& tc, const std::string& ablate, bool expect_match) {
  const ModelConfig& cfg = tc.cfg;
  std::string dir = testing::TempDir("oracle-" + tc.name + (ablate.empty() ? "" : "-no-" + ablate));
  TensorMap params = InitModel(cfg, 11);
  testing::RandomizeBiasesAndQkNorms(params, 13);
  EXPECT_TRUE(SaveModelDir(dir, cfg, params).ok());

  LoraConfig lora;
  nlohmann::json request;
  if (tc.lora) {
    lora.r = 4;
    lora.lora_alpha = 8;
    lora.target_modules.assign(std::begin(kAllProjs), std::end(kAllProjs));
    TensorMap adapter = testing::RandomLora(cfg, lora, 5);
    EXPECT_TRUE(WriteSafetensors(dir + "/adapter.safetensors", adapter, DType::kF32).ok());
    nlohmann::json targets = nlohmann::json::array();
    for (Proj p : lora.target_modules) targets.push_back(ProjName(p));
    request["adapter"] = {{"path", dir + "/adapter.safetensors"}, {"r", lora.r},
                          {"lora_alpha", lora.lora_alpha}, {"target_modules", targets}};
    params.merge(adapter);
  } else {
    request["adapter"] = nullptr;
  }
  request["train"] = tc.lora ? "lora" : "full";
  request["ablate"] = nlohmann::json::array();
  if (!ablate.empty()) request["ablate"].push_back(ablate);

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
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto ref = ReadSafetensorsF32(dir + "/ref.safetensors");
  EXPECT_TRUE(ref.ok()) << ref.status().ToString();
  if (!ref.ok()) return 1e30;

  auto decoder = Decoder::Create(cfg, lora, WholeModel(cfg), &params);
  EXPECT_TRUE(decoder.ok()) << decoder.status().ToString();
  if (!decoder.ok()) return 1e30;
  Activations acts;
  (*decoder)->Forward(batch, nullptr, true, &acts);
  TensorMap grads = testing::ZeroGrads(params, tc.lora);
  (*decoder)->Backward(batch, nullptr, &acts, &grads, nullptr);

  double worst = RelativeL2(acts.logits, ref->at("logits"));
  if (expect_match) {
    EXPECT_LE(worst, 1e-5) << "logits";
  }
  const double ref_loss = ref->at("loss")[0];
  const double loss_err = std::abs(acts.loss.loss - ref_loss) / std::abs(ref_loss);
  if (expect_match) {
    EXPECT_LE(loss_err, 1e-5) << "loss";
  }
  worst = std::max(worst, loss_err);
  EXPECT_FALSE(grads.empty());
  for (const auto& [name, g] : grads) {
    auto it = ref->find("grad/" + name);
    EXPECT_NE(it, ref->end()) << name;
    if (it == ref->end()) return 1e30;
    double err = RelativeL2(g, it->second);
    if (expect_match) {
      EXPECT_LE(err, 1e-5) << name;
    }
    worst = std::max(worst, err);
  }
  std::printf("%s%s: %zu gradients, largest relative L2 error %.2e\n", tc.name.c_str(),
              ablate.empty() ? "" : (" vs reference without " + ablate).c_str(), grads.size(), worst);
  return worst;
}

class DecoderOracleTest : public ::testing::TestWithParam<OracleCase> {};

TEST_P(DecoderOracleTest, MatchesPyTorch) { OracleError(GetParam(), "", true); }

// The reference without the case's feature must disagree: the comparison
// above sees the feature (its biases, q/k norms, window or RoPE scaling).
TEST_P(DecoderOracleTest, ReferenceWithoutTheFeatureDisagrees) {
  const OracleCase& tc = GetParam();
  if (tc.feature == nullptr) GTEST_SKIP() << "plain LLaMA case";
  EXPECT_GT(OracleError(tc, tc.feature, false), 1e-3);
}

// GQA or not, tied or untied, a head_dim that is not a power of two (12, 24)
// and one that differs from hidden_size / heads (24 with C = 64, H = 4); then
// each architecture feature, full fine-tuning and LoRA.
std::vector<OracleCase> Cases() {
  std::vector<OracleCase> out = {
      {"gqa_untied_full", testing::TestConfig(64, 4, 2, 16, 2, false), false},
      {"gqa_untied_lora", testing::TestConfig(64, 4, 2, 16, 2, false), true},
      {"mha_tied_d12_full", testing::TestConfig(36, 3, 3, 12, 2, true), false},
      {"mha_tied_d12_lora", testing::TestConfig(36, 3, 3, 12, 2, true), true},
      {"gqa_d24_full", testing::TestConfig(64, 4, 1, 24, 3, false), false},
      {"gqa_d24_tied_lora", testing::TestConfig(64, 4, 1, 24, 3, true), true},
  };
  for (const testing::ArchCase& a : testing::ArchitectureCases()) {
    out.push_back({std::string(a.name) + "_full", a.cfg, false, a.feature});
    out.push_back({std::string(a.name) + "_lora", a.cfg, true, a.feature});
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(Configs, DecoderOracleTest, ::testing::ValuesIn(Cases()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace aftune
