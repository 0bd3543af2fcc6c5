#include "trace/recorder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "train/grad_clip.h"

namespace aftune {

namespace {

Status IoError(const std::string& what, const std::string& path) {
  return Status::IOError(path + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<TraceRecorder>> TraceRecorder::Open(const std::string& path, const Hash& contract,
                                                           int64_t steps_per_block, const Trainer& trainer) {
  AFTUNE_CHECK(steps_per_block > 0);
  const int64_t k = trainer.next_step();
  if (k % steps_per_block != 0 && k != trainer.total_steps())
    return Status::InvalidArgument(path + ": cannot resume the trace at step " + std::to_string(k) +
                                   ", not a step-block boundary (steps_per_block " + std::to_string(steps_per_block) +
                                   ")");
  std::unique_ptr<TraceRecorder> r(new TraceRecorder());
  r->path_ = path;
  r->steps_per_block_ = steps_per_block;
  const std::string header = HeaderRecord(contract, trainer.blocks(), trainer.total_steps(), steps_per_block);
  if (k == 0) {
    r->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (r->fd_ < 0) return IoError("cannot create", path);
    AFTUNE_RETURN_IF_ERROR(r->Append(header));
    AFTUNE_RETURN_IF_ERROR(r->AppendBlockStates(0, trainer));
    return r;
  }
  AFTUNE_RETURN_IF_ERROR(r->KeepPrefix(header, k));
  return r;
}

TraceRecorder::~TraceRecorder() {
  if (fd_ >= 0) ::close(fd_);
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
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("kind") || !j.contains("step") ||
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
  if (::fsync(fd_) != 0) return IoError("cannot fsync", path_);
  tree_.AppendData(line);
  return Status::Ok();
}

Status TraceRecorder::AppendBlockStates(int64_t step, const Trainer& trainer) {
  for (size_t b = 0; b < trainer.blocks().size(); ++b) {
    size_t count = 0;
    Hash h = BlockStateDigest(trainer, b, &count);
    AFTUNE_RETURN_IF_ERROR(Append(BlockStateRecord(step, b, trainer.blocks()[b], h, count)));
  }
  return Status::Ok();
}

void TraceRecorder::OnActivation(int64_t, int64_t micro, int64_t boundary, const Tensor& x) {
  auto m = static_cast<size_t>(micro), b = static_cast<size_t>(boundary);
  if (pending_.boundaries.size() <= m) pending_.boundaries.resize(m + 1);
  if (pending_.boundaries[m].size() < b) pending_.boundaries[m].resize(b);
  pending_.boundaries[m][b - 1].activation = F32TensorDigest("activation.b" + std::to_string(boundary), x);
}

void TraceRecorder::OnGradient(int64_t, int64_t micro, int64_t boundary, const Tensor& dx) {
  auto m = static_cast<size_t>(micro), b = static_cast<size_t>(boundary);
  AFTUNE_CHECK(m < pending_.boundaries.size() && b - 1 < pending_.boundaries[m].size());
  pending_.boundaries[m][b - 1].gradient = F32TensorDigest("gradient.b" + std::to_string(boundary), dx);
}

void TraceRecorder::OnGradients(int64_t, const TensorMap& grads) {
  // The blocks are not known here; EndStep regroups by name.
  pending_.grad_sumsq.assign(1, {});
  for (const auto& [name, g] : grads) pending_.grad_sumsq[0].emplace_back(name, SumOfSquares(g));
}

Status TraceRecorder::EndStep(const StepReport& r, const Trainer& trainer) {
  StepRecordData d = std::move(pending_);
  pending_ = {};
  d.report = r;
  std::vector<std::vector<std::pair<std::string, double>>> by_block(trainer.blocks().size());
  if (!d.grad_sumsq.empty())
    for (auto& [name, v] : d.grad_sumsq[0]) by_block[BlockOfTensor(name, trainer.blocks())].emplace_back(name, v);
  d.grad_sumsq = std::move(by_block);
  AFTUNE_RETURN_IF_ERROR(Append(StepRecord(d)));
  const int64_t next = r.step + 1;
  if (next % steps_per_block_ == 0 || next == trainer.total_steps())
    AFTUNE_RETURN_IF_ERROR(AppendBlockStates(next, trainer));
  return Status::Ok();
}

}  // namespace aftune
