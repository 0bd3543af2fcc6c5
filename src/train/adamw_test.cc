// AdamW against torch.optim.AdamW (tests/oracle/adamw_ref.py: float32,
// foreach=False, LambdaLR with HF's lambdas, clip_grad_norm_) over a dozen
// steps; against a plain transcription of adamw.h's formula bit for bit; and
// bit-identical across thread counts, repeated runs and save/restore.
#include "train/adamw.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "model/test_util.h"
#include "tensor/philox.h"
#include "tensor/thread_pool.h"
#include "train/grad_clip.h"
#include "train/schedule.h"

namespace aftune {
namespace {

using testing::RelativeL2;

// Several parameter tensors: norm weights and a bias (no decay under HF's
// rule), a matrix larger than one norm chunk and one thread chunk, LoRA-like.
TensorMap MakeParams() {
  const std::pair<const char*, std::vector<int64_t>> kShapes[] = {
      {"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", {96, 4}},
      {"lm_head.weight", {61, 96}},
      {"model.layers.0.input_layernorm.weight", {96}},
      {"model.layers.0.mlp.up_proj.weight", {300, 250}},
      {"model.layers.0.self_attn.q_proj.bias", {3}},
      {"model.norm.weight", {96}},
  };
  TensorMap out;
  for (const auto& [name, shape] : kShapes) {
    Tensor t(shape);
    Philox rng(21, RandomPurpose::kWeightInit, TensorStream(name));
    bool norm = std::string(name).find("norm") != std::string::npos;
    for (int64_t i = 0; i < t.numel(); ++i)
      t[i] = (norm ? 1.0f : 0.0f) + (norm ? 0.1f : 0.02f) * rng.Normal(static_cast<uint64_t>(i));
    out.emplace(name, std::move(t));
  }
  return out;
}

// Step k's gradients, with a global norm near kScale[k % 12] (so clipping at
// 1.0 acts on some steps only). The bias gradient is zero for two steps.
TensorMap MakeGrads(const TensorMap& params, int k) {
  const float kScale[] = {0.3f, 2.5f, 0.9f, 5.0f, 0.1f, 1.7f, 0.6f, 3.0f, 1.2f, 0.05f, 4.0f, 0.8f};
  int64_t total = 0;
  for (const auto& [name, p] : params) total += p.numel();
  float s = kScale[k % 12] / std::sqrt(static_cast<float>(total));
  TensorMap g;
  for (const auto& [name, p] : params) {
    Tensor t(p.shape());
    Philox rng(22, RandomPurpose::kWeightInit, TensorStream(name) ^ static_cast<uint32_t>(k + 1));
    bool zero = name.ends_with(".bias") && (k == 0 || k == 1);
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = zero ? 0.0f : s * rng.Normal(static_cast<uint64_t>(i));
    g.emplace(name, std::move(t));
  }
  return g;
}

struct RunCase {
  const char* name;
  AdamWConfig adam;
  ScheduleConfig sched;
  std::optional<double> max_grad_norm;
  int steps;
  bool hf_no_decay;
};

AdamWConfig Adam(double b1, double b2, double eps, double wd) {
  AdamWConfig c;
  c.beta1 = b1;
  c.beta2 = b2;
  c.eps = eps;
  c.weight_decay = wd;
  return c;
}

const RunCase kCases[] = {
    {"hf_cosine_clip", Adam(0.9, 0.999, 1e-8, 0.1), {LrSchedule::kCosine, 1e-3, 3, 12}, 1.0, 12, true},
    // beta1 < 0.5 takes ATen lerp's other branch.
    {"linear_beta1_0p3", Adam(0.3, 0.99, 1e-6, 0.01), {LrSchedule::kLinear, 5e-3, 0, 10}, std::nullopt, 10, false},
    {"constant_always_clipped", Adam(0.9, 0.95, 1e-8, 0.0), {LrSchedule::kConstantWithWarmup, 2e-3, 2, 10}, 0.02, 11, true},
};

struct Trajectory {
  std::vector<TensorMap> params, state;  // after each step
  std::vector<float> lr, norm;
};

// The trainer's order per step: clip (or just measure), then AdamW with the
// step's learning rate.
Trajectory RunSteps(const RunCase& rc) {
  TensorMap params = MakeParams();
  AdamWConfig cfg = rc.adam;
  if (rc.hf_no_decay) cfg.no_decay = HfNoDecayNames(params);
  AdamW opt(cfg, params);
  Trajectory tr;
  for (int k = 0; k < rc.steps; ++k) {
    TensorMap grads = MakeGrads(params, k);
    tr.norm.push_back(rc.max_grad_norm ? ClipGradNorm(*rc.max_grad_norm, &grads) : GlobalGradNorm(grads));
    tr.lr.push_back(LearningRate(rc.sched, k));
    opt.Step(tr.lr.back(), grads, &params);
    EXPECT_EQ(opt.step(), k + 1);
    tr.params.push_back(params);
    tr.state.push_back(opt.state());
  }
  return tr;
}

class AdamWOracleTest : public ::testing::TestWithParam<RunCase> {};

TEST_P(AdamWOracleTest, MatchesPyTorch) {
  const RunCase& rc = GetParam();
  std::string dir = testing::TempDir(std::string("adamw-") + rc.name);
  TensorMap params = MakeParams();
  TensorMap inputs;
  for (const auto& [name, p] : params) inputs.emplace("param/" + name, p);
  for (int k = 0; k < rc.steps; ++k)
    for (auto& [name, g] : MakeGrads(params, k)) inputs.emplace("grad/" + std::to_string(k) + "/" + name, g);
  ASSERT_TRUE(WriteSafetensors(dir + "/inputs.safetensors", inputs, DType::kF32).ok());
  nlohmann::json req = {{"beta1", rc.adam.beta1}, {"beta2", rc.adam.beta2}, {"eps", rc.adam.eps},
                        {"weight_decay", rc.adam.weight_decay}, {"steps", rc.steps}};
  req["no_decay"] = nlohmann::json::array();
  if (rc.hf_no_decay)
    for (const std::string& n : HfNoDecayNames(params)) req["no_decay"].push_back(n);
  req["max_grad_norm"] = rc.max_grad_norm ? nlohmann::json(*rc.max_grad_norm) : nlohmann::json(nullptr);
  req["schedule"] = {{"type", LrScheduleName(rc.sched.type)}, {"learning_rate", rc.sched.learning_rate},
                     {"warmup_steps", rc.sched.warmup_steps}, {"total_steps", rc.sched.total_steps}};
  std::ofstream(dir + "/request.json") << req.dump();
  std::string cmd = std::string(AFTUNE_PYTHON) + " " + AFTUNE_SOURCE_DIR + "/tests/oracle/adamw_ref.py adamw " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto ref = ReadSafetensorsF32(dir + "/ref.safetensors");
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  nlohmann::json ref_json = nlohmann::json::parse(std::ifstream(dir + "/ref.json"));

  Trajectory tr = RunSteps(rc);
  double worst[3] = {0, 0, 0}, worst_update = 0, worst_lr = 0, worst_norm = 0;
  for (int k = 0; k < rc.steps; ++k) {
    double ref_lr = ref_json["lr"][k].get<double>(), ref_norm = ref_json["norm"][k].get<double>();
    double lr_err = ref_lr == 0 ? std::fabs(tr.lr[k]) : std::fabs(tr.lr[k] - ref_lr) / ref_lr;
    double norm_err = std::fabs(tr.norm[k] - ref_norm) / ref_norm;
    EXPECT_LE(lr_err, 1e-6) << "step " << k;
    EXPECT_LE(norm_err, 1e-6) << "step " << k;
    worst_lr = std::max(worst_lr, lr_err);
    worst_norm = std::max(worst_norm, norm_err);
    const std::string prefix = std::to_string(k) + "/";
    for (const auto& [name, p] : tr.params[k]) {
      const Tensor* mine[3] = {&p, &tr.state[k].at(ExpAvgName(name)), &tr.state[k].at(ExpAvgSqName(name))};
      const char* kinds[3] = {"param/", "exp_avg/", "exp_avg_sq/"};
      for (int j = 0; j < 3; ++j) {
        const Tensor& r = ref->at(prefix + kinds[j] + name);
        double err = RelativeL2(*mine[j], r);
        EXPECT_LE(err, 1e-5) << "step " << k << " " << kinds[j] << name;
        worst[j] = std::max(worst[j], err);
      }
      // The step's update p_k - p_{k-1}, a far more sensitive measure.
      const Tensor& before = k == 0 ? inputs.at("param/" + name) : tr.params[k - 1].at(name);
      const Tensor& ref_before = k == 0 ? inputs.at("param/" + name) : ref->at(std::to_string(k - 1) + "/param/" + name);
      const Tensor& r = ref->at(prefix + "param/" + name);
      Tensor du(p.shape()), ref_du(p.shape());
      for (int64_t i = 0; i < p.numel(); ++i) {
        du[i] = static_cast<float>(static_cast<double>(p[i]) - before[i]);
        ref_du[i] = static_cast<float>(static_cast<double>(r[i]) - ref_before[i]);
      }
      double derr = RelativeL2(du, ref_du);
      EXPECT_LE(derr, 1e-3) << "step " << k << " update of " << name;
      worst_update = std::max(worst_update, derr);
    }
  }
  std::printf("%s: %d steps, max relative L2 error: params %.2e, exp_avg %.2e, exp_avg_sq %.2e, "
              "updates %.2e; lr %.2e, grad norm %.2e\n",
              rc.name, rc.steps, worst[0], worst[1], worst[2], worst_update, worst_lr, worst_norm);
}

INSTANTIATE_TEST_SUITE_P(Cases, AdamWOracleTest, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// adamw.h's formula written out per element, single-threaded.
void NaiveStep(const AdamWConfig& c, int64_t t, float lr, const TensorMap& grads, TensorMap* params,
               TensorMap* state) {
  const float decay = static_cast<float>(1.0 - static_cast<double>(lr) * c.weight_decay);
  const float w1 = static_cast<float>(1.0 - c.beta1);
  const float beta2 = static_cast<float>(c.beta2), c2 = static_cast<float>(1.0 - c.beta2);
  const float eps = static_cast<float>(c.eps);
  const float neg_step = static_cast<float>(-(static_cast<double>(lr) / (1.0 - PowBySquaring(c.beta1, t))));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - PowBySquaring(c.beta2, t)));
  for (auto& [name, p] : *params) {
    const Tensor& g = grads.at(name);
    Tensor& m = state->at(ExpAvgName(name));
    Tensor& v = state->at(ExpAvgSqName(name));
    for (int64_t i = 0; i < p.numel(); ++i) {
      if (!c.no_decay.count(name)) p[i] = p[i] * decay;
      m[i] = w1 < 0.5f ? m[i] + w1 * (g[i] - m[i]) : g[i] - (g[i] - m[i]) * (1.0f - w1);
      v[i] = v[i] * beta2;
      v[i] = v[i] + (c2 * g[i]) * g[i];
      float d = std::sqrt(v[i]) / bc2_sqrt + eps;
      p[i] = p[i] + (neg_step * m[i]) / d;
    }
  }
}

TEST(AdamWTest, MatchesNaiveFormulaBitForBit) {
  for (const RunCase& rc : kCases) {
    Trajectory tr = RunSteps(rc);
    TensorMap params = MakeParams();
    AdamWConfig cfg = rc.adam;
    if (rc.hf_no_decay) cfg.no_decay = HfNoDecayNames(params);
    TensorMap state = AdamW(cfg, params).state();
    for (int k = 0; k < rc.steps; ++k) {
      TensorMap grads = MakeGrads(params, k);
      if (rc.max_grad_norm) ClipGradNorm(*rc.max_grad_norm, &grads);
      NaiveStep(cfg, k + 1, LearningRate(rc.sched, k), grads, &params, &state);
      for (const auto& [name, p] : params) ASSERT_TRUE(p.BitEqual(tr.params[k].at(name))) << rc.name << k << name;
      for (const auto& [name, s] : state) ASSERT_TRUE(s.BitEqual(tr.state[k].at(name))) << rc.name << k << name;
    }
  }
}

uint64_t Fnv1a(const std::vector<TensorMap>& maps) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const TensorMap& m : maps)
    for (const auto& [name, t] : m)
      for (int64_t i = 0; i < t.numel(); ++i) {
        uint32_t u = std::bit_cast<uint32_t>(t[i]);
        for (int b = 0; b < 4; ++b) h = (h ^ ((u >> (8 * b)) & 0xff)) * 0x100000001b3ull;
      }
  return h;
}

TEST(AdamWTest, BitIdenticalAcrossThreadsAndRuns) {
  for (const RunCase& rc : kCases) {
    SetDefaultThreads(1);
    Trajectory base = RunSteps(rc);
    uint64_t h = Fnv1a({base.params.back(), base.state.back()});
    for (int threads : {2, 3, 8, 1, 8}) {
      SetDefaultThreads(threads);
      Trajectory tr = RunSteps(rc);
      EXPECT_EQ(Fnv1a({tr.params.back(), tr.state.back()}), h) << rc.name << " threads " << threads;
      for (int k = 0; k < rc.steps; ++k) {
        EXPECT_EQ(std::bit_cast<uint32_t>(tr.norm[k]), std::bit_cast<uint32_t>(base.norm[k]));
        for (const auto& [name, p] : tr.params[k]) EXPECT_TRUE(p.BitEqual(base.params[k].at(name)));
        for (const auto& [name, s] : tr.state[k]) EXPECT_TRUE(s.BitEqual(base.state[k].at(name)));
      }
    }
  }
  SetDefaultThreads(DefaultThreadCount());
}

// The final state of the first case, pinned: every machine and instruction set
// must produce these bits.
TEST(AdamWTest, PinnedFinalState) {
  Trajectory tr = RunSteps(kCases[0]);
  uint64_t h = Fnv1a({tr.params.back(), tr.state.back()});
  EXPECT_EQ(h, 0x2174268f16e4719aull) << std::hex << "0x" << h;
}

TEST(AdamWTest, RestoreContinuesBitForBit) {
  const RunCase& rc = kCases[0];
  Trajectory full = RunSteps(rc);
  TensorMap params = MakeParams();
  AdamWConfig cfg = rc.adam;
  cfg.no_decay = HfNoDecayNames(params);
  TensorMap saved_state;
  int64_t saved_step = 0;
  {
    AdamW opt(cfg, params);
    for (int k = 0; k < 5; ++k) {
      TensorMap g = MakeGrads(params, k);
      ClipGradNorm(*rc.max_grad_norm, &g);
      opt.Step(LearningRate(rc.sched, k), g, &params);
    }
    saved_state = opt.state();
    saved_step = opt.step();
  }
  auto opt = AdamW::Restore(cfg, params, saved_state, saved_step);
  ASSERT_TRUE(opt.ok()) << opt.status().ToString();
  EXPECT_EQ(opt->step(), 5);
  for (int k = 5; k < rc.steps; ++k) {
    TensorMap g = MakeGrads(params, k);
    ClipGradNorm(*rc.max_grad_norm, &g);
    opt->Step(LearningRate(rc.sched, k), g, &params);
  }
  for (const auto& [name, p] : params) EXPECT_TRUE(p.BitEqual(full.params.back().at(name))) << name;
  for (const auto& [name, s] : opt->state()) EXPECT_TRUE(s.BitEqual(full.state.back().at(name))) << name;
}

TEST(AdamWTest, RestoreRejectsBadState) {
  TensorMap params = MakeParams();
  AdamWConfig cfg;
  TensorMap good = AdamW(cfg, params).state();
  ASSERT_EQ(good.size(), 2 * params.size());
  EXPECT_TRUE(good.count("lm_head.weight.exp_avg") && good.count("lm_head.weight.exp_avg_sq"));
  EXPECT_TRUE(AdamW::Restore(cfg, params, good, 7).ok());

  auto expect_corrupt = [&](TensorMap state, int64_t step, const std::string& what) {
    auto r = AdamW::Restore(cfg, params, std::move(state), step);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << what;
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().ToString();
  };
  expect_corrupt(good, -1, "negative step");
  TensorMap missing = good;
  missing.erase("model.norm.weight.exp_avg_sq");
  expect_corrupt(missing, 1, "missing model.norm.weight.exp_avg_sq");
  TensorMap extra = good;
  extra.emplace("model.norm.weight.exp_avg_max", Tensor({96}));
  expect_corrupt(extra, 1, "unexpected tensor model.norm.weight.exp_avg_max");
  TensorMap renamed = missing;
  renamed.emplace("model.norm.weight.exp_avg_sq2", Tensor({96}));
  expect_corrupt(renamed, 1, "missing model.norm.weight.exp_avg_sq");
  TensorMap shaped = good;
  shaped.at("lm_head.weight.exp_avg") = Tensor({96, 61});
  expect_corrupt(shaped, 1, "lm_head.weight.exp_avg has shape [96, 61]");

  AdamWConfig bad = cfg;
  bad.beta2 = 1.0;
  auto r = AdamW::Restore(bad, params, good, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

TEST(AdamWTest, ValidateConfig) {
  EXPECT_TRUE(ValidateAdamWConfig(AdamWConfig{}).ok());
  EXPECT_TRUE(ValidateAdamWConfig(Adam(0.0, 0.0, 1e-8, 0.0)).ok());
  for (const AdamWConfig& c : {Adam(1.0, 0.999, 1e-8, 0), Adam(-0.1, 0.999, 1e-8, 0), Adam(0.9, 1.0, 1e-8, 0),
                               Adam(0.9, NAN, 1e-8, 0), Adam(0.9, 0.999, 0.0, 0), Adam(0.9, 0.999, 1e-8, -1e-2),
                               Adam(0.9, 0.999, INFINITY, 0), Adam(0.9, 0.999, 1e-8, NAN)})
    EXPECT_EQ(ValidateAdamWConfig(c).code(), Status::Code::kInvalidArgument);
}

TEST(AdamWTest, HfNoDecayNames) {
  TensorMap p;
  for (const char* n : {"model.embed_tokens.weight", "model.layers.0.input_layernorm.weight",
                        "model.layers.0.post_attention_layernorm.weight", "model.layers.0.self_attn.q_proj.weight",
                        "model.layers.0.self_attn.q_proj.bias", "model.norm.weight", "lm_head.weight",
                        "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight", "model.final_norm.weight",
                        "model.normal.weight"})
    p.emplace(n, Tensor({1}));
  std::set<std::string> want = {"model.layers.0.input_layernorm.weight",
                                "model.layers.0.post_attention_layernorm.weight",
                                "model.layers.0.self_attn.q_proj.bias", "model.norm.weight",
                                "model.final_norm.weight"};
  EXPECT_EQ(HfNoDecayNames(p), want);
}

TEST(AdamWTest, PowBySquaring) {
  EXPECT_EQ(PowBySquaring(0.9, 0), 1.0);
  EXPECT_EQ(PowBySquaring(0.9, 1), 0.9);
  EXPECT_EQ(PowBySquaring(0.9, 2), 0.9 * 0.9);
  EXPECT_EQ(PowBySquaring(0.9, 5), ((0.9 * 0.9) * (0.9 * 0.9)) * 0.9);
  EXPECT_EQ(PowBySquaring(0.0, 3), 0.0);
  for (double b : {0.9, 0.95, 0.999, 0.3})
    for (int64_t t : {3, 10, 77, 1000, 12345, 1000000}) {
      double ref = std::pow(b, static_cast<double>(t));
      EXPECT_LE(std::fabs(PowBySquaring(b, t) - ref), 1e-13 * ref + 1e-300) << b << "^" << t;
    }
}

// One step by hand: with g = 1 and zero moments, the bias-corrected update is
// lr * 1 / (1 + eps) for every element.
TEST(AdamWTest, FirstStepByHand) {
  TensorMap params{{"w", Tensor({4})}};
  params.at("w").Fill(2.0f);
  TensorMap grads{{"w", Tensor({4})}};
  grads.at("w").Fill(1.0f);
  AdamW opt(Adam(0.9, 0.999, 1e-8, 0.0), params);
  opt.Step(0.5f, grads, &params);
  for (int64_t i = 0; i < 4; ++i) EXPECT_NEAR(params.at("w")[i], 1.5f, 1e-6f);
  EXPECT_FLOAT_EQ(opt.state().at("w.exp_avg")[0], 0.1f);
  EXPECT_FLOAT_EQ(opt.state().at("w.exp_avg_sq")[0], 0.001f);
}

}  // namespace
}  // namespace aftune
