// libFuzzer target: the tokenizer.json loader (model/hf_tokenizer.h) on
// arbitrary file bytes, then the loaded tokenizer on a fixed mixed text.
//
// Loading must return a Status for every input (no crash, no unbounded work),
// and every error names the file. A tokenizer that loads encodes to ids in
// its vocabulary, with and without special tokens, the same ids twice, and
// decodes them without failing.
#include <cstdint>
#include <string>

#include "base/status.h"
#include "model/hf_tokenizer.h"

namespace {

constexpr char kSource[] = "tokenizer.json";
// Scripts, digits, contractions, whitespace runs, an emoji ZWJ sequence and
// special tokens written in text.
constexpr char kText[] =
    "Hello, world! It's 2024: we'RE here.\n\n\t  x = [1, 22, 333];  "
    "\xC3\xA9t\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 "
    "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB <s></s><|endoftext|><|begin_of_text|> end";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aftune::HfTokenizer::Ids ids;
  ids.bos = 0;
  ids.eos = 0;
  auto t = aftune::HfTokenizer::FromBytes(std::string(reinterpret_cast<const char*>(data), size), kSource, ids);
  if (!t.ok()) {
    AFTUNE_CHECK(t.status().message().rfind(kSource, 0) == 0);
    return 0;
  }
  const aftune::HfTokenizer& tok = **t;
  for (bool special : {false, true}) {
    const std::vector<int32_t> a = special ? tok.EncodeWithSpecialTokens(kText) : tok.Encode(kText);
    const std::vector<int32_t> b = special ? tok.EncodeWithSpecialTokens(kText) : tok.Encode(kText);
    AFTUNE_CHECK(a == b);
    for (int32_t id : a) AFTUNE_CHECK(id >= 0 && id < tok.vocab_size());
    (void)tok.Decode(a);
  }
  return 0;
}
