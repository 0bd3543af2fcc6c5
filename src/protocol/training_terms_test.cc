// The one table of training terms (train/training_terms.h) and the places it
// drives agreeing on every term: `aftune train --config`'s JSON, the
// contract's "training" object, the command-line spelling of
// `aftune contract create` and the table in docs/training.md.
#include "train/training_terms.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "protocol/contract.h"

namespace aftune {
namespace {

using Json = nlohmann::json;

// A valid value of the term, different from its default, as a command line
// writes it.
std::string OtherValueText(const TrainingTerm& t) {
  switch (t.kind) {
    case TermKind::kInteger: return std::to_string(t.min_int + 3);
    case TermKind::kSeed: return "18446744073709551615";
    case TermKind::kPath: return "models/other";
    case TermKind::kModules: return "up_proj,k_proj,o_proj";
    case TermKind::kChoice: return t.choices.back() == TermValueText(t.get(TrainConfig())) ? t.choices.front()
                                                                                           : t.choices.back();
    case TermKind::kNumber:
      switch (t.range) {
        case NumberRange::kAny: return "-2.5";
        case NumberRange::kPositive: return "0.375";
        case NumberRange::kNonNegative: return "1e-05";
        case NumberRange::kUnitInterval: return "0.5";
      }
  }
  return "";
}

// Every term that applies to the method, at its other value.
TrainConfig OtherConfig(const std::string& method) {
  TrainConfig c;
  EXPECT_TRUE(SetTermFromText(*FindTrainingTerm("method"), method, "method", &c).ok());
  for (const TrainingTerm& t : TrainingTerms()) {
    if (t.key == "method" || !TermApplies(t, c)) continue;
    Status st = SetTermFromText(t, OtherValueText(t), t.key, &c);
    EXPECT_TRUE(st.ok()) << t.key << ": " << st.ToString();
  }
  return c;
}

Contract SomeContract(const TrainConfig& training) {
  Contract c;
  c.training = training;
  c.tokenizer_kind = "byte";
  c.tokenizer_digest = ByteTokenizerDigest();
  c.dataset_examples = 40;
  return c;
}

std::set<std::string> Keys(const Json& object) {
  std::set<std::string> out;
  for (const auto& [k, v] : object.items()) out.insert(k);
  return out;
}

TEST(TrainingTerms, KeysAreUniqueAndKnown) {
  std::set<std::string> keys;
  for (const TrainingTerm& t : TrainingTerms()) {
    EXPECT_TRUE(keys.insert(t.key).second) << t.key;
    EXPECT_EQ(FindTrainingTerm(t.key), &t);
    EXPECT_FALSE(t.help.empty()) << t.key;
    EXPECT_EQ(t.binding, t.not_in_contract.empty()) << t.key;
    // The defaults are valid values.
    EXPECT_TRUE(CheckTermValue(t, t.get(TrainConfig()), t.key).ok()) << t.key;
  }
  EXPECT_EQ(FindTrainingTerm("learning-rate"), nullptr);
}

TEST(TrainingTerms, EveryTermRoundTripsThroughConfigContractAndCommandLine) {
  for (const std::string method : {"lora", "full"}) {
    SCOPED_TRACE(method);
    const TrainConfig c = OtherConfig(method);
    // The train config's JSON reads back to the same terms.
    const std::string json = TrainConfigToJson(c);
    Result<TrainConfig> back = ParseTrainConfig(json, "cfg.json");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(TrainConfigToJson(*back), json);

    // The contract binds exactly the binding terms that apply, with the same
    // values; it runs with the operational ones set by its grid.
    const std::string text = CanonicalContract(SomeContract(c));
    Result<Contract> parsed = ParseContract(text, "c.json");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    const Json training = Json::parse(text)["training"];
    std::set<std::string> bound;
    for (const TrainingTerm& t : TrainingTerms()) {
      const Json mine = t.get(c);
      if (!TermApplies(t, c)) {
        EXPECT_EQ(Json::parse(json).count(t.key), 0u) << t.key;
        continue;
      }
      EXPECT_EQ(Json::parse(json)[t.key], mine) << t.key;
      if (!t.binding) continue;
      bound.insert(t.key);
      Json theirs = t.get(parsed->training);
      if (t.kind == TermKind::kModules) {  // the contract sorts them
        EXPECT_EQ(theirs, Json::array({"k_proj", "o_proj", "up_proj"}));
      } else {
        EXPECT_EQ(theirs, mine) << t.key;
        EXPECT_EQ(training[t.key], mine) << t.key;
      }
      // The command line spells the same value.
      TrainConfig from_text;
      ASSERT_TRUE(SetTermFromText(t, TermValueText(mine), "--" + t.key, &from_text).ok()) << t.key;
      EXPECT_EQ(t.get(from_text), mine) << t.key;
    }
    EXPECT_EQ(Keys(training), bound);
    const TrainConfig run = ContractTrainConfig(*parsed, "base");
    EXPECT_EQ(run.base_model, "base");
    EXPECT_EQ(run.layers_per_block, parsed->grid.layers_per_block);
  }
}

// Each integer term one below its minimum, and each number term just out of
// its range, is refused by every reader, naming the term as that reader does.
TEST(TrainingTerms, EveryReaderRefusesTheSameValues) {
  for (const TrainingTerm& t : TrainingTerms()) {
    if (t.kind != TermKind::kInteger && (t.kind != TermKind::kNumber || t.range == NumberRange::kAny)) continue;
    SCOPED_TRACE(t.key);
    const Json bad = t.kind == TermKind::kInteger ? Json(t.min_int - 1)
                     : t.range == NumberRange::kUnitInterval ? Json(1.0)
                                                             : Json(-0.5);
    TrainConfig scratch;
    Status config = ParseTrainConfig(Json{{t.key, bad}}.dump(), "cfg.json").status();
    EXPECT_EQ(config.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(config.message().find("cfg.json: '" + t.key + "' must be"), std::string::npos) << config.ToString();
    Status text = SetTermFromText(t, TermValueText(bad), "--" + t.key, &scratch);
    EXPECT_NE(text.message().find("'--" + t.key + "' must be"), std::string::npos) << text.ToString();
    if (!t.binding) continue;
    Json contract = Json::parse(CanonicalContract(SomeContract(TrainConfig())));
    contract["training"][t.key] = bad;
    Status parsed = ParseContract(contract.dump(), "c.json").status();
    EXPECT_EQ(parsed.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(parsed.message().find("'training." + t.key + "' must be"), std::string::npos) << parsed.ToString();
  }
}

TEST(TrainingTerms, OperationalTermsAreNotPartOfAContract) {
  for (const TrainingTerm& t : TrainingTerms()) {
    if (t.binding) continue;
    Json contract = Json::parse(CanonicalContract(SomeContract(TrainConfig())));
    contract["training"][t.key] = t.get(TrainConfig());
    Status st = ParseContract(contract.dump(), "c.json").status();
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << t.key;
    EXPECT_NE(st.message().find("unknown key 'training." + t.key + "' (" + t.not_in_contract + ")"),
              std::string::npos)
        << st.ToString();
  }
}

TEST(TrainingTerms, LoraTermsDoNotApplyToFullFineTuning) {
  for (const TrainingTerm& t : TrainingTerms()) {
    if (!t.lora_only) continue;
    Status st =
        ParseTrainConfig(Json{{"method", "full"}, {t.key, t.get(TrainConfig())}}.dump(), "cfg.json").status();
    EXPECT_NE(st.message().find("'" + t.key + "' does not apply to method \"full\""), std::string::npos)
        << st.ToString();
  }
}

// Both of Hugging Face's constant schedules, in every reader.
TEST(TrainingTerms, ConstantSchedulesAreHuggingFaces) {
  for (const LrSchedule s : {LrSchedule::kConstant, LrSchedule::kConstantWithWarmup}) {
    Result<TrainConfig> c =
        ParseTrainConfig(Json{{"lr_scheduler_type", LrScheduleName(s)}, {"warmup_steps", 3}}.dump(), "cfg.json");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->lr_scheduler_type, s);
    Result<Contract> parsed = ParseContract(CanonicalContract(SomeContract(*c)), "c.json");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->training.lr_scheduler_type, s);
  }
}

// docs/training.md shows the table as TrainingTermsMarkdown writes it.
TEST(TrainingTerms, DocsShowTheTable) {
  Result<std::string> doc = ReadFile(std::string(AFTUNE_SOURCE_DIR) + "/docs/training.md");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const std::string begin = "<!-- training terms: begin (TrainingTermsMarkdown) -->\n";
  const std::string end = "<!-- training terms: end -->";
  const size_t b = doc->find(begin), e = doc->find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  const std::string shown = doc->substr(b + begin.size(), e - b - begin.size());
  EXPECT_EQ(shown, TrainingTermsMarkdown()) << "docs/training.md should hold:\n" << TrainingTermsMarkdown();
}

}  // namespace
}  // namespace aftune
