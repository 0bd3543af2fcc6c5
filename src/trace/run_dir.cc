#include "trace/run_dir.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strict_json.h"
#include "protocol/canonical_json.h"

namespace aftune {

Status WriteRunInputs(const RunDir& run, const RunInputs& inputs) {
  std::error_code ec;
  const std::string model = std::filesystem::absolute(inputs.model, ec).lexically_normal().string();
  const std::string data = std::filesystem::absolute(inputs.data, ec).lexically_normal().string();
  if (ec) return Status::IOError(inputs.model + ", " + inputs.data + ": cannot make the paths absolute");
  CanonicalJsonObject o;
  o.Add("data", CanonicalJsonString(data));
  o.Add("model", CanonicalJsonString(model));
  return WriteFileAtomic(run.inputs(), o.Text() + "\n");
}

Result<RunInputs> ReadRunInputs(const RunDir& run) {
  AFTUNE_ASSIGN_OR_RETURN(std::string text, ReadFile(run.inputs()));
  AFTUNE_ASSIGN_OR_RETURN(nlohmann::json j, ParseStrictJson(text, run.inputs()));
  if (!j.is_object() || j.size() != 2 || !j.contains("data") || !j["data"].is_string() ||
      !j.contains("model") || !j["model"].is_string())
    return Status::Corruption(run.inputs() + ": expected {\"data\":\"<path>\",\"model\":\"<path>\"}");
  return RunInputs{j["model"].get<std::string>(), j["data"].get<std::string>()};
}

}  // namespace aftune
