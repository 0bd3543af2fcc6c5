#include "client/remote_base.h"

#include <stdlib.h>

#include <filesystem>

#include "base/file.h"
#include "model/config.h"
#include "protocol/audit_api.h"
#include "protocol/base_slice.h"

namespace aftune {

namespace {

// The tokenizer file of a contract's tokenizer kind, or "" (byte).
std::string TokenizerFile(const std::string& kind) {
  if (kind == "tokenizer.json") return "tokenizer.json";
  if (kind == "sentencepiece") return "tokenizer.model";
  return "";
}

}  // namespace

Result<std::unique_ptr<RemoteBase>> RemoteBase::Open(ProviderClient* provider, const std::string& tokenizer_kind) {
  std::string pattern = (std::filesystem::temp_directory_path() / "aftune-base-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)  // mode 0700
    return Status::IOError("cannot create a temporary directory for the base's files (" + pattern + ")");
  std::unique_ptr<RemoteBase> base(new RemoteBase(provider, pattern));
  AFTUNE_RETURN_IF_ERROR(base->FetchFile("config.json", true));
  if (const std::string tokenizer = TokenizerFile(tokenizer_kind); !tokenizer.empty())
    AFTUNE_RETURN_IF_ERROR(base->FetchFile(tokenizer, true));
  AFTUNE_RETURN_IF_ERROR(base->FetchFile("tokenizer_config.json", false));
  AFTUNE_RETURN_IF_ERROR(base->FetchFile("chat_template.jinja", false));
  return base;
}

RemoteBase::RemoteBase(ProviderClient* provider, std::string dir)
    : provider_(provider), dir_(std::move(dir)),
      name_(provider->url() + AuditRunPath(provider->run()) + "/base") {}

RemoteBase::~RemoteBase() {
  std::error_code ignored;  // a directory left behind in the temporary directory harms nothing
  std::filesystem::remove_all(dir_, ignored);
}

Status RemoteBase::FetchFile(const std::string& name, bool required) {
  FetchTally& tally = provider_->tally();
  Result<std::string> bytes = provider_->Fetch("GET", AuditBaseFilePath(provider_->run(), name), "",
                                               &tally.base_file_bytes, {kMaxBaseFileBytes, provider_->DefaultBounds().deadline});
  if (!bytes.ok()) return !required && bytes.status().code() == Status::Code::kNotFound ? Status::Ok() : bytes.status();
  ++tally.base_files;
  return WriteFileAtomic(dir_ + "/" + name, *bytes);
}

Result<BaseSlice> RemoteBase::Slice(int64_t block, LayerSpan layers) {
  AFTUNE_ASSIGN_OR_RETURN(ModelConfig config, ReadModelConfig(dir_ + "/config.json"));
  FetchTally& tally = provider_->tally();
  const std::string path = AuditBaseSlicePath(provider_->run(), block);
  AFTUNE_ASSIGN_OR_RETURN(std::string body, provider_->Fetch("GET", path, "", &tally.slice_bytes,
                                                             provider_->BoundsFor(MaxBaseSliceAnswerBytes(config, layers))));
  AFTUNE_ASSIGN_OR_RETURN(BaseSlice slice, ParseBaseSliceAnswer(std::move(body), provider_->url() + path));
  ++tally.slices;
  return slice;
}

}  // namespace aftune
