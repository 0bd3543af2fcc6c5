#include "protocol/record_parse.h"

#include <bit>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "base/strict_json.h"

namespace aftune {

namespace {

using nlohmann::json;

class Reader {
 public:
  // docs/formats.md, "Reading records".
  static constexpr size_t kMaxRecordBytes = size_t{64} << 20;

  Reader(std::string_view text, uint64_t line) : where_("trace line " + std::to_string(line)) {
    StrictJsonOptions strict;
    strict.max_bytes = kMaxRecordBytes;
    strict.max_depth = 8;  // a step record nests 4 deep
    Result<json> j = ParseStrictJson(text, where_, strict);
    if (!j.ok()) {
      error_ = j.status();
    } else if (!j->is_object()) {
      error_ = Status::Corruption(where_ + ": not a JSON object");
    } else {
      j_ = std::move(j).value();
    }
  }
  const Status& error() const { return error_; }
  bool ok() const { return error_.ok(); }

  const json& Get(const char* key, json::value_t type) {
    static const json kNull;
    if (!ok()) return kNull;
    taken_.insert(key);
    auto it = j_.find(key);
    bool good = it != j_.end();
    if (good && type == json::value_t::number_integer) good = it->is_number_integer();
    else if (good) good = it->type() == type;
    if (!good) {
      Fail(std::string("'") + key + "' is missing or has the wrong type");
      return kNull;
    }
    return *it;
  }
  int64_t Int(const char* key) {
    const json& v = Get(key, json::value_t::number_integer);
    return ok() ? v.get<int64_t>() : 0;
  }
  std::string Str(const char* key) {
    const json& v = Get(key, json::value_t::string);
    return ok() ? v.get<std::string>() : "";
  }
  void Kind(const char* kind) {
    if (Str("kind") != kind && ok()) Fail(std::string("'kind' is not \"") + kind + "\"");
  }
  uint64_t Hex(const json& v, size_t digits, const std::string& key) {
    if (!ok()) return 0;
    if (!v.is_string() || v.get<std::string>().size() != digits ||
        v.get<std::string>().find_first_not_of("0123456789abcdef") != std::string::npos) {
      Fail("'" + key + "' is not " + std::to_string(digits) + " lowercase hex digits");
      return 0;
    }
    return std::stoull(v.get<std::string>(), nullptr, 16);
  }
  Hash Digest(const json& v, const std::string& key) {
    if (!ok()) return {};
    Result<Hash> h = v.is_string() ? HashFromHex(v.get<std::string>()) : Status::Corruption("");
    if (!h.ok()) {
      Fail("'" + key + "' is not a digest");
      return {};
    }
    return *h;
  }
  RecordedF32 F32(const char* key) {
    const json& v = Get(key, json::value_t::object);
    if (!ok()) return {};
    for (const auto& [k, member] : v.items())
      if (k != "bits" && k != "value") Fail(std::string("unknown key '") + key + "." + k + "'");
    if (!v.contains("value") || !v["value"].is_number()) Fail(std::string("'") + key + ".value' is not a number");
    const RecordedF32 f{static_cast<uint32_t>(Hex(v.contains("bits") ? v["bits"] : json(), 8, std::string(key) + ".bits"))};
    if (ok() && !std::isfinite(f.value())) Fail(std::string("'") + key + "' is not finite");
    return f;
  }
  // Every key of the record was read: a record with a key the format does
  // not have is not a record of this format.
  void Done() {
    if (!ok()) return;
    for (const auto& [k, v] : j_.items())
      if (!taken_.count(k)) return Fail("unknown key '" + k + "'");
  }
  int64_t NonNegative(const char* key) {
    const int64_t v = Int(key);
    if (ok() && v < 0) Fail(std::string("'") + key + "' is negative");
    return v;
  }
  // The writer's text for the fields read must be the line itself: one text
  // per record, so no two readings of one leaf (docs/formats.md).
  void Canonical(std::string_view text, const std::string& written) {
    if (ok() && written != text) Fail("not the canonical text of its fields (a float's value not its bits, or another spelling)");
  }
  void Fail(const std::string& what) {
    if (ok()) error_ = Status::Corruption(where_ + ": " + what);
  }

 private:
  std::string where_;
  json j_;
  std::set<std::string> taken_;
  Status error_;
};

// [begin, end] with 0 <= begin < end.
bool IsSpan(const json& v) {
  return v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer() &&
         v[0].get<int64_t>() >= 0 && v[0].get<int64_t>() < v[1].get<int64_t>();
}

}  // namespace

float RecordedF32::value() const { return std::bit_cast<float>(bits); }

namespace {

// The writer's input for the fields of `p` (protocol/trace_record.h).
StepRecordData Written(const ParsedStepRecord& p) {
  StepRecordData d;
  d.report.step = p.step;
  d.report.epoch = p.epoch;
  d.report.indices = p.indices;
  d.report.loss = p.loss.value();
  d.report.grad_norm = p.grad_norm.value();
  d.report.learning_rate = p.learning_rate.value();
  d.report.tokens = p.tokens;
  d.report.scored_tokens = p.scored_tokens;
  d.boundaries = p.boundaries;
  for (const auto& block : p.grad_sumsq) {
    std::vector<std::pair<std::string, double>> sums;
    for (const auto& [name, bits] : block) sums.emplace_back(name, std::bit_cast<double>(bits));
    d.grad_sumsq.push_back(std::move(sums));
  }
  return d;
}

}  // namespace


Result<ParsedStepRecord> ParseStepRecord(std::string_view text, uint64_t line) {
  Reader r(text, line);
  ParsedStepRecord p;
  r.Kind("step");
  p.step = r.NonNegative("step");
  p.epoch = r.NonNegative("epoch");
  p.tokens = r.NonNegative("tokens");
  p.scored_tokens = r.NonNegative("scored_tokens");
  p.loss = r.F32("loss");
  p.grad_norm = r.F32("grad_norm");
  p.learning_rate = r.F32("learning_rate");
  for (const json& i : r.Get("indices", json::value_t::array)) {
    if (!i.is_number_integer() || i.get<int64_t>() < 0) r.Fail("'indices' holds a non-integer or a negative one");
    if (r.ok()) p.indices.push_back(i.get<int64_t>());
  }
  for (const json& micro : r.Get("boundaries", json::value_t::array)) {
    if (!micro.is_array()) r.Fail("'boundaries' holds a non-array");
    if (!r.ok()) break;
    std::vector<BoundaryDigests> bs;
    for (const json& b : micro) {
      if (!b.is_object() || !b.contains("activation") || !b.contains("gradient") || b.size() != 2)
        r.Fail("'boundaries' holds an entry that is not {activation, gradient}");
      if (!r.ok()) break;
      bs.push_back({r.Digest(b["activation"], "boundaries.activation"), r.Digest(b["gradient"], "boundaries.gradient")});
    }
    p.boundaries.push_back(std::move(bs));
  }
  for (const json& block : r.Get("grad_sumsq", json::value_t::array)) {
    if (!block.is_object()) r.Fail("'grad_sumsq' holds a non-object");
    if (!r.ok()) break;
    std::map<std::string, uint64_t> sums;
    for (const auto& [name, v] : block.items()) sums[name] = r.Hex(v, 16, "grad_sumsq." + name);
    p.grad_sumsq.push_back(std::move(sums));
  }
  r.Done();
  if (r.ok()) r.Canonical(text, StepRecord(Written(p)));
  if (!r.ok()) return r.error();
  return p;
}

Result<ParsedBlockState> ParseBlockStateRecord(std::string_view text, uint64_t line) {
  Reader r(text, line);
  ParsedBlockState p;
  r.Kind("block-state");
  p.step = r.NonNegative("step");
  p.block = r.NonNegative("block");
  p.tensors = r.NonNegative("tensors");
  p.state = r.Digest(r.Get("state", nlohmann::json::value_t::string), "state");
  const nlohmann::json& layers = r.Get("layers", nlohmann::json::value_t::array);
  if (r.ok() && !IsSpan(layers)) r.Fail("'layers' is not [begin, end] with 0 <= begin < end");
  r.Done();
  if (!r.ok()) return r.error();
  p.layers = {layers[0].get<int64_t>(), layers[1].get<int64_t>()};
  r.Canonical(text, BlockStateRecord(p.step, static_cast<size_t>(p.block), p.layers, p.state,
                                     static_cast<size_t>(p.tensors)));
  if (!r.ok()) return r.error();
  return p;
}

Result<ParsedTraceHeader> ParseTraceHeaderRecord(std::string_view text, uint64_t line) {
  Reader r(text, line);
  ParsedTraceHeader p;
  r.Kind("header");
  if (r.Str("format") != kTraceFormat && r.ok()) r.Fail("'format' is not \"" + std::string(kTraceFormat) + "\"");
  p.contract = r.Digest(r.Get("contract", json::value_t::string), "contract");
  p.steps = r.Int("steps");
  p.steps_per_block = r.Int("steps_per_block");
  for (const json& span : r.Get("layer_blocks", json::value_t::array)) {
    const int64_t from = p.layer_blocks.empty() ? 0 : p.layer_blocks.back().end;
    if (!IsSpan(span) || span[0].get<int64_t>() != from)
      r.Fail("'layer_blocks' is not a list of contiguous [begin, end] spans from layer 0");
    if (!r.ok()) break;
    p.layer_blocks.push_back({span[0].get<int64_t>(), span[1].get<int64_t>()});
  }
  r.Done();
  if (r.ok() && (p.layer_blocks.empty() || p.steps < 1 || p.steps_per_block < 1))
    r.Fail("no layer-blocks or steps");
  if (r.ok()) r.Canonical(text, HeaderRecord(p.contract, p.layer_blocks, p.steps, p.steps_per_block));
  if (!r.ok()) return r.error();
  return p;
}

}  // namespace aftune
