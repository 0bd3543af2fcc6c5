// The contract binds a dataset by its digest; the trainer reads the same file
// as examples. Example i must be digest leaf i, whatever the file's line
// endings: this checks the digest (commit/digest.h) and the reader
// (train/dataset.h) against each other and against the file's bytes, for
// CRLF endings, blank lines, a missing final newline and bytes that are not
// UTF-8.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "commit/digest.h"
#include "commit/encoding.h"
#include "commit/merkle.h"
#include "model/tokenizer.h"
#include "train/dataset.h"

namespace aftune {
namespace {

// The file's lines by line number (1-based), endings as they are.
std::vector<std::string> RawLines(const std::string& file) {
  std::vector<std::string> out{""};
  size_t pos = 0;
  for (size_t nl; (nl = file.find('\n', pos)) != std::string::npos; pos = nl + 1)
    out.push_back(file.substr(pos, nl - pos));
  if (pos < file.size()) out.push_back(file.substr(pos));
  return out;
}

DatasetOptions Options() {
  DatasetOptions o;
  o.max_seq_len = 64;
  return o;
}

void ExpectExampleIIsLeafI(const std::string& file) {
  const Dataset ds = ParseJsonlDataset(file, "data.jsonl", ByteTokenizer(), Options()).value();
  const std::vector<std::string> raw = RawLines(file);
  std::vector<Hash> leaves;
  for (const Example& e : ds.examples) {
    std::string line = raw[static_cast<size_t>(e.line)];
    const bool ends_in_lf = static_cast<size_t>(e.line) + 1 < raw.size() || file.back() == '\n';
    if (ends_in_lf && !line.empty() && line.back() == '\r') line.pop_back();
    leaves.push_back(LeafHash(AsBytes(line)));
  }
  EXPECT_EQ(DatasetDigest(file), MerkleRoot(leaves)) << file;
  EXPECT_EQ(DatasetLines(file).size(), ds.examples.size()) << file;
}

TEST(DatasetLeavesTest, ExampleIIsLeafI) {
  ExpectExampleIIsLeafI("{\"text\": \"a\"}\r\n{\"text\": \"b\"}\r\n");
  ExpectExampleIIsLeafI("\n\n{\"text\": \"a\"}\n\r\n\n{\"text\": \"b\"}\n\n");
  ExpectExampleIIsLeafI("{\"text\": \"a\"}\n{\"text\": \"b\"}");  // no final newline
  ExpectExampleIIsLeafI("{\"text\": \"a\"}\r\n\n{\"text\": \"b\"}\r");
  ExpectExampleIIsLeafI("{\"text\": \"a\\r\"}\n{\"text\": \"\\u00e9\"}\r\n");
}

TEST(DatasetLeavesTest, BytesThatAreNotUtf8AreRefusedOnTheLineTheDigestCovers) {
  const std::string file = "{\"text\": \"a\"}\r\n\r\n{\"text\": \"\xff\"}\n";
  Result<Dataset> ds = ParseJsonlDataset(file, "data.jsonl", ByteTokenizer(), Options());
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("data.jsonl:3:"), std::string::npos) << ds.status().ToString();
  const std::vector<std::string_view> leaves = DatasetLines(file);
  ASSERT_EQ(leaves.size(), 2u);
  EXPECT_EQ(leaves[1], "{\"text\": \"\xff\"}");
}

}  // namespace
}  // namespace aftune
