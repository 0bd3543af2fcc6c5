#include "commit/digest.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "base/dataset_lines.h"
#include "commit/encoding.h"
#include "commit/merkle.h"

namespace aftune {

namespace {

void PutU32(Sha256& h, uint64_t v) {
  AFTUNE_CHECK(v <= UINT32_MAX);
  uint8_t b[4];
  for (int i = 0; i < 4; i++) b[i] = static_cast<uint8_t>(v >> (8 * i));
  h.Update(std::span<const uint8_t>(b, 4));
}

void PutU64(Sha256& h, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = static_cast<uint8_t>(v >> (8 * i));
  h.Update(std::span<const uint8_t>(b, 8));
}

int AutoThreads(size_t num_chunks, size_t num_bytes) {
  if (num_bytes <= (size_t{1} << 20)) return 1;
  long n = 0;
  if (const char* env = std::getenv("AFTUNE_THREADS")) n = std::strtol(env, nullptr, 10);
  if (n <= 0) n = static_cast<long>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  return static_cast<int>(std::clamp<long>(static_cast<long>(num_chunks / 4), 1, n));
}

// Leaf hashes of chunks [begin, end) of `bytes`.
void HashChunks(std::span<const uint8_t> bytes, size_t begin, size_t end, Hash* out) {
  for (size_t i = begin; i < end; i++) {
    size_t off = i * kTensorChunkBytes;
    out[i] = LeafHash(bytes.subspan(off, std::min(kTensorChunkBytes, bytes.size() - off)));
  }
}

}  // namespace

Hash TensorDigest(std::string_view name, std::string_view dtype, std::span<const uint64_t> dims,
                  std::span<const uint8_t> bytes, int threads) {
  size_t num_chunks = (bytes.size() + kTensorChunkBytes - 1) / kTensorChunkBytes;
  std::vector<Hash> leaves(num_chunks);
  if (threads <= 0) threads = AutoThreads(num_chunks, bytes.size());
  threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), std::max<size_t>(num_chunks, 1)));
  if (threads <= 1) {
    HashChunks(bytes, 0, num_chunks, leaves.data());
  } else {
    // Contiguous chunk ranges, one per thread; the calling thread takes the
    // first. Each leaf hash lands in its own slot, so the result does not
    // depend on the split.
    std::vector<std::thread> workers;
    size_t per = num_chunks / static_cast<size_t>(threads);
    size_t extra = num_chunks % static_cast<size_t>(threads);
    size_t begin = 0, first_end = 0;
    for (int t = 0; t < threads; t++) {
      size_t end = begin + per + (static_cast<size_t>(t) < extra ? 1 : 0);
      if (t == 0) {
        first_end = end;
      } else {
        workers.emplace_back(HashChunks, bytes, begin, end, leaves.data());
      }
      begin = end;
    }
    HashChunks(bytes, 0, first_end, leaves.data());
    for (auto& w : workers) w.join();
  }
  Hash chunks = MerkleRoot(leaves);

  Sha256 h;
  h.Update(uint8_t{0x02});
  PutU32(h, name.size());
  h.Update(name);
  PutU32(h, dtype.size());
  h.Update(dtype);
  PutU32(h, dims.size());
  for (uint64_t d : dims) PutU64(h, d);
  h.Update(chunks);
  return h.Finish();
}

Result<Hash> StateDigest(std::vector<NamedDigest> tensors) {
  // std::string's operator< compares char_traits<char>, which orders bytes
  // as unsigned char: bytewise ascending, as the format says.
  std::sort(tensors.begin(), tensors.end(),
            [](const NamedDigest& a, const NamedDigest& b) { return a.name < b.name; });
  MerkleBuilder tree;
  for (size_t i = 0; i < tensors.size(); i++) {
    if (i > 0 && tensors[i].name == tensors[i - 1].name) {
      return Status::InvalidArgument("state digest: two tensors named \"" + tensors[i].name + "\"");
    }
    tree.AppendData(tensors[i].digest);
  }
  return tree.Root();
}

std::vector<std::string_view> DatasetLines(std::string_view file) {
  std::vector<std::string_view> lines;
  for (const DatasetLine& l : SplitDatasetLines(file)) lines.push_back(l.text);
  return lines;
}

Hash DatasetDigest(std::string_view file) {
  MerkleBuilder tree;
  for (std::string_view line : DatasetLines(file)) tree.AppendData(line);
  return tree.Root();
}

}  // namespace aftune
