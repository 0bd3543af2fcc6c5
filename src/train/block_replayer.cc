#include "train/block_replayer.h"

#include <utility>

#include "model/lora.h"
#include "train/grad_clip.h"
#include "train/step_batch.h"
#include "train/step_update.h"

namespace aftune {

Result<std::unique_ptr<BlockReplayer>> BlockReplayer::Create(const TrainConfig& cfg, const ModelConfig& model,
                                                             const std::vector<LayerSpan>& blocks, size_t block,
                                                             const TensorMap* base, TensorMap state, int64_t step,
                                                             int64_t total_steps, const Dataset* data) {
  AFTUNE_CHECK(block < blocks.size() && step >= 0 && step <= total_steps);
  const LayerSpan span = blocks[block];
  if (cfg.full_finetune && model.tie_word_embeddings && blocks.size() > 1)
    return Status::InvalidArgument(
        "full fine-tuning of a model with tied embeddings cut into several layer-blocks: the embedding's gradient "
        "sums contributions of the first and the last block, so a block cannot be replayed alone");
  const auto shapes = cfg.full_finetune ? BaseTensorShapes(model, span) : LoraTensorShapes(model, cfg.lora, span);
  std::unique_ptr<BlockReplayer> r(new BlockReplayer());
  const std::string where = "state of layer-block " + std::to_string(block) + " at step " + std::to_string(step);
  for (const auto& [name, shape] : shapes) {
    auto it = state.find(name);
    if (it == state.end()) return Status::Corruption(where + " lacks tensor " + name);
    if (it->second.shape() != shape)
      return Status::Corruption(where + ": tensor " + name + " has shape " + it->second.ShapeString() +
                                ", the model needs " + Tensor(shape).ShapeString());
    r->params_.emplace(name, std::move(it->second));
    state.erase(it);
  }
  AdamWConfig opt = cfg.adamw();
  opt.no_decay = HfNoDecayNames(r->params_);
  Result<AdamW> restored = AdamW::Restore(opt, r->params_, std::move(state), step);
  if (!restored.ok()) return restored.status().WithContext(where);
  r->optimizer_ = std::make_unique<AdamW>(std::move(*restored));
  r->cfg_ = cfg;
  r->model_ = model;
  r->block_ = block;
  r->data_ = data;
  r->schedule_ = {cfg.lr_scheduler_type, cfg.learning_rate, cfg.warmup_steps, total_steps};
  AFTUNE_RETURN_IF_ERROR(ValidateScheduleConfig(r->schedule_));
  for (const auto& [name, t] : r->params_) r->grads_[name] = Tensor(t.shape());
  if (cfg.full_finetune) {
    AFTUNE_ASSIGN_OR_RETURN(r->decoder_, Decoder::Create(model, LoraConfig{}, span, &r->params_, nullptr));
  } else {
    AFTUNE_ASSIGN_OR_RETURN(r->decoder_, Decoder::Create(model, cfg.lora, span, base, &r->params_));
  }
  r->passes_ = std::make_unique<BlockPasses>(std::vector<const Decoder*>{r->decoder_.get()}, block, blocks.size());
  return r;
}

Result<BlockStepReport> BlockReplayer::RunStep(const BlockEdges& edges,
                                               const std::map<std::string, double>& other_sumsq,
                                               StepObserver* observer) {
  const int64_t step = optimizer_->step();
  AFTUNE_CHECK(step < schedule_.total_steps);
  const StepBatch batch = MakeStepBatch(cfg_, *data_, step);
  for (auto& [name, g] : grads_) g.Fill(0.0f);
  const float loss_sum = passes_->ForwardBackward(batch, edges, &grads_, observer);
  if (observer) observer->OnGradients(step, grads_);
  BlockStepReport r;
  r.step = BatchReport(batch);
  if (passes_->holds_last()) r.step.loss = loss_sum * batch.loss_scale;
  std::map<std::string, double> all = other_sumsq;
  for (const auto& [name, g] : grads_) {
    const double s = SumOfSquares(g);
    r.grad_sumsq.emplace_back(name, s);
    all[name] = s;
  }
  std::vector<double> sums;
  for (const auto& [name, s] : all) sums.push_back(s);
  r.step.grad_norm = NormFromSumsOfSquares(sums);
  AFTUNE_ASSIGN_OR_RETURN(r.step.learning_rate, ClipAndStep(cfg_, schedule_, r.step.loss, r.step.grad_norm, &grads_,
                                                            optimizer_.get(), &params_));
  return r;
}

TensorMap BlockReplayer::State() const {
  TensorMap out = params_;
  for (const auto& [name, t] : optimizer_->state()) out.emplace(name, t);
  return out;
}

}  // namespace aftune
