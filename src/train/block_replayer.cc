#include "train/block_replayer.h"

#include <algorithm>
#include <utility>

#include "model/lora.h"
#include "train/grad_clip.h"
#include "train/step_batch.h"
#include "train/step_update.h"

namespace aftune {

std::vector<size_t> ReplayGroup(const TrainConfig& cfg, const ModelConfig& model, size_t num_blocks, size_t block) {
  AFTUNE_CHECK(block < num_blocks);
  const bool tied_full = cfg.full_finetune && model.tie_word_embeddings && num_blocks > 1;
  if (tied_full && (block == 0 || block + 1 == num_blocks)) return {0, num_blocks - 1};
  return {block};
}

Result<std::unique_ptr<BlockReplayer>> BlockReplayer::Create(const TrainConfig& cfg, const ModelConfig& model,
                                                             const std::vector<LayerSpan>& blocks, size_t block,
                                                             const WeightMap* base, TensorMap state, int64_t step,
                                                             int64_t total_steps, const Dataset* data) {
  AFTUNE_CHECK(block < blocks.size());
  const std::vector<size_t> group = ReplayGroup(cfg, model, blocks.size(), block);
  if (group.size() != 1)
    return Status::InvalidArgument("layer-block " + std::to_string(block) +
                                   " replays together with layer-blocks 0 and " + std::to_string(blocks.size() - 1) +
                                   " (full fine-tuning of a model with tied embeddings: both update the embedding)");
  std::vector<TensorMap> states;
  states.push_back(std::move(state));
  return CreateGroup(cfg, model, blocks, group, base, std::move(states), step, total_steps, data);
}

Result<std::unique_ptr<BlockReplayer>> BlockReplayer::CreateGroup(const TrainConfig& cfg, const ModelConfig& model,
                                                                  const std::vector<LayerSpan>& blocks,
                                                                  const std::vector<size_t>& group,
                                                                  const WeightMap* base, std::vector<TensorMap> states,
                                                                  int64_t step, int64_t total_steps,
                                                                  const Dataset* data) {
  AFTUNE_CHECK(!group.empty() && group.back() < blocks.size() && states.size() == group.size());
  AFTUNE_CHECK(step >= 0 && step <= total_steps);
  AFTUNE_CHECK(ReplayGroup(cfg, model, blocks.size(), group.front()) == group);
  std::unique_ptr<BlockReplayer> r(new BlockReplayer());
  TensorMap moments;
  for (size_t i = 0; i < group.size(); ++i) {
    const size_t block = group[i];
    const LayerSpan span = blocks[block];
    const auto shapes =
        cfg.full_finetune ? OwnedTensorShapes(model, blocks, block) : LoraTensorShapes(model, cfg.lora, span);
    TensorMap& state = states[i];
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
    for (auto& [name, t] : state) {
      if (!moments.emplace(name, std::move(t)).second)
        return Status::Corruption(where + ": tensor " + name + " is another block's");
    }
  }
  const std::string where = "state of layer-block " + std::to_string(group.front()) +
                            (group.size() > 1 ? " and " + std::to_string(group.back()) : "") + " at step " +
                            std::to_string(step);
  AdamWConfig opt = cfg.adamw();
  opt.no_decay = HfNoDecayNames(r->params_);
  Result<AdamW> restored = AdamW::Restore(opt, r->params_, std::move(moments), step);
  if (!restored.ok()) return restored.status().WithContext(where);
  r->optimizer_ = std::make_unique<AdamW>(std::move(*restored));
  r->cfg_ = cfg;
  r->model_ = model;
  r->blocks_ = blocks;
  r->group_ = group;
  r->data_ = data;
  r->schedule_ = {cfg.lr_scheduler_type, cfg.learning_rate, cfg.warmup_steps, total_steps};
  AFTUNE_RETURN_IF_ERROR(ValidateScheduleConfig(r->schedule_));
  for (const auto& [name, t] : r->params_) r->grads_[name] = Tensor(t.shape());
  std::vector<const Decoder*> decoders;
  for (size_t block : group) {
    if (cfg.full_finetune) {
      AFTUNE_ASSIGN_OR_RETURN(auto d, Decoder::Create(model, LoraConfig{}, blocks[block], &r->params_, nullptr));
      r->decoders_.push_back(std::move(d));
    } else {
      AFTUNE_ASSIGN_OR_RETURN(auto d, Decoder::Create(model, cfg.lora, blocks[block], base, &r->params_));
      r->decoders_.push_back(std::move(d));
    }
    decoders.push_back(r->decoders_.back().get());
  }
  r->passes_ = std::make_unique<BlockPasses>(std::move(decoders), group, blocks.size());
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

TensorMap BlockReplayer::State(size_t block) const {
  AFTUNE_CHECK(std::find(group_.begin(), group_.end(), block) != group_.end());
  TensorMap out;
  const TensorMap& moments = optimizer_->state();
  for (const auto& [name, t] : params_) {
    // LoRA groups hold one block, every adapter tensor its own.
    if (cfg_.full_finetune && OwningBlock(name, blocks_) != block) continue;
    out.emplace(name, t);
    for (const std::string& m : {ExpAvgName(name), ExpAvgSqName(name)}) out.emplace(m, moments.at(m));
  }
  return out;
}

TensorMap BlockReplayer::State() const {
  AFTUNE_CHECK(group_.size() == 1);
  return State(group_.front());
}

}  // namespace aftune
