#include "trace/run_openings.h"

#include "base/file.h"
#include "commit/merkle.h"
#include "model/model_dir.h"
#include "model/tokenizer.h"
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

}  // namespace

Result<std::unique_ptr<RunOpenings>> RunOpenings::Open(const std::string& run_dir) {
  std::unique_ptr<RunOpenings> r(new RunOpenings(run_dir));
  AFTUNE_ASSIGN_OR_RETURN(r->contract_, ReadContract(r->run_.contract()));
  AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(r->run_.trace()));
  r->lines_ = SplitLines(bytes);
  const std::string where = r->run_.trace() + ":1";
  if (r->lines_.empty()) return Status::Corruption(r->run_.trace() + ": empty trace");
  nlohmann::json h = nlohmann::json::parse(r->lines_[0], nullptr, false);
  if (h.is_discarded() || !h.is_object() || h.value("kind", "") != "header" || !h["layer_blocks"].is_array() ||
      !h["steps"].is_number_integer() || !h["steps_per_block"].is_number_integer() || !h["contract"].is_string())
    return Status::Corruption(where + ": not a trace header");
  if (h["contract"].get<std::string>() != HashToHex(ContractDigest(r->contract_)))
    return Status::Corruption(where + ": the trace names another contract than " + r->run_.contract());
  r->layout_ = {static_cast<int64_t>(h["layer_blocks"].size()), h["steps_per_block"].get<int64_t>(),
                h["steps"].get<int64_t>()};
  if (r->layout_.blocks < 1 || r->layout_.steps_per_block < 1 || r->layout_.total_steps < 1)
    return Status::Corruption(where + ": no layer-blocks or steps");
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

Result<nlohmann::json> RunOpenings::Record(uint64_t line) const {
  if (line >= lines_.size())
    return Status::NotFound(run_.trace() + ": no line " + std::to_string(line) + "; the run is incomplete");
  nlohmann::json j = nlohmann::json::parse(lines_[line], nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::Corruption(run_.trace() + ":" + std::to_string(line + 1) + ": not a trace record");
  return j;
}

Result<Hash> RunOpenings::StateDigestAt(int64_t step, int64_t block) const {
  AFTUNE_ASSIGN_OR_RETURN(nlohmann::json j, Record(layout_.BlockStateLine(step, block)));
  if (j.value("kind", "") != "block-state" || j.value("step", int64_t{-1}) != step ||
      j.value("block", int64_t{-1}) != block || !j["state"].is_string())
    return Status::Corruption(run_.trace() + ": line " + std::to_string(layout_.BlockStateLine(step, block) + 1) +
                              " is not the block-state record of block " + std::to_string(block) + " at step " +
                              std::to_string(step));
  return HashFromHex(j["state"].get<std::string>());
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
  AFTUNE_ASSIGN_OR_RETURN(nlohmann::json j, Record(layout_.StepLine(step)));
  const std::string where = run_.trace() + ":" + std::to_string(layout_.StepLine(step) + 1);
  if (j.value("kind", "") != "step" || j.value("step", int64_t{-1}) != step || !j["boundaries"].is_array())
    return Status::Corruption(where + ": not the step record of step " + std::to_string(step));
  const char* field = kind == BoundaryKind::kActivation ? "activation" : "gradient";
  const std::string name = BoundaryTensorName(kind, boundary);
  std::vector<Hash> digests;
  for (const nlohmann::json& micro : j["boundaries"]) {
    const auto b = static_cast<size_t>(boundary - 1);
    if (!micro.is_array() || micro.size() <= b || !micro[b].is_object() || !micro[b][field].is_string())
      return Status::Corruption(where + ": malformed boundaries");
    AFTUNE_ASSIGN_OR_RETURN(Hash d, HashFromHex(micro[b][field].get<std::string>()));
    digests.push_back(d);
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
