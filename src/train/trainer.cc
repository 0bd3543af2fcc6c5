#include "train/trainer.h"

#include <cmath>

#include "train/batch_sampler.h"
#include "train/grad_clip.h"

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
  AFTUNE_RETURN_IF_ERROR(model.Validate());
  AFTUNE_RETURN_IF_ERROR(CheckSamplerArgs(data->size(), cfg.examples_per_step()));
  if (cfg.max_seq_length > model.max_position_embeddings)
    return Status::InvalidArgument("max_seq_length " + std::to_string(cfg.max_seq_length) +
                                   " exceeds the model's max_position_embeddings " +
                                   std::to_string(model.max_position_embeddings));
  if (cfg.layers_per_block > model.num_hidden_layers)
    return Status::InvalidArgument("layers_per_block " + std::to_string(cfg.layers_per_block) +
                                   " exceeds the model's " + std::to_string(model.num_hidden_layers) + " layers");
  std::unique_ptr<Trainer> t(new Trainer());
  t->cfg_ = cfg;
  t->model_ = model;
  t->data_ = data;
  t->base_ = std::move(base);
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

Status Trainer::BuildDecoders() {
  spans_ = LayerBlocks(model_, cfg_.layers_per_block);
  decoders_.clear();
  const LoraConfig lora = cfg_.full_finetune ? LoraConfig{} : cfg_.lora;
  for (LayerSpan span : spans_) {
    AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Decoder> d,
                            Decoder::Create(model_, lora, span, &base_, cfg_.full_finetune ? nullptr : &adapter_));
    decoders_.push_back(std::move(d));
  }
  acts_.resize(spans_.size());
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

Result<StepReport> Trainer::RunStep(StepObserver* observer) {
  const int64_t step = optimizer_->step();
  AFTUNE_CHECK(step < total_steps_);
  StepReport r;
  r.step = step;
  r.epoch = EpochOfStep(data_->size(), cfg_.examples_per_step(), step);
  r.indices = StepIndices(cfg_.seed, data_->size(), cfg_.examples_per_step(), step);

  std::vector<PackedBatch> micro;
  for (size_t i = 0; i < r.indices.size(); i += static_cast<size_t>(cfg_.per_device_train_batch_size)) {
    size_t end = std::min(r.indices.size(), i + static_cast<size_t>(cfg_.per_device_train_batch_size));
    micro.push_back(MakeTrainingBatch(*data_, std::vector<int64_t>(r.indices.begin() + i, r.indices.begin() + end)));
    r.tokens += micro.back().num_tokens();
    r.scored_tokens += CountScoredTargets(micro.back());
  }
  for (auto& [name, g] : grads_) g.Fill(0.0f);
  const float scale = r.scored_tokens ? 1.0f / static_cast<float>(r.scored_tokens) : 0.0f;
  float loss_sum = 0.0f;
  const size_t B = decoders_.size();
  for (size_t m = 0; m < micro.size(); ++m) {
    const PackedBatch& batch = micro[m];
    for (size_t b = 0; b < B; ++b) {
      const Tensor* x_in = b == 0 ? nullptr : &acts_[b - 1].output();
      if (observer && b > 0) observer->OnActivation(step, static_cast<int64_t>(m), static_cast<int64_t>(b), *x_in);
      decoders_[b]->Forward(batch, x_in, true, &acts_[b]);
    }
    loss_sum += acts_[B - 1].loss.loss_sum;
    Tensor d_out, d_in;
    for (size_t b = B; b-- > 0;) {
      decoders_[b]->BackwardScaled(batch, b + 1 == B ? nullptr : &d_out, &acts_[b], &grads_, b == 0 ? nullptr : &d_in,
                                   scale);
      if (b > 0) {
        if (observer) observer->OnGradient(step, static_cast<int64_t>(m), static_cast<int64_t>(b), d_in);
        std::swap(d_out, d_in);
      }
    }
  }
  r.loss = loss_sum * scale;
  if (observer) observer->OnGradients(step, grads_);
  r.grad_norm = cfg_.max_grad_norm > 0 ? ClipGradNorm(cfg_.max_grad_norm, &grads_) : GlobalGradNorm(grads_);
  if (!std::isfinite(r.loss) || !std::isfinite(r.grad_norm))
    return Status::InvalidArgument("step " + std::to_string(step) + ": loss " + std::to_string(r.loss) +
                                   ", gradient norm " + std::to_string(r.grad_norm) +
                                   " is not finite; the learning rate may be too high");
  r.learning_rate = LearningRate(schedule_, step);
  optimizer_->Step(r.learning_rate, grads_, trainable_);
  return r;
}

}  // namespace aftune
