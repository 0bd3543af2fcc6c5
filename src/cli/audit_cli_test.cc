// aftune audit train as an auditor runs it on a recorded run directory: the
// exit status says pass (0), fail (3), could not audit (1) or usage (2);
// the draw is a function of the trace and the nonce; the reports are written.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"

namespace aftune {
namespace {

using testing::ReadBytes;
using testing::RunAftune;
using testing::WriteText;

std::string g_dir;

class AuditCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_dir = testing::TestDir("audit");
    const std::string d = g_dir;
    ASSERT_EQ(RunAftune("model init --preset tiny --seed 3 --out " + d + "/base").exit_code, 0);
    WriteText(d + "/data.jsonl", testing::AdditionJsonl(10, 4));
    auto c = RunAftune("contract create --base " + d + "/base --data " + d + "/data.jsonl --out " + d +
                       "/contract.json --max_steps 12 --per_device_train_batch_size 4 --max_seq_length 16"
                       " --learning_rate 0.01 --steps_per_block 2 --checkpoint_interval 2 --layers_per_block 1"
                       " --activation_interval 3");
    ASSERT_EQ(c.exit_code, 0) << c.output;
    ASSERT_EQ(RunAftune("keygen --name example.com/provider --out " + d + "/provider").exit_code, 0);
    ASSERT_EQ(RunAftune("keygen --name example.com/provider --out " + d + "/other").exit_code, 0);
    auto t = RunAftune("train --contract " + d + "/contract.json --key " + d + "/provider.key --data " + d +
                       "/data.jsonl --model " + d + "/base --out " + d + "/run");
    ASSERT_EQ(t.exit_code, 0) << t.output;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(g_dir); }

  static std::string Audit(const std::string& extra, const std::string& note = g_dir + "/run/commitment.note",
                           const std::string& pub = g_dir + "/provider.pub") {
    return "audit train --contract " + g_dir + "/contract.json --commitment " + note + " --pub " + pub +
           " --data " + g_dir + "/data.jsonl --model " + g_dir + "/base --run " + g_dir + "/run " + extra;
  }
  static nlohmann::json Report(const std::string& path) { return nlohmann::json::parse(ReadBytes(path)); }
};

TEST_F(AuditCliTest, HonestRunPassesAndWritesBothReports) {
  auto r = RunAftune(Audit("--samples 4 --nonce 00ff --report " + g_dir + "/r.json --html " + g_dir + "/r.html"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("training audit: PASS"), std::string::npos) << r.output;
  const nlohmann::json j = Report(g_dir + "/r.json");
  EXPECT_EQ(j["verdict"], "pass");
  EXPECT_EQ(j["cells"].size(), 4u);
  EXPECT_EQ(j["nonce"], "00ff");
  const std::string html = ReadBytes(g_dir + "/r.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("cell.end_state"), std::string::npos);
}

TEST_F(AuditCliTest, TheNonceFixesTheDraw) {
  ASSERT_EQ(RunAftune(Audit("--samples 3 --nonce 0a --report " + g_dir + "/a.json")).exit_code, 0);
  ASSERT_EQ(RunAftune(Audit("--samples 3 --nonce 0a --report " + g_dir + "/b.json")).exit_code, 0);
  ASSERT_EQ(RunAftune(Audit("--samples 3 --nonce 0b --report " + g_dir + "/c.json")).exit_code, 0);
  EXPECT_EQ(Report(g_dir + "/a.json")["cells"], Report(g_dir + "/b.json")["cells"]);
  EXPECT_NE(Report(g_dir + "/a.json")["challenge_seed"], Report(g_dir + "/c.json")["challenge_seed"]);
  auto all = RunAftune(Audit("--samples 1000 --report " + g_dir + "/all.json"));
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_EQ(Report(g_dir + "/all.json")["cells"].size(), 12u);  // 2 layer-blocks x 6 step-blocks
}

TEST_F(AuditCliTest, ViolationsExitThree) {
  std::string note = ReadBytes(g_dir + "/run/commitment.note");
  note[note.find("steps 12") + 7] = '3';
  WriteText(g_dir + "/forged.note", note);
  auto r = RunAftune(Audit("--samples 1", g_dir + "/forged.note"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("FAILED commitment.signature"), std::string::npos) << r.output;

  r = RunAftune(Audit("--samples 1", g_dir + "/run/commitment.note", g_dir + "/other.pub"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("FAILED commitment.signature"), std::string::npos) << r.output;

  const std::string weights = g_dir + "/run/adapter/adapter_model.safetensors";
  const std::string original = ReadBytes(weights);
  std::string bytes = original;
  bytes[bytes.size() - 1] ^= 0x01;
  WriteText(weights, bytes);
  r = RunAftune(Audit("--samples 1"));
  WriteText(weights, original);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("FAILED final.weights"), std::string::npos) << r.output;
}

TEST_F(AuditCliTest, MissingInputExitsOneAndUsageTwo) {
  auto r = RunAftune("audit train --contract " + g_dir + "/contract.json --commitment " + g_dir +
                     "/run/commitment.note --pub " + g_dir + "/provider.pub --data " + g_dir +
                     "/nowhere.jsonl --model " + g_dir + "/base --run " + g_dir + "/run --samples 1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("nowhere.jsonl"), std::string::npos) << r.output;
  r = RunAftune(Audit("--samples 1 --cells 5,0"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("outside the grid"), std::string::npos) << r.output;
  r = RunAftune(Audit(""));  // no --samples
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = RunAftune(Audit("--samples 1 --strategy random"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = RunAftune(Audit("--samples 1 --nonce XYZ"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
}

}  // namespace
}  // namespace aftune
