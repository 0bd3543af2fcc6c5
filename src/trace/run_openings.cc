#include "trace/run_openings.h"

#include "base/file.h"
#include "commit/merkle.h"
#include "model/model_dir.h"
#include "model/tokenizer.h"
#include "protocol/record_parse.h"
#include "trace/step_digester.h"

namespace aftune {

namespace {

std::vector<std::string> SplitLines(const std::string& bytes) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    if (nl == std::string::npos) break;  // a torn last line is not part of the trace
    lines.push_back(bytes.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

// A record parser's error, named in the run's trace file.
template <typename T>
Result<T> InTrace(const RunDir& run, Result<T> r) {
  if (!r.ok()) return r.status().WithContext(run.trace());
  return r;
}

}  // namespace

Result<std::unique_ptr<RunOpenings>> RunOpenings::Open(const std::string& run_dir) {
  std::unique_ptr<RunOpenings> r(new RunOpenings(run_dir));
  AFTUNE_ASSIGN_OR_RETURN(r->contract_, ReadContract(r->run_.contract()));
  AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(r->run_.trace()));
  r->lines_ = SplitLines(bytes);
  if (r->lines_.empty()) return Status::Corruption(r->run_.trace() + ": empty trace");
  AFTUNE_ASSIGN_OR_RETURN(ParsedTraceHeader h, InTrace(r->run_, ParseTraceHeaderRecord(r->lines_[0], 0)));
  if (h.contract != ContractDigest(r->contract_))
    return Status::Corruption(r->run_.trace() + ": the trace header names another contract than " +
                              r->run_.contract());
  r->layout_ = {static_cast<int64_t>(h.layer_blocks.size()), h.steps_per_block, h.steps};
  for (const std::string& line : r->lines_)
    r->leaves_.push_back(LeafHash({reinterpret_cast<const uint8_t*>(line.data()), line.size()}));
  return r;
}

Result<std::vector<OpenedLine>> RunOpenings::Lines(std::span<const uint64_t> indices) {
  std::vector<OpenedLine> out;
  for (uint64_t i : indices) {
    if (i >= lines_.size())
      return Status::NotFound(run_.trace() + ": no line " + std::to_string(i) + " (the trace has " +
                              std::to_string(lines_.size()) + ")");
    out.push_back({i, lines_[i], MakeInclusionProof(leaves_, i)});
  }
  return out;
}

Result<std::string_view> RunOpenings::Line(uint64_t line) const {
  if (line >= lines_.size())
    return Status::NotFound(run_.trace() + ": no line " + std::to_string(line) + "; the run is incomplete");
  return std::string_view(lines_[line]);
}

Result<Hash> RunOpenings::StateDigestAt(int64_t step, int64_t block) const {
  const uint64_t line = layout_.BlockStateLine(step, block);
  AFTUNE_ASSIGN_OR_RETURN(std::string_view text, Line(line));
  AFTUNE_ASSIGN_OR_RETURN(ParsedBlockState rec, InTrace(run_, ParseBlockStateRecord(text, line)));
  if (rec.step != step || rec.block != block)
    return Status::Corruption(run_.trace() + ": line " + std::to_string(line) +
                              " is not the block-state record of block " + std::to_string(block) + " at step " +
                              std::to_string(step));
  return rec.state;
}

Result<TensorMap> RunOpenings::BlockState(int64_t step, int64_t block) {
  if (step < 0 || step > layout_.total_steps || !layout_.is_state_step(step) || block < 0 || block >= layout_.blocks)
    return Status::NotFound("no block state of block " + std::to_string(block) + " at step " + std::to_string(step));
  AFTUNE_ASSIGN_OR_RETURN(Hash digest, StateDigestAt(step, block));
  if (!store_.Has(digest)) AFTUNE_RETURN_IF_ERROR(ReplayTo(step, step));
  return store_.GetState(digest);
}

Result<std::vector<Tensor>> RunOpenings::Boundary(int64_t step, int64_t boundary, BoundaryKind kind) {
  if (step < 0 || step >= layout_.total_steps || boundary < 1 || boundary >= layout_.blocks)
    return Status::NotFound("no boundary " + std::to_string(boundary) + " at step " + std::to_string(step));
  const uint64_t line = layout_.StepLine(step);
  AFTUNE_ASSIGN_OR_RETURN(std::string_view text, Line(line));
  AFTUNE_ASSIGN_OR_RETURN(ParsedStepRecord rec, InTrace(run_, ParseStepRecord(text, line)));
  if (rec.step != step)
    return Status::Corruption(run_.trace() + ": line " + std::to_string(line) + " is not the step record of step " +
                              std::to_string(step));
  const std::string name = BoundaryTensorName(kind, boundary);
  std::vector<Hash> digests;
  for (const std::vector<BoundaryDigests>& micro : rec.boundaries) {
    const auto b = static_cast<size_t>(boundary - 1);
    if (micro.size() <= b)
      return Status::Corruption(run_.trace() + ": line " + std::to_string(line) + ": boundaries list no boundary " +
                                std::to_string(boundary));
    digests.push_back(kind == BoundaryKind::kActivation ? micro[b].activation : micro[b].gradient);
  }
  for (const Hash& d : digests)
    if (!store_.Has(d)) {
      AFTUNE_RETURN_IF_ERROR(ReplayTo(step + 1, step));  // runs step itself
      break;
    }
  std::vector<Tensor> out;
  for (const Hash& d : digests) {
    AFTUNE_ASSIGN_OR_RETURN(Tensor t, store_.GetTensor(d, name));
    out.push_back(std::move(t));
  }
  return out;
}

Status RunOpenings::CreateTrainer() {
  AFTUNE_ASSIGN_OR_RETURN(RunInputs in, ReadRunInputs(run_));
  AFTUNE_RETURN_IF_ERROR(VerifyContractInputs(contract_, in.model, in.data).WithContext("cannot replay"));
  AFTUNE_ASSIGN_OR_RETURN(LoadedModel base, LoadModelDir(in.model));
  const TrainConfig cfg = ContractTrainConfig(contract_, in.model);
  if (!data_) {
    AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(in.data));
    AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, LoadTokenizer(in.model, base.config));
    AFTUNE_ASSIGN_OR_RETURN(std::shared_ptr<const ChatRenderer> chat, LoadChatRenderer(in.model));
    AFTUNE_ASSIGN_OR_RETURN(Dataset data,
                            ParseJsonlDataset(text, in.data, *tok, {cfg.max_seq_length, cfg.overflow, chat}));
    data_ = std::make_unique<Dataset>(std::move(data));
  }
  AFTUNE_ASSIGN_OR_RETURN(trainer_, Trainer::Create(cfg, std::move(base), data_.get()));
  return Status::Ok();
}

Status RunOpenings::StartReplay(int64_t latest_start) {
  // The nearest state step in (0, latest_start] whose every block is kept;
  // else step 0, which a fresh trainer rebuilds from the contract's inputs.
  int64_t from = 0;
  for (int64_t k = latest_start; k > 0 && from == 0; --k) {
    if (!layout_.is_state_step(k)) continue;
    bool kept = true;
    for (int64_t b = 0; b < layout_.blocks && kept; ++b) {
      AFTUNE_ASSIGN_OR_RETURN(Hash d, StateDigestAt(k, b));
      kept = store_.Has(d);
    }
    if (kept) from = k;
  }
  if (trainer_ && trainer_->next_step() >= from && trainer_->next_step() <= latest_start) return Status::Ok();
  AFTUNE_RETURN_IF_ERROR(CreateTrainer());
  if (from == 0) return CheckAndKeepStates(0);
  TensorMap trainable, moments;
  for (int64_t b = 0; b < layout_.blocks; ++b) {
    AFTUNE_ASSIGN_OR_RETURN(Hash d, StateDigestAt(from, b));
    AFTUNE_ASSIGN_OR_RETURN(TensorMap state, store_.GetState(d));
    for (auto& [name, t] : state) (trainer_->trainable().count(name) ? trainable : moments).emplace(name, std::move(t));
  }
  return trainer_->Restore(std::move(trainable), std::move(moments), from)
      .WithContext("replay from step " + std::to_string(from));
}

Status RunOpenings::CheckAndKeepStates(int64_t step) {
  for (int64_t b = 0; b < layout_.blocks; ++b) {
    AFTUNE_ASSIGN_OR_RETURN(Hash expected, StateDigestAt(step, b));
    Hash found = BlockStateDigest(*trainer_, static_cast<size_t>(b), nullptr);
    if (found != expected)
      return Status::Mismatch("replay does not reproduce the state of block " + std::to_string(b) + " at step " +
                              std::to_string(step) + ": trace " + HashToHex(expected) + ", replay " + HashToHex(found));
    writer_.PutState(found, BlockStateTensors(*trainer_, static_cast<size_t>(b)));
  }
  return Status::Ok();
}

Status RunOpenings::ReplayTo(int64_t step, int64_t latest_start) {
  AFTUNE_RETURN_IF_ERROR(StartReplay(latest_start));
  StepDigester digester(&writer_, 1);
  while (trainer_->next_step() < step) {
    const int64_t s = trainer_->next_step();
    AFTUNE_ASSIGN_OR_RETURN(StepReport r, trainer_->RunStep(&digester));
    ++replayed_steps_;
    StepRecordData d = digester.Take(r, trainer_->blocks());
    if (StepRecord(d) != lines_[layout_.StepLine(s)])
      return Status::Mismatch(run_.trace() + ":" + std::to_string(layout_.StepLine(s) + 1) +
                              ": replay does not reproduce the step record of step " + std::to_string(s));
    if (layout_.is_state_step(s + 1)) AFTUNE_RETURN_IF_ERROR(CheckAndKeepStates(s + 1));
  }
  return writer_.Flush();
}

}  // namespace aftune
