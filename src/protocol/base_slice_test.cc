// The base slice answer (protocol/base_slice.h): what the writer's prefix
// and the tensors' bytes parse back to, unaligned tensors copied, and every
// malformed answer refused with kCorruption naming what is wrong.
#include "protocol/base_slice.h"

#include <gtest/gtest.h>

#include <cstring>

#include "commit/encoding.h"
#include "model/model_init.h"

namespace aftune {
namespace {

struct Piece {
  SliceTensorInfo info;
  std::string bytes;
};

std::string Answer(const std::vector<Piece>& pieces, uint64_t tree_size) {
  std::vector<SliceTensorInfo> infos;
  for (const Piece& p : pieces) infos.push_back(p.info);
  std::string out = BaseSliceAnswerPrefix(infos, tree_size).value();
  for (const Piece& p : pieces) out += p.bytes;
  return out;
}

Hash H(uint8_t b) {
  Hash h{};
  h.fill(b);
  return h;
}

// "a": 3 BF16 (6 bytes, so "b" after it is not 4-aligned), "b": 2 F32.
std::vector<Piece> Pieces() {
  return {{{{"a", DType::kBF16, {3}}, {0, {H(1), H(2)}}}, std::string("\x01\x02\x03\x04\x05\x06", 6)},
          {{{"b", DType::kF32, {2}}, {2, {H(3)}}}, std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8)}};
}

// The answer with its JSON header rewritten by `edit` (length fixed up).
std::string EditHeader(const std::string& answer, const std::function<void(std::string*)>& edit) {
  uint64_t n = 0;
  std::memcpy(&n, answer.data(), 8);
  std::string header = answer.substr(8, n);
  while (!header.empty() && header.back() == ' ') header.pop_back();
  edit(&header);
  while (header.size() % 8 != 0) header += ' ';
  std::string out(8, '\0');
  const uint64_t len = header.size();
  std::memcpy(out.data(), &len, 8);
  return out + header + answer.substr(8 + n);
}

void Replace(std::string* s, const std::string& from, const std::string& to) {
  const size_t at = s->find(from);
  ASSERT_NE(at, std::string::npos) << from << " in " << *s;
  s->replace(at, from.size(), to);
}

TEST(BaseSlice, ParsesWhatTheWriterWrites) {
  const std::string answer = Answer(Pieces(), 5);
  auto slice = ParseBaseSliceAnswer(answer, "answer");
  ASSERT_TRUE(slice.ok()) << slice.status().ToString();
  EXPECT_EQ(slice->tree_size, 5u);
  ASSERT_EQ(slice->tensors.size(), 2u);
  const WeightView& a = slice->tensors.at("a");
  EXPECT_EQ(a.dtype, DType::kBF16);
  EXPECT_EQ(a.shape, std::vector<int64_t>{3});
  EXPECT_EQ(std::memcmp(a.data, "\x01\x02\x03\x04\x05\x06", 6), 0);
  const WeightView& b = slice->tensors.at("b");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data) % 4, 0u);  // copied: in the answer it sits at offset 6
  EXPECT_EQ(b.At(0), 1.0f);
  EXPECT_EQ(b.At(1), -2.0f);
  EXPECT_EQ(slice->proofs.at("a").index, 0u);
  EXPECT_EQ(slice->proofs.at("a").path, (InclusionProof{H(1), H(2)}));
  EXPECT_EQ(slice->proofs.at("b").index, 2u);
  EXPECT_EQ(slice->proofs.at("b").path, InclusionProof{H(3)});
  // The documented metadata spelling.
  EXPECT_NE(answer.find("\"proof.b\":\"2 " + HashToHex(H(3)) + "\""), std::string::npos);
  EXPECT_NE(answer.find("\"format\":\"aftune base slice v1\""), std::string::npos);
  EXPECT_NE(answer.find("\"tensors\":\"5\""), std::string::npos);
}

TEST(BaseSlice, RefusesMalformedAnswersNamingThem) {
  const std::string good = Answer(Pieces(), 5);
  const std::string h1 = HashToHex(H(1));
  struct Case {
    std::string why, from, to, expect;
  };
  const std::vector<Case> cases = {
      {"another format", "aftune base slice v1", "aftune base slice v2", "metadata is not that"},
      {"no tree size", ",\"tensors\":\"5\"", "", "metadata is not that"},
      {"a zero tree size", "\"tensors\":\"5\"", "\"tensors\":\"0\"", "'tensors' is not a positive decimal"},
      {"a leading zero", "\"tensors\":\"5\"", "\"tensors\":\"05\"", "'tensors' is not a positive decimal"},
      {"a proof missing", "\"proof.a\":\"0 " + h1 + " " + HashToHex(H(2)) + "\",", "", "metadata is not that"},
      {"a proof of another tensor", "\"proof.a\"", "\"proof.c\"", "tensor 'a' has no 'proof.' entry"},
      {"an index past the tree", "\"proof.b\":\"2 ", "\"proof.b\":\"5 ", "tensor 'b': the leaf index"},
      {"an index with a leading zero", "\"proof.b\":\"2 ", "\"proof.b\":\"02 ", "tensor 'b': the leaf index"},
      {"uppercase hex", "\"proof.a\":\"0 " + h1, "\"proof.a\":\"0 " + std::string(64, 'A'), "64 lowercase hex"},
      {"two spaces", "\"proof.a\":\"0 ", "\"proof.a\":\"0  ", "64 lowercase hex"},
      {"a trailing space", h1 + " " + HashToHex(H(2)) + "\"", h1 + " " + HashToHex(H(2)) + " \"", "64 lowercase hex"},
  };
  for (const Case& c : cases) {
    const std::string bad = EditHeader(good, [&](std::string* h) { Replace(h, c.from, c.to); });
    auto r = ParseBaseSliceAnswer(bad, "the answer");
    ASSERT_FALSE(r.ok()) << c.why;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << c.why;
    EXPECT_NE(r.status().message().find("the answer"), std::string::npos) << c.why << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << c.why << ": " << r.status().ToString();
  }
}

TEST(BaseSlice, RefusesTooLongPathsNonFloatTensorsAndTruncation) {
  std::vector<Piece> long_path = Pieces();
  long_path[1].info.proof.path.assign(65, H(9));
  auto r = ParseBaseSliceAnswer(Answer(long_path, 5), "long");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("at most 64 hashes"), std::string::npos) << r.status().ToString();

  std::vector<Piece> ints = Pieces();
  ints[1].info.tensor.dtype = DType::kI32;
  r = ParseBaseSliceAnswer(Answer(ints, 5), "ints");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tensor 'b' is I32, not F32, BF16 or F16"), std::string::npos)
      << r.status().ToString();

  const std::string good = Answer(Pieces(), 5);
  r = ParseBaseSliceAnswer(good.substr(0, good.size() - 1), "cut");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
}

TEST(BaseSlice, TheCapCoversTheAnswerInF32) {
  ModelConfig cfg = PresetConfig("tiny").value();
  cfg.torch_dtype = "float32";
  const LayerSpan first{0, 1};
  uint64_t data = 0;
  std::vector<Piece> pieces;
  for (const auto& [name, shape] : BaseTensorShapes(cfg, first)) {
    const uint64_t n = 4 * static_cast<uint64_t>(NumElements(shape));
    data += n;
    InclusionProof deep(40, H(7));  // a tree far larger than a model's
    pieces.push_back({{{name, DType::kF32, shape}, {0, deep}}, std::string(n, '\0')});
  }
  EXPECT_LE(Answer(pieces, uint64_t{1} << 41).size(), MaxBaseSliceAnswerBytes(cfg, first));
  EXPECT_GT(MaxBaseSliceAnswerBytes(cfg, first), data);
}

}  // namespace
}  // namespace aftune
