#include "model/tokenizer.h"

#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.h"

namespace aftune {
namespace {

std::string TempDir(const std::string& tag) {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("aftune-tok-" + tag + "-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

ModelConfig Cfg(int64_t vocab, int64_t bos, int64_t eos) {
  ModelConfig c;
  c.vocab_size = vocab;
  c.bos_token_id = bos;
  c.eos_token_id = eos;
  return c;
}

// ---- byte tokenizer ----

TEST(ByteTokenizer, Constants) {
  ByteTokenizer t;
  EXPECT_EQ(t.kind(), "byte");
  EXPECT_EQ(t.bos_id(), 256);
  EXPECT_EQ(t.eos_id(), 257);
  EXPECT_EQ(t.pad_id(), 258);
  EXPECT_EQ(t.vocab_size(), 259);
  EXPECT_EQ(t.path(), "");
  EXPECT_EQ(t.file_bytes(), "");
}

TEST(ByteTokenizer, EncodeIsTheBytes) {
  ByteTokenizer t;
  EXPECT_EQ(t.Encode(""), std::vector<int32_t>{});
  EXPECT_EQ(t.Encode("Hi!"), (std::vector<int32_t>{72, 105, 33}));
  // é = C3 A9, € = E2 82 AC, 😀 = F0 9F 98 80: one id per byte, never a code point.
  EXPECT_EQ(t.Encode("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"),
            (std::vector<int32_t>{0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80}));
  EXPECT_EQ(t.Encode(std::string("a\0b", 3)), (std::vector<int32_t>{97, 0, 98}));
}

TEST(ByteTokenizer, RoundTripIncludingMultibyteUtf8) {
  ByteTokenizer t;
  for (const std::string s : {"", "plain ascii", "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \xF0\x9F\x98\x80",
                              "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "tab\tnew\nline\r\n"}) {
    EXPECT_EQ(t.Decode(t.Encode(s)), s);
  }
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::vector<int32_t> ids = t.Encode(all);
  ASSERT_EQ(ids.size(), 256u);
  for (int b = 0; b < 256; ++b) EXPECT_EQ(ids[b], b);
  EXPECT_EQ(t.Decode(ids), all);
}

TEST(ByteTokenizer, DecodeDropsSpecialIds) {
  ByteTokenizer t;
  EXPECT_EQ(t.Decode(std::vector<int32_t>{256, 104, 105, 258, 257}), "hi");
}

TEST(ByteTokenizerDeathTest, DecodeOfAnIdOutsideTheVocabularyAborts) {
  ByteTokenizer t;
  EXPECT_DEATH(t.Decode(std::vector<int32_t>{259}), "internal check failed");
  EXPECT_DEATH(t.Decode(std::vector<int32_t>{-1}), "internal check failed");
}

// ---- SentencePiece ----

// A deterministic training text: sentences over a small vocabulary with a
// little Unicode.
std::vector<std::string> TrainingSentences() {
  const char* words[] = {"the", "model", "learns", "from", "data", "audit", "trace", "step",
                         "loss", "token", "gradient", "batch", "seed", "epoch", "weights", "caf\xC3\xA9",
                         "na\xC3\xAFve", "\xE6\x97\xA5\xE6\x9C\xAC", "42", "2024"};
  std::vector<std::string> out;
  uint32_t x = 12345;
  for (int s = 0; s < 400; ++s) {
    std::string line;
    int n = 4 + s % 9;
    for (int w = 0; w < n; ++w) {
      x = x * 1664525u + 1013904223u;
      if (w) line += ' ';
      line += words[(x >> 16) % (sizeof words / sizeof *words)];
    }
    out.push_back(line + ".");
  }
  return out;
}

class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(std::vector<std::string> v) : v_(std::move(v)) {}
  bool done() const override { return i_ >= v_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return v_[i_]; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  std::vector<std::string> v_;
  size_t i_ = 0;
};

// A tiny LLaMA-2-style model (BPE, byte fallback, UNK 0, BOS 1, EOS 2, no
// PAD, identity normalization, dummy prefix), trained once per test binary.
const std::string& TinyModelBytes() {
  static const std::string bytes = [] {
    VectorIterator it(TrainingSentences());
    std::string model;
    sentencepiece::util::Status st = sentencepiece::SentencePieceTrainer::Train(
        "--model_type=bpe --vocab_size=320 --byte_fallback=true --character_coverage=1.0 "
        "--unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 --split_digits=true --add_dummy_prefix=true "
        "--normalization_rule_name=identity --remove_extra_whitespaces=false --num_threads=1 "
        "--minloglevel=2",
        &it, &model);
    if (!st.ok()) {
      std::fprintf(stderr, "SentencePiece training failed: %s\n", st.ToString().c_str());
      std::abort();
    }
    return model;
  }();
  return bytes;
}

std::unique_ptr<SentencePieceTokenizer> TinyModel() {
  auto r = SentencePieceTokenizer::FromBytes(TinyModelBytes(), "tiny.model");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

const std::vector<std::string>& SampleTexts() {
  static const std::vector<std::string> texts = {
      "the model learns from data.",
      "audit trace step 2024",
      "caf\xC3\xA9 na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC",
      "unseen words: xylophone zebra Quartz",
      "emoji \xF0\x9F\x98\x80 and \xE2\x82\xAC",  // not in training: byte fallback
      "  two leading spaces and a trailing one ",
      "tab\tand\nnewline",
      "digits 1234567890",
      "",
      "x",
  };
  return texts;
}

TEST(SentencePieceTokenizer, LlamaStyleSpecialIds) {
  auto t = TinyModel();
  EXPECT_EQ(t->kind(), "sentencepiece");
  EXPECT_EQ(t->bos_id(), 1);
  EXPECT_EQ(t->eos_id(), 2);
  EXPECT_EQ(t->pad_id(), -1);
  EXPECT_EQ(t->vocab_size(), 320);
  EXPECT_EQ(t->path(), "tiny.model");
  EXPECT_EQ(t->file_bytes(), TinyModelBytes());
}

TEST(SentencePieceTokenizer, EncodeAddsNoBosOrEosAndRoundTrips) {
  auto t = TinyModel();
  for (const std::string& s : SampleTexts()) {
    std::vector<int32_t> ids = t->Encode(s);
    for (int32_t id : ids) {
      EXPECT_GE(id, 0);
      EXPECT_LT(id, 320);
      EXPECT_NE(id, t->bos_id());
      EXPECT_NE(id, t->eos_id());
    }
    // Identity normalization and byte fallback: the text comes back exactly.
    EXPECT_EQ(t->Decode(ids), s) << s;
  }
  EXPECT_TRUE(t->Encode("").empty());
  // Specials decode to nothing.
  std::vector<int32_t> ids = t->Encode("the model");
  ids.insert(ids.begin(), 1);
  ids.push_back(2);
  EXPECT_EQ(t->Decode(ids), "the model");
}

TEST(SentencePieceTokenizer, SeparateEncodesEachGetTheDummyPrefix) {
  // Documented in tokenizer.h: Encode("a") + Encode("b") != Encode("ab").
  auto t = TinyModel();
  std::vector<int32_t> joined = t->Encode("the model");
  std::vector<int32_t> parts = t->Encode("the");
  std::vector<int32_t> b = t->Encode("model");
  parts.insert(parts.end(), b.begin(), b.end());
  EXPECT_EQ(joined, parts);  // " model" is exactly what the dummy prefix supplies
  std::vector<int32_t> glued = t->Encode("themodel");
  EXPECT_NE(glued, parts);
}

TEST(SentencePieceTokenizer, RejectsBytesThatAreNotAModel) {
  for (const std::string& bad : {std::string(), std::string("not a model"), TinyModelBytes().substr(0, 100)}) {
    auto r = SentencePieceTokenizer::FromBytes(bad, "bad.model");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("bad.model: not a SentencePiece model"), std::string::npos)
        << r.status().ToString();
  }
}

TEST(SentencePieceTokenizer, LoadMissingFileNamesThePath) {
  auto r = SentencePieceTokenizer::Load("/nonexistent/aftune/tokenizer.model");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/aftune/tokenizer.model"), std::string::npos);
}

// Python's sentencepiece (Debian's python3-sentencepiece, built from the
// same upstream but a separate binding) as an independent oracle: the same
// model file must give the same ids and texts.
TEST(SentencePieceTokenizer, AgreesWithPythonSentencePiece) {
  if (std::system(AFTUNE_PYTHON " -c 'import sentencepiece' 2>/dev/null") != 0) {
    GTEST_SKIP() << "python3-sentencepiece not installed (scripts/bootstrap.sh installs it)";
  }
  const std::string dir = TempDir("pyoracle");
  ASSERT_TRUE(WriteFileAtomic(dir + "/tiny.model", TinyModelBytes()).ok());
  nlohmann::json texts = SampleTexts();
  ASSERT_TRUE(WriteFileAtomic(dir + "/texts.json", texts.dump()).ok());
  const std::string script =
      "import json, sys, sentencepiece as spm\n"
      "d = sys.argv[1]\n"
      "sp = spm.SentencePieceProcessor(model_file=d + '/tiny.model')\n"
      "texts = json.load(open(d + '/texts.json', encoding='utf-8'))\n"
      "out = {'bos': sp.bos_id(), 'eos': sp.eos_id(), 'pad': sp.pad_id(), 'vocab': sp.get_piece_size(),\n"
      "       'ids': [sp.encode(t, out_type=int) for t in texts]}\n"
      "out['decoded'] = [sp.decode(i) for i in out['ids']]\n"
      "json.dump(out, open(d + '/out.json', 'w'))\n";
  ASSERT_TRUE(WriteFileAtomic(dir + "/oracle.py", script).ok());
  ASSERT_EQ(std::system((std::string(AFTUNE_PYTHON) + " " + dir + "/oracle.py " + dir).c_str()), 0);
  auto out_text = ReadFile(dir + "/out.json");
  ASSERT_TRUE(out_text.ok());
  nlohmann::json out = nlohmann::json::parse(*out_text);
  auto t = TinyModel();
  EXPECT_EQ(out["bos"].get<int>(), t->bos_id());
  EXPECT_EQ(out["eos"].get<int>(), t->eos_id());
  EXPECT_EQ(out["pad"].get<int>(), t->pad_id());
  EXPECT_EQ(out["vocab"].get<int64_t>(), t->vocab_size());
  for (size_t i = 0; i < SampleTexts().size(); ++i) {
    EXPECT_EQ(out["ids"][i].get<std::vector<int32_t>>(), t->Encode(SampleTexts()[i])) << SampleTexts()[i];
    EXPECT_EQ(out["decoded"][i].get<std::string>(), t->Decode(t->Encode(SampleTexts()[i])));
  }
  std::filesystem::remove_all(dir);
}

// ---- LoadTokenizer ----

TEST(LoadTokenizer, ByteTokenizerWhenTheDirectoryHoldsNoTokenizerModel) {
  const std::string dir = TempDir("byte");
  auto r = LoadTokenizer(dir, Cfg(259, 256, 257));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->kind(), "byte");
  EXPECT_EQ((*r)->vocab_size(), 259);
  std::filesystem::remove_all(dir);
}

TEST(LoadTokenizer, OtherVocabularyWithoutATokenizerFileIsAnError) {
  const std::string dir = TempDir("novocab");
  auto r = LoadTokenizer(dir, Cfg(32000, 1, 2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find("holds neither tokenizer.json nor tokenizer.model"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("32000"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(LoadTokenizer, ByteTokenizerNeedsItsSpecialIds) {
  const std::string dir = TempDir("bytebos");
  auto r = LoadTokenizer(dir, Cfg(259, 1, 257));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("BOS id 256 differs from config.json bos_token_id 1"), std::string::npos)
      << r.status().ToString();
  r = LoadTokenizer(dir, Cfg(259, 256, -1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("EOS id 257"), std::string::npos) << r.status().ToString();
  std::filesystem::remove_all(dir);
}

TEST(LoadTokenizer, SentencePieceWhenTheDirectoryHoldsTokenizerModel) {
  const std::string dir = TempDir("sp");
  ASSERT_TRUE(WriteFileAtomic(dir + "/tokenizer.model", TinyModelBytes()).ok());
  auto r = LoadTokenizer(dir, Cfg(320, 1, 2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->kind(), "sentencepiece");
  EXPECT_EQ((*r)->path(), dir + "/tokenizer.model");
  EXPECT_EQ((*r)->file_bytes(), TinyModelBytes());
  EXPECT_EQ((*r)->Encode("the model"), TinyModel()->Encode("the model"));
  // The file wins over the byte tokenizer even when the vocabulary is 259.
  r = LoadTokenizer(dir, Cfg(259, 256, 257));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("320 pieces, but config.json vocab_size is 259"), std::string::npos)
      << r.status().ToString();
  // BOS/EOS must agree with config.json.
  r = LoadTokenizer(dir, Cfg(320, 0, 2));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("BOS id 1 differs"), std::string::npos) << r.status().ToString();
  r = LoadTokenizer(dir, Cfg(320, 1, 3));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("EOS id 2 differs"), std::string::npos) << r.status().ToString();
  std::filesystem::remove_all(dir);
}

TEST(LoadTokenizer, CorruptTokenizerModelIsAnErrorNamingTheFile) {
  const std::string dir = TempDir("spbad");
  ASSERT_TRUE(WriteFileAtomic(dir + "/tokenizer.model", "garbage").ok());
  auto r = LoadTokenizer(dir, Cfg(320, 1, 2));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(dir + "/tokenizer.model: not a SentencePiece model"), std::string::npos)
      << r.status().ToString();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace aftune
