// aftune client complete --server URL --prompt TEXT [sampling options]
//                        --receipts FILE
//
// Calls the server's /v1/completions, prints the completion, checks that the
// receipt bundle is well-formed and binds the request as sent (no signature
// or proof checks: that is the auditor's job), and appends the bundle and
// the server's URL as one line to the receipts file (docs/formats.md,
// "Receipts file").
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "cli/commands.h"
#include "client/serve_client.h"
#include "protocol/receipt_bundle.h"
#include "protocol/request.h"

namespace aftune::cli {

namespace {

struct ClientArgs {
  std::string server, prompt, model, receipts;
  int64_t max_tokens = 16;
  float temperature = 1.0f, top_p = 1.0f;
  int64_t top_k = 0;
  uint64_t seed = 0;
  std::vector<std::string> stop;
};

// Appends `line` and LF with one write(2) on an O_APPEND descriptor, then
// fsyncs, so concurrent clients never interleave lines.
Status AppendLine(const std::string& path, std::string line) {
  line.push_back('\n');
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
  ssize_t n = ::write(fd, line.data(), line.size());
  int sync = n == static_cast<ssize_t>(line.size()) ? ::fsync(fd) : 0;
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size()) || sync != 0) return Status::IOError(path + ": " + std::strerror(err));
  return Status::Ok();
}

// The served request must be the one sent (the server tokenized the prompt).
Status CheckRequestAsSent(const ClientArgs& a, const std::string& model, const InferenceRequest& r) {
  // Every field the client did not send must be at its default: the bound
  // request is compared whole, bar the prompt's tokens (the server's to make).
  InferenceRequest sent;
  sent.model = model;
  sent.generation.prompt = r.generation.prompt;
  sent.generation.max_tokens = a.max_tokens;
  sent.generation.sampling.temperature = a.temperature;
  sent.generation.sampling.top_p = a.top_p;
  sent.generation.sampling.top_k = a.top_k;
  sent.generation.sampling.seed = a.seed;
  sent.generation.stop = a.stop;
  if (EncodeRequest(sent) != EncodeRequest(r))
    return Status::Mismatch("the request the receipt binds differs from the request sent");
  return Status::Ok();
}

Status RunComplete(const ClientArgs& a) {
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<ServeClient> client, ServeClient::Create(a.server));
  std::string model = a.model;
  if (model.empty()) {
    AFTUNE_ASSIGN_OR_RETURN(std::vector<std::string> names, client->ModelNames());
    if (names.empty()) return Status::NotFound(a.server + " serves no model");
    model = names[0];
  }
  nlohmann::json request = {{"model", model},       {"prompt", a.prompt}, {"max_tokens", a.max_tokens},
                            {"temperature", a.temperature}, {"top_p", a.top_p}, {"top_k", a.top_k},
                            {"seed", a.seed},        {"stop", a.stop}};
  AFTUNE_ASSIGN_OR_RETURN(nlohmann::json reply, client->Complete(request));
  if (!reply.contains("aftune_receipt")) return Status::Corruption("the reply carries no aftune_receipt");
  AFTUNE_ASSIGN_OR_RETURN(ReceiptBundle bundle, ReceiptBundleFromJson(reply["aftune_receipt"]));
  AFTUNE_ASSIGN_OR_RETURN(Receipt receipt, CheckReceiptBundle(bundle));
  AFTUNE_RETURN_IF_ERROR(CheckRequestAsSent(a, model, bundle.request));
  const nlohmann::json& choices = reply["choices"];
  if (!choices.is_array() || choices.size() != 1 || !choices[0].contains("text") || !choices[0]["text"].is_string())
    return Status::Corruption("the reply has no choices[0].text");
  nlohmann::json line = ReceiptBundleToJson(bundle);
  line["server"] = a.server;
  AFTUNE_RETURN_IF_ERROR(AppendLine(a.receipts, line.dump()));
  std::printf("%s\n", choices[0]["text"].get<std::string>().c_str());
  std::fprintf(stderr, "[receipt %llu of log '%s', %zu tokens, appended to %s]\n",
               static_cast<unsigned long long>(receipt.index), receipt.log.c_str(), bundle.completion_tokens.size(),
               a.receipts.c_str());
  return Status::Ok();
}

// The client states every sampling parameter, so the receipt it checks
// binds exactly what it asked for.
void AddSamplingOptions(CLI::App* c, float* temperature, float* top_p, int64_t* top_k, uint64_t* seed) {
  c->add_option("--temperature", *temperature, "0: greedy")->capture_default_str();
  c->add_option("--top-p", *top_p, "nucleus sampling mass in (0, 1]")->capture_default_str();
  c->add_option("--top-k", *top_k, "keep the k most likely tokens (0: all)")->capture_default_str();
  c->add_option("--seed", *seed, "sampling seed")->capture_default_str();
}

}  // namespace

void RegisterClientCommands(CLI::App& app) {
  auto* client = app.add_subcommand("client", "call an aftune server and keep its receipts");
  client->require_subcommand(1);
  auto args = std::make_shared<ClientArgs>();
  auto* c = client->add_subcommand("complete", "request a completion; print it; append its receipt to a file");
  c->add_option("--server", args->server, "server URL, http://HOST:PORT")->required();
  c->add_option("--prompt", args->prompt, "prompt text")->required();
  c->add_option("--model", args->model, "model name (default: the first the server lists)");
  c->add_option("--max-tokens", args->max_tokens, "most tokens to generate")->capture_default_str();
  AddSamplingOptions(c, &args->temperature, &args->top_p, &args->top_k, &args->seed);
  c->add_option("--stop", args->stop, "stop string (repeatable, at most 4)");
  c->add_option("--receipts", args->receipts, "receipts file (JSONL) to append to")->required();
  c->callback([args] { Finish(RunComplete(*args)); });
}

}  // namespace aftune::cli
