// The remote BaseSource (protocol/base_source.h): a run's base model from
// the provider's audit service, for an auditor who does not hold it.
//
// Open fetches the base's small files the audit reads — config.json, the
// tokenizer file of the contract's kind (tokenizer.json or tokenizer.model;
// none for the byte tokenizer), and tokenizer_config.json and
// chat_template.jinja where the base has them — each at most
// kMaxBaseFileBytes, into a private temporary directory (files_dir(), mode
// 0700, removed with the source). The audit compares their digests with the
// contract's before it reads the dataset with them.
//
// Slice fetches one layer-block's tensors (protocol/base_slice.h), capped at
// MaxBaseSliceAnswerBytes of the block (from the fetched config.json) and
// given the time that size allows (ProviderClient::BoundsFor). It checks
// form only; the audit proves every tensor under the contract's base state
// digest, and its names and shapes, before use (audit/block_base.h).
#pragma once

#include <memory>
#include <string>

#include "client/provider_client.h"
#include "protocol/base_source.h"

namespace aftune {

class RemoteBase : public BaseSource {
 public:
  // `provider` outlives the source. Errors (the audit cannot be made): a
  // file that cannot be fetched (kNotFound when the provider holds no base
  // for the run) or kept; each names the request.
  static Result<std::unique_ptr<RemoteBase>> Open(ProviderClient* provider, const std::string& tokenizer_kind);
  ~RemoteBase() override;

  // The provider's URL of the run's base: …/v1/audit/runs/<hex>/base.
  const std::string& name() const override { return name_; }
  const std::string& files_dir() const override { return dir_; }
  bool proves_slices() const override { return true; }
  Result<BaseSlice> Slice(int64_t block, LayerSpan layers) override;

 private:
  RemoteBase(ProviderClient* provider, std::string dir);
  // Fetches base file `name` into the directory; a 404 is ok when !required.
  Status FetchFile(const std::string& name, bool required);

  ProviderClient* provider_;
  std::string dir_, name_;
};

}  // namespace aftune
