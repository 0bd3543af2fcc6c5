#include "audit/challenge.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "train/batch_sampler.h"

namespace aftune {

namespace {

// The random words of the challenge (see challenge.h).
class ChallengeWords {
 public:
  explicit ChallengeWords(const Hash& seed) : seed_(seed) {}
  uint32_t Next() {
    if (k_ % 8 == 0) {
      Sha256 h;
      h.Update(seed_);
      uint8_t c[8];
      for (int i = 0; i < 8; ++i) c[i] = static_cast<uint8_t>((k_ / 8) >> (8 * i));
      h.Update(std::span<const uint8_t>(c, 8));
      block_ = h.Finish();
    }
    const size_t j = 4 * static_cast<size_t>(k_ % 8);
    ++k_;
    return static_cast<uint32_t>(block_[j]) | static_cast<uint32_t>(block_[j + 1]) << 8 |
           static_cast<uint32_t>(block_[j + 2]) << 16 | static_cast<uint32_t>(block_[j + 3]) << 24;
  }
  // Uniform in [0, range). REQUIRES: 1 <= range < 2^32.
  int64_t Draw(int64_t range) {
    return BoundedDraw<uint32_t, uint64_t>(static_cast<uint32_t>(range), [this] { return Next(); });
  }

 private:
  Hash seed_;
  uint64_t k_ = 0;
  Hash block_{};
};

int64_t Weight(const TraceLayout& layout, int64_t block) {
  return block == 0 || block == layout.blocks - 1 ? 2 : 1;
}

Cell CellOfId(const TraceLayout& layout, int64_t id) { return {id % layout.blocks, id / layout.blocks}; }

std::vector<int64_t> PartialShuffle(ChallengeWords& words, int64_t n, int64_t s) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (int64_t i = 0; i < s; ++i) std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(i + words.Draw(n - i))]);
  p.resize(static_cast<size_t>(s));
  return p;
}

}  // namespace

Result<ChallengeStrategy> ParseChallengeStrategy(std::string_view name) {
  if (name == "uniform") return ChallengeStrategy::kUniform;
  if (name == "input") return ChallengeStrategy::kInput;
  if (name == "weighted") return ChallengeStrategy::kWeighted;
  return Status::InvalidArgument("unknown strategy '" + std::string(name) + "' (uniform, input or weighted)");
}

std::string_view ChallengeStrategyName(ChallengeStrategy s) {
  switch (s) {
    case ChallengeStrategy::kUniform: return "uniform";
    case ChallengeStrategy::kInput: return "input";
    case ChallengeStrategy::kWeighted: return "weighted";
  }
  return "";
}

Hash ChallengeSeed(const Hash& trace_root, std::span<const uint8_t> nonce) {
  Sha256 h;
  h.Update(trace_root);
  h.Update(nonce);
  return h.Finish();
}

std::vector<int64_t> DrawIndices(const Hash& seed, int64_t n, int64_t samples) {
  AFTUNE_CHECK(n >= 0 && n < (int64_t{1} << 32) && samples >= 0);
  ChallengeWords words(seed);
  return PartialShuffle(words, n, std::min(samples, n));
}

std::vector<Cell> DrawCells(const Hash& seed, const TraceLayout& layout, ChallengeStrategy strategy,
                            int64_t samples) {
  AFTUNE_CHECK(layout.cells() >= 1 && samples >= 0);
  ChallengeWords words(seed);
  std::vector<Cell> out;
  const Population pop = ChallengePopulation(layout, strategy);
  const int64_t s = std::min(samples, pop.size);
  if (strategy == ChallengeStrategy::kUniform) {
    for (int64_t id : DrawIndices(seed, layout.cells(), s)) out.push_back(CellOfId(layout, id));
  } else if (strategy == ChallengeStrategy::kInput) {
    for (int64_t sb : PartialShuffle(words, layout.step_blocks(), s)) out.push_back({0, sb});
  } else {
    std::vector<bool> taken(static_cast<size_t>(layout.cells()));
    int64_t left = pop.total_weight;
    for (int64_t i = 0; i < s; ++i) {
      int64_t r = words.Draw(left);
      for (int64_t id = 0; id < layout.cells(); ++id) {
        if (taken[static_cast<size_t>(id)]) continue;
        const int64_t w = Weight(layout, id % layout.blocks);
        if (r < w) {
          taken[static_cast<size_t>(id)] = true;
          left -= w;
          out.push_back(CellOfId(layout, id));
          break;
        }
        r -= w;
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<Cell>> ParseCells(std::string_view text, const TraceLayout& layout) {
  std::vector<Cell> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(';', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string item(text.substr(pos, end - pos));
    const size_t comma = item.find(',');
    auto number = [](const std::string& s) -> std::optional<int64_t> {
      if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
      return std::stoll(s);
    };
    std::optional<int64_t> l = comma == std::string::npos ? std::nullopt : number(item.substr(0, comma));
    std::optional<int64_t> s = comma == std::string::npos ? std::nullopt : number(item.substr(comma + 1));
    if (!l || !s) return Status::InvalidArgument("--cells: '" + item + "' is not L,S (two decimal numbers)");
    if (*l >= layout.blocks || *s >= layout.step_blocks())
      return Status::InvalidArgument("--cells: cell " + item + " is outside the grid of " +
                                     std::to_string(layout.blocks) + " layer-blocks x " +
                                     std::to_string(layout.step_blocks()) + " step-blocks");
    const Cell c{*l, *s};
    if (std::find(out.begin(), out.end(), c) != out.end())
      return Status::InvalidArgument("--cells: cell " + item + " named twice");
    out.push_back(c);
    pos = end + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

Population ChallengePopulation(const TraceLayout& layout, ChallengeStrategy strategy) {
  switch (strategy) {
    case ChallengeStrategy::kUniform: return {layout.cells(), layout.cells(), 1};
    case ChallengeStrategy::kInput: return {layout.step_blocks(), layout.step_blocks(), 1};
    case ChallengeStrategy::kWeighted: {
      Population p{layout.cells(), 0, 2};
      for (int64_t L = 0; L < layout.blocks; ++L) {
        p.total_weight += Weight(layout, L) * layout.step_blocks();
        p.min_weight = std::min(p.min_weight, Weight(layout, L));
      }
      return p;
    }
  }
  return {};
}

double MissProbabilityBound(const Population& p, int64_t samples, double f) {
  const int64_t s = std::min(samples, p.size);
  const auto d = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(f * static_cast<double>(p.size) - 1e-9)));
  double bound = 1.0;
  for (int64_t i = 0; i < s; ++i) {
    const double left = static_cast<double>(p.total_weight - i * p.min_weight);
    const double factor = 1.0 - static_cast<double>(d * p.min_weight) / left;
    if (factor <= 0) return 0.0;
    bound *= factor;
  }
  return bound;
}

}  // namespace aftune
