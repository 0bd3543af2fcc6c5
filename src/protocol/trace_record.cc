#include "protocol/trace_record.h"

#include <bit>
#include <cstdio>
#include <cstring>

#include "base/status.h"
#include "model/llama_names.h"
#include "protocol/canonical_json.h"
#include "train/adamw.h"

namespace aftune {

static_assert(std::endian::native == std::endian::little, "tensor digests hash f32 bytes as stored in memory");

std::string F32Bits(float v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", std::bit_cast<uint32_t>(v));
  return buf;
}

std::string F64Bits(double v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(std::bit_cast<uint64_t>(v)));
  return buf;
}

std::string RecordedF32Json(float v) {
  CanonicalJsonObject o;
  o.Add("bits", CanonicalJsonString(F32Bits(v)));
  o.Add("value", CanonicalJsonNumber(static_cast<double>(v)));
  return o.Text();
}

size_t BlockOfTensor(const std::string& name, const std::vector<LayerSpan>& blocks) {
  return OwningBlock(name, blocks);
}

std::string BoundaryTensorName(BoundaryKind kind, int64_t boundary) {
  return (kind == BoundaryKind::kActivation ? "activation.b" : "gradient.b") + std::to_string(boundary);
}

Hash F32TensorDigest(const std::string& name, const Tensor& t) {
  std::vector<uint64_t> dims(t.shape().begin(), t.shape().end());
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(t.data()),
                                 static_cast<size_t>(t.numel()) * sizeof(float));
  return TensorDigest(name, "F32", dims, bytes);
}

namespace {

std::string Str(const Hash& h) { return CanonicalJsonString(HashToHex(h)); }

// Calls f(name, tensor) for the trainable tensors of `block` (every block
// when `all`) and their AdamW moments.
template <typename F>
void ForEachStateTensor(const Trainer& t, size_t block, bool all, F f) {
  const TensorMap& state = t.optimizer().state();
  for (const auto& [name, tensor] : t.trainable()) {
    if (!all && BlockOfTensor(name, t.blocks()) != block) continue;
    f(name, tensor);
    for (const std::string& m : {ExpAvgName(name), ExpAvgSqName(name)}) f(m, state.at(m));
  }
}

Hash Digest(const Trainer& t, size_t block, bool all, size_t* count) {
  std::vector<NamedDigest> digests;
  ForEachStateTensor(t, block, all,
                     [&](const std::string& name, const Tensor& x) { digests.push_back({name, F32TensorDigest(name, x)}); });
  if (count) *count = digests.size();
  Result<Hash> h = StateDigest(std::move(digests));
  AFTUNE_CHECK(h.ok());  // names are distinct: a map's keys and their suffixes
  return *h;
}

}  // namespace

std::string HeaderRecord(const Hash& contract, const std::vector<LayerSpan>& blocks, int64_t total_steps,
                         int64_t steps_per_block) {
  std::vector<std::string> spans;
  for (LayerSpan s : blocks) spans.push_back(CanonicalJsonArray({CanonicalJsonInt(s.begin), CanonicalJsonInt(s.end)}));
  CanonicalJsonObject o;
  o.Add("contract", Str(contract));
  o.Add("format", CanonicalJsonString(kTraceFormat));
  o.Add("kind", CanonicalJsonString("header"));
  o.Add("layer_blocks", CanonicalJsonArray(spans));
  o.Add("steps", CanonicalJsonInt(total_steps));
  o.Add("steps_per_block", CanonicalJsonInt(steps_per_block));
  return o.Text();
}

std::string StepRecord(const StepRecordData& d) {
  const StepReport& r = d.report;
  std::vector<std::string> micros;
  for (const auto& micro : d.boundaries) {
    std::vector<std::string> bs;
    for (const BoundaryDigests& b : micro) {
      CanonicalJsonObject o;
      o.Add("activation", Str(b.activation));
      o.Add("gradient", Str(b.gradient));
      bs.push_back(o.Text());
    }
    micros.push_back(CanonicalJsonArray(bs));
  }
  std::vector<std::string> sums;
  for (const auto& block : d.grad_sumsq) {
    CanonicalJsonObject o;
    for (const auto& [name, v] : block) o.Add(name, CanonicalJsonString(F64Bits(v)));
    sums.push_back(o.Text());
  }
  std::vector<std::string> indices;
  for (int64_t i : r.indices) indices.push_back(CanonicalJsonInt(i));
  CanonicalJsonObject o;
  o.Add("boundaries", CanonicalJsonArray(micros));
  o.Add("epoch", CanonicalJsonInt(r.epoch));
  o.Add("grad_norm", RecordedF32Json(r.grad_norm));
  o.Add("grad_sumsq", CanonicalJsonArray(sums));
  o.Add("indices", CanonicalJsonArray(indices));
  o.Add("kind", CanonicalJsonString("step"));
  o.Add("learning_rate", RecordedF32Json(r.learning_rate));
  o.Add("loss", RecordedF32Json(r.loss));
  o.Add("scored_tokens", CanonicalJsonInt(r.scored_tokens));
  o.Add("step", CanonicalJsonInt(r.step));
  o.Add("tokens", CanonicalJsonInt(r.tokens));
  return o.Text();
}

std::string BlockStateRecord(int64_t step, size_t block, LayerSpan layers, const Hash& state, size_t tensors) {
  CanonicalJsonObject o;
  o.Add("block", CanonicalJsonUint(block));
  o.Add("kind", CanonicalJsonString("block-state"));
  o.Add("layers", CanonicalJsonArray({CanonicalJsonInt(layers.begin), CanonicalJsonInt(layers.end)}));
  o.Add("state", Str(state));
  o.Add("step", CanonicalJsonInt(step));
  o.Add("tensors", CanonicalJsonUint(tensors));
  return o.Text();
}

Hash BlockStateDigest(const Trainer& t, size_t block, size_t* count) { return Digest(t, block, false, count); }
Hash FinalStateDigest(const Trainer& t) { return Digest(t, 0, true, nullptr); }

TensorMap BlockStateTensors(const Trainer& t, size_t block) {
  TensorMap out;
  ForEachStateTensor(t, block, false, [&](const std::string& name, const Tensor& x) { out.emplace(name, x); });
  return out;
}

std::map<std::string, const Tensor*> BlockStateViews(const Trainer& t, size_t block) {
  std::map<std::string, const Tensor*> out;
  ForEachStateTensor(t, block, false, [&](const std::string& name, const Tensor& x) { out.emplace(name, &x); });
  return out;
}

}  // namespace aftune
