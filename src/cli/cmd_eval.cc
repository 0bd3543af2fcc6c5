// aftune eval --model DIR [--adapter DIR] --data FILE [--json]
#include <cstdio>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "infer/generator.h"
#include "infer/served_model.h"
#include "tensor/cross_entropy.h"
#include "tensor/mathfn.h"
#include "train/dataset.h"

namespace aftune::cli {

namespace {

struct EvalArgs {
  std::string model, adapter, data;
  int64_t batch = 16;
  bool json = false;
};

struct EvalResult {
  float mean_loss = 0.0f;
  int64_t scored = 0, examples = 0;
  int64_t exact = 0, exact_total = 0;  // greedy completions (prompt/completion data)
};

// The loss is summed example by example in file order (each example's own
// sum over its tokens), so it does not depend on --batch: the decoder is
// batch-invariant and every example's logits are the same in any batch.
float SumLosses(const ServedModel& m, const Dataset& ds, int64_t batch_size, int64_t* scored) {
  float total = 0.0f;
  const int64_t V = m.config.vocab_size;
  Activations acts;
  for (int64_t i = 0; i < ds.size(); i += batch_size) {
    std::vector<int64_t> idx;
    for (int64_t k = i; k < std::min(ds.size(), i + batch_size); ++k) idx.push_back(k);
    PackedBatch b = MakeTrainingBatch(ds, idx);
    m.decoder->Forward(b, nullptr, false, &acts);
    for (int64_t s = 0; s < b.num_sequences(); ++s) {
      const int64_t row = b.starts[s], n = b.starts[s + 1] - row;
      CrossEntropyResult r =
          CrossEntropyForward(acts.logits.data() + row * V, b.targets.data() + row, nullptr, n, V);
      total += r.loss_sum;
      *scored += r.count;
    }
  }
  return total;
}

// Greedy completion of each example's prompt (its tokens before the first
// scored one) must reproduce the scored tokens exactly (completion + EOS).
void ExactMatch(const ServedModel& m, const Dataset& ds, EvalResult* r) {
  const Tokenizer& tok = *m.tokenizer;
  Generator gen(*m.decoder, m.eos_ids, [&tok](const std::vector<int32_t>& ids) { return tok.Decode(ids); });
  std::vector<GenerationRequest> reqs;
  std::vector<std::vector<int32_t>> want;
  for (const Example& e : ds.examples) {
    size_t first = 0;
    while (first < e.scored.size() && !e.scored[first]) ++first;
    GenerationRequest q;
    q.prompt.assign(e.tokens.begin(), e.tokens.begin() + first);
    q.sampling.temperature = 0.0f;
    q.max_tokens = static_cast<int64_t>(e.tokens.size() - first);
    if (!gen.Validate(q).ok()) continue;
    reqs.push_back(q);
    want.emplace_back(e.tokens.begin() + first, e.tokens.end());
  }
  const size_t chunk = 32;
  for (size_t i = 0; i < reqs.size(); i += chunk) {
    std::vector<GenerationRequest> part(reqs.begin() + i, reqs.begin() + std::min(reqs.size(), i + chunk));
    std::vector<GenerationResult> out = gen.Generate(part);
    for (size_t k = 0; k < out.size(); ++k) r->exact += out[k].tokens == want[i + k];
  }
  r->exact_total = static_cast<int64_t>(reqs.size());
}

std::string BitsHex(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", u);
  return buf;
}

Status RunEval(const EvalArgs& a) {
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<ServedModel> m, LoadServedModel(a.model, a.adapter));
  AFTUNE_ASSIGN_OR_RETURN(std::shared_ptr<const ChatRenderer> chat, LoadChatRenderer(a.model));
  AFTUNE_ASSIGN_OR_RETURN(Dataset ds, LoadJsonlDataset(a.data, *m->tokenizer,
                                                       {m->config.max_position_embeddings, OverflowPolicy::kReject, chat}));
  EvalResult r;
  r.examples = ds.size();
  float total = SumLosses(*m, ds, a.batch, &r.scored);
  r.mean_loss = r.scored ? total / static_cast<float>(r.scored) : 0.0f;
  const bool completions = ds.shape == DatasetShape::kPromptCompletion;
  if (completions) ExactMatch(*m, ds, &r);
  const float ppl = ExpF(r.mean_loss);
  if (a.json) {
    nlohmann::json j = {{"model", a.model},        {"adapter", a.adapter},  {"data", a.data},
                        {"examples", r.examples},  {"scored_tokens", r.scored},
                        {"mean_loss", r.mean_loss}, {"mean_loss_bits", BitsHex(r.mean_loss)},
                        {"perplexity", ppl}};
    if (completions) {
      j["exact_match"] = r.exact_total ? static_cast<double>(r.exact) / static_cast<double>(r.exact_total) : 0.0;
      j["exact_match_count"] = r.exact;
      j["exact_match_total"] = r.exact_total;
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("examples       %lld\nscored tokens  %lld\n", (long long)r.examples, (long long)r.scored);
    std::printf("mean loss      %.6f (f32 bits %s)\nperplexity     %.4f\n", r.mean_loss, BitsHex(r.mean_loss).c_str(),
                ppl);
    if (completions)
      std::printf("exact match    %lld / %lld (%.1f%%)\n", (long long)r.exact, (long long)r.exact_total,
                  r.exact_total ? 100.0 * static_cast<double>(r.exact) / static_cast<double>(r.exact_total) : 0.0);
  }
  return Status::Ok();
}

}  // namespace

void RegisterEvalCommands(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* c = app.add_subcommand("eval", "mean loss, perplexity and exact-match accuracy on a JSONL dataset");
  c->add_option("--model", args->model, "model directory")->required();
  c->add_option("--adapter", args->adapter, "PEFT LoRA adapter directory");
  c->add_option("--data", args->data, "JSONL dataset")->required();
  c->add_option("--batch", args->batch, "examples per forward pass (does not change the results)")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  c->add_flag("--json", args->json, "print JSON");
  AddThreadsOption(c);
  c->callback([args] { Finish(RunEval(*args)); });
}

}  // namespace aftune::cli
