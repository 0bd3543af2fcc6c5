// aftune train / eval / generate as a user runs them: a run killed with
// SIGKILL at several points and restarted ends with the same bytes as an
// uninterrupted run; bad input is a clear error naming the file, line or key.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <thread>

#include "cli/cli_test_util.h"

namespace aftune {
namespace {

using testing::ReadBytes;
using testing::RunAftune;
using testing::WriteText;

class TrainCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir("train");
    ASSERT_EQ(RunAftune("model init --preset tiny --seed 3 --out " + dir_ + "/base").exit_code, 0);
    WriteText(dir_ + "/data.jsonl", testing::AdditionJsonl(10, 4));
    WriteText(dir_ + "/config.json",
              "{\"base_model\": \"" + dir_ + "/base\", \"max_steps\": 40, \"save_steps\": 3, "
              "\"per_device_train_batch_size\": 8, \"max_seq_length\": 16, \"learning_rate\": 0.01}");
  }
  std::string Train(const std::string& out) {
    return "train --config " + dir_ + "/config.json --data " + dir_ + "/data.jsonl --out " + out;
  }
  std::string dir_;
};

TEST_F(TrainCliTest, KilledRunResumesToTheSameBytes) {
  auto whole = RunAftune(Train(dir_ + "/whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const std::string expected = ReadBytes(dir_ + "/whole/adapter/adapter_model.safetensors");
  ASSERT_FALSE(expected.empty());
  for (int writes : {1, 3, 6}) {
    std::string out = dir_ + "/killed" + std::to_string(writes);
    testing::KillAfterWrites(Train(out), out + "/checkpoint.safetensors", writes);
    ASSERT_FALSE(std::filesystem::exists(out + "/adapter")) << "the run finished before it was killed";
    auto resumed = RunAftune(Train(out));
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_EQ(ReadBytes(out + "/adapter/adapter_model.safetensors"), expected) << "killed after " << writes;
    EXPECT_EQ(ReadBytes(out + "/adapter/adapter_config.json"),
              ReadBytes(dir_ + "/whole/adapter/adapter_config.json"));
  }
}

TEST_F(TrainCliTest, EvalAndGenerateRunOnTheResult) {
  ASSERT_EQ(RunAftune(Train(dir_ + "/run")).exit_code, 0);
  auto ev = RunAftune("eval --json --model " + dir_ + "/base --adapter " + dir_ + "/run/adapter --data " + dir_ +
                      "/data.jsonl");
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_NE(ev.output.find("\"mean_loss_bits\""), std::string::npos);
  EXPECT_NE(ev.output.find("\"exact_match\""), std::string::npos);
  auto gen = RunAftune("generate --model " + dir_ + "/base --adapter " + dir_ + "/run/adapter --prompt 3+1= "
                       "--max-tokens 4 --temperature 0");
  EXPECT_EQ(gen.exit_code, 0) << gen.output;
  // Batch size does not change eval's figures.
  auto ev1 = RunAftune("eval --json --batch 1 --model " + dir_ + "/base --adapter " + dir_ + "/run/adapter --data " +
                       dir_ + "/data.jsonl");
  EXPECT_EQ(ev1.output, ev.output);
}

TEST_F(TrainCliTest, BadInputNamesTheProblem) {
  WriteText(dir_ + "/bad_key.json", "{\"learning_rat\": 0.1}");
  auto r = RunAftune("train --model " + dir_ + "/base --config " + dir_ + "/bad_key.json --data " + dir_ +
                     "/data.jsonl --out " + dir_ + "/x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("learning_rat"), std::string::npos) << r.output;

  WriteText(dir_ + "/bad.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": \"a\"}\n");
  r = RunAftune("train --config " + dir_ + "/config.json --data " + dir_ + "/bad.jsonl --out " + dir_ + "/y");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("bad.jsonl:2"), std::string::npos) << r.output;

  r = RunAftune("model info " + dir_ + "/missing");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("missing/config.json"), std::string::npos) << r.output;

  r = RunAftune("generate --model " + dir_ + "/base --prompt hi --max-tokens 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("max_tokens"), std::string::npos) << r.output;

  r = RunAftune("train --bogus");
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace aftune
