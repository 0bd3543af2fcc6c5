// Helpers for reading tokenizer.json (the Hugging Face tokenizers format):
// every error names the JSON path of the offending field, e.g.
// `tokenizer.json: pre_tokenizer.pretokenizers[1].type: "Punctuation" is not
// supported`.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace aftune::tokjson {

using Json = nlohmann::json;

// "<source>: <path>: <what>" as kInvalidArgument.
Status Error(const std::string& source, const std::string& path, const std::string& what);
// `path` + "." + `key`, or `key` at the root.
std::string Join(const std::string& path, std::string_view key);
std::string Index(const std::string& path, size_t i);

// The member `key` of object `obj` as the given type. Absent or null members
// give `dflt` for the Optional forms; the Required forms fail naming the path.
Result<std::string> RequiredString(const Json& obj, std::string_view key, const std::string& source,
                                   const std::string& path);
Result<std::string> OptionalString(const Json& obj, std::string_view key, std::string dflt,
                                   const std::string& source, const std::string& path);
Result<bool> OptionalBool(const Json& obj, std::string_view key, bool dflt, const std::string& source,
                          const std::string& path);
Result<int64_t> RequiredInt(const Json& obj, std::string_view key, const std::string& source,
                            const std::string& path);
// The "type" member of a component object, after checking it is an object.
Result<std::string> ComponentType(const Json& obj, const std::string& source, const std::string& path);
// The error for a component type aftune does not implement.
Status Unsupported(const std::string& source, const std::string& path, const std::string& type);

}  // namespace aftune::tokjson
