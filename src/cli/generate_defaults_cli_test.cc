// aftune generate with a model's generation_config.json: the sampling flags
// left out take its defaults (do_sample false: greedy), the flags given win,
// and an out-of-range default is an error naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "cli/cli_test_util.h"

namespace aftune {
namespace {

using testing::RunAftune;
using testing::WriteText;

TEST(GenerateDefaults, GenerationConfigSuppliesWhatTheFlagsLeaveOut) {
  const std::string d = testing::TestDir("generate-defaults");
  ASSERT_EQ(RunAftune("model init --preset tiny --seed 7 --out " + d + "/plain").exit_code, 0);
  ASSERT_EQ(RunAftune("model init --preset tiny --seed 7 --out " + d + "/greedy").exit_code, 0);
  WriteText(d + "/greedy/generation_config.json", R"({"do_sample": false, "temperature": 0.6, "top_k": 3})");
  const std::string gen = "generate --prompt '3+4=' --max-tokens 12 --seed 5 --model ";
  const auto greedy = RunAftune(gen + d + "/plain --temperature 0");
  const auto sampled = RunAftune(gen + d + "/plain");  // aftune's defaults: temperature 1
  ASSERT_EQ(greedy.exit_code, 0) << greedy.output;
  ASSERT_EQ(sampled.exit_code, 0) << sampled.output;
  // The output without its timing: text and "[N tokens, finish: F".
  const auto text = [](const testing::CommandResult& r) {
    return std::regex_replace(r.output, std::regex(", [^,\\]]+ tokens/s\\]"), "]");
  };
  ASSERT_NE(text(greedy), text(sampled)) << "seed 5 should sample away from the greedy text";
  // do_sample false: greedy, whatever temperature and top_k the file gives.
  const auto by_default = RunAftune(gen + d + "/greedy");
  ASSERT_EQ(by_default.exit_code, 0) << by_default.output;
  EXPECT_EQ(text(by_default), text(greedy));
  // A flag given wins over the file: temperature 1 with top_k 0 as aftune's default.
  const auto flagged = RunAftune(gen + d + "/greedy --temperature 1");
  ASSERT_EQ(flagged.exit_code, 0) << flagged.output;
  EXPECT_EQ(text(flagged), text(sampled));

  // Sampling defaults: the file's temperature 0 is greedy too.
  WriteText(d + "/greedy/generation_config.json", R"({"do_sample": true, "temperature": 0})");
  const auto zero = RunAftune(gen + d + "/greedy");
  ASSERT_EQ(zero.exit_code, 0) << zero.output;
  EXPECT_EQ(text(zero), text(greedy));

  WriteText(d + "/greedy/generation_config.json", R"({"top_p": 0})");
  const auto bad = RunAftune(gen + d + "/greedy");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find(d + "/greedy/generation_config.json: top_p must be in (0, 1]"), std::string::npos)
      << bad.output;
  std::filesystem::remove_all(d);
}

}  // namespace
}  // namespace aftune
