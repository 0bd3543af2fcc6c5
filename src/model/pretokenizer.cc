#include "model/pretokenizer.h"

#include <algorithm>
#include <utility>

#include "model/byte_level.h"

namespace aftune {

namespace {

// GPT-2's pattern, what ByteLevel's use_regex splits with.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct Range {
  size_t begin, end;
  bool delimiter;
};

// `text` covered by consecutive ranges: the matches (delimiter = !invert)
// and the stretches between them.
std::vector<Range> Cover(std::string_view text, const std::vector<std::pair<size_t, size_t>>& matches, bool invert) {
  std::vector<Range> out;
  size_t last = 0;
  for (auto [b, e] : matches) {
    if (b > last) out.push_back({last, b, invert});
    out.push_back({b, e, !invert});
    last = e;
  }
  if (last < text.size()) out.push_back({last, text.size(), invert});
  return out;
}

// HF's NormalizedString::split: how delimiters and the rest become pieces.
std::vector<std::pair<size_t, size_t>> Pieces(const std::vector<Range>& cover, SplitBehavior behavior) {
  std::vector<std::pair<size_t, size_t>> out;
  if (behavior == SplitBehavior::kRemoved) {
    for (const Range& r : cover) {
      if (!r.delimiter) out.emplace_back(r.begin, r.end);
    }
  } else if (behavior == SplitBehavior::kIsolated) {
    for (const Range& r : cover) out.emplace_back(r.begin, r.end);
  } else if (behavior == SplitBehavior::kMergedWithPrevious) {
    bool previous_delimiter = false;
    for (const Range& r : cover) {
      if (r.delimiter && !previous_delimiter && !out.empty()) {
        out.back().second = r.end;
      } else {
        out.emplace_back(r.begin, r.end);
      }
      previous_delimiter = r.delimiter;
    }
  } else if (behavior == SplitBehavior::kMergedWithNext) {
    bool previous_delimiter = false;
    for (auto it = cover.rbegin(); it != cover.rend(); ++it) {
      if (it->delimiter && !previous_delimiter && !out.empty()) {
        out.back().first = it->begin;
      } else {
        out.emplace_back(it->begin, it->end);
      }
      previous_delimiter = it->delimiter;
    }
    std::reverse(out.begin(), out.end());
  } else {  // contiguous: runs of delimiters become one piece
    bool previous_delimiter = false;
    for (const Range& r : cover) {
      if (r.delimiter && previous_delimiter && !out.empty()) {
        out.back().second = r.end;
      } else {
        out.emplace_back(r.begin, r.end);
      }
      previous_delimiter = r.delimiter;
    }
  }
  return out;
}

// Each maximal run of ASCII digits (or each digit alone) as a match.
std::vector<std::pair<size_t, size_t>> DigitMatches(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] >= '0' && text[i] <= '9') out.emplace_back(i, i + 1);
  }
  return out;
}

std::string ReplaceSpaces(std::string_view text, std::string_view with) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == ' ') {
      out.append(with);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<PreTokenizer> PreTokenizer::FromJson(const tokjson::Json& j, const std::string& source,
                                            const std::string& path) {
  PreTokenizer p;
  if (!j.is_null()) AFTUNE_RETURN_IF_ERROR(p.Add(j, source, path));
  return p;
}

Status PreTokenizer::Add(const tokjson::Json& j, const std::string& source, const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string type, tokjson::ComponentType(j, source, path));
  Step s;
  if (type == "Sequence") {
    const std::string list_path = tokjson::Join(path, "pretokenizers");
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array()) {
      return tokjson::Error(source, list_path, "must be an array");
    }
    for (size_t i = 0; i < j["pretokenizers"].size(); ++i) {
      AFTUNE_RETURN_IF_ERROR(Add(j["pretokenizers"][i], source, tokjson::Index(list_path, i)));
    }
    return Status::Ok();
  } else if (type == "Split") {
    s.kind = Kind::kSplit;
    if (!j.contains("pattern")) return tokjson::Error(source, tokjson::Join(path, "pattern"), "missing");
    AFTUNE_ASSIGN_OR_RETURN(TextPattern pat, TextPattern::FromJson(j["pattern"], source, tokjson::Join(path, "pattern")));
    s.pattern = std::move(pat);
    AFTUNE_ASSIGN_OR_RETURN(std::string behavior, tokjson::RequiredString(j, "behavior", source, path));
    if (behavior == "Removed") {
      s.behavior = SplitBehavior::kRemoved;
    } else if (behavior == "Isolated") {
      s.behavior = SplitBehavior::kIsolated;
    } else if (behavior == "MergedWithPrevious") {
      s.behavior = SplitBehavior::kMergedWithPrevious;
    } else if (behavior == "MergedWithNext") {
      s.behavior = SplitBehavior::kMergedWithNext;
    } else if (behavior == "Contiguous") {
      s.behavior = SplitBehavior::kContiguous;
    } else {
      return tokjson::Error(source, tokjson::Join(path, "behavior"), "\"" + behavior + "\" is not supported");
    }
    AFTUNE_ASSIGN_OR_RETURN(s.invert, tokjson::OptionalBool(j, "invert", false, source, path));
  } else if (type == "ByteLevel") {
    s.kind = Kind::kByteLevel;
    AFTUNE_ASSIGN_OR_RETURN(s.add_prefix_space, tokjson::OptionalBool(j, "add_prefix_space", true, source, path));
    AFTUNE_ASSIGN_OR_RETURN(bool use_regex, tokjson::OptionalBool(j, "use_regex", true, source, path));
    if (use_regex) {
      AFTUNE_ASSIGN_OR_RETURN(TextPattern pat, TextPattern::FromJson(tokjson::Json{{"Regex", kGpt2Pattern}}, source, path));
      s.pattern = std::move(pat);
    }
  } else if (type == "Metaspace") {
    s.kind = Kind::kMetaspace;
    AFTUNE_ASSIGN_OR_RETURN(s.replacement, tokjson::OptionalString(j, "replacement", "\xE2\x96\x81", source, path));
    if (s.replacement.empty()) return tokjson::Error(source, tokjson::Join(path, "replacement"), "must not be empty");
    AFTUNE_ASSIGN_OR_RETURN(s.split, tokjson::OptionalBool(j, "split", true, source, path));
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      AFTUNE_ASSIGN_OR_RETURN(std::string scheme, tokjson::RequiredString(j, "prepend_scheme", source, path));
      if (scheme == "always") {
        s.prepend = Prepend::kAlways;
      } else if (scheme == "first") {
        s.prepend = Prepend::kFirst;
      } else if (scheme == "never") {
        s.prepend = Prepend::kNever;
      } else {
        return tokjson::Error(source, tokjson::Join(path, "prepend_scheme"), "\"" + scheme + "\" is not supported");
      }
    } else {
      AFTUNE_ASSIGN_OR_RETURN(bool add, tokjson::OptionalBool(j, "add_prefix_space", true, source, path));
      s.prepend = add ? Prepend::kAlways : Prepend::kNever;
    }
  } else if (type == "Digits") {
    s.kind = Kind::kDigits;
    AFTUNE_ASSIGN_OR_RETURN(s.individual_digits, tokjson::OptionalBool(j, "individual_digits", false, source, path));
  } else {
    return tokjson::Unsupported(source, path, type);
  }
  steps_.push_back(std::move(s));
  return Status::Ok();
}

void PreTokenizer::ApplyStep(const Step& s, std::vector<std::string>* pieces, bool at_text_start) {
  std::vector<std::string> out;
  out.reserve(pieces->size());
  for (size_t i = 0; i < pieces->size(); ++i) {
    std::string& text = (*pieces)[i];
    std::vector<std::pair<size_t, size_t>> cut;
    switch (s.kind) {
      case Kind::kSplit: {
        const std::vector<Range> cover = Cover(text, s.pattern->Matches(text), s.invert);
        cut = Pieces(cover, s.behavior);
        break;
      }
      case Kind::kDigits: {
        const std::vector<Range> cover = Cover(text, DigitMatches(text), false);
        cut = Pieces(cover, s.individual_digits ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
        break;
      }
      case Kind::kByteLevel: {
        if (s.add_prefix_space && (text.empty() || text[0] != ' ')) text.insert(0, " ");
        if (s.pattern) {
          cut = Pieces(Cover(text, s.pattern->Matches(text), false), SplitBehavior::kIsolated);
        } else {
          cut.emplace_back(0, text.size());
        }
        for (auto [b, e] : cut) {
          if (e == b) continue;
          std::string mapped;
          mapped.reserve(2 * (e - b));
          byte_level::Encode(std::string_view(text).substr(b, e - b), &mapped);
          out.push_back(std::move(mapped));
        }
        continue;
      }
      case Kind::kMetaspace: {
        text = ReplaceSpaces(text, s.replacement);
        const bool starts = text.compare(0, s.replacement.size(), s.replacement) == 0;
        if (!starts && (s.prepend == Prepend::kAlways || (s.prepend == Prepend::kFirst && at_text_start && i == 0))) {
          text.insert(0, s.replacement);
        }
        if (s.split) {
          const std::vector<Range> cover = Cover(text, TextPattern::Literal(s.replacement).Matches(text), false);
          cut = Pieces(cover, SplitBehavior::kMergedWithNext);
        } else {
          cut.emplace_back(0, text.size());
        }
        break;
      }
    }
    for (auto [b, e] : cut) {
      if (e > b) out.push_back(text.substr(b, e - b));
    }
  }
  *pieces = std::move(out);
}

std::vector<std::string> PreTokenizer::Apply(std::string text, bool at_text_start) const {
  std::vector<std::string> pieces;
  if (!text.empty()) pieces.push_back(std::move(text));
  for (const Step& s : steps_) ApplyStep(s, &pieces, at_text_start);
  return pieces;
}

}  // namespace aftune
