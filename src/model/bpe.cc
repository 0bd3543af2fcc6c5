#include "model/bpe.h"

#include <atomic>
#include <cstdio>
#include <queue>

#include "model/utf8.h"

namespace aftune {

namespace {

using tokjson::Error;
using tokjson::Join;

// The two halves of a merge entry: "a b" (the older format) or ["a", "b"].
Result<std::pair<std::string, std::string>> MergeParts(const tokjson::Json& m, const std::string& source,
                                                       const std::string& path) {
  if (m.is_string()) {
    const std::string s = m.get<std::string>();
    const size_t sp = s.find(' ');
    if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
      return Error(source, path, "must be two tokens separated by one space");
    }
    return std::make_pair(s.substr(0, sp), s.substr(sp + 1));
  }
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
    return std::make_pair(m[0].get<std::string>(), m[1].get<std::string>());
  }
  return Error(source, path, "must be \"a b\" or [\"a\", \"b\"]");
}

// Pieces repeat (words of a language), so each thread keeps the ids of the
// pieces it encoded, as HF's BPE cache does: a hit gives MergeWord's ids
// exactly. Bounded: cleared when full; pieces longer than kMaxCachedPiece are
// not kept. One cache per thread serves one model at a time (`owner`).
constexpr size_t kCacheCapacity = size_t{1} << 16;
constexpr size_t kMaxCachedPiece = 64;

struct WordCache {
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  uint64_t owner = 0;
  std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> ids;
};

WordCache& ThreadWordCache(uint64_t owner) {
  thread_local WordCache cache;
  if (cache.owner != owner || cache.ids.size() >= kCacheCapacity) {
    cache.ids.clear();
    cache.owner = owner;
  }
  return cache;
}

uint64_t NextModelSerial() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

}  // namespace

Result<BpeModel> BpeModel::FromJson(const tokjson::Json& j, const std::string& source, const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string type, tokjson::ComponentType(j, source, path));
  if (type != "BPE") return tokjson::Unsupported(source, path, type);
  if (j.contains("dropout") && !j["dropout"].is_null() &&
      !(j["dropout"].is_number() && j["dropout"].get<double>() == 0.0)) {
    return Error(source, Join(path, "dropout"), "must be null or 0 (BPE dropout is not deterministic)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    AFTUNE_ASSIGN_OR_RETURN(std::string v, tokjson::OptionalString(j, key, "", source, path));
    if (!v.empty()) return Error(source, Join(path, key), "\"" + v + "\" is not supported (only empty)");
  }
  BpeModel m;
  m.serial_ = NextModelSerial();
  AFTUNE_ASSIGN_OR_RETURN(m.fuse_unk_, tokjson::OptionalBool(j, "fuse_unk", false, source, path));
  AFTUNE_ASSIGN_OR_RETURN(m.byte_fallback_, tokjson::OptionalBool(j, "byte_fallback", false, source, path));
  AFTUNE_ASSIGN_OR_RETURN(m.ignore_merges_, tokjson::OptionalBool(j, "ignore_merges", false, source, path));

  const std::string vocab_path = Join(path, "vocab");
  if (!j.contains("vocab") || !j["vocab"].is_object()) return Error(source, vocab_path, "must be an object");
  m.vocab_.reserve(j["vocab"].size());
  for (auto it = j["vocab"].begin(); it != j["vocab"].end(); ++it) {
    const std::string where = vocab_path + "[" + tokjson::Json(it.key()).dump() + "]";
    if (!it.value().is_number_integer()) return Error(source, where, "must be an integer id");
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id > kMaxId) return Error(source, where, "id " + std::to_string(id) + " is out of range");
    if (!utf8::IsValid(it.key())) return Error(source, where, "token is not valid UTF-8");
    if (static_cast<size_t>(id) >= m.tokens_.size()) {
      m.tokens_.resize(id + 1);
      m.has_token_.resize(id + 1, false);
    }
    if (m.has_token_[id]) {
      return Error(source, where, "id " + std::to_string(id) + " is also given to " + tokjson::Json(m.tokens_[id]).dump());
    }
    m.tokens_[id] = it.key();
    m.has_token_[id] = true;
    m.vocab_.emplace(it.key(), static_cast<int32_t>(id));
  }

  const std::string merges_path = Join(path, "merges");
  if (!j.contains("merges") || !j["merges"].is_array()) return Error(source, merges_path, "must be an array");
  const tokjson::Json& merges = j["merges"];
  m.merges_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string where = tokjson::Index(merges_path, i);
    AFTUNE_ASSIGN_OR_RETURN(auto parts, MergeParts(merges[i], source, where));
    const auto a = m.TokenId(parts.first), b = m.TokenId(parts.second);
    const auto ab = m.TokenId(parts.first + parts.second);
    if (!a || !b || !ab) return Error(source, where, "a token of this merge is not in the vocabulary");
    // A repeated pair takes its last rank, as HF's map construction does.
    m.merges_.insert_or_assign(PairKey(*a, *b), Merge{static_cast<int32_t>(i), *ab});
  }

  AFTUNE_ASSIGN_OR_RETURN(std::string unk, tokjson::OptionalString(j, "unk_token", "", source, path));
  if (j.contains("unk_token") && !j["unk_token"].is_null()) {
    m.unk_ = m.TokenId(unk);
    if (!m.unk_) return Error(source, Join(path, "unk_token"), tokjson::Json(unk).dump() + " is not in the vocabulary");
  }
  m.byte_ids_.assign(256, -1);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    if (auto id = m.TokenId(name)) m.byte_ids_[b] = *id;
  }
  return m;
}

std::optional<int32_t> BpeModel::TokenId(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::TokenOf(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !has_token_[id]) return nullptr;
  return &tokens_[id];
}

void BpeModel::Symbols(std::string_view piece, std::vector<int32_t>* syms) const {
  bool last_unk = false;
  for (size_t i = 0; i < piece.size();) {
    const size_t n = utf8::CharLen(piece, i);
    const std::string_view ch = piece.substr(i, n);
    i += n;
    if (auto id = TokenId(ch)) {
      syms->push_back(*id);
      last_unk = false;
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char c : ch) all &= byte_ids_[c] >= 0;
      if (all) {
        for (unsigned char c : ch) syms->push_back(byte_ids_[c]);
        last_unk = false;
        continue;
      }
    }
    // Without an unk_token an unknown character is dropped, as in HF.
    if (!unk_) continue;
    if (!(fuse_unk_ && last_unk)) syms->push_back(*unk_);
    last_unk = true;
  }
}

void BpeModel::EncodeWord(std::string_view piece, std::vector<int32_t>* ids) const {
  if (piece.size() > kMaxCachedPiece) {
    MergeWord(piece, ids);
    return;
  }
  WordCache& cache = ThreadWordCache(serial_);
  if (auto it = cache.ids.find(piece); it != cache.ids.end()) {
    ids->insert(ids->end(), it->second.begin(), it->second.end());
    return;
  }
  const size_t first = ids->size();
  MergeWord(piece, ids);
  cache.ids.emplace(std::string(piece), std::vector<int32_t>(ids->begin() + first, ids->end()));
}

void BpeModel::MergeWord(std::string_view piece, std::vector<int32_t>* ids) const {
  if (ignore_merges_) {
    if (auto id = TokenId(piece)) {
      ids->push_back(*id);
      return;
    }
  }
  std::vector<int32_t> sym;
  sym.reserve(piece.size());
  Symbols(piece, &sym);
  const int32_t n = static_cast<int32_t>(sym.size());
  if (n <= 1) {
    ids->insert(ids->end(), sym.begin(), sym.end());
    return;
  }
  // A doubly linked list over the symbols and a queue of candidate merges
  // ordered by (rank, position): HF's Word::merge_all.
  std::vector<int32_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Cand {
    int32_t rank, pos, id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> queue;
  const auto offer = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0) return;
    auto it = merges_.find(PairKey(sym[pos], sym[next[pos]]));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.id});
  };
  for (int32_t i = 0; i + 1 < n; ++i) offer(i);
  while (!queue.empty()) {
    const Cand c = queue.top();
    queue.pop();
    if (!alive[c.pos] || next[c.pos] < 0) continue;
    auto it = merges_.find(PairKey(sym[c.pos], sym[next[c.pos]]));
    if (it == merges_.end() || it->second.id != c.id) continue;  // stale
    const int32_t right = next[c.pos];
    sym[c.pos] = c.id;
    alive[right] = false;
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    offer(prev[c.pos]);
    offer(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = next[i]) ids->push_back(sym[i]);
}

}  // namespace aftune
