// The tensor store: an object is the zstd frame of the canonical safetensors
// file; objects round-trip, are refused when they do not hash to their
// names; the background writer writes lent tensors, flushes through a
// ticket, and reports a failure to write at its next flush.
#include "trace/tensor_store.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>

#include "base/file.h"
#include "commit/digest.h"
#include "model/safetensors.h"
#include "tensor/philox.h"
#include "trace/store_writer.h"
#include "protocol/trace_record.h"

namespace aftune {
namespace {

Tensor Random(std::vector<int64_t> shape, uint32_t stream) {
  Tensor t(std::move(shape));
  Philox rng(3, RandomPurpose::kShuffle, stream);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.Uniform(static_cast<uint64_t>(i)) - 0.5f;
  return t;
}

Hash StateOf(const TensorMap& m) {
  std::vector<NamedDigest> d;
  for (const auto& [name, t] : m) d.push_back({name, F32TensorDigest(name, t)});
  return StateDigest(d).value();
}

class TensorStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("aftune-store-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(TensorStoreTest, ObjectsRoundTripAndAreCheckedAgainstTheirNames) {
  TensorStore store(dir_);
  TensorMap state = {{"w", Random({3, 70000}, 1)}, {"w.exp_avg", Random({3, 70000}, 2)}};
  const Hash sd = StateOf(state);
  const Tensor act = Random({5, 8}, 3);
  const Hash td = F32TensorDigest("activation.b1", act);
  {
    StoreWriter writer(&store);
    writer.PutState(sd, state);
    writer.PutTensor(td, "activation.b1", act);
    ASSERT_TRUE(writer.Flush().ok());
  }
  EXPECT_TRUE(store.Has(sd) && store.Has(td));
  EXPECT_GT(store.bytes_written(), 0u);
  TensorMap back = store.GetState(sd).value();
  ASSERT_EQ(back.size(), 2u);
  for (const auto& [name, t] : state) EXPECT_TRUE(back.at(name).BitEqual(t)) << name;
  EXPECT_TRUE(store.GetTensor(td, "activation.b1").value().BitEqual(act));
  // Asked under another name, or for a digest it does not hold.
  EXPECT_EQ(store.GetTensor(td, "gradient.b1").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(store.GetState(Hash{}).status().code(), Status::Code::kNotFound);
  // An object moved under another digest's name is refused.
  std::filesystem::create_directories(std::filesystem::path(store.ObjectPath(Hash{})).parent_path());
  std::filesystem::copy_file(store.ObjectPath(td), store.ObjectPath(Hash{}));
  auto wrong = store.GetTensor(Hash{}, "activation.b1");
  EXPECT_EQ(wrong.status().code(), Status::Code::kCorruption);
  EXPECT_NE(wrong.status().message().find(store.ObjectPath(Hash{})), std::string::npos) << wrong.status().ToString();
  // Bytes that are not a zstd frame.
  { std::ofstream(store.ObjectPath(sd), std::ios::trunc) << "not zstd"; }
  EXPECT_EQ(store.GetState(sd).status().code(), Status::Code::kCorruption);
}

// Streamed into zstd from the tensors' memory, the object is still exactly
// the one-shot canonical file (model/safetensors.h), as zstd itself reads it.
TEST_F(TensorStoreTest, AnObjectIsTheZstdFrameOfTheCanonicalFile) {
  TensorStore store(dir_);
  // Several zstd input blocks, and an empty tensor.
  const TensorMap state = {{"a", Random({300, 1000}, 5)}, {"b", Tensor({0})}, {"c", Random({7}, 6)}};
  const Hash sd = StateOf(state);
  ASSERT_TRUE(store.Put(sd, state).ok());
  const std::string packed = ReadFile(store.ObjectPath(sd)).value();
  EXPECT_EQ(store.bytes_written(), packed.size());
  const std::string canonical = SerializeSafetensorsF32(state, DType::kF32, {}).value();
  ASSERT_EQ(ZSTD_getFrameContentSize(packed.data(), packed.size()), canonical.size());
  std::string raw(canonical.size(), '\0');
  ASSERT_EQ(ZSTD_decompress(raw.data(), raw.size(), packed.data(), packed.size()), canonical.size());
  EXPECT_TRUE(raw == canonical);
  // Putting it again writes nothing.
  ASSERT_TRUE(store.Put(sd, state).ok());
  EXPECT_EQ(store.bytes_written(), packed.size());
}

// A lent state is written from the caller's tensors; FlushThrough(ticket)
// waits for the objects handed over before the ticket.
TEST_F(TensorStoreTest, WriterWritesLentStatesAndFlushesThroughATicket) {
  TensorStore store(dir_);
  const TensorMap state = {{"w", Random({64, 64}, 7)}, {"w.exp_avg", Random({64, 64}, 8)}};
  const Tensor act = Random({5, 8}, 9);
  const Hash sd = StateOf(state), td = F32TensorDigest("activation.b1", act);
  StoreWriter writer(&store);
  EXPECT_EQ(writer.submitted(), 0u);
  writer.PutLentState(sd, RefsOf(state));
  const uint64_t ticket = writer.submitted();
  EXPECT_EQ(ticket, 1u);
  writer.PutTensor(td, "activation.b1", act);
  EXPECT_EQ(writer.submitted(), 2u);
  ASSERT_TRUE(writer.FlushThrough(ticket).ok());
  EXPECT_TRUE(store.Has(sd));
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_TRUE(store.Has(td));
  TensorMap back = store.GetState(sd).value();
  for (const auto& [name, t] : state) EXPECT_TRUE(back.at(name).BitEqual(t)) << name;
}

TEST_F(TensorStoreTest, WriterReportsAFailureAtFlush) {
  ASSERT_TRUE(WriteFileAtomic(dir_ + ".file", "x").ok());
  TensorStore store(dir_ + ".file");  // a file where the store's directory should be
  StoreWriter writer(&store);
  const Tensor t = Random({4}, 4);
  writer.PutTensor(F32TensorDigest("activation.b1", t), "activation.b1", t);
  Status st = writer.Flush();
  EXPECT_FALSE(st.ok());
  // Later objects are dropped, and every flush through it reports the
  // failure; one through the objects before it does not.
  writer.PutTensor(F32TensorDigest("activation.b2", t), "activation.b2", t);
  EXPECT_EQ(writer.Flush().code(), st.code());
  EXPECT_TRUE(writer.FlushThrough(0).ok());
  std::filesystem::remove(dir_ + ".file");
}

}  // namespace
}  // namespace aftune
