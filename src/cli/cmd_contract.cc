// aftune contract create --base DIR --data FILE [training options] --out FILE
// aftune contract show FILE
//
// Training options are spelled as Hugging Face TrainingArguments names them
// (--learning_rate, --per_device_train_batch_size, ...) and LoRA's as PEFT's
// LoraConfig (--r, --lora_alpha, --target_modules); every one has a default,
// so --base, --data and --out alone give a contract for a short LoRA run.
#include <algorithm>
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

namespace aftune::cli {

namespace {

const std::vector<std::string> kModuleNames = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

struct CreateArgs {
  std::string base, data, out;
  std::string method = "lora";
  int64_t r = 8;
  double lora_alpha = 16.0;
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  TrainConfig training;  // the rest of the hyper-parameters (defaults: TrainConfig's)
  std::string lr_scheduler_type = "linear", overflow = "reject", optim = "adamw_torch";
  AuditGrid grid;
  bool layers_per_block_given = false;
};

Status RunCreate(CreateArgs a) {
  TrainConfig& t = a.training;
  t.full_finetune = a.method == "full";
  if (!t.full_finetune) {
    t.lora.r = a.r;
    t.lora.lora_alpha = a.lora_alpha;
    t.lora.target_modules.clear();
    for (const std::string& m : a.target_modules) t.lora.target_modules.push_back(*ParseProj(m));
  }
  AFTUNE_ASSIGN_OR_RETURN(t.lr_scheduler_type, ParseLrSchedule(a.lr_scheduler_type));
  AFTUNE_ASSIGN_OR_RETURN(t.overflow, ParseOverflowPolicy(a.overflow));
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
              c.optim.c_str(), Num(t.learning_rate).c_str(), Num(t.weight_decay).c_str(), Num(t.adam_beta1).c_str(),
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

}  // namespace

void RegisterContractCommands(CLI::App& app) {
  auto* contract = app.add_subcommand("contract", "create and inspect training contracts");
  contract->require_subcommand(1);

  auto a = std::make_shared<CreateArgs>();
  TrainConfig& t = a->training;
  constexpr int64_t kMax = kMaxContractInt;
  auto* c = contract->add_subcommand("create", "bind a base model, a dataset and a training configuration");
  c->add_option("--base", a->base, "base model directory (config.json + model.safetensors)")->required();
  c->add_option("--data", a->data, "JSONL dataset")->required();
  c->add_option("--out", a->out, "contract file to write")->required();
  c->add_option("--method", a->method, "lora or full")->capture_default_str()->check(CLI::IsMember({"lora", "full"}));
  c->add_option("--r", a->r, "LoRA rank")->capture_default_str()->check(CLI::Range(int64_t{1}, kMax));
  c->add_option("--lora_alpha", a->lora_alpha, "LoRA alpha (scale = lora_alpha / r)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--target_modules", a->target_modules, "LoRA targets, comma-separated")
      ->delimiter(',')->capture_default_str()->check(CLI::IsMember(kModuleNames));
  c->add_option("--optim", a->optim, "optimizer: adamw_torch (torch.optim.AdamW), the only one supported")
      ->capture_default_str()->check(CLI::IsMember({"adamw_torch"}));
  c->add_option("--learning_rate", t.learning_rate, "peak learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--weight_decay", t.weight_decay, "AdamW decoupled weight decay")->capture_default_str()->check(CLI::NonNegativeNumber);
  c->add_option("--adam_beta1", t.adam_beta1, "AdamW beta1")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  c->add_option("--adam_beta2", t.adam_beta2, "AdamW beta2")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  c->add_option("--adam_epsilon", t.adam_epsilon, "AdamW epsilon")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--max_grad_norm", t.max_grad_norm, "global gradient-norm clipping (<= 0: none)")->capture_default_str();
  c->add_option("--lr_scheduler_type", a->lr_scheduler_type, "linear, cosine or constant_with_warmup")
      ->capture_default_str()->check(CLI::IsMember({"linear", "cosine", "constant_with_warmup"}));
  c->add_option("--warmup_steps", t.warmup_steps, "linear warm-up steps")->capture_default_str()->check(CLI::Range(int64_t{0}, kMax));
  c->add_option("--num_train_epochs", t.num_train_epochs, "epochs (when max_steps <= 0)")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, kMax));
  c->add_option("--max_steps", t.max_steps, "> 0: exactly this many optimizer steps")
      ->capture_default_str()->check(CLI::Range(int64_t{-1}, kMax));
  c->add_option("--per_device_train_batch_size", t.per_device_train_batch_size, "examples per micro-batch")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, kMax));
  c->add_option("--gradient_accumulation_steps", t.gradient_accumulation_steps, "micro-batches per optimizer step")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, kMax));
  c->add_option("--max_seq_length", t.max_seq_length, "tokens per example, BOS and EOS included")
      ->capture_default_str()->check(CLI::Range(int64_t{2}, kMax));
  c->add_option("--overflow", a->overflow, "longer examples: reject or truncate")
      ->capture_default_str()->check(CLI::IsMember({"reject", "truncate"}));
  // CLI11 would read "-1" as 2^64 - 1: only digits are a seed.
  const CLI::Validator digits(
      [](std::string& v) -> std::string {
        return !v.empty() && v.find_first_not_of("0123456789") == std::string::npos ? "" : "must be an integer in [0, 2^64)";
      },
      "UINT64");
  c->add_option("--seed", t.seed, "LoRA initialisation and data order")->capture_default_str()->check(digits);
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
    if (a->method == "full")
      for (const char* name : {"--r", "--lora_alpha", "--target_modules"})
        if (c->count(name) > 0) throw CLI::ValidationError(name, "does not apply to --method full");
    a->layers_per_block_given = c->count("--layers_per_block") > 0;
    Finish(RunCreate(*a));
  });

  auto path = std::make_shared<std::string>();
  auto* s = contract->add_subcommand("show", "print a contract's terms and its digest");
  s->add_option("FILE", *path, "contract file")->required();
  s->callback([path] { Finish(RunShow(*path)); });
}

}  // namespace aftune::cli
