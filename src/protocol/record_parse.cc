#include "protocol/record_parse.h"

#include <bit>
#include <nlohmann/json.hpp>
#include <set>

#include "base/strict_json.h"

namespace aftune {

namespace {

using nlohmann::json;

class Reader {
 public:
  // Records are at most this long: a step record of the largest grids is a
  // few hundred kB.
  static constexpr size_t kMaxRecordBytes = size_t{16} << 20;

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
    return {static_cast<uint32_t>(Hex(v.contains("bits") ? v["bits"] : json(), 8, std::string(key) + ".bits"))};
  }
  // Every key of the record was read: a record with a key the format does
  // not have is not a record of this format.
  void Done() {
    if (!ok()) return;
    for (const auto& [k, v] : j_.items())
      if (!taken_.count(k)) return Fail("unknown key '" + k + "'");
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

}  // namespace

float RecordedF32::value() const { return std::bit_cast<float>(bits); }

Result<ParsedStepRecord> ParseStepRecord(std::string_view text, uint64_t line) {
  Reader r(text, line);
  ParsedStepRecord p;
  r.Kind("step");
  p.step = r.Int("step");
  p.epoch = r.Int("epoch");
  p.tokens = r.Int("tokens");
  p.scored_tokens = r.Int("scored_tokens");
  p.loss = r.F32("loss");
  p.grad_norm = r.F32("grad_norm");
  p.learning_rate = r.F32("learning_rate");
  for (const json& i : r.Get("indices", json::value_t::array)) {
    if (!i.is_number_integer()) r.Fail("'indices' holds a non-integer");
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
  if (!r.ok()) return r.error();
  return p;
}

Result<ParsedBlockState> ParseBlockStateRecord(std::string_view text, uint64_t line) {
  Reader r(text, line);
  ParsedBlockState p;
  r.Kind("block-state");
  p.step = r.Int("step");
  p.block = r.Int("block");
  p.tensors = r.Int("tensors");
  p.state = r.Digest(r.Get("state", nlohmann::json::value_t::string), "state");
  const nlohmann::json& layers = r.Get("layers", nlohmann::json::value_t::array);
  if (r.ok() && (layers.size() != 2 || !layers[0].is_number_integer() || !layers[1].is_number_integer()))
    r.Fail("'layers' is not [begin, end]");
  r.Done();
  if (!r.ok()) return r.error();
  p.layers = {layers[0].get<int64_t>(), layers[1].get<int64_t>()};
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
    if (!span.is_array() || span.size() != 2 || !span[0].is_number_integer() || !span[1].is_number_integer())
      r.Fail("'layer_blocks' holds an entry that is not [begin, end]");
    if (!r.ok()) break;
    p.layer_blocks.push_back({span[0].get<int64_t>(), span[1].get<int64_t>()});
  }
  r.Done();
  if (!r.ok()) return r.error();
  if (p.layer_blocks.empty() || p.steps < 1 || p.steps_per_block < 1)
    return Status::Corruption("trace line " + std::to_string(line) + ": no layer-blocks or steps");
  return p;
}

}  // namespace aftune
