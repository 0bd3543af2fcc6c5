// libFuzzer target: ParseJsonlDataset with the byte tokenizer on arbitrary
// bytes. The first byte picks the options (max_seq_len = 2 + (b & 63);
// overflow policy truncate when b & 0x80, else reject); the rest is the file.
//
// Beyond "no crash, no sanitizer report": a failure names the source; an
// accepted dataset has one example per non-empty line (the dataset digest's
// leaves, commit/digest.h DatasetLines), in order, each within max_seq_len,
// starting with BOS, scoring at least one token and never the first; the
// text and prompt/completion examples decode back to (a prefix of) their
// line's strings; and the training batch of all examples scores exactly the
// examples' scored tokens.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "commit/digest.h"
#include "model/tokenizer.h"
#include "train/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  aftune::DatasetOptions opts;
  opts.max_seq_len = 2 + (data[0] & 63);
  opts.overflow = (data[0] & 0x80) ? aftune::OverflowPolicy::kTruncate : aftune::OverflowPolicy::kReject;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const aftune::ByteTokenizer tok;
  aftune::Result<aftune::Dataset> r = aftune::ParseJsonlDataset(text, "fuzz", tok, opts);
  if (!r.ok()) {
    AFTUNE_CHECK(r.status().message().rfind("fuzz", 0) == 0);
    return 0;
  }
  const aftune::Dataset& ds = *r;
  const std::vector<std::string_view> lines = aftune::DatasetLines(text);
  AFTUNE_CHECK(ds.size() == static_cast<int64_t>(lines.size()) && ds.size() >= 1);
  int64_t prev_line = 0, truncated = 0, scored = 0;
  std::vector<int64_t> all;
  for (int64_t i = 0; i < ds.size(); ++i) {
    const aftune::Example& e = ds.examples[static_cast<size_t>(i)];
    const auto n = static_cast<int64_t>(e.tokens.size());
    AFTUNE_CHECK(n >= 2 && n <= opts.max_seq_len && e.scored.size() == e.tokens.size());
    AFTUNE_CHECK(e.tokens[0] == tok.bos_id() && e.scored[0] == 0 && e.num_scored() >= 1);
    for (int32_t id : e.tokens) AFTUNE_CHECK(id >= 0 && id < tok.vocab_size());
    for (uint8_t s : e.scored) AFTUNE_CHECK(s <= 1);
    AFTUNE_CHECK(e.line > prev_line);
    prev_line = e.line;
    if (!e.truncated) AFTUNE_CHECK(e.tokens.back() == tok.eos_id() && e.scored.back() == 1);
    if (e.truncated) AFTUNE_CHECK(opts.overflow == aftune::OverflowPolicy::kTruncate);
    truncated += e.truncated ? 1 : 0;
    scored += e.num_scored();
    all.push_back(i);
    // The example's text is the line's text (the line is known to parse).
    if (ds.shape != aftune::DatasetShape::kMessages) {
      const nlohmann::json obj = nlohmann::json::parse(lines[static_cast<size_t>(i)]);
      const std::string want = ds.shape == aftune::DatasetShape::kText
                                   ? obj.at("text").get<std::string>()
                                   : obj.at("prompt").get<std::string>() + obj.at("completion").get<std::string>();
      const std::string got = tok.Decode(e.tokens);
      AFTUNE_CHECK(e.truncated ? want.rfind(got, 0) == 0 : got == want);
    }
  }
  AFTUNE_CHECK(truncated == ds.num_truncated);
  const aftune::PackedBatch b = aftune::MakeTrainingBatch(ds, all);
  AFTUNE_CHECK(b.num_sequences() == ds.size());
  AFTUNE_CHECK(aftune::CountScoredTargets(b) == scored);
  return 0;
}
