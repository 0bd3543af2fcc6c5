#include "commit/digest.h"

#include <gtest/gtest.h>

#include "commit/test_vectors.h"

namespace aftune {
namespace {

using testing::H;

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>((7 * i + 3) % 256);
  return b;
}

TEST(Digest, TensorVectors) {
  nlohmann::json v = testing::LoadVectors("digest.json");
  ASSERT_GE(v["tensors"].size(), 4u);
  for (const auto& t : v["tensors"]) {
    std::string name = t["name"], dtype = t["dtype"];
    SCOPED_TRACE(name);
    std::vector<uint64_t> dims = t["dims"].get<std::vector<uint64_t>>();
    std::vector<uint8_t> bytes;
    if (t.contains("bytes_hex")) {
      bytes = testing::Bytes(t["bytes_hex"]);
    } else {
      ASSERT_EQ(t["bytes_pattern"], "byte i = i mod 251");
      bytes.resize(t["num_bytes"]);
      for (size_t i = 0; i < bytes.size(); i++) bytes[i] = static_cast<uint8_t>(i % 251);
      std::vector<Hash> leaves;
      for (size_t off = 0; off < bytes.size(); off += kTensorChunkBytes) {
        leaves.push_back(LeafHash(std::span(bytes).subspan(off, std::min(kTensorChunkBytes, bytes.size() - off))));
      }
      EXPECT_EQ(leaves, testing::Hashes(t["chunk_leaf_hashes"]));
    }
    for (int threads : {1, 2, 3}) {
      EXPECT_EQ(HashToHex(TensorDigest(name, dtype, dims, bytes, threads)), t["digest"]) << threads;
    }
    // The documented preimage hashes to the digest (a check on the vector).
    EXPECT_EQ(HashToHex(Sha256Of(testing::Bytes(t["preimage_hex"]))), t["digest"]);
  }
}

TEST(Digest, StateVector) {
  nlohmann::json v = testing::LoadVectors("digest.json");
  std::vector<NamedDigest> tensors;
  for (const auto& t : v["tensors"]) {
    for (const auto& n : v["state"]["tensors"]) {
      if (t["name"] == n) tensors.push_back({t["name"], H(t["digest"])});
    }
  }
  ASSERT_EQ(tensors.size(), 3u);
  Result<Hash> d = StateDigest(tensors);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(HashToHex(*d), v["state"]["digest"]);
  std::reverse(tensors.begin(), tensors.end());  // order of input does not matter
  EXPECT_EQ(HashToHex(*StateDigest(tensors)), v["state"]["digest"]);
}

TEST(Digest, StateRejectsDuplicateNamesAndPinsEmpty) {
  Hash a = Sha256Of("a");
  EXPECT_EQ(StateDigest({{"x", a}, {"y", a}, {"x", a}}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(*StateDigest({}), EmptyTreeRoot());
}

TEST(Digest, StateOrderIsBytewise) {
  // 0xC3 (first byte of "É") sorts after ASCII; "layers.10" before "layers.9".
  Hash a = Sha256Of("a"), b = Sha256Of("b"), c = Sha256Of("c");
  Hash want = MerkleRoot(std::vector<Hash>{LeafHash(a), LeafHash(b), LeafHash(c)});
  EXPECT_EQ(*StateDigest({{"\xc3\x89mbed", c}, {"layers.9", b}, {"layers.10", a}}), want);
}

TEST(Digest, DatasetVector) {
  nlohmann::json v = testing::LoadVectors("digest.json");
  std::vector<uint8_t> raw = testing::Bytes(v["dataset"]["text_hex"]);
  std::string text(raw.begin(), raw.end());
  std::vector<std::string_view> lines = DatasetLines(text);
  std::vector<std::string> want = v["dataset"]["lines"];
  ASSERT_EQ(lines.size(), want.size());
  for (size_t i = 0; i < lines.size(); i++) EXPECT_EQ(lines[i], want[i]) << i;
  EXPECT_EQ(HashToHex(DatasetDigest(text)), v["dataset"]["digest"]);
  EXPECT_EQ(HashToHex(DatasetDigest("")), v["empty_dataset_digest"]);
  EXPECT_EQ(DatasetDigest("\n\r\n\n"), EmptyTreeRoot());
}

TEST(Digest, DatasetLineRules) {
  auto L = [](std::string_view s) {
    std::vector<std::string> out;
    for (auto l : DatasetLines(s)) out.emplace_back(l);
    return out;
  };
  EXPECT_EQ(L("a\nb"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(L("a\r\nb\r\n"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(L("a\r"), (std::vector<std::string>{"a\r"}));  // no LF: the CR is content
  EXPECT_EQ(L("\ra\n"), (std::vector<std::string>{"\ra"}));
  EXPECT_EQ(L(" \n\t\n"), (std::vector<std::string>{" ", "\t"}));
  EXPECT_EQ(L("\n\n\r\n"), (std::vector<std::string>{}));
}

TEST(Digest, ThreadCountNeverChangesTheDigest) {
  std::vector<uint8_t> bytes = Pattern(3 * 1024 * 1024 + 12345);  // 49 chunks, the last short
  uint64_t dims[] = {bytes.size() / 2};
  Hash one = TensorDigest("t", "BF16", dims, std::span(bytes).first(dims[0] * 2), 1);
  for (int threads : {0, 2, 3, 4, 7, 64, 1000}) {
    EXPECT_EQ(TensorDigest("t", "BF16", dims, std::span(bytes).first(dims[0] * 2), threads), one) << threads;
  }
  // And equals the definition computed by hand.
  std::vector<Hash> leaves;
  for (size_t off = 0; off < dims[0] * 2; off += kTensorChunkBytes) {
    leaves.push_back(LeafHash(std::span(bytes).subspan(off, std::min(kTensorChunkBytes, dims[0] * 2 - off))));
  }
  Sha256 h;
  uint8_t head[] = {0x02, 1, 0, 0, 0, 't', 4, 0, 0, 0, 'B', 'F', '1', '6', 1, 0, 0, 0};
  h.Update(head);
  uint8_t dim[8];
  for (int i = 0; i < 8; i++) dim[i] = static_cast<uint8_t>(dims[0] >> (8 * i));
  h.Update(dim);
  h.Update(MerkleRoot(leaves));
  EXPECT_EQ(h.Finish(), one);
}

TEST(Digest, ChunkBoundaries) {
  // Sizes around the 64 KiB boundary hash to distinct digests and agree
  // between thread counts.
  for (size_t n : {size_t{0}, size_t{1}, kTensorChunkBytes - 1, kTensorChunkBytes, kTensorChunkBytes + 1,
                   2 * kTensorChunkBytes}) {
    std::vector<uint8_t> b = Pattern(n);
    uint64_t dims[] = {n};
    EXPECT_EQ(TensorDigest("x", "U8", dims, b, 1), TensorDigest("x", "U8", dims, b, 2)) << n;
  }
  // Name, dtype and shape are bound.
  std::vector<uint8_t> b = Pattern(16);
  uint64_t d1[] = {16}, d2[] = {4, 4}, d3[] = {2, 8};
  Hash base = TensorDigest("x", "U8", d1, b);
  EXPECT_NE(base, TensorDigest("y", "U8", d1, b));
  EXPECT_NE(base, TensorDigest("x", "I8", d1, b));
  EXPECT_NE(TensorDigest("x", "U8", d2, b), TensorDigest("x", "U8", d3, b));
}

}  // namespace
}  // namespace aftune
