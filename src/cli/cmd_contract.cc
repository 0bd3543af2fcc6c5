// aftune contract create --base DIR --data FILE [training options] --out FILE
// aftune contract show FILE
//
// The training options are the binding training terms (train/training_terms.h),
// spelled as Hugging Face TrainingArguments names them (--learning_rate,
// --per_device_train_batch_size, ...) and LoRA's as PEFT's LoraConfig (--r,
// --lora_alpha, --target_modules); every one has a default, so --base, --data
// and --out alone give a contract for a short LoRA run.
#include <algorithm>
#include <map>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/file.h"
#include "cli/commands.h"
#include "model/config.h"
#include "protocol/canonical_json.h"
#include "protocol/contract.h"
#include "train/trainer.h"
#include "train/training_terms.h"

namespace aftune::cli {

namespace {

struct CreateArgs {
  std::string base, data, out;
  // The training options given, by term key, as written.
  std::map<std::string, std::string> terms;
  AuditGrid grid;
  bool layers_per_block_given = false;
};

Status RunCreate(CreateArgs a) {
  TrainConfig t;
  for (const auto& [key, text] : a.terms)
    AFTUNE_RETURN_IF_ERROR(SetTermFromText(*FindTrainingTerm(key), text, "--" + key, &t));
  if (!a.layers_per_block_given) {
    // The default layer-block is 2 layers, or the whole model when smaller.
    AFTUNE_ASSIGN_OR_RETURN(ModelConfig mc, ReadModelConfig(a.base + "/config.json"));
    a.grid.layers_per_block = std::min(a.grid.layers_per_block, mc.num_hidden_layers);
  }
  AFTUNE_ASSIGN_OR_RETURN(Contract c, BuildContract(a.base, a.data, t, a.grid));
  AFTUNE_RETURN_IF_ERROR(WriteContract(a.out, c));
  const int64_t steps = TotalSteps(c.training, c.dataset_examples);
  std::printf("wrote %s\ncontract %s\n", a.out.c_str(), HashToHex(ContractDigest(c)).c_str());
  std::printf("  %s on %lld examples of %s: %lld optimizer steps of %lld examples\n",
              c.training.full_finetune ? "full fine-tuning" : ("LoRA r=" + std::to_string(c.training.lora.r)).c_str(),
              (long long)c.dataset_examples, a.data.c_str(), (long long)steps,
              (long long)c.training.examples_per_step());
  return Status::Ok();
}

std::string Num(double v) { return CanonicalJsonNumber(v); }

Status RunShow(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  AFTUNE_ASSIGN_OR_RETURN(Contract c, ParseContract(text, path));
  const std::string canonical = CanonicalContract(c);
  const TrainConfig& t = c.training;
  const AuditGrid& g = c.grid;
  const int64_t steps = TotalSteps(t, c.dataset_examples);
  const int64_t step_blocks = (steps + g.steps_per_block - 1) / g.steps_per_block;
  std::printf("contract %s\n", HashToHex(Sha256Of(canonical)).c_str());
  std::printf("  file              %s (%s)\n", path.c_str(),
              text == canonical ? "canonical: its SHA-256 is the contract digest"
                                : "not in canonical form: the digest is that of the canonical form");
  std::printf("  format            %s\n", std::string(kContractFormat).c_str());
  std::printf("  base model        state digest  %s\n", HashToHex(c.base_state_digest).c_str());
  std::printf("                    config.json   %s\n", HashToHex(c.base_config_digest).c_str());
  std::printf("  tokenizer         %s %s\n", c.tokenizer_kind.c_str(), HashToHex(c.tokenizer_digest).c_str());
  std::printf("  dataset           %s (%lld examples)\n", HashToHex(c.dataset_digest).c_str(),
              (long long)c.dataset_examples);
  if (t.full_finetune) {
    std::printf("  method            full fine-tuning\n");
  } else {
    std::string targets;
    for (Proj p : t.lora.target_modules) targets += (targets.empty() ? "" : ",") + std::string(ProjName(p));
    std::printf("  method            lora: r %lld, lora_alpha %s, target_modules %s\n", (long long)t.lora.r,
                Num(t.lora.lora_alpha).c_str(), targets.c_str());
  }
  std::printf("  optimizer         %s: learning_rate %s, weight_decay %s, adam_beta1 %s, adam_beta2 %s, "
              "adam_epsilon %s, max_grad_norm %s\n",
              t.optim.c_str(), Num(t.learning_rate).c_str(), Num(t.weight_decay).c_str(), Num(t.adam_beta1).c_str(),
              Num(t.adam_beta2).c_str(), Num(t.adam_epsilon).c_str(), Num(t.max_grad_norm).c_str());
  std::printf("  schedule          %s, warmup_steps %lld\n", LrScheduleName(t.lr_scheduler_type),
              (long long)t.warmup_steps);
  std::printf("  batches           per_device_train_batch_size %lld x gradient_accumulation_steps %lld\n",
              (long long)t.per_device_train_batch_size, (long long)t.gradient_accumulation_steps);
  std::printf("  length            num_train_epochs %lld, max_steps %lld: %lld optimizer steps\n",
              (long long)t.num_train_epochs, (long long)t.max_steps, (long long)steps);
  std::printf("  sequences         max_seq_length %lld, overflow %s\n", (long long)t.max_seq_length,
              std::string(OverflowPolicyName(t.overflow)).c_str());
  std::printf("  seed              %llu\n", (unsigned long long)t.seed);
  std::printf("  audit grid        steps_per_block (B_S) %lld: %lld step-blocks; layers_per_block (B_L) %lld\n",
              (long long)g.steps_per_block, (long long)step_blocks, (long long)g.layers_per_block);
  std::printf("                    checkpoint_interval (I_C) %lld step-blocks, activation_interval (I_A) %lld steps\n",
              (long long)g.checkpoint_interval, (long long)g.activation_interval);
  std::printf("  precision         %s\n", c.precision.c_str());
  return Status::Ok();
}

std::string OptionTypeName(const TrainingTerm& term) {
  switch (term.kind) {
    case TermKind::kInteger: return "INT";
    case TermKind::kNumber: return "NUMBER";
    case TermKind::kSeed: return "UINT64";
    case TermKind::kModules: return "NAMES";
    case TermKind::kPath: return "DIR";
    case TermKind::kChoice: break;
  }
  std::string s;
  for (const std::string& c : term.choices) s += (s.empty() ? "" : "|") + c;
  return s;
}

// One option per binding term, its text checked as SetTermFromText reads it
// (a bad value is a usage error); the options given land in *given.
void AddTrainingTermOptions(CLI::App* cmd, std::map<std::string, std::string>* given) {
  const TrainConfig defaults;
  for (const TrainingTerm& term : TrainingTerms()) {
    if (!term.binding) continue;
    const CLI::Validator valid(
        [&term](std::string& text) {
          TrainConfig scratch;
          const std::string name = "--" + term.key;
          Status st = SetTermFromText(term, text, name, &scratch);
          // CLI11 names the option already.
          const std::string named = "'" + name + "' ";
          return st.ok() ? std::string() : st.message().substr(st.message().rfind(named, 0) == 0 ? named.size() : 0);
        },
        "");
    cmd->add_option_function<std::string>(
           "--" + term.key, [given, key = term.key](const std::string& text) { (*given)[key] = text; }, term.help)
        ->type_name(OptionTypeName(term))
        ->default_str(TermValueText(term.get(defaults)))
        ->check(valid);
  }
}

}  // namespace

void RegisterContractCommands(CLI::App& app) {
  auto* contract = app.add_subcommand("contract", "create and inspect training contracts");
  contract->require_subcommand(1);

  auto a = std::make_shared<CreateArgs>();
  constexpr int64_t kMax = kMaxContractInt;
  auto* c = contract->add_subcommand("create", "bind a base model, a dataset and a training configuration");
  c->add_option("--base", a->base, "base model directory (config.json + model.safetensors)")->required();
  c->add_option("--data", a->data, "JSONL dataset")->required();
  c->add_option("--out", a->out, "contract file to write")->required();
  AddTrainingTermOptions(c, &a->terms);
  c->add_option("--steps_per_block", a->grid.steps_per_block, "audit grid B_S: optimizer steps per step-block")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, kMax));
  c->add_option("--layers_per_block", a->grid.layers_per_block,
                "audit grid B_L: decoder layers per layer-block (default 2, or all layers when fewer)")
      ->check(CLI::Range(int64_t{1}, kMax));
  c->add_option("--checkpoint_interval", a->grid.checkpoint_interval,
                "audit grid I_C: full state kept every this many step-blocks")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, kMax));
  c->add_option("--activation_interval", a->grid.activation_interval,
                "audit grid I_A: boundary tensors kept every this many steps")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, kMax));
  AddThreadsOption(c);
  c->callback([a, c] {
    if (auto m = a->terms.find("method"); m != a->terms.end() && m->second == "full")
      for (const TrainingTerm& term : TrainingTerms())
        if (term.lora_only && a->terms.count(term.key) > 0)
          throw CLI::ValidationError("--" + term.key, "does not apply to --method full");
    a->layers_per_block_given = c->count("--layers_per_block") > 0;
    Finish(RunCreate(*a));
  });

  auto path = std::make_shared<std::string>();
  auto* s = contract->add_subcommand("show", "print a contract's terms and its digest");
  s->add_option("FILE", *path, "contract file")->required();
  s->callback([path] { Finish(RunShow(*path)); });
}

}  // namespace aftune::cli
