// Plays a dishonest provider on a copy of a recorded run (scripts/demo.sh):
// it reports a lower loss for one step than the step really had, then signs a
// new commitment over the altered trace with its own key. The signature and
// every inclusion proof then check out; only re-executing the cell that
// computes that loss can tell.
//
//   alter_step_eval RUN STEP KEY
//
// RUN is changed in place (give it a copy): the loss of step STEP's record in
// RUN/trace.jsonl becomes half of what it was, and RUN/commitment.note is
// signed again with KEY over the new trace root. Prints the altered line's
// index. Exit 0 on success, 1 with a message otherwise.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/file.h"
#include "commit/encoding.h"
#include "commit/merkle.h"
#include "protocol/commitment.h"
#include "protocol/record_parse.h"
#include "protocol/trace_record.h"
#include "trace/run_dir.h"

namespace aftune {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < text.size();) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // the writer ends every line
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

Status Alter(const RunDir& run, int64_t step, const std::string& key_path) {
  AFTUNE_ASSIGN_OR_RETURN(PrivateKey key, ReadPrivateKeyFile(key_path));
  AFTUNE_ASSIGN_OR_RETURN(std::string note, ReadFile(run.commitment()));
  AFTUNE_ASSIGN_OR_RETURN(TrainingCommitment c, VerifyCommitment(note, key.public_key()));
  AFTUNE_ASSIGN_OR_RETURN(std::string trace, ReadFile(run.trace()));
  std::vector<std::string> lines = Lines(trace);

  // The step's line: the first record naming it (the layout is the header's).
  uint64_t index = 0;
  Result<ParsedStepRecord> rec = Status::NotFound("no record of step " + std::to_string(step));
  for (uint64_t i = 1; i < lines.size() && !rec.ok(); ++i) {
    Result<ParsedStepRecord> r = ParseStepRecord(lines[i], i);
    if (r.ok() && r->step == step) rec = std::move(r), index = i;
  }
  AFTUNE_RETURN_IF_ERROR(rec.status());
  const std::string old_loss = "\"loss\":" + RecordedF32Json(rec->loss.value());
  const size_t at = lines[index].find(old_loss);
  if (at == std::string::npos) return Status::Corruption(run.trace() + ": line " + std::to_string(index) +
                                                         " does not carry its loss as the writer does");
  lines[index].replace(at, old_loss.size(), "\"loss\":" + RecordedF32Json(rec->loss.value() * 0.5f));

  std::string altered;
  std::vector<Hash> leaves;
  for (const std::string& l : lines) {
    altered += l + "\n";
    leaves.push_back(LeafHash(AsBytes(l)));
  }
  c.trace = MerkleRoot(leaves);
  AFTUNE_RETURN_IF_ERROR(WriteFileAtomic(run.trace(), altered));
  AFTUNE_RETURN_IF_ERROR(WriteCommitment(run.commitment(), c, key));
  std::printf("%llu\n", static_cast<unsigned long long>(index));
  return Status::Ok();
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: alter_step_eval RUN STEP KEY\n");
    return 2;
  }
  char* end = nullptr;
  const long long step = std::strtoll(argv[2], &end, 10);
  if (*argv[2] == '\0' || *end != '\0' || step < 0) {
    std::fprintf(stderr, "alter_step_eval: STEP '%s' is not a step number\n", argv[2]);
    return 2;
  }
  const aftune::Status s = aftune::Alter({argv[1]}, step, argv[3]);
  if (!s.ok()) {
    std::fprintf(stderr, "alter_step_eval: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
