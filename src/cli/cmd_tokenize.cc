// aftune tokenize: the model directory's tokenizer, one line at a time.
//
//   aftune tokenize --model DIR --jsonl FILE [--add-special-tokens]
//       FILE holds one JSON string per line; prints one JSON array of ids per
//       line: transformers' tokenizer.encode(text, add_special_tokens=False),
//       or =True with --add-special-tokens (the post-processor's BOS...).
//   aftune tokenize --model DIR --decode --jsonl FILE
//       FILE holds one JSON array of ids per line; prints one JSON string per
//       line: decode(ids, skip_special_tokens=True).
//
// The tokenizer is the one training and serving use (model/tokenizer.h:
// tokenizer.json, else tokenizer.model, else the byte tokenizer). Each line is
// read by the strict reader (base/strict_json.h); errors name the file and
// line ("ids.jsonl:2: not valid JSON: ...").
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strict_json.h"
#include "cli/commands.h"
#include "model/config.h"
#include "model/tokenizer.h"

namespace aftune::cli {

namespace {

struct TokenizeArgs {
  std::string model, jsonl;
  bool add_special_tokens = false;
  bool decode = false;
};

Result<std::string> TokenizeLine(const Tokenizer& tok, const TokenizeArgs& args, std::string_view line,
                                 const std::string& where) {
  StrictJsonOptions strict;
  strict.code = Status::Code::kInvalidArgument;
  AFTUNE_ASSIGN_OR_RETURN(nlohmann::json v, ParseStrictJson(line, where, strict));
  if (args.decode) {
    std::vector<int32_t> ids;
    bool ok = v.is_array();
    for (const nlohmann::json& id : ok ? v : nlohmann::json::array()) {
      ok &= id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < tok.vocab_size();
      if (ok) ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
    if (!ok) {
      return Status::InvalidArgument(where + ": must be a JSON array of token ids in [0, " +
                                     std::to_string(tok.vocab_size()) + ")");
    }
    return nlohmann::json(tok.Decode(ids)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (!v.is_string()) return Status::InvalidArgument(where + ": must be a JSON string");
  const std::string text = v.get<std::string>();
  return nlohmann::json(args.add_special_tokens ? tok.EncodeWithSpecialTokens(text) : tok.Encode(text)).dump();
}

Status RunTokenize(const TokenizeArgs& args) {
  if (args.decode && args.add_special_tokens) {
    return Status::InvalidArgument("--add-special-tokens applies to encoding, not --decode");
  }
  AFTUNE_ASSIGN_OR_RETURN(ModelConfig cfg, ReadModelConfig(args.model + "/config.json"));
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, LoadTokenizer(args.model, cfg));
  AFTUNE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(args.jsonl));
  std::string out;
  size_t begin = 0;
  for (uint64_t line = 1; begin < bytes.size(); ++line) {
    size_t end = bytes.find('\n', begin);
    if (end == std::string::npos) end = bytes.size();
    AFTUNE_ASSIGN_OR_RETURN(std::string row, TokenizeLine(*tok, args, std::string_view(bytes).substr(begin, end - begin),
                                                          args.jsonl + ":" + std::to_string(line)));
    out += row;
    out += '\n';
    begin = end + 1;
  }
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    return Status::IOError("writing to stdout failed");
  }
  return Status::Ok();
}

}  // namespace

void RegisterTokenizeCommands(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* c = app.add_subcommand("tokenize", "encode JSON strings to token ids with a model's tokenizer, or decode");
  c->add_option("--model", args->model, "model directory (config.json and its tokenizer)")->required();
  c->add_option("--jsonl", args->jsonl, "one JSON string (or, with --decode, array of ids) per line")->required();
  c->add_flag("--add-special-tokens", args->add_special_tokens,
              "apply the tokenizer's post-processor (transformers' add_special_tokens=True)");
  c->add_flag("--decode", args->decode, "decode arrays of ids back to text (special tokens skipped)");
  c->callback([args] { Finish(RunTokenize(*args)); });
}

}  // namespace aftune::cli
