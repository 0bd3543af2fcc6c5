#include "trace/recorder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strict_json.h"

namespace aftune {

namespace {

Status IoError(const std::string& what, const std::string& path) {
  return Status::IOError(path + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<TraceRecorder>> TraceRecorder::Open(const std::string& path, const Hash& contract,
                                                           const AuditGrid& grid, TensorStore* store,
                                                           const Trainer& trainer) {
  AFTUNE_CHECK(grid.steps_per_block > 0 && grid.checkpoint_interval > 0 && grid.activation_interval > 0);
  const int64_t steps_per_block = grid.steps_per_block;
  const int64_t k = trainer.next_step();
  if (k % steps_per_block != 0 && k != trainer.total_steps())
    return Status::InvalidArgument(path + ": cannot resume the trace at step " + std::to_string(k) +
                                   ", not a step-block boundary (steps_per_block " + std::to_string(steps_per_block) +
                                   ")");
  std::unique_ptr<TraceRecorder> r(new TraceRecorder());
  r->path_ = path;
  r->grid_ = grid;
  r->total_steps_ = trainer.total_steps();
  if (store) r->writer_ = std::make_unique<StoreWriter>(store);
  r->worker_ = std::make_unique<SerialWorker>();
  r->digester_ = std::make_unique<StepDigester>(r->writer_.get(), grid.activation_interval, r->worker_.get());
  const std::string header = HeaderRecord(contract, trainer.blocks(), trainer.total_steps(), steps_per_block);
  if (k == 0) {
    r->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (r->fd_ < 0) return IoError("cannot create", path);
    AFTUNE_RETURN_IF_ERROR(r->Append(header));
    AFTUNE_RETURN_IF_ERROR(r->StartBlockStates(0, trainer));
    return r;
  }
  AFTUNE_RETURN_IF_ERROR(r->KeepPrefix(header, k));
  return r;
}

TraceRecorder::~TraceRecorder() {
  if (pending_.valid()) pending_.wait();
  if (fd_ >= 0) ::close(fd_);
}

Hash TraceRecorder::root() const {
  AFTUNE_CHECK(!pending_.valid());
  return tree_.Root();
}

uint64_t TraceRecorder::records() const {
  AFTUNE_CHECK(!pending_.valid());
  return tree_.size();
}

Status TraceRecorder::KeepPrefix(const std::string& header, int64_t k) {
  AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path_));
  size_t pos = 0, keep = 0;
  int64_t line_no = 0, steps = 0;
  bool at_state_k = false;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    if (nl == std::string::npos) break;  // a partial last line: never kept
    const std::string line = bytes.substr(pos, nl - pos);
    ++line_no;
    const std::string where = path_ + ":" + std::to_string(line_no);
    if (line_no == 1) {
      if (line != header) return Status::Corruption(where + ": the header differs from this run's");
    } else {
      AFTUNE_ASSIGN_OR_RETURN(nlohmann::json j, ParseStrictJson(line, where));
      if (!j.is_object() || !j.contains("kind") || !j.contains("step") ||
          !j["step"].is_number_integer())
        return Status::Corruption(where + ": not a trace record");
      const int64_t step = j["step"].get<int64_t>();
      const std::string kind = j["kind"].is_string() ? j["kind"].get<std::string>() : "";
      if (kind == "step") {
        if (step >= k) break;
        if (step != steps) return Status::Corruption(where + ": step " + std::to_string(step) + " out of order");
        ++steps;
        at_state_k = false;
      } else if (kind == "block-state") {
        if (step > k) break;
        at_state_k = step == k;
      } else {
        return Status::Corruption(where + ": unknown record kind '" + kind + "'");
      }
    }
    tree_.AppendData(line);
    pos = nl + 1;
    keep = pos;
  }
  if (steps != k || !at_state_k)
    return Status::Corruption(path_ + ": lacks the records up to the block-states of step " + std::to_string(k) +
                              " that the checkpoint needs");
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) return IoError("cannot open", path_);
  if (::ftruncate(fd_, static_cast<off_t>(keep)) != 0 || ::fsync(fd_) != 0) return IoError("cannot truncate", path_);
  return Status::Ok();
}

Status TraceRecorder::Append(const std::string& line) {
  std::string out = line + "\n";
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::write(fd_, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("cannot append", path_);
    done += static_cast<size_t>(n);
  }
  tree_.AppendData(line);
  return Status::Ok();
}

bool TraceRecorder::CheckpointStep(int64_t step) const {
  return step > 0 && (step == total_steps_ || step % (grid_.steps_per_block * grid_.checkpoint_interval) == 0);
}

Status TraceRecorder::StartBlockStates(int64_t step, const Trainer& trainer) {
  // The objects kept so far are durable before the records (not those the
  // next step keeps meanwhile).
  const uint64_t kept_ticket = writer_ ? writer_->submitted() : 0;
  if (CheckpointStep(step)) return AppendBlockStates(step, trainer, kept_ticket);
  pending_ = worker_->Submit([this, step, &trainer, kept_ticket] { return AppendBlockStates(step, trainer, kept_ticket); });
  return Status::Ok();
}

Status TraceRecorder::AppendBlockStates(int64_t step, const Trainer& trainer, uint64_t kept_ticket) {
  // Step 0 is the contract's base model and seed-determined initialisation,
  // rebuilt from the inputs. The final state is kept: every audit checks it
  // against the delivered weights. (Never in the background: see above.)
  const bool keep = writer_ && CheckpointStep(step);
  const size_t blocks = trainer.blocks().size();
  std::vector<Hash> states(blocks);
  std::vector<size_t> counts(blocks);
  for (size_t b = 0; b < blocks; ++b) {
    states[b] = BlockStateDigest(trainer, b, &counts[b]);
    // Lent, not copied: the flush below returns before the trainer changes them.
    if (keep) writer_->PutLentState(states[b], BlockStateViews(trainer, b));
  }
  Status st = writer_ ? writer_->FlushThrough(kept_ticket) : Status::Ok();
  for (size_t b = 0; b < blocks && st.ok(); ++b)
    st = Append(BlockStateRecord(step, b, trainer.blocks()[b], states[b], counts[b]));
  // Durable once per step-block: a resume starts from a checkpoint at a
  // step-block start and keeps only the lines up to its block-states, so
  // those are the lines that must survive a crash.
  if (st.ok() && ::fsync(fd_) != 0) st = IoError("cannot fsync", path_);
  if (!keep) return st;
  // A kept state is durable before the caller saves its resumable
  // checkpoint at the same step (a run resumed there never writes it again);
  // and, whatever failed, the writer is done with the lent tensors.
  const Status flushed = writer_->Flush();
  AFTUNE_RETURN_IF_ERROR(st);
  AFTUNE_RETURN_IF_ERROR(flushed);
  kept_step_ = step;
  kept_states_ = std::move(states);
  return Status::Ok();
}

Status TraceRecorder::AwaitBlockStates() {
  if (pending_.valid()) {
    Status st = pending_.get();
    if (background_.ok()) background_ = st;
  }
  return std::exchange(background_, Status::Ok());
}

void TraceRecorder::OnActivation(int64_t step, int64_t micro, int64_t boundary, const Tensor& x) {
  digester_->OnActivation(step, micro, boundary, x);
}

void TraceRecorder::OnGradient(int64_t step, int64_t micro, int64_t boundary, const Tensor& dx) {
  digester_->OnGradient(step, micro, boundary, dx);
}

void TraceRecorder::OnGradients(int64_t /*step*/, const TensorMap& /*grads*/) {
  // The optimizer step that follows changes the state being digested.
  if (!pending_.valid()) return;
  Status st = pending_.get();
  if (background_.ok()) background_ = st;
}

Status TraceRecorder::EndStep(const StepReport& r, const Trainer& trainer) {
  AFTUNE_RETURN_IF_ERROR(AwaitBlockStates());
  StepRecordData d = digester_->Take(r, trainer.blocks());
  AFTUNE_RETURN_IF_ERROR(Append(StepRecord(d)));
  const int64_t next = r.step + 1;
  if (next % grid_.steps_per_block == 0 || next == trainer.total_steps())
    AFTUNE_RETURN_IF_ERROR(StartBlockStates(next, trainer));
  return Status::Ok();
}

}  // namespace aftune
