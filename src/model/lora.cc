#include "model/lora.h"

#include <algorithm>

#include "tensor/mathfn.h"
#include "tensor/philox.h"

namespace aftune {

bool LoraConfig::Targets(Proj p) const {
  return std::find(target_modules.begin(), target_modules.end(), p) != target_modules.end();
}

std::map<std::string, std::vector<int64_t>> LoraTensorShapes(const ModelConfig& cfg,
                                                              const LoraConfig& lora, LayerSpan span) {
  std::map<std::string, std::vector<int64_t>> shapes;
  if (!lora.enabled()) return shapes;
  for (int64_t l = span.begin; l < span.end; ++l) {
    for (Proj p : lora.target_modules) {
      std::vector<int64_t> w = ProjShape(cfg, p);  // [out, in]
      shapes[LoraAName(l, p)] = {lora.r, w[1]};
      shapes[LoraBName(l, p)] = {w[0], lora.r};
    }
  }
  return shapes;
}

uint32_t TensorStream(const std::string& name) {
  uint32_t h = 2166136261u;
  for (unsigned char c : name) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

TensorMap InitLora(const ModelConfig& cfg, const LoraConfig& lora, LayerSpan span, uint64_t seed) {
  TensorMap out;
  for (const auto& [name, shape] : LoraTensorShapes(cfg, lora, span)) {
    Tensor t(shape);
    if (name.find(".lora_A.") != std::string::npos) {
      const float bound = RsqrtF(static_cast<float>(shape[1]));
      Philox rng(seed, RandomPurpose::kLoraInit, TensorStream(name));
      for (int64_t i = 0; i < t.numel(); ++i) t[i] = (2.0f * rng.Uniform(static_cast<uint64_t>(i)) - 1.0f) * bound;
    }
    out.emplace(name, std::move(t));
  }
  return out;
}

}  // namespace aftune
