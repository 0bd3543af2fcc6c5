#include "base/strict_json.h"

#include <gtest/gtest.h>

namespace aftune {
namespace {

void ExpectRefused(std::string_view text, const std::string& needle,
                   Status::Code code = Status::Code::kCorruption, const StrictJsonOptions& o = {}) {
  Result<nlohmann::json> r = ParseStrictJson(text, "in.json", o);
  ASSERT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.status().code(), code);
  EXPECT_NE(r.status().message().find("in.json: "), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
}

TEST(StrictJson, AcceptsPlainJson) {
  Result<nlohmann::json> r = ParseStrictJson(R"( {"a":[1,{"b":"x"}],"c":{"a":2}} )", "in.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["a"][1]["b"], "x");
  EXPECT_EQ((*r)["c"]["a"], 2);  // the same key in two objects is not a repeat
}

TEST(StrictJson, NamesARepeatedKeyByItsPath) {
  ExpectRefused(R"({"a":1,"a":2})", "key 'a' appears twice");
  ExpectRefused(R"({"t":{"lora":{"r":1,"r":2}}})", "key 't.lora.r' appears twice");
  ExpectRefused(R"({"m":[{"x":1},{"role":1,"role":2}]})", "key 'm[1].role' appears twice");
  ExpectRefused(R"([1,[2,3],{"k":0,"k":0}])", "key '[2].k' appears twice");
}

TEST(StrictJson, RefusesDeepNestingNulSizeAndGarbage) {
  StrictJsonOptions o;
  o.max_depth = 3;
  EXPECT_TRUE(ParseStrictJson("[[[1]]]", "", o).ok());
  ExpectRefused("[[[[1]]]]", "nested more than 3 levels deep", Status::Code::kCorruption, o);
  ExpectRefused(std::string("{\"a\":1}\0x", 9), "NUL byte at byte 7");
  o.max_bytes = 4;
  ExpectRefused("[1,2]", "larger than 4 bytes", Status::Code::kCorruption, o);
  ExpectRefused("{\"a\":1} x", "not valid JSON");
  ExpectRefused("{\"a\":1 /* c */}", "not valid JSON");
  ExpectRefused("", "not valid JSON");
}

TEST(StrictJson, DeepInputIsRefusedWithoutRecursion) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  ExpectRefused(deep, "nested more than 64 levels deep");
}

TEST(StrictJson, UsesTheCallersStatusCode) {
  StrictJsonOptions o;
  o.code = Status::Code::kInvalidArgument;
  ExpectRefused(R"({"a":1,"a":2})", "appears twice", Status::Code::kInvalidArgument, o);
}

TEST(StrictJson, OrderedKeepsTheTextsOrder) {
  Result<nlohmann::ordered_json> r = ParseStrictJsonAs<nlohmann::ordered_json>(R"({"b":1,"a":2})", "in.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->begin().key(), "b");
  EXPECT_FALSE(ParseStrictJsonAs<nlohmann::ordered_json>(R"({"b":1,"b":2})", "in.json").ok());
}

}  // namespace
}  // namespace aftune
