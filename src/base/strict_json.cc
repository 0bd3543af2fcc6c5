#include "base/strict_json.h"

#include <set>
#include <string>
#include <vector>

namespace aftune {

namespace {

// Thrown from the parser callback to stop at the first refusal.
struct Refusal {
  std::string what;
};

// Longer keys are cut in messages: the message names the key, it need not
// echo an attacker's megabyte.
std::string Shown(const std::string& key) { return key.size() <= 64 ? key : key.substr(0, 64) + "..."; }

// An open object or array and where the parser is inside it.
struct Frame {
  bool is_array = false;
  std::string key;          // object: the member being read
  int64_t elements = 0;     // array: elements begun so far
  std::set<std::string> keys;  // object: keys seen so far
};

std::string PathOf(const std::vector<Frame>& frames) {
  std::string path;
  for (const Frame& f : frames) {
    if (f.is_array) {
      path += "[" + std::to_string(f.elements - 1) + "]";
    } else {
      if (!path.empty()) path += ".";
      path += Shown(f.key);
    }
  }
  return path;
}

Status Make(Status::Code code, std::string_view source, const std::string& what) {
  std::string msg = source.empty() ? what : std::string(source) + ": " + what;
  switch (code) {
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(std::move(msg));
    case Status::Code::kNotFound:
      return Status::NotFound(std::move(msg));
    case Status::Code::kIOError:
      return Status::IOError(std::move(msg));
    case Status::Code::kMismatch:
      return Status::Mismatch(std::move(msg));
    default:
      return Status::Corruption(std::move(msg));
  }
}

template <typename json>
Result<json> Parse(std::string_view text, std::string_view source, const StrictJsonOptions& options) {
  if (text.size() > options.max_bytes)
    return Make(options.code, source, "larger than " + std::to_string(options.max_bytes) + " bytes");
  // nlohmann's lexer takes a NUL byte for the end of input.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos)
    return Make(options.code, source, "not valid JSON: NUL byte at byte " + std::to_string(nul));
  std::vector<Frame> frames;
  auto begin_element = [&frames] {
    if (!frames.empty() && frames.back().is_array) ++frames.back().elements;
  };
  auto cb = [&](int, nlohmann::json::parse_event_t event, json& parsed) {
    switch (event) {
      case nlohmann::json::parse_event_t::object_start:
      case nlohmann::json::parse_event_t::array_start:
        if (static_cast<int>(frames.size()) >= options.max_depth)
          throw Refusal{"nested more than " + std::to_string(options.max_depth) + " levels deep"};
        begin_element();
        frames.push_back({event == nlohmann::json::parse_event_t::array_start, "", 0, {}});
        break;
      case nlohmann::json::parse_event_t::object_end:
      case nlohmann::json::parse_event_t::array_end:
        frames.pop_back();
        break;
      case nlohmann::json::parse_event_t::key: {
        Frame& f = frames.back();
        f.key = parsed.template get<std::string>();
        if (!f.keys.insert(f.key).second) throw Refusal{"key '" + PathOf(frames) + "' appears twice"};
        break;
      }
      case nlohmann::json::parse_event_t::value:
        begin_element();
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const Refusal& r) {
    return Make(options.code, source, r.what);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    if (size_t cut = what.find("] "); cut != std::string::npos) what = what.substr(cut + 2);
    return Make(options.code, source, "not valid JSON: " + what);
  }
}

}  // namespace

template <typename Json>
Result<Json> ParseStrictJsonAs(std::string_view text, std::string_view source, const StrictJsonOptions& options) {
  return Parse<Json>(text, source, options);
}

template Result<nlohmann::json> ParseStrictJsonAs(std::string_view, std::string_view, const StrictJsonOptions&);
template Result<nlohmann::ordered_json> ParseStrictJsonAs(std::string_view, std::string_view,
                                                          const StrictJsonOptions&);

}  // namespace aftune
