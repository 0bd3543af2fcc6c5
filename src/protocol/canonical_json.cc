#include "protocol/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/status.h"

namespace aftune {

std::string CanonicalJsonString(std::string_view utf8) {
  std::string out = "\"";
  for (char ch : utf8) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

std::string CanonicalJsonInt(int64_t v) { return std::to_string(v); }
std::string CanonicalJsonUint(uint64_t v) { return std::to_string(v); }

std::string CanonicalJsonNumber(double v) {
  AFTUNE_CHECK(std::isfinite(v));
  // The shortest round-trip digits, in scientific form: "d[.ddd]e±XX".
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
  AFTUNE_CHECK(ec == std::errc());
  const std::string_view sci(buf, static_cast<size_t>(end - buf));
  const size_t epos = sci.find('e');
  AFTUNE_CHECK(epos != std::string_view::npos);
  std::string digits;
  for (char c : sci.substr(0, epos))
    if (c != '.') digits += c;
  int exp10 = 0;  // value = d1.d2… × 10^exp10
  const std::string_view e = sci.substr(epos + 1);
  auto [p, ec2] = std::from_chars(e.data() + (e[0] == '+' ? 1 : 0), e.data() + e.size(), exp10);
  AFTUNE_CHECK(ec2 == std::errc() && p == e.data() + e.size());
  // std::to_chars never writes trailing zeros in the shortest form, except
  // for zero itself ("0e+00").
  const int n = static_cast<int>(digits.size());
  const int decpt = exp10 + 1;  // value = 0.d1d2… × 10^decpt
  std::string out = std::signbit(v) ? "-" : "";
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
    } else if (decpt >= n) {
      out += digits + std::string(static_cast<size_t>(decpt - n), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
    }
  } else {
    out += digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    out += ebuf;
  }
  return out;
}

std::string CanonicalJsonArray(const std::vector<std::string>& elements) {
  std::string out = "[";
  for (size_t i = 0; i < elements.size(); ++i) {
    if (i) out += ',';
    out += elements[i];
  }
  out += ']';
  return out;
}

void CanonicalJsonObject::Add(std::string key, std::string value) {
  for (const auto& m : members_) AFTUNE_CHECK(m.first != key);
  members_.emplace_back(std::move(key), std::move(value));
}

std::string CanonicalJsonObject::Text() const {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  for (const auto& m : members_) sorted.push_back(&m);
  // std::string's operator< compares chars as unsigned (char_traits<char>::lt).
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  std::string out = "{";
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i) out += ',';
    out += CanonicalJsonString(sorted[i]->first) + ":" + sorted[i]->second;
  }
  out += '}';
  return out;
}

}  // namespace aftune
