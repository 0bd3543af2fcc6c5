// model.safetensors.index.json: reader and writer.
//
// Format (transformers' save_pretrained for a sharded checkpoint):
//
//   {
//     "metadata": {
//       "total_size": 16060522496
//     },
//     "weight_map": {
//       "lm_head.weight": "model-00004-of-00004.safetensors",
//       "model.embed_tokens.weight": "model-00001-of-00004.safetensors",
//       ...
//     }
//   }
//
// "weight_map" (required, non-empty) maps each tensor name to the file that
// holds it; "metadata" (optional) is an object whose "total_size", when
// present, is a non-negative integer (other metadata keys are kept by other
// tools, e.g. "total_parameters", and ignored here).
//
// The reader is strict. It rejects, as one Status::Corruption naming the file:
//   - more than kSafetensorsIndexMaxBytes bytes, a NUL byte, text that is not
//     one JSON object (nlohmann's strict lexer; no comments, nothing after it);
//   - a key repeated in any object (a tensor listed twice is ambiguous);
//   - a top-level key other than "metadata" and "weight_map", a missing or
//     empty "weight_map", a "metadata" or "weight_map" that is not an object;
//   - a weight_map value that is not a string, or not a plain shard file name
//     (IsShardFileName: no directory part, so no index reaches outside the
//     model directory);
//   - a "total_size" that is not a non-negative integer;
//   - metadata nested deeper than kMaxDepth.
//
// Canonical form (the writer): nlohmann's dump with a 2-space indent, keys
// sorted bytewise, "metadata" holding "total_size" only, a trailing newline.
#include "model/safetensors_index.h"

#include <set>

#include <nlohmann/json.hpp>

#include "model/safetensors.h"

namespace aftune {

namespace {

using Json = nlohmann::json;

constexpr size_t kMaxDepth = 8;

// SAX handler: checks the structure as it streams, keeps weight_map and
// total_size, stops at the first problem with a message in `error`.
class IndexHandler {
 public:
  SafetensorsIndex index;
  bool saw_weight_map = false;
  std::string error;

  bool null() { return Value(Kind::kOther); }
  bool boolean(bool) { return Value(Kind::kOther); }
  bool number_integer(Json::number_integer_t) { return Value(Kind::kOther); }
  bool number_unsigned(Json::number_unsigned_t v) {
    unsigned_ = v;
    return Value(Kind::kUnsigned);
  }
  bool number_float(Json::number_float_t, const std::string&) { return Value(Kind::kOther); }
  bool string(std::string& v) {
    string_ = std::move(v);
    return Value(Kind::kString);
  }
  bool binary(Json::binary_t&) { return Value(Kind::kOther); }
  bool start_object(std::size_t) { return Open(true); }
  bool start_array(std::size_t) { return Open(false); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(std::string& k) {
    Frame& f = stack_.back();
    if (!f.keys.insert(k).second) {
      return Fail(f.role == Role::kWeightMap ? "weight_map lists the tensor " + QuoteName(k) + " twice"
                                             : "the key " + QuoteName(k) + " appears twice in one object");
    }
    if (f.role == Role::kTop && k != "metadata" && k != "weight_map")
      return Fail("unexpected key " + QuoteName(k) + " (only \"metadata\" and \"weight_map\")");
    key_ = std::move(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    if (error.empty()) error = "not valid JSON at byte " + std::to_string(position) + ": " + ex.what();
    return false;
  }

 private:
  enum class Kind { kString, kUnsigned, kOther };
  enum class Role { kTop, kMetadata, kWeightMap, kOther };
  struct Frame {
    Role role;
    bool object;
    std::set<std::string> keys;
  };

  bool Fail(std::string msg) {
    if (error.empty()) error = std::move(msg);
    return false;
  }

  // The role a value takes where it appears (the frame on top, the last key).
  Role ChildRole() const {
    if (stack_.empty()) return Role::kTop;
    if (stack_.back().role != Role::kTop) return Role::kOther;
    return key_ == "metadata" ? Role::kMetadata : Role::kWeightMap;
  }

  bool Open(bool object) {
    const Role role = ChildRole();
    if (stack_.size() >= kMaxDepth) return Fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    if (role == Role::kTop && !object) return Fail("the index is not a JSON object");
    if ((role == Role::kMetadata || role == Role::kWeightMap) && !object)
      return Fail("\"" + key_ + "\" is not an object");
    if (!stack_.empty() && stack_.back().role == Role::kWeightMap)
      return Fail("weight_map: the file of tensor " + QuoteName(key_) + " is not a string");
    if (role == Role::kWeightMap) saw_weight_map = true;
    stack_.push_back({role, object, {}});
    return true;
  }

  bool Close() {
    if (stack_.back().role == Role::kWeightMap && index.weight_map.empty()) return Fail("weight_map is empty");
    stack_.pop_back();
    return true;
  }

  bool Value(Kind kind) {
    if (stack_.empty()) return Fail("the index is not a JSON object");
    const Frame& f = stack_.back();
    switch (f.role) {
      case Role::kTop:
        return Fail("\"" + key_ + "\" is not an object");
      case Role::kWeightMap:
        if (kind != Kind::kString)
          return Fail("weight_map: the file of tensor " + QuoteName(key_) + " is not a string");
        if (!IsShardFileName(string_))
          return Fail("weight_map: tensor " + QuoteName(key_) + " names " + QuoteName(string_) +
                      ", not a shard file name (a plain name ending in .safetensors)");
        index.weight_map.emplace(key_, std::move(string_));
        return true;
      case Role::kMetadata:
        if (key_ == "total_size") {
          if (kind != Kind::kUnsigned) return Fail("metadata.total_size is not a non-negative integer");
          index.total_size = unsigned_;
        }
        return true;
      case Role::kOther:
        return true;
    }
    return true;
  }

  std::vector<Frame> stack_;
  std::string key_, string_;
  uint64_t unsigned_ = 0;
};

}  // namespace

std::vector<std::string> SafetensorsIndex::Shards() const {
  std::set<std::string> files;
  for (const auto& [name, file] : weight_map) files.insert(file);
  return {files.begin(), files.end()};
}

bool IsShardFileName(std::string_view name) {
  constexpr std::string_view kSuffix = ".safetensors";
  if (name.size() <= kSuffix.size() || name.size() > 255 || name.front() == '.') return false;
  if (name.substr(name.size() - kSuffix.size()) != kSuffix) return false;
  for (char c : name)
    if (c < 0x20 || c > 0x7e || c == '/' || c == '\\') return false;
  return true;
}

Result<SafetensorsIndex> ParseSafetensorsIndex(std::string_view text, const std::string& source) {
  auto corrupt = [&](const std::string& msg) { return Status::Corruption(source + ": " + msg); };
  if (text.size() > kSafetensorsIndexMaxBytes)
    return corrupt(std::to_string(text.size()) + " bytes exceed the limit of " +
                   std::to_string(kSafetensorsIndexMaxBytes));
  // nlohmann's lexer takes a NUL byte for the end of input.
  if (text.find('\0') != std::string_view::npos) return corrupt("not valid JSON: NUL byte");
  IndexHandler handler;
  bool parsed = false;
  try {
    parsed = Json::sax_parse(text.begin(), text.end(), &handler, Json::input_format_t::json, /*strict=*/true,
                             /*ignore_comments=*/false);
  } catch (const Json::exception& ex) {  // not expected from the SAX parser; kept as a guard
    return corrupt(std::string("not valid JSON: ") + ex.what());
  }
  if (!parsed) return corrupt(handler.error.empty() ? "not valid JSON" : handler.error);
  if (!handler.saw_weight_map) return corrupt("no \"weight_map\"");
  return std::move(handler.index);
}

std::string SafetensorsIndexToJson(const SafetensorsIndex& index) {
  Json j;
  j["metadata"] = Json::object();
  if (index.total_size) j["metadata"]["total_size"] = *index.total_size;
  j["weight_map"] = Json::object();
  for (const auto& [name, file] : index.weight_map) j["weight_map"][name] = file;
  return j.dump(2) + "\n";
}

}  // namespace aftune
