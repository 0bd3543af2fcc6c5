#include "train/trainer.h"

#include "dist/communicator.h"
#include "train/batch_sampler.h"
#include "train/block_passes.h"
#include "train/grad_clip.h"
#include "train/rank_exchange.h"
#include "train/step_batch.h"
#include "train/step_update.h"

namespace aftune {

int64_t TotalSteps(const TrainConfig& cfg, int64_t num_examples) {
  if (cfg.max_steps > 0) return cfg.max_steps;
  return cfg.num_train_epochs * StepsPerEpoch(num_examples, cfg.examples_per_step());
}

std::vector<LayerSpan> LayerBlocks(const ModelConfig& model, int64_t layers_per_block) {
  const int64_t L = model.num_hidden_layers;
  const int64_t per = layers_per_block > 0 ? layers_per_block : L;
  std::vector<LayerSpan> spans;
  for (int64_t b = 0; b < L; b += per) spans.push_back({b, std::min(L, b + per)});
  return spans;
}

Result<std::unique_ptr<Trainer>> Trainer::Create(const TrainConfig& cfg, const ModelConfig& model,
                                                 TensorMap base, const Dataset* data) {
  return CreateImpl(cfg, model, std::move(base), LoadedModel{}, data);
}

Result<std::unique_ptr<Trainer>> Trainer::Create(const TrainConfig& cfg, LoadedModel base, const Dataset* data) {
  const ModelConfig model = base.config;
  if (cfg.full_finetune) return CreateImpl(cfg, model, base.ToF32(), LoadedModel{}, data);
  return CreateImpl(cfg, model, TensorMap{}, std::move(base), data);
}

Result<std::unique_ptr<Trainer>> Trainer::CreateImpl(const TrainConfig& cfg, const ModelConfig& model,
                                                     TensorMap base, LoadedModel mapped, const Dataset* data) {
  AFTUNE_RETURN_IF_ERROR(model.Validate());
  AFTUNE_RETURN_IF_ERROR(CheckSamplerArgs(data->size(), cfg.examples_per_step()));
  if (cfg.max_seq_length > model.max_position_embeddings)
    return Status::InvalidArgument("max_seq_length " + std::to_string(cfg.max_seq_length) +
                                   " exceeds the model's max_position_embeddings " +
                                   std::to_string(model.max_position_embeddings));
  std::unique_ptr<Trainer> t(new Trainer());
  t->cfg_ = cfg;
  t->model_ = model;
  t->data_ = data;
  t->base_ = std::move(base);
  t->mapped_ = std::move(mapped);
  if (cfg.full_finetune) {
    t->trainable_ = &t->base_;
  } else {
    t->adapter_ = InitLora(model, cfg.lora, WholeModel(model), cfg.seed);
    t->trainable_ = &t->adapter_;
  }
  t->total_steps_ = TotalSteps(cfg, data->size());
  t->schedule_ = {cfg.lr_scheduler_type, cfg.learning_rate, cfg.warmup_steps, t->total_steps_};
  AFTUNE_RETURN_IF_ERROR(ValidateScheduleConfig(t->schedule_));
  AdamWConfig opt = cfg.adamw();
  opt.no_decay = HfNoDecayNames(*t->trainable_);
  t->optimizer_ = std::make_unique<AdamW>(opt, *t->trainable_);
  AFTUNE_RETURN_IF_ERROR(t->BuildDecoders());
  return t;
}

Trainer::~Trainer() = default;

void Trainer::SetCommunicator(Communicator* comm) {
  rank_step_ = comm && comm->size() > 1 ? std::make_unique<RankStep>(comm) : nullptr;
}

Status Trainer::BuildDecoders() {
  spans_ = LayerBlocks(model_, cfg_.layers_per_block);
  decoders_.clear();
  base_views_ = mapped_.files ? mapped_.params : ViewsOf(base_);
  const LoraConfig lora = cfg_.full_finetune ? LoraConfig{} : cfg_.lora;
  for (LayerSpan span : spans_) {
    AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Decoder> d,
                            Decoder::Create(model_, lora, span, &base_views_, cfg_.full_finetune ? nullptr : &adapter_));
    decoders_.push_back(std::move(d));
  }
  std::vector<const Decoder*> all;
  std::vector<size_t> indices;
  for (const auto& d : decoders_) {
    indices.push_back(all.size());
    all.push_back(d.get());
  }
  passes_ = std::make_unique<BlockPasses>(std::move(all), std::move(indices), spans_.size());
  for (const auto& [name, t] : *trainable_) grads_[name] = Tensor(t.shape());
  return Status::Ok();
}

Status Trainer::Restore(TensorMap trainable, TensorMap optimizer_state, int64_t step) {
  if (trainable.size() != trainable_->size())
    return Status::Corruption("checkpoint holds " + std::to_string(trainable.size()) + " trainable tensors, the run has " +
                              std::to_string(trainable_->size()));
  for (const auto& [name, t] : *trainable_) {
    auto it = trainable.find(name);
    if (it == trainable.end()) return Status::Corruption("checkpoint lacks tensor " + name);
    if (it->second.shape() != t.shape())
      return Status::Corruption("checkpoint tensor " + name + " has shape " + it->second.ShapeString() + ", expected " +
                                t.ShapeString());
  }
  AFTUNE_ASSIGN_OR_RETURN(AdamW opt, AdamW::Restore(optimizer_->config(), trainable, std::move(optimizer_state), step));
  *trainable_ = std::move(trainable);
  optimizer_ = std::make_unique<AdamW>(std::move(opt));
  // The decoders point into the replaced maps.
  return BuildDecoders();
}

StepReport BatchReport(const StepBatch& batch) {
  StepReport r;
  r.step = batch.step;
  r.epoch = batch.epoch;
  r.indices = batch.indices;
  r.tokens = batch.tokens;
  r.scored_tokens = batch.scored_tokens;
  r.micro_batches = static_cast<int64_t>(batch.micro.size());
  return r;
}

Result<StepReport> Trainer::RunStep(StepObserver* observer) {
  const int64_t step = optimizer_->step();
  AFTUNE_CHECK(step < total_steps_);
  const StepBatch batch = MakeStepBatch(cfg_, *data_, step);
  for (auto& [name, g] : grads_) g.Fill(0.0f);
  const float loss_sum = rank_step_ ? rank_step_->Run(passes_.get(), batch, &grads_, observer)
                                    : passes_->ForwardBackward(batch, {}, &grads_, observer);
  if (observer) observer->OnGradients(step, grads_);
  StepReport r = BatchReport(batch);
  r.loss = loss_sum * batch.loss_scale;
  const std::vector<double> sums = SumsOfSquares(grads_);
  r.grad_norm = NormFromSumsOfSquares(sums);
  auto sum = sums.begin();
  for (const auto& [name, g] : grads_) r.grad_sumsq.emplace_back(name, *sum++);
  AFTUNE_ASSIGN_OR_RETURN(r.learning_rate,
                          ClipAndStep(cfg_, schedule_, r.loss, r.grad_norm, &grads_, optimizer_.get(), trainable_));
  return r;
}

}  // namespace aftune
