// The BPE model of tokenizer.json (`model` with "type": "BPE"): a vocabulary
// of token strings and ranked merges, applied to one pre-tokenized piece at a
// time exactly as HF tokenizers' BPE does:
//  - ignore_merges: a piece that is itself a token is that token;
//  - otherwise each character is a symbol (its token, else with byte_fallback
//    the tokens <0xXX> of its bytes, else unk_token, runs of unknown
//    characters fused into one with fuse_unk), and the adjacent pair of
//    lowest merge rank, leftmost among equals, is merged until none is left.
// dropout must be null or 0 and continuing_subword_prefix / end_of_word_suffix
// empty; anything else is refused naming the JSON path.
//
// Immutable after FromJson; EncodeWord may be called from several threads
// (each keeps its own bounded cache of pieces' ids).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/tokenizer_json.h"

namespace aftune {

class BpeModel {
 public:
  // The largest token id accepted (keeps a hostile file from sizing tables).
  static constexpr int64_t kMaxId = (int64_t{1} << 24) - 1;

  // `j` is the `model` object at `path`.
  static Result<BpeModel> FromJson(const tokjson::Json& j, const std::string& source, const std::string& path);

  // Appends the ids of `piece` to *ids. REQUIRES: piece is well-formed UTF-8.
  void EncodeWord(std::string_view piece, std::vector<int32_t>* ids) const;

  std::optional<int32_t> TokenId(std::string_view token) const;
  // The token of `id`, or nullptr when the vocabulary has none.
  const std::string* TokenOf(int32_t id) const;
  // One more than the largest id in the vocabulary.
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Merge {
    int32_t rank;
    int32_t id;  // the merged token
  };
  static uint64_t PairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  // EncodeWord without the per-thread cache of pieces' ids.
  void MergeWord(std::string_view piece, std::vector<int32_t>* ids) const;
  // The initial symbols of `piece` (before any merge).
  void Symbols(std::string_view piece, std::vector<int32_t>* syms) const;

  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> vocab_;
  std::vector<std::string> tokens_;  // by id; "" where no token has the id
  std::vector<bool> has_token_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::optional<int32_t> unk_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  std::vector<int32_t> byte_ids_;  // id of <0xXX> by byte, -1 if absent
  // Names this model's entries in the per-thread piece cache (unique per
  // FromJson; copies share it, and their ids).
  uint64_t serial_ = 0;
};

}  // namespace aftune
