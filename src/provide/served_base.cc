#include "provide/served_base.h"

#include <algorithm>

#include "base/file.h"
#include "commit/merkle.h"
#include "protocol/audit_api.h"
#include "protocol/base_slice.h"

namespace aftune {

uint64_t SliceAnswer::size() const {
  uint64_t n = prefix.size();
  for (const StreamPiece& p : pieces) n += p.bytes.size();
  return n;
}

Result<std::unique_ptr<ServedBase>> ServedBase::Open(const std::string& dir) {
  std::unique_ptr<ServedBase> base(new ServedBase);
  base->dir_ = dir;
  AFTUNE_ASSIGN_OR_RETURN(base->digests_, DigestModelFiles(dir));
  AFTUNE_ASSIGN_OR_RETURN(WeightFiles opened, WeightFiles::Open(dir));
  base->files_ = std::make_unique<const WeightFiles>(std::move(opened));
  const WeightFiles& files = *base->files_;
  // Every slice must be answerable: the files hold exactly the model's tensors.
  std::map<std::string, CheckpointTensor> inventory;
  for (const WeightFiles::Tensor& t : files.tensors()) inventory[t.entry->name] = {t.file->source(), t.entry->shape};
  AFTUNE_RETURN_IF_ERROR(CheckCheckpointTensors(base->config(), inventory, files.listing_path()));
  std::vector<NamedDigest> digests = WeightFilesTensorDigests(files);
  for (const NamedDigest& d : digests) base->leaves_.push_back(LeafHash(d.digest));
  AFTUNE_ASSIGN_OR_RETURN(base->digests_.state, StateDigest(std::move(digests)));
  AFTUNE_CHECK(MerkleRoot(base->leaves_) == base->digests_.state);  // the leaves are in the state's order
  base->digests_.weights = files.listing_path();
  for (std::string_view name : kBaseFileNames) {
    const std::string path = dir + "/" + std::string(name);
    if (!FileExists(path)) continue;
    AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
    if (bytes.size() > kMaxBaseFileBytes)
      return Status::InvalidArgument(path + ": " + std::to_string(bytes.size()) + " bytes, more than the " +
                                     std::to_string(kMaxBaseFileBytes) + " the audit API serves");
    base->small_files_.emplace(name, std::move(bytes));
  }
  return base;
}

Status ServedBase::CheckContract(const Contract& contract) const {
  // The dataset is the run's business, not the base's: compared with itself.
  const DatasetDigests same_data{contract.dataset_digest, static_cast<uint64_t>(contract.dataset_examples)};
  std::string differ;
  for (const ContractMismatch& m : CompareContractInputs(contract, dir_, digests_, "", same_data))
    differ += (differ.empty() ? "" : "; ") + m.ToString();
  if (!differ.empty()) return Status::Mismatch(differ);
  return Status::Ok();
}

Result<std::string_view> ServedBase::File(std::string_view name) const {
  auto it = small_files_.find(std::string(name));
  if (it == small_files_.end())
    return Status::NotFound("the base has no " + std::string(name) + (IsBaseFileName(name) ? "" : " to serve"));
  return std::string_view(it->second);
}

Result<SliceAnswer> ServedBase::Slice(LayerSpan layers) const {
  const std::vector<WeightFiles::Tensor>& all = files_->tensors();
  std::vector<SliceTensorInfo> infos;
  SliceAnswer answer;
  for (const auto& [name, shape] : BaseTensorShapes(config(), layers)) {
    const WeightFiles::Tensor t = files_->Find(name);
    AFTUNE_CHECK(t.entry != nullptr);  // Open checked the inventory
    const auto at = std::lower_bound(all.begin(), all.end(), name, [](const WeightFiles::Tensor& x,
                                                                      const std::string& n) { return x.entry->name < n; });
    const auto index = static_cast<uint64_t>(at - all.begin());
    infos.push_back({{name, t.entry->dtype, t.entry->shape}, {index, MakeInclusionProof(leaves_, index)}});
    answer.pieces.push_back({t.entry->bytes, t.file});
  }
  AFTUNE_ASSIGN_OR_RETURN(answer.prefix, BaseSliceAnswerPrefix(infos, leaves_.size()));
  return answer;
}

}  // namespace aftune
