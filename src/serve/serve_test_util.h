// Test-only: a tiny random model served with receipts into a fresh log, in
// process. Included by src/serve/*_test.cc only.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "infer/served_model.h"
#include "model/model_dir.h"
#include "model/model_init.h"
#include "serve/inference_service.h"
#include "serve/receipt_log.h"

namespace aftune::testing {

inline std::string ServeTestDir(const std::string& tag) {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("aftune-serve-" + tag + "-" + std::to_string(::getpid())))
                        .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The "tiny" preset with seed 1, saved under `dir`/model and loaded.
inline std::unique_ptr<ServedModel> TinyServedModel(const std::string& dir) {
  Result<ModelConfig> cfg = PresetConfig("tiny");
  EXPECT_TRUE(cfg.ok());
  const std::string model_dir = dir + "/model";
  EXPECT_TRUE(SaveModelDir(model_dir, *cfg, InitModel(*cfg, 1)).ok());
  Result<std::unique_ptr<ServedModel>> m = LoadServedModel(model_dir, "");
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(*m) : nullptr;
}

inline PrivateKey TestProviderKey() {
  Ed25519Seed seed{};
  seed[0] = 42;
  return std::move(PrivateKey::FromSeed("provider.example", seed)).value();
}

// A model, a key, a log and the service over them.
struct ServedFixture {
  explicit ServedFixture(const std::string& tag, ServiceOptions options = {})
      : dir(ServeTestDir(tag)), key(TestProviderKey()), model(TinyServedModel(dir)) {
    Result<std::unique_ptr<ReceiptLog>> opened = ReceiptLog::Open(dir + "/log.db", key);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    log = std::move(*opened);
    identity.name = "tiny";
    identity.model = Sha256Of(std::string_view("tiny model state"));
    service = std::make_unique<InferenceService>(*model, identity, key, log.get(), options);
  }
  std::string dir;
  PrivateKey key;
  std::unique_ptr<ServedModel> model;
  std::unique_ptr<ReceiptLog> log;
  ServedIdentity identity;
  std::unique_ptr<InferenceService> service;
};

}  // namespace aftune::testing
