#include "protocol/opening.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strict_json.h"
#include "model/safetensors.h"

namespace aftune {

namespace {

constexpr std::string_view kCellOpeningFormat = "aftune cell opening v1";
constexpr std::string_view kStatePrefix = "state.";

std::string BoundaryName(std::string_view what, int64_t step, size_t micro) {
  return std::string(what) + ".s" + std::to_string(step) + ".m" + std::to_string(micro);
}

}  // namespace

nlohmann::json OpenedLinesJson(const std::vector<OpenedLine>& lines) {
  nlohmann::json out = nlohmann::json::array();
  for (const OpenedLine& l : lines) {
    nlohmann::json proof = nlohmann::json::array();
    for (const Hash& h : l.proof) proof.push_back(HashToHex(h));
    out.push_back({{"index", l.index}, {"text", l.text}, {"proof", proof}});
  }
  return out;
}

Result<std::vector<OpenedLine>> ParseOpenedLinesJson(std::string_view text, const std::string& source) {
  AFTUNE_ASSIGN_OR_RETURN(nlohmann::json j, ParseStrictJson(text, source + ": lines"));
  if (!j.is_array()) return Status::Corruption(source + ": lines are not a JSON array");
  std::vector<OpenedLine> lines;
  for (size_t i = 0; i < j.size(); ++i) {
    const nlohmann::json& e = j[i];
    const std::string where = source + ": lines[" + std::to_string(i) + "]";
    if (!e.is_object() || e.size() != 3 || !e.contains("index") || !e["index"].is_number_unsigned() ||
        !e.contains("text") || !e["text"].is_string() || !e.contains("proof") || !e["proof"].is_array())
      return Status::Corruption(where + ": expected {\"index\":n,\"proof\":[hex…],\"text\":\"…\"}");
    OpenedLine l{e["index"].get<uint64_t>(), e["text"].get<std::string>(), {}};
    for (const nlohmann::json& h : e["proof"]) {
      Result<Hash> hash = h.is_string() ? HashFromHex(h.get<std::string>()) : Status::Corruption("not a string");
      if (!hash.ok()) return Status::Corruption(where + ": proof holds a malformed hash");
      l.proof.push_back(*hash);
    }
    lines.push_back(std::move(l));
  }
  return lines;
}

namespace {

Result<int64_t> ParseIndex(const std::map<std::string, std::string>& meta, const std::string& key,
                           const std::string& source) {
  auto it = meta.find(key);
  if (it == meta.end() || it->second.empty() || it->second.size() > 9 ||
      it->second.find_first_not_of("0123456789") != std::string::npos ||
      (it->second.size() > 1 && it->second[0] == '0'))
    return Status::Corruption(source + ": metadata '" + key + "' is missing or not a decimal number");
  return std::stoll(it->second);
}

}  // namespace

Result<CellOpening> OpenCell(OpeningSource& source, const TraceLayout& layout, int64_t block, int64_t step_block) {
  AFTUNE_CHECK(block >= 0 && block < layout.blocks && step_block >= 0 && step_block < layout.step_blocks());
  const int64_t first = layout.first_step(step_block), end = layout.end_step(step_block);
  CellOpening cell;
  cell.block = block;
  cell.step_block = step_block;
  std::vector<uint64_t> indices = {0, layout.BlockStateLine(first, block)};
  for (int64_t s = first; s < end; ++s) indices.push_back(layout.StepLine(s));
  indices.push_back(layout.BlockStateLine(end, block));
  AFTUNE_ASSIGN_OR_RETURN(cell.lines, source.Lines(indices));
  AFTUNE_ASSIGN_OR_RETURN(cell.start_state, source.BlockState(first, block));
  for (int64_t s = first; s < end; ++s) {
    std::vector<Tensor> in, up;
    if (block > 0) {
      AFTUNE_ASSIGN_OR_RETURN(in, source.Boundary(s, block, BoundaryKind::kActivation));
    }
    if (block + 1 < layout.blocks) {
      AFTUNE_ASSIGN_OR_RETURN(up, source.Boundary(s, block + 1, BoundaryKind::kGradient));
    }
    cell.inputs.push_back(std::move(in));
    cell.upstream_gradients.push_back(std::move(up));
  }
  return cell;
}

Result<std::string> SerializeCellOpening(const CellOpening& cell) {
  TensorMap tensors;
  for (const auto& [name, t] : cell.start_state) tensors.emplace(std::string(kStatePrefix) + name, t);
  for (size_t i = 0; i < cell.inputs.size(); ++i)
    for (size_t m = 0; m < cell.inputs[i].size(); ++m)
      tensors.emplace(BoundaryName("input", static_cast<int64_t>(i), m), cell.inputs[i][m]);
  for (size_t i = 0; i < cell.upstream_gradients.size(); ++i)
    for (size_t m = 0; m < cell.upstream_gradients[i].size(); ++m)
      tensors.emplace(BoundaryName("upstream_gradient", static_cast<int64_t>(i), m), cell.upstream_gradients[i][m]);
  std::map<std::string, std::string> meta = {{"format", std::string(kCellOpeningFormat)},
                                             {"block", std::to_string(cell.block)},
                                             {"step_block", std::to_string(cell.step_block)},
                                             {"steps", std::to_string(cell.inputs.size())},
                                             {"lines", OpenedLinesJson(cell.lines).dump()}};
  return SerializeSafetensorsF32(tensors, DType::kF32, meta);
}

Status WriteCellOpening(const std::string& path, const CellOpening& cell) {
  AFTUNE_ASSIGN_OR_RETURN(std::string bytes, SerializeCellOpening(cell));
  return WriteFileAtomic(path, bytes);
}

Result<CellOpening> ReadCellOpening(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return ParseCellOpening(std::move(bytes), path);
}

Result<CellOpening> ParseCellOpening(std::string bytes, const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Parse(std::move(bytes), path));
  const auto& meta = file.metadata();
  auto format = meta.find("format");
  if (format == meta.end() || format->second != kCellOpeningFormat)
    return Status::Corruption(path + ": metadata 'format' is not '" + std::string(kCellOpeningFormat) + "'");
  if (meta.size() != 5) return Status::Corruption(path + ": metadata must hold exactly format, block, step_block, steps, lines");
  CellOpening cell;
  AFTUNE_ASSIGN_OR_RETURN(cell.block, ParseIndex(meta, "block", path));
  AFTUNE_ASSIGN_OR_RETURN(cell.step_block, ParseIndex(meta, "step_block", path));
  AFTUNE_ASSIGN_OR_RETURN(int64_t steps, ParseIndex(meta, "steps", path));
  auto lines = meta.find("lines");
  if (lines == meta.end()) return Status::Corruption(path + ": metadata 'lines' is missing");
  AFTUNE_ASSIGN_OR_RETURN(cell.lines, ParseOpenedLinesJson(lines->second, path));
  if (cell.lines.size() != static_cast<size_t>(steps) + 3)
    return Status::Corruption(path + ": a cell of " + std::to_string(steps) + " steps opens " +
                              std::to_string(steps + 3) + " lines, not " + std::to_string(cell.lines.size()));
  // Entries come sorted by name ("m10" before "m2"): place by parsed index.
  std::map<std::pair<int64_t, int64_t>, Tensor> inputs, upstream;
  for (const SafetensorsEntry& e : file.entries()) {
    if (e.dtype != DType::kF32) return Status::Corruption(path + ": tensor " + e.name + " is not F32");
    AFTUNE_ASSIGN_OR_RETURN(Tensor t, file.ToF32(e));
    if (e.name.starts_with(kStatePrefix)) {
      cell.start_state.emplace(e.name.substr(kStatePrefix.size()), std::move(t));
      continue;
    }
    const bool input = e.name.starts_with("input.s");
    const char* what = input ? "input" : "upstream_gradient";
    long long step = -1, micro = -1;
    if (std::sscanf(e.name.c_str(), input ? "input.s%lld.m%lld" : "upstream_gradient.s%lld.m%lld", &step, &micro) != 2 ||
        step < 0 || step >= steps || micro < 0 || e.name != BoundaryName(what, step, static_cast<size_t>(micro)))
      return Status::Corruption(path + ": unexpected tensor " + e.name);
    (input ? inputs : upstream).emplace(std::make_pair(step, micro), std::move(t));
  }
  for (auto [found, out] : {std::pair{&inputs, &cell.inputs}, std::pair{&upstream, &cell.upstream_gradients}}) {
    out->resize(static_cast<size_t>(steps));
    for (auto& [at, t] : *found) {
      auto& slot = (*out)[static_cast<size_t>(at.first)];
      if (static_cast<size_t>(at.second) != slot.size())
        return Status::Corruption(path + ": boundary tensors of step " + std::to_string(at.first) +
                                  " skip micro-batch " + std::to_string(slot.size()));
      slot.push_back(std::move(t));
    }
  }
  return cell;
}

}  // namespace aftune
