#include "protocol/base_slice.h"

#include <cstring>
#include <map>
#include <memory>

#include "commit/encoding.h"

namespace aftune {

namespace {

constexpr std::string_view kProofPrefix = "proof.";
constexpr size_t kMaxPathHashes = 64;  // a tree of fewer than 2^64 leaves

std::string ProofText(const SliceProof& proof) {
  std::string out = std::to_string(proof.index);
  for (const Hash& h : proof.path) out += " " + HashToHex(h);
  return out;
}

Result<SliceProof> ParseProofText(std::string_view text, uint64_t tree_size, const std::string& where) {
  SliceProof proof;
  size_t at = text.find(' ');
  Result<uint64_t> index = ParseDecimalU64(text.substr(0, at));
  if (!index.ok() || *index >= tree_size)
    return Status::Corruption(where + ": the leaf index is not a decimal below 'tensors' (" +
                              std::to_string(tree_size) + ")");
  proof.index = *index;
  while (at != std::string_view::npos) {
    const size_t next = text.find(' ', at + 1);
    Result<Hash> h = HashFromHex(text.substr(at + 1, next == std::string_view::npos ? std::string_view::npos
                                                                                       : next - at - 1));
    if (!h.ok() || proof.path.size() == kMaxPathHashes)
      return Status::Corruption(where + ": expected at most " + std::to_string(kMaxPathHashes) +
                                " hashes of 64 lowercase hex after the index, one space before each");
    proof.path.push_back(*h);
    at = next;
  }
  return proof;
}

// What a parsed slice's views point into.
struct ReceivedSlice {
  SafetensorsFile file;
  std::vector<std::unique_ptr<uint8_t[]>> copies;  // tensors not aligned in `file`
};

}  // namespace

Result<std::string> BaseSliceAnswerPrefix(const std::vector<SliceTensorInfo>& sorted, uint64_t tree_size) {
  std::vector<SafetensorsTensorInfo> tensors;
  std::map<std::string, std::string> metadata = {{"format", std::string(kBaseSliceFormat)},
                                                 {"tensors", std::to_string(tree_size)}};
  for (const SliceTensorInfo& t : sorted) {
    AFTUNE_CHECK(t.proof.index < tree_size);
    tensors.push_back(t.tensor);
    metadata[std::string(kProofPrefix) + t.tensor.name] = ProofText(t.proof);
  }
  return SafetensorsPrefix(tensors, metadata);
}

Result<BaseSlice> ParseBaseSliceAnswer(std::string bytes, const std::string& source) {
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Parse(std::move(bytes), source));
  const auto& meta = file.metadata();
  auto format = meta.find("format");
  auto count = meta.find("tensors");
  if (format == meta.end() || format->second != kBaseSliceFormat || count == meta.end() ||
      meta.size() != 2 + file.entries().size())
    return Status::Corruption(source + ": metadata is not that of an '" + std::string(kBaseSliceFormat) +
                              "' answer (format, tensors and one proof per tensor)");
  Result<uint64_t> tree_size = ParseDecimalU64(count->second);
  if (!tree_size.ok() || *tree_size == 0)
    return Status::Corruption(source + ": metadata 'tensors' is not a positive decimal");
  BaseSlice slice;
  slice.tree_size = *tree_size;
  std::vector<std::unique_ptr<uint8_t[]>> copies;
  for (const SafetensorsEntry& e : file.entries()) {
    const std::string where = source + ": tensor " + QuoteName(e.name);
    if (!IsFloatStorage(e.dtype))
      return Status::Corruption(where + " is " + std::string(DTypeName(e.dtype)) + ", not F32, BF16 or F16");
    auto proof_text = meta.find(std::string(kProofPrefix) + e.name);
    if (proof_text == meta.end()) return Status::Corruption(where + " has no 'proof.' entry in the metadata");
    AFTUNE_ASSIGN_OR_RETURN(SliceProof proof, ParseProofText(proof_text->second, slice.tree_size, where));
    slice.proofs.emplace(e.name, std::move(proof));
    const void* data = e.bytes.data();
    if (reinterpret_cast<uintptr_t>(data) % DTypeSize(e.dtype) != 0) {
      copies.push_back(std::make_unique<uint8_t[]>(e.bytes.size()));
      std::memcpy(copies.back().get(), e.bytes.data(), e.bytes.size());
      data = copies.back().get();
    }
    slice.tensors.emplace(e.name, WeightView{e.dtype, e.shape, data});
  }
  // The entries' bytes and the copies keep their addresses.
  slice.owner = std::make_shared<const ReceivedSlice>(ReceivedSlice{std::move(file), std::move(copies)});
  return slice;
}

uint64_t MaxBaseSliceAnswerBytes(const ModelConfig& config, LayerSpan layers) {
  uint64_t total = 4096;
  for (const auto& [name, shape] : BaseTensorShapes(config, layers))
    total += 8192 + 4 * static_cast<uint64_t>(NumElements(shape));
  return total;
}

}  // namespace aftune
