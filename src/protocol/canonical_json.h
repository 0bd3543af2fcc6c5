// Canonical JSON text: one spelling for every value, so that a document's
// SHA-256 is a function of its meaning (docs/formats.md, "Training contract",
// "Canonical form").
//
// The canonical text of a value is exactly what Python writes with
//
//   json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
//
// for the value types used here:
//
//   object   "{" members "}", members sorted by key (bytewise ascending on
//            the UTF-8 bytes, which is code point order), "key:value" joined
//            by ",", no whitespace anywhere.
//   array    "[" elements joined by "," "]", in the order given.
//   string   '"' ... '"'; '"' and '\' are escaped as \" and \\; the control
//            characters U+0008, U+0009, U+000A, U+000C, U+000D as \b \t \n
//            \f \r, the other ones below U+0020 as \u00XX (lowercase hex);
//            every other character (U+007F and non-ASCII included) as its
//            UTF-8 bytes.
//   integer  decimal, '-' for a negative value, no leading zeros, no '+'.
//   number   (an IEEE-754 binary64 value, always written as a float, even
//            when integral) the shortest decimal digit string d1 d2 … dn that
//            reads back as the same double (the closest such string when
//            several are equally short), with decimal exponent e such that
//            the value is 0.d1d2…dn × 10^e:
//              -4 < e <= 16   positional: "0.001", "16.0", "0.30000000000000004"
//                             (at least one digit on each side of the point)
//              otherwise      "d1.d2…dne±XX" ("d1e±XX" when n = 1) with the
//                             exponent e-1 written with a sign and at least
//                             two digits: "1e-08", "1e+16", "5e-324"
//            a '-' in front of a negative value, "-0.0" for negative zero.
//            This is Python's repr(float). NaN and infinities have no form.
//
// Worked example: {"b": [1, -2], "a": 0.001, "c": 1e-8} is
//   {"a":0.001,"b":[1,-2],"c":1e-08}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aftune {

// Each function returns the canonical text of one value; compose them.
std::string CanonicalJsonString(std::string_view utf8);
std::string CanonicalJsonInt(int64_t v);
std::string CanonicalJsonUint(uint64_t v);
// REQUIRES: std::isfinite(v) (aborts otherwise).
std::string CanonicalJsonNumber(double v);
// `elements`: canonical texts of the elements.
std::string CanonicalJsonArray(const std::vector<std::string>& elements);

// An object built member by member, written with its keys sorted.
//
//   CanonicalJsonObject o;
//   o.Add("b", CanonicalJsonInt(1));
//   o.Add("a", CanonicalJsonString("x"));
//   o.Text();   // {"a":"x","b":1}
class CanonicalJsonObject {
 public:
  // `value`: the canonical text of the member's value.
  // REQUIRES: `key` not added before (aborts otherwise).
  void Add(std::string key, std::string value);
  std::string Text() const;

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

}  // namespace aftune
