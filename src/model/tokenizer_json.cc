#include "model/tokenizer_json.h"

namespace aftune::tokjson {

Status Error(const std::string& source, const std::string& path, const std::string& what) {
  return Status::InvalidArgument(source + ": " + path + ": " + what);
}

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string Index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

namespace {

const Json* Member(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Result<std::string> RequiredString(const Json& obj, std::string_view key, const std::string& source,
                                   const std::string& path) {
  const Json* v = Member(obj, key);
  if (v == nullptr) return Error(source, Join(path, key), "missing");
  if (!v->is_string()) return Error(source, Join(path, key), "must be a string");
  return v->get<std::string>();
}

Result<std::string> OptionalString(const Json& obj, std::string_view key, std::string dflt,
                                   const std::string& source, const std::string& path) {
  const Json* v = Member(obj, key);
  if (v == nullptr) return dflt;
  if (!v->is_string()) return Error(source, Join(path, key), "must be a string");
  return v->get<std::string>();
}

Result<bool> OptionalBool(const Json& obj, std::string_view key, bool dflt, const std::string& source,
                          const std::string& path) {
  const Json* v = Member(obj, key);
  if (v == nullptr) return dflt;
  if (!v->is_boolean()) return Error(source, Join(path, key), "must be true or false");
  return v->get<bool>();
}

Result<int64_t> RequiredInt(const Json& obj, std::string_view key, const std::string& source,
                            const std::string& path) {
  const Json* v = Member(obj, key);
  if (v == nullptr) return Error(source, Join(path, key), "missing");
  if (!v->is_number_integer()) return Error(source, Join(path, key), "must be an integer");
  return v->get<int64_t>();
}

Result<std::string> ComponentType(const Json& obj, const std::string& source, const std::string& path) {
  if (!obj.is_object()) return Error(source, path, "must be an object or null");
  return RequiredString(obj, "type", source, path);
}

Status Unsupported(const std::string& source, const std::string& path, const std::string& type) {
  return Error(source, Join(path, "type"), "\"" + type + "\" is not supported");
}

}  // namespace aftune::tokjson
