#include "model/safetensors_index.h"

#include <gtest/gtest.h>

namespace aftune {
namespace {

constexpr char kIndex[] = R"({
  "metadata": {"total_size": 24, "total_parameters": 6},
  "weight_map": {
    "a": "model-00001-of-00002.safetensors",
    "b": "model-00002-of-00002.safetensors",
    "c": "model-00001-of-00002.safetensors"
  }
})";

TEST(SafetensorsIndexTest, ParsesTransformersIndex) {
  Result<SafetensorsIndex> r = ParseSafetensorsIndex(kIndex, "idx");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->weight_map.size(), 3u);
  EXPECT_EQ(r->weight_map.at("b"), "model-00002-of-00002.safetensors");
  ASSERT_TRUE(r->total_size.has_value());
  EXPECT_EQ(*r->total_size, 24u);
  EXPECT_EQ(r->Shards(), (std::vector<std::string>{"model-00001-of-00002.safetensors",
                                                   "model-00002-of-00002.safetensors"}));
}

TEST(SafetensorsIndexTest, MetadataIsOptional) {
  Result<SafetensorsIndex> r = ParseSafetensorsIndex(R"({"weight_map": {"x": "m.safetensors"}})", "idx");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->total_size.has_value());
}

TEST(SafetensorsIndexTest, WriterIsTransformersLayoutAndRoundTrips) {
  SafetensorsIndex index;
  index.total_size = 24;
  index.weight_map = {{"b", "model-00002-of-00002.safetensors"}, {"a", "model-00001-of-00002.safetensors"}};
  const std::string text = SafetensorsIndexToJson(index);
  // json.dumps(index, indent=2, sort_keys=True) + "\n", as save_pretrained writes it.
  EXPECT_EQ(text,
            "{\n  \"metadata\": {\n    \"total_size\": 24\n  },\n  \"weight_map\": {\n"
            "    \"a\": \"model-00001-of-00002.safetensors\",\n"
            "    \"b\": \"model-00002-of-00002.safetensors\"\n  }\n}\n");
  Result<SafetensorsIndex> back = ParseSafetensorsIndex(text, "idx");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->weight_map, index.weight_map);
  EXPECT_EQ(back->total_size, index.total_size);
}

void ExpectCorrupt(const std::string& text, const std::string& fragment) {
  Result<SafetensorsIndex> r = ParseSafetensorsIndex(text, "dir/idx.json");
  ASSERT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << text;
  EXPECT_NE(r.status().message().find("dir/idx.json: "), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(SafetensorsIndexTest, RejectsATensorListedTwice) {
  ExpectCorrupt(R"({"weight_map": {"a": "x.safetensors", "a": "y.safetensors"}})",
                "weight_map lists the tensor 'a' twice");
}

TEST(SafetensorsIndexTest, RejectsPathsAndOtherNonShardNames) {
  for (const char* bad : {"../x.safetensors", "sub/x.safetensors", "/abs.safetensors", "x.bin", ".safetensors",
                          ".hidden.safetensors", "a\\\\b.safetensors", ""}) {
    ExpectCorrupt(std::string(R"({"weight_map": {"t": ")") + bad + "\"}}", "tensor 't' names");
  }
}

TEST(SafetensorsIndexTest, RejectsBadStructure) {
  ExpectCorrupt("[]", "not a JSON object");
  ExpectCorrupt("5", "not a JSON object");
  ExpectCorrupt(R"({"metadata": {}})", "no \"weight_map\"");
  ExpectCorrupt(R"({"weight_map": {}})", "weight_map is empty");
  ExpectCorrupt(R"({"weight_map": []})", "\"weight_map\" is not an object");
  ExpectCorrupt(R"({"weight_map": 3})", "\"weight_map\" is not an object");
  ExpectCorrupt(R"({"metadata": 3, "weight_map": {"a": "x.safetensors"}})", "\"metadata\" is not an object");
  ExpectCorrupt(R"({"weight_map": {"a": 1}})", "the file of tensor 'a' is not a string");
  ExpectCorrupt(R"({"weight_map": {"a": ["x.safetensors"]}})", "the file of tensor 'a' is not a string");
  ExpectCorrupt(R"({"weight_map": {"a": "x.safetensors"}, "extra": 1})", "unexpected key 'extra'");
  ExpectCorrupt(R"({"weight_map": {"a": "x.safetensors"}, "weight_map": {"b": "x.safetensors"}})",
                "appears twice");
  ExpectCorrupt(R"({"metadata": {"total_size": -1}, "weight_map": {"a": "x.safetensors"}})",
                "total_size is not a non-negative integer");
  ExpectCorrupt(R"({"metadata": {"total_size": 1.5}, "weight_map": {"a": "x.safetensors"}})",
                "total_size is not a non-negative integer");
  ExpectCorrupt(R"({"metadata": {"k": [[[[[[[[[1]]]]]]]]]}, "weight_map": {"a": "x.safetensors"}})",
                "nested deeper");
}

TEST(SafetensorsIndexTest, RejectsBadJson) {
  ExpectCorrupt(R"({"weight_map": {"a": "x.safetensors"}} x)", "not valid JSON");
  ExpectCorrupt(R"({"weight_map": {"a": "x.safetensors"},})", "not valid JSON");
  ExpectCorrupt(std::string("{\"weight_map\": {\"a\": \"x.safetensors\"}}\0", 40), "NUL byte");
  ExpectCorrupt(R"({"weight_map": {"a": "x.safetensors"} // c
})", "not valid JSON");
}

TEST(SafetensorsIndexTest, EveryTruncationIsRejected) {
  const std::string text = kIndex;
  for (size_t n = 0; n + 1 < text.size(); ++n) {
    // Cutting inside the trailing whitespace leaves a complete object.
    if (text.substr(0, n).find_last_of('}') == text.size() - 1) continue;
    Result<SafetensorsIndex> r = ParseSafetensorsIndex(text.substr(0, n), "idx");
    EXPECT_FALSE(r.ok()) << n;
  }
}

TEST(SafetensorsIndexTest, ShardFileNames) {
  EXPECT_TRUE(IsShardFileName("model-00001-of-00004.safetensors"));
  EXPECT_TRUE(IsShardFileName("model.safetensors"));
  EXPECT_FALSE(IsShardFileName("model.safetensors.index.json"));
  EXPECT_FALSE(IsShardFileName(std::string(300, 'a') + ".safetensors"));
  EXPECT_FALSE(IsShardFileName("a\x01.safetensors"));
}

}  // namespace
}  // namespace aftune
