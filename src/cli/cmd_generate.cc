// aftune generate --model DIR [--adapter DIR] --prompt TEXT [sampling options]
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "infer/generator.h"
#include "infer/served_model.h"

namespace aftune::cli {

namespace {

struct GenerateArgs {
  std::string model, adapter, prompt;
  int64_t max_tokens = 64;
  std::optional<float> temperature, top_p;  // unset: the model's default
  std::optional<int64_t> top_k;
  uint64_t seed = 0;
  std::vector<std::string> stop;
};

Status RunGenerate(const GenerateArgs& a) {
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<ServedModel> m, LoadServedModel(a.model, a.adapter));
  const Tokenizer& tok = *m->tokenizer;
  GenerationRequest r;
  r.prompt = tok.EncodeWithSpecialTokens(a.prompt);  // transformers' add_special_tokens=True
  r.max_tokens = a.max_tokens;
  // The model's defaults (generation_config.json) where no option was given.
  r.sampling = m->default_sampling;
  if (a.temperature) r.sampling.temperature = *a.temperature;
  if (a.top_p) r.sampling.top_p = *a.top_p;
  if (a.top_k) r.sampling.top_k = *a.top_k;
  r.sampling.seed = a.seed;
  r.stop = a.stop;
  Generator gen(*m->decoder, m->eos_ids, [&tok](const std::vector<int32_t>& ids) { return tok.Decode(ids); });
  AFTUNE_RETURN_IF_ERROR(gen.Validate(r));
  auto t0 = std::chrono::steady_clock::now();
  GenerationResult out = gen.Generate({r})[0];
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s\n", out.text.c_str());
  std::fprintf(stderr, "[%zu tokens, finish: %s, %.0f tokens/s]\n", out.tokens.size(), FinishReasonName(out.finish),
               static_cast<double>(out.tokens.size()) / secs);
  return Status::Ok();
}

}  // namespace

void RegisterGenerateCommands(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* c = app.add_subcommand("generate", "generate text from a prompt (KV cache, deterministic sampling)");
  c->add_option("--model", args->model, "model directory")->required();
  c->add_option("--adapter", args->adapter, "PEFT LoRA adapter directory");
  c->add_option("--prompt", args->prompt, "prompt text")->required();
  c->add_option("--max-tokens", args->max_tokens, "most tokens to generate")->capture_default_str();
  c->add_option("--temperature", args->temperature,
                "0: greedy (default: generation_config.json's, else 1; do_sample false: 0)");
  c->add_option("--top-p", args->top_p, "nucleus sampling mass in (0, 1] (default: generation_config.json's, else 1)");
  c->add_option("--top-k", args->top_k, "keep the k most likely tokens, 0: all (default: generation_config.json's, else 0)");
  c->add_option("--seed", args->seed, "sampling seed")->capture_default_str();
  c->add_option("--stop", args->stop, "stop string (repeatable)");
  AddThreadsOption(c);
  c->callback([args] { Finish(RunGenerate(*args)); });
}

}  // namespace aftune::cli
