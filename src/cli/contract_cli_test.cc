// aftune keygen / digest / contract as a user runs them: keys written 0600
// and never overwritten; the digest of every kind of path; a contract from
// only --base/--data/--out, the vector contract reproduced from flags, and
// bad flags (exit 2) or inputs (exit 1, naming the file or key).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"

namespace aftune {
namespace {

using Json = nlohmann::json;
using testing::ReadBytes;
using testing::RunAftune;
using testing::WriteText;

const std::string kVectors = std::string(AFTUNE_SOURCE_DIR) + "/tests/vectors/";

// The 64-hex digest on the line starting with "<kind> ", or "".
std::string DigestOf(const std::string& output, const std::string& kind) {
  std::smatch m;
  std::regex re("(^|\n)" + kind + " ([0-9a-f]{64})(  [^\n]*)?(\n|$)");
  return std::regex_search(output, m, re) ? m[2].str() : "";
}

// sha256sum of a file (an implementation other than aftune's).
std::string Sha256Sum(const std::string& path) {
  FILE* p = ::popen(("sha256sum '" + path + "'").c_str(), "r");
  char buf[65] = {};
  size_t n = p ? std::fread(buf, 1, 64, p) : 0;
  if (p) ::pclose(p);
  return std::string(buf, n);
}

int Mode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

class ContractCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::TestDir("contract"));
    ASSERT_EQ(RunAftune("model init --preset tiny --seed 5 --out " + *dir_ + "/base").exit_code, 0);
    std::string data;
    for (int a = 0; a < 12; ++a)
      data += "{\"prompt\": \"" + std::to_string(a) + "+1=\", \"completion\": \"" + std::to_string(a + 1) + "\"}\n";
    WriteText(*dir_ + "/data.jsonl", data);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::string Dir() { return *dir_; }
  static std::string* dir_;
};
std::string* ContractCliTest::dir_ = nullptr;

// ---- keygen -------------------------------------------------------------------

TEST_F(ContractCliTest, KeygenWritesAPrivateKey0600AndAPublicKey) {
  const std::string prefix = Dir() + "/provider";
  auto r = RunAftune("keygen --name example.com/provider --out " + prefix);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Mode(prefix + ".key"), 0600);
  EXPECT_EQ(Mode(prefix + ".pub"), 0644);
  const std::string key = ReadBytes(prefix + ".key"), pub = ReadBytes(prefix + ".pub");
  EXPECT_TRUE(std::regex_match(key, std::regex("aftune-ed25519-private example\\.com/provider [0-9a-f]{64}\n"))) << key;
  EXPECT_TRUE(std::regex_match(pub, std::regex("aftune-ed25519-public example\\.com/provider [0-9a-f]{64}\n"))) << pub;
  EXPECT_NE(r.output.find("key id "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("verifier key example.com/provider+"), std::string::npos) << r.output;

  // Never overwritten, whichever of the two exists.
  r = RunAftune("keygen --name example.com/provider --out " + prefix);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("aftune: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(prefix + ".key: already exists"), std::string::npos) << r.output;
  EXPECT_EQ(ReadBytes(prefix + ".key"), key);
  EXPECT_EQ(ReadBytes(prefix + ".pub"), pub);
  std::filesystem::remove(prefix + ".key");
  r = RunAftune("keygen --name example.com/provider --out " + prefix);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(prefix + ".pub: already exists"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(prefix + ".key"));

  // Two keys differ.
  ASSERT_EQ(RunAftune("keygen --name example.com/provider --out " + Dir() + "/other").exit_code, 0);
  EXPECT_NE(ReadBytes(Dir() + "/other.key"), key);
}

TEST_F(ContractCliTest, KeygenRefusesBadNamesAndMissingFlags) {
  auto r = RunAftune("keygen --name 'has space' --out " + Dir() + "/bad");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--name 'has space' is not a valid key name"), std::string::npos) << r.output;
  r = RunAftune("keygen --name 'a+b' --out " + Dir() + "/bad");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_FALSE(std::filesystem::exists(Dir() + "/bad.key"));
  EXPECT_EQ(RunAftune("keygen --out " + Dir() + "/bad").exit_code, 2);
  EXPECT_EQ(RunAftune("keygen --name x").exit_code, 2);
  r = RunAftune("keygen --name x --out " + Dir() + "/no/such/dir/k");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Dir() + "/no/such/dir/k.key"), std::string::npos) << r.output;
}

// ---- digest -------------------------------------------------------------------

TEST_F(ContractCliTest, DigestOfAModelDirectoryAndItsWeights) {
  auto r = RunAftune("digest " + Dir() + "/base");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string model = DigestOf(r.output, "model");
  EXPECT_NE(model, "") << r.output;
  EXPECT_EQ(DigestOf(r.output, "config"), Sha256Sum(Dir() + "/base/config.json")) << r.output;
  // The byte tokenizer: SHA-256("aftune byte tokenizer v1").
  EXPECT_EQ(DigestOf(r.output, "tokenizer"), "66847138ae47e4d306440d2395260ae50267eeca6893c8f7ea9cec232cce0ac2")
      << r.output;
  r = RunAftune("digest " + Dir() + "/base/model.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(DigestOf(r.output, "safetensors"), model) << r.output;
  // The same weights stored as bfloat16 are another state.
  ASSERT_EQ(RunAftune("model init --preset tiny --seed 5 --dtype bfloat16 --out " + Dir() + "/bf16").exit_code, 0);
  r = RunAftune("digest " + Dir() + "/bf16");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(DigestOf(r.output, "model"), model);

  // The vector model: digests computed by the independent Python script.
  const Json v = Json::parse(ReadBytes(kVectors + "contract.json"));
  r = RunAftune("digest " + kVectors + "contract/base");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(DigestOf(r.output, "model"), v["state_digest"]) << r.output;
  EXPECT_EQ(DigestOf(r.output, "config"), v["config_digest"]) << r.output;
  EXPECT_EQ(DigestOf(r.output, "tokenizer"), v["tokenizer_digest"]) << r.output;
  r = RunAftune("digest " + kVectors + "contract/data.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(DigestOf(r.output, "dataset"), v["dataset_digest"]) << r.output;
  EXPECT_NE(r.output.find("  5 lines"), std::string::npos) << r.output;
  r = RunAftune("digest " + kVectors + "contract/contract.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(DigestOf(r.output, "contract"), v["digest"]) << r.output;
}

TEST_F(ContractCliTest, DigestOfATraceIsTheRootOverItsLines) {
  const std::string run = Dir() + "/run";
  std::filesystem::create_directories(run);
  const std::string lines = "{\"step\":0}\n{\"step\":1}\n{\"step\":2}\n";
  WriteText(run + "/trace.jsonl", lines);
  // Without empty lines or CRs, the trace root and the dataset digest are
  // the same tree over the same lines.
  WriteText(Dir() + "/same.jsonl", lines);
  auto dataset = RunAftune("digest " + Dir() + "/same.jsonl");
  ASSERT_EQ(dataset.exit_code, 0) << dataset.output;
  for (const std::string& path : {run, run + "/trace.jsonl"}) {
    auto r = RunAftune("digest " + path);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(DigestOf(r.output, "trace"), DigestOf(dataset.output, "dataset")) << r.output;
    EXPECT_NE(r.output.find("3 records"), std::string::npos) << r.output;
  }
  // One line: SHA-256(0x00 ‖ line), by sha256sum.
  WriteText(run + "/trace.jsonl", "{\"step\":0}\n");
  WriteText(Dir() + "/leaf.bin", std::string(1, '\0') + "{\"step\":0}");
  auto r = RunAftune("digest " + run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(DigestOf(r.output, "trace"), Sha256Sum(Dir() + "/leaf.bin")) << r.output;
  // An empty trace is the empty tree.
  WriteText(run + "/trace.jsonl", "");
  r = RunAftune("digest " + run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(DigestOf(r.output, "trace"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // A record cut short, or an empty line, is an error naming the line.
  WriteText(run + "/trace.jsonl", "{\"step\":0}\n{\"step\":1}\n{\"st");
  r = RunAftune("digest " + run);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(run + "/trace.jsonl:3: no line ending"), std::string::npos) << r.output;
  WriteText(run + "/trace.jsonl", "{\"step\":0}\n\n");
  r = RunAftune("digest " + run + "/trace.jsonl");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(run + "/trace.jsonl:2: empty line"), std::string::npos) << r.output;
}

TEST_F(ContractCliTest, DigestOfWhatItDoesNotKnowIsAnError) {
  auto r = RunAftune("digest " + Dir() + "/nothing-here");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("aftune: "), std::string::npos);
  EXPECT_NE(r.output.find(Dir() + "/nothing-here: no such file or directory"), std::string::npos) << r.output;
  WriteText(Dir() + "/notes.txt", "hello\n");
  r = RunAftune("digest " + Dir() + "/notes.txt");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Dir() + "/notes.txt: unknown kind"), std::string::npos) << r.output;
  std::filesystem::create_directories(Dir() + "/empty");
  r = RunAftune("digest " + Dir() + "/empty");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Dir() + "/empty: not a model directory"), std::string::npos) << r.output;
  WriteText(Dir() + "/broken.safetensors", "12345678");
  r = RunAftune("digest " + Dir() + "/broken.safetensors");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Dir() + "/broken.safetensors"), std::string::npos) << r.output;
  WriteText(Dir() + "/config-like.json", "{\"r\": 8}");
  r = RunAftune("digest " + Dir() + "/config-like.json");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("not a training contract"), std::string::npos) << r.output;
  EXPECT_EQ(RunAftune("digest").exit_code, 2);
}

// ---- contract -------------------------------------------------------------------

TEST_F(ContractCliTest, CreateWithOnlyBaseDataOutGivesAValidShortLoraContract) {
  const std::string out = Dir() + "/default.json";
  auto r = RunAftune("contract create --base " + Dir() + "/base --data " + Dir() + "/data.jsonl --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string digest = DigestOf(r.output, "contract");
  ASSERT_NE(digest, "") << r.output;
  // The file is the canonical text: its SHA-256 is the contract digest.
  EXPECT_EQ(Sha256Sum(out), digest);
  const std::string text = ReadBytes(out);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(text.find(", "), std::string::npos);  // the only space is in "aftune training contract v1"
  EXPECT_EQ(text.find(": "), std::string::npos);
  Json c = Json::parse(text);
  EXPECT_EQ(c["format"], "aftune training contract v1");
  EXPECT_EQ(c["precision"], "f32");
  EXPECT_EQ(c["training"]["method"], "lora");
  EXPECT_EQ(c["training"]["r"], 8);
  EXPECT_EQ(c["training"]["lora_alpha"], 16.0);
  EXPECT_EQ(c["training"]["target_modules"], Json::array({"q_proj", "v_proj"}));
  EXPECT_EQ(c["training"]["learning_rate"], 1e-3);
  EXPECT_EQ(c["training"]["num_train_epochs"], 1);
  EXPECT_EQ(c["training"]["seed"], 42);
  EXPECT_EQ(c["training"]["optim"], "adamw_torch");
  EXPECT_EQ(c["audit_grid"], Json::parse(R"({"steps_per_block":8,"layers_per_block":2,"checkpoint_interval":8,
                                             "activation_interval":8})"));
  EXPECT_EQ(c["dataset"]["examples"], 12);
  EXPECT_EQ(c["tokenizer"]["kind"], "byte");
  // Its digests are those `aftune digest` prints.
  auto d = RunAftune("digest " + Dir() + "/base");
  EXPECT_EQ(c["base_model"]["state_digest"], DigestOf(d.output, "model"));
  EXPECT_EQ(c["base_model"]["config_digest"], DigestOf(d.output, "config"));
  d = RunAftune("digest " + Dir() + "/data.jsonl");
  EXPECT_EQ(c["dataset"]["digest"], DigestOf(d.output, "dataset"));

  r = RunAftune("contract show " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(DigestOf(r.output, "contract"), digest) << r.output;
  EXPECT_NE(r.output.find("(canonical: its SHA-256 is the contract digest)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lora: r 8, lora_alpha 16.0, target_modules q_proj,v_proj"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("adamw_torch: learning_rate 0.001"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("num_train_epochs 1, max_steps -1: 2 optimizer steps"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("precision         f32"), std::string::npos) << r.output;

  // A hand-formatted copy has the same digest, and show says it is not canonical.
  WriteText(Dir() + "/pretty.json", c.dump(2) + "\n");
  r = RunAftune("contract show " + Dir() + "/pretty.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(DigestOf(r.output, "contract"), digest) << r.output;
  EXPECT_NE(r.output.find("not in canonical form"), std::string::npos) << r.output;
  // Creating again from the same inputs gives the same bytes.
  ASSERT_EQ(RunAftune("contract create --base " + Dir() + "/base --data " + Dir() + "/data.jsonl --out " + Dir() +
                      "/again.json")
                .exit_code,
            0);
  EXPECT_EQ(ReadBytes(Dir() + "/again.json"), text);
}

TEST_F(ContractCliTest, CreateFromFlagsReproducesTheVectorContract) {
  const std::string out = Dir() + "/vector.json";
  auto r = RunAftune("contract create --base " + kVectors + "contract/base --data " + kVectors +
                     "contract/data.jsonl --out " + out +
                     " --method lora --r 4 --lora_alpha 8 --target_modules v_proj,q_proj,o_proj"
                     " --learning_rate 2e-4 --weight_decay 0.01 --adam_beta1 0.9 --adam_beta2 0.999"
                     " --adam_epsilon 1e-8 --max_grad_norm 1 --lr_scheduler_type cosine --warmup_steps 2"
                     " --num_train_epochs 3 --max_steps -1 --per_device_train_batch_size 2"
                     " --gradient_accumulation_steps 2 --max_seq_length 32 --overflow truncate --seed 1234"
                     " --steps_per_block 2 --layers_per_block 1 --checkpoint_interval 2 --activation_interval 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadBytes(out), ReadBytes(kVectors + "contract/contract.json"));
  const Json v = Json::parse(ReadBytes(kVectors + "contract.json"));
  EXPECT_EQ(DigestOf(r.output, "contract"), v["digest"]) << r.output;
  r = RunAftune("contract show " + kVectors + "contract/contract.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(DigestOf(r.output, "contract"), v["digest"]) << r.output;
  EXPECT_NE(r.output.find("target_modules o_proj,q_proj,v_proj"), std::string::npos) << r.output;
  // 5 examples, 4 per step: 2 steps per epoch, 3 epochs; step-blocks of 2.
  EXPECT_NE(r.output.find("6 optimizer steps"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("steps_per_block (B_S) 2: 3 step-blocks"), std::string::npos) << r.output;
}

TEST_F(ContractCliTest, CreateFullFineTuning) {
  const std::string out = Dir() + "/full.json";
  auto r = RunAftune("contract create --method full --base " + Dir() + "/base --data " + Dir() + "/data.jsonl --out " +
                     out + " --learning_rate 1e-5 --layers_per_block 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Json c = Json::parse(ReadBytes(out));
  EXPECT_EQ(c["training"]["method"], "full");
  EXPECT_FALSE(c["training"].contains("r"));
  EXPECT_EQ(c["training"]["learning_rate"], 1e-5);
  EXPECT_EQ(c["audit_grid"]["layers_per_block"], 1);
  r = RunAftune("contract show " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("full fine-tuning"), std::string::npos) << r.output;
}

TEST_F(ContractCliTest, BadFlagsExit2) {
  const std::string base = "contract create --base " + Dir() + "/base --data " + Dir() + "/data.jsonl --out " +
                           Dir() + "/bad.json ";
  const std::vector<std::string> bad = {
      "--r 0", "--r abc", "--r -3", "--method qlora", "--target_modules q_proj,lm_head", "--lr_scheduler_type constant_with_restarts",
      "--lr_scheduler_type polynomial", "--overflow drop", "--learning_rate -1", "--learning_rate 0",
      "--learning_rate x", "--steps_per_block 0", "--layers_per_block 0", "--checkpoint_interval 0",
      "--activation_interval -1", "--max_seq_length 1", "--num_train_epochs 0", "--max_steps -2",
      "--per_device_train_batch_size 0", "--gradient_accumulation_steps 0", "--warmup_steps -1", "--seed -1",
      "--lora_alpha 0", "--weight_decay -0.5", "--adam_epsilon 0", "--learning-rate 1e-3", "--unknown 1",
      "--method full --r 4", "--optim sgd", "--r 1.5", "--r ''", "--learning_rate 1e400", "--target_modules q_proj,q_proj",
      "--target_modules ''", "--max_steps 2147483648", "--seed 18446744073709551616", "--learning_rate ' 1'", "--method full --target_modules q_proj", "--r 2147483648"};
  for (const std::string& flags : bad) {
    auto r = RunAftune(base + flags);
    EXPECT_EQ(r.exit_code, 2) << flags << "\n" << r.output;
    EXPECT_FALSE(std::filesystem::exists(Dir() + "/bad.json")) << flags;
  }
  EXPECT_EQ(RunAftune("contract create --data " + Dir() + "/data.jsonl --out " + Dir() + "/bad.json").exit_code, 2);
  EXPECT_EQ(RunAftune("contract").exit_code, 2);
  EXPECT_EQ(RunAftune("contract show").exit_code, 2);
}

TEST_F(ContractCliTest, MissingOrUnfitInputsExit1NamingThem) {
  const std::string out = " --out " + Dir() + "/bad.json";
  auto r = RunAftune("contract create --base " + Dir() + "/nobase --data " + Dir() + "/data.jsonl" + out);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("aftune: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(Dir() + "/nobase/config.json"), std::string::npos) << r.output;
  r = RunAftune("contract create --base " + Dir() + "/base --data " + Dir() + "/nodata.jsonl" + out);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Dir() + "/nodata.jsonl"), std::string::npos) << r.output;
  WriteText(Dir() + "/badline.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n");
  r = RunAftune("contract create --base " + Dir() + "/base --data " + Dir() + "/badline.jsonl" + out);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Dir() + "/badline.jsonl:2:"), std::string::npos) << r.output;
  r = RunAftune("contract create --base " + Dir() + "/base --data " + Dir() + "/data.jsonl --max_seq_length 4" + out);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Dir() + "/data.jsonl:1:"), std::string::npos) << r.output;
  r = RunAftune("contract create --base " + Dir() + "/base --data " + Dir() + "/data.jsonl --out " + Dir() +
                "/no/dir/c.json");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Dir() + "/no/dir/c.json"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(Dir() + "/bad.json"));

  // show: a missing file, and a malformed contract naming its key.
  r = RunAftune("contract show " + Dir() + "/missing.json");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Dir() + "/missing.json"), std::string::npos) << r.output;
  Json c = Json::parse(ReadBytes(kVectors + "contract/contract.json"));
  c["precision"] = "bf16";
  WriteText(Dir() + "/bf16.json", c.dump());
  r = RunAftune("contract show " + Dir() + "/bf16.json");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(Dir() + "/bf16.json: 'precision' \"bf16\" is not supported"), std::string::npos) << r.output;
  c = Json::parse(ReadBytes(kVectors + "contract/contract.json"));
  c["training"].erase("seed");
  WriteText(Dir() + "/noseed.json", c.dump());
  r = RunAftune("contract show " + Dir() + "/noseed.json");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("missing key 'training.seed'"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace aftune
