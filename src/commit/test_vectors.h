// Test-only helpers: loading tests/vectors/*.json (written by
// tests/vectors/make_vectors.py) and hex/hash conversions that fail the test
// instead of returning a Status. Included by *_test.cc only.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/file.h"
#include "commit/encoding.h"
#include "commit/sha256.h"

namespace aftune::testing {

inline nlohmann::json LoadVectors(const std::string& name) {
  std::string path = std::string(AFTUNE_SOURCE_DIR) + "/tests/vectors/" + name;
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    ADD_FAILURE() << text.status().ToString();
    return nlohmann::json::object();
  }
  return nlohmann::json::parse(*text);
}

inline Hash H(const std::string& hex) {
  Result<Hash> h = HashFromHex(hex);
  EXPECT_TRUE(h.ok()) << hex;
  return h.ok() ? *h : Hash{};
}

inline std::vector<uint8_t> Bytes(const std::string& hex) {
  Result<std::vector<uint8_t>> b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : std::vector<uint8_t>{};
}

inline std::vector<Hash> Hashes(const nlohmann::json& list) {
  std::vector<Hash> out;
  for (const auto& h : list) out.push_back(H(h.get<std::string>()));
  return out;
}

}  // namespace aftune::testing
