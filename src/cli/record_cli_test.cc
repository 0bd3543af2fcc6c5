// aftune train --contract as a provider runs it: the recorded trace and the
// signed commitment; a killed and resumed run ends with the same bytes; inputs
// that do not match the contract are refused, named.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include "cli/cli_test_util.h"

namespace aftune {
namespace {

using testing::ReadBytes;
using testing::RunAftune;
using testing::WriteText;

std::string DigestOf(const std::string& output, const std::string& kind) {
  std::smatch m;
  std::regex re("(^|\n)" + kind + " ([0-9a-f]{64})");
  return std::regex_search(output, m, re) ? m[2].str() : "";
}

// The names of the objects in RUN/store (content-addressed: the name is
// the digest of the content, checked on every read).
std::set<std::string> StoreObjects(const std::string& run) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::recursive_directory_iterator(run + "/store"))
    if (e.is_regular_file()) names.insert(e.path().filename().string());
  return names;
}

class RecordCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir("record");
    ASSERT_EQ(RunAftune("model init --preset tiny --seed 3 --out " + dir_ + "/base").exit_code, 0);
    WriteText(dir_ + "/data.jsonl", testing::AdditionJsonl(10, 4));
    auto c = RunAftune("contract create --base " + dir_ + "/base --data " + dir_ + "/data.jsonl --out " + dir_ +
                       "/contract.json --max_steps 24 --per_device_train_batch_size 4 --max_seq_length 16"
                       " --learning_rate 0.01 --steps_per_block 2 --checkpoint_interval 2 --layers_per_block 1");
    ASSERT_EQ(c.exit_code, 0) << c.output;
    contract_ = DigestOf(c.output, "contract");
    auto k = RunAftune("keygen --name example.com/provider --out " + dir_ + "/provider");
    ASSERT_EQ(k.exit_code, 0) << k.output;
  }
  std::string Train(const std::string& out, const std::string& data = "", const std::string& model = "") {
    return "train --contract " + dir_ + "/contract.json --key " + dir_ + "/provider.key --data " +
           (data.empty() ? dir_ + "/data.jsonl" : data) + " --model " + (model.empty() ? dir_ + "/base" : model) +
           " --out " + out;
  }
  std::string dir_, contract_;
};

TEST_F(RecordCliTest, RecordsATraceAndSignsACommitment) {
  auto r = RunAftune(Train(dir_ + "/run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string note = ReadBytes(dir_ + "/run/commitment.note");
  ASSERT_EQ(note.rfind("aftune training commitment v1\ncontract " + contract_ + "\ntrace ", 0), 0u) << note;
  auto d = RunAftune("digest " + dir_ + "/run");
  ASSERT_EQ(d.exit_code, 0) << d.output;
  const std::string root = DigestOf(d.output, "trace");
  ASSERT_NE(root, "");
  EXPECT_NE(note.find("\ntrace " + root + "\n"), std::string::npos) << note << d.output;
  EXPECT_NE(note.find("\nsteps 24\n"), std::string::npos) << note;
  auto w = RunAftune("digest " + dir_ + "/run/adapter/adapter_model.safetensors");
  EXPECT_NE(note.find("\nweights " + DigestOf(w.output, "safetensors") + "\n"), std::string::npos) << note << w.output;
}

TEST_F(RecordCliTest, KilledRunResumesToTheSameTraceAndCommitment) {
  ASSERT_EQ(RunAftune(Train(dir_ + "/whole")).exit_code, 0);
  const std::string trace = ReadBytes(dir_ + "/whole/trace.jsonl");
  const std::string note = ReadBytes(dir_ + "/whole/commitment.note");
  ASSERT_FALSE(trace.empty());
  for (int writes : {1, 3}) {
    const std::string out = dir_ + "/killed" + std::to_string(writes);
    testing::KillAfterWrites(Train(out), out + "/checkpoint.safetensors", writes);
    ASSERT_FALSE(std::filesystem::exists(out + "/commitment.note")) << "the run finished before it was killed";
    auto resumed = RunAftune(Train(out));
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_EQ(ReadBytes(out + "/trace.jsonl"), trace) << "killed after " << writes;
    EXPECT_EQ(ReadBytes(out + "/commitment.note"), note) << "killed after " << writes;
    EXPECT_EQ(StoreObjects(out), StoreObjects(dir_ + "/whole")) << "killed after " << writes;
  }
}

TEST_F(RecordCliTest, RefusesInputsThatDoNotMatchTheContract) {
  WriteText(dir_ + "/other.jsonl", ReadBytes(dir_ + "/data.jsonl") + "{\"prompt\": \"9+9=\", \"completion\": \"18\"}\n");
  auto r = RunAftune(Train(dir_ + "/x", dir_ + "/other.jsonl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("dataset " + dir_ + "/other.jsonl does not match the contract"), std::string::npos)
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/x/trace.jsonl"));

  ASSERT_EQ(RunAftune("model init --preset tiny --seed 4 --out " + dir_ + "/base4").exit_code, 0);
  r = RunAftune(Train(dir_ + "/y", "", dir_ + "/base4"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("base model " + dir_ + "/base4"), std::string::npos) << r.output;

  r = RunAftune("train --contract " + dir_ + "/contract.json --config c.json --key k --data d --out o");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("exactly one of --config and --contract"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace aftune
