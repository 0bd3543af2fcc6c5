// aftune digest PATH: what PATH is and its digest (docs/formats.md).
//
//   a model directory (config.json + model.safetensors)
//       model <state digest>        (model.safetensors, tensors as stored)
//       config <SHA-256 of config.json>
//       tokenizer <digest> <kind>   (protocol/input_digest.h)
//   an adapter directory (adapter_model.safetensors)
//       adapter <state digest>
//   a file NAME.safetensors         safetensors <state digest>
//   a file named trace.jsonl, or a run directory holding one
//       trace <Merkle root over its lines>
//   any other NAME.jsonl            dataset <dataset digest>
//   a training contract NAME.json   contract <contract digest>
//
// Each line is "<kind> <64 hex>", then optional details after two spaces.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "base/file.h"
#include "cli/commands.h"
#include "commit/compact_range.h"
#include "model/safetensors.h"
#include "protocol/contract.h"
#include "protocol/input_digest.h"

namespace aftune::cli {

namespace {

namespace fs = std::filesystem;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void PrintDigest(const char* kind, const Hash& h, const std::string& details) {
  std::printf("%s %s%s%s\n", kind, HashToHex(h).c_str(), details.empty() ? "" : "  ", details.c_str());
}

// The trace root (DESIGN.md, "Training trace"): the RFC 6962 root over the
// file's lines, each line's bytes without its LF a leaf. Every line ends in
// LF and none is empty, so a record cut short by a crash is an error, not a
// different root.
Status DigestTrace(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  MerkleBuilder tree;
  size_t begin = 0;
  uint64_t line = 0;
  while (begin < bytes.size()) {
    ++line;
    const size_t lf = bytes.find('\n', begin);
    if (lf == std::string::npos)
      return Status::Corruption(path + ":" + std::to_string(line) + ": no line ending (a record cut short?)");
    if (lf == begin) return Status::Corruption(path + ":" + std::to_string(line) + ": empty line");
    tree.AppendData(std::string_view(bytes).substr(begin, lf - begin));
    begin = lf + 1;
  }
  PrintDigest("trace", tree.Root(), std::to_string(tree.size()) + " records, " + path);
  return Status::Ok();
}

Status DigestModel(const std::string& dir) {
  AFTUNE_ASSIGN_OR_RETURN(ModelDirDigests d, DigestModelDir(dir));
  PrintDigest("model", d.state, "state of " + std::to_string(d.tensors.size()) + " tensors, " + d.weights);
  PrintDigest("config", d.config, "SHA-256 of " + dir + "/config.json");
  PrintDigest("tokenizer", d.tokenizer,
              d.tokenizer_kind == "byte" ? "byte (built in)"
                                         : d.tokenizer_kind + ", SHA-256 of " + TokenizerSource(dir, d.tokenizer_kind));
  return Status::Ok();
}

Status DigestSafetensors(const char* kind, const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::Read(path));
  PrintDigest(kind, SafetensorsStateDigest(f), "state of " + std::to_string(f.entries().size()) + " tensors, " + path);
  return Status::Ok();
}

Status DigestDataset(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(DatasetDigests d, DigestDatasetFile(path));
  PrintDigest("dataset", d.digest, std::to_string(d.examples) + " lines, " + path);
  return Status::Ok();
}

Status DigestContract(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(Contract c, ReadContract(path));
  PrintDigest("contract", ContractDigest(c), path);
  return Status::Ok();
}

Status RunDigest(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Status::NotFound(path + ": no such file or directory");
  const std::string name = fs::path(path).filename().string();
  if (fs::is_directory(st)) {
    if (FileExists(path + "/trace.jsonl")) return DigestTrace(path + "/trace.jsonl");
    if (FileExists(path + "/config.json") &&
        (FileExists(path + "/model.safetensors") || FileExists(path + "/model.safetensors.index.json")))
      return DigestModel(path);
    if (FileExists(path + "/adapter_model.safetensors"))
      return DigestSafetensors("adapter", path + "/adapter_model.safetensors");
    return Status::InvalidArgument(path +
                                   ": not a model directory (config.json + model.safetensors or its shards), an adapter "
                                   "directory (adapter_model.safetensors) or a run directory (trace.jsonl)");
  }
  if (name == "trace.jsonl") return DigestTrace(path);
  if (EndsWith(name, ".safetensors")) return DigestSafetensors("safetensors", path);
  if (EndsWith(name, ".jsonl")) return DigestDataset(path);
  if (EndsWith(name, ".json")) return DigestContract(path);
  return Status::InvalidArgument(path +
                                 ": unknown kind (expected a model, adapter or run directory, a .safetensors "
                                 "file, a .jsonl dataset, trace.jsonl or a .json training contract)");
}

}  // namespace

void RegisterDigestCommands(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto* c = app.add_subcommand("digest",
                               "print the digest of a model directory, .safetensors file, .jsonl dataset, "
                               "trace or training contract");
  c->add_option("PATH", *path, "what to digest (the kind is told by its name and content)")->required();
  AddThreadsOption(c);
  c->callback([path] { Finish(RunDigest(*path)); });
}

}  // namespace aftune::cli
