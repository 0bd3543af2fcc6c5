// aftune serve --model DIR [--adapter DIR] [--commitment RUN/commitment.note]
//              --key provider.key --db FILE|postgresql://… --port N
//              [--host ADDR] [--api-keys FILE] [connection limits]
//
// With --api-keys (serve/api_keys.h), generation needs a Bearer key; the log
// stays public. Listening beyond loopback without keys warns loudly. An
// SQLite database is locked for the server's lifetime (serve/db_lock.h); a
// PostgreSQL one is shared by every replica started on it with the same
// key (serve/pg_log_store.h). The connection limits (--max-connections, --max-connections-per-ip and the
// --*-timeout flags) are serve/connection_guard.h's.
//
// Serves the model over the OpenAI-compatible HTTP API with a signed receipt
// for every answer, appended durably to the receipt log in --db before the
// answer is sent. With --commitment, the served weights must be the ones the
// training commitment (signed by the same key) names, and every receipt
// names the commitment. Stops cleanly on SIGINT or SIGTERM.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "base/file.h"
#include "cli/commands.h"
#include "cli/stop_signals.h"
#include "infer/served_model.h"
#include "model/safetensors.h"
#include "serve/http_server.h"
#include "serve/inference_service.h"
#include "serve/receipt_log.h"
#include "protocol/commitment.h"
#include "protocol/input_digest.h"

namespace aftune::cli {

namespace {

struct ServeArgs {
  std::string model, adapter, commitment, key, db, host = "127.0.0.1", name, api_keys;
  int port = 0;
  int64_t max_tokens_limit = 512;
  size_t max_batch = 32;
  ConnectionLimits limits;
};

// A --*-timeout flag in whole seconds, setting `*timeout`.
void AddTimeoutOption(CLI::App* c, const char* flag, std::chrono::milliseconds* timeout, const char* what) {
  const std::string help =
      std::string(what) + ", in seconds (default " + std::to_string(timeout->count() / 1000) + ")";
  c->add_option_function<int>(
       flag, [timeout](int s) { *timeout = std::chrono::seconds(s); }, help)
      ->check(CLI::Range(1, 3600));
}

// The identity every receipt names; checks the commitment against the
// served weights.
Result<ServedIdentity> Identify(const ServeArgs& a, const PrivateKey& key) {
  ServedIdentity id;
  id.name = a.name.empty() ? std::filesystem::path(a.model).lexically_normal().filename().string() : a.name;
  if (id.name.empty()) id.name = "model";
  AFTUNE_ASSIGN_OR_RETURN(ServedWeightsDigests digests, ServedWeightsDigest(a.model, a.adapter));
  id.model = digests.model;
  id.adapter = digests.adapter;
  if (!a.commitment.empty()) {
    AFTUNE_ASSIGN_OR_RETURN(std::string note, ReadFile(a.commitment));
    Result<TrainingCommitment> c = VerifyCommitment(note, key.public_key());
    if (!c.ok()) return c.status().WithContext(a.commitment + " (verified with the key of --key)");
    const Hash served = id.adapter ? *id.adapter : id.model;
    if (c->weights != served)
      return Status::Mismatch(a.commitment + ": the commitment's weights digest " + HashToHex(c->weights) +
                              " is not the served " + (id.adapter ? "adapter's" : "model's") + " " +
                              HashToHex(served));
    id.commitment = Sha256Of(note);
  }
  return id;
}

Status RunServe(const ServeArgs& a) {
  const sigset_t stop_signals = BlockStopSignals();

  AFTUNE_ASSIGN_OR_RETURN(PrivateKey key, ReadPrivateKeyFile(a.key));
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<ServedModel> model, LoadServedModel(a.model, a.adapter));
  AFTUNE_ASSIGN_OR_RETURN(ServedIdentity identity, Identify(a, key));
  HttpServerOptions http;
  http.limits = a.limits;
  if (!a.api_keys.empty()) {
    AFTUNE_ASSIGN_OR_RETURN(http.api_keys, ReadApiKeysFile(a.api_keys));
  } else if (!IsLoopback(a.host)) {
    std::fprintf(stderr,
                 "aftune serve: WARNING: listening on %s without --api-keys: anyone who reaches this port can spend "
                 "this machine's compute and add signed entries to the public receipt log\n",
                 a.host.c_str());
  }
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<ReceiptLog> log, ReceiptLog::Open(a.db, key));
  InferenceService service(*model, identity, key, log.get(),
                           ServiceOptions{.max_tokens_limit = a.max_tokens_limit, .max_batch = a.max_batch});
  HttpServer server(service, log.get(), std::move(http));
  AFTUNE_ASSIGN_OR_RETURN(int port, server.Bind(a.host, a.port));
  std::printf("aftune serve: listening on http://%s:%d (model '%s', log '%s' of %llu receipts)\n", a.host.c_str(),
              port, identity.name.c_str(), log->origin().c_str(), static_cast<unsigned long long>(log->size()));
  std::fflush(stdout);
  return RunUntilStopSignal(stop_signals, [&server] { return server.Run(); }, [&server] { server.Stop(); });
}

}  // namespace

Result<ServedWeightsDigests> ServedWeightsDigest(const std::string& model_dir, const std::string& adapter_dir) {
  ServedWeightsDigests out;
  AFTUNE_ASSIGN_OR_RETURN(out.model, WeightsStateDigest(model_dir));
  if (!adapter_dir.empty()) {
    AFTUNE_ASSIGN_OR_RETURN(Hash adapter, WeightsStateDigest(adapter_dir + "/adapter_model.safetensors"));
    out.adapter = adapter;
  }
  return out;
}

void RegisterServeCommands(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* c = app.add_subcommand("serve", "serve a model over an OpenAI-compatible HTTP API with signed, logged receipts");
  c->add_option("--model", args->model, "model directory")->required();
  c->add_option("--adapter", args->adapter, "PEFT LoRA adapter directory");
  c->add_option("--commitment", args->commitment,
                "training commitment note (RUN/commitment.note) of the served weights");
  c->add_option("--key", args->key, "provider's private key file (signs receipts and log checkpoints)")->required();
  c->add_option("--db", args->db,
                "receipt log database: an SQLite file (created when absent), or a PostgreSQL URI "
                "(postgresql://USER@HOST/DB; password from PGPASSWORD or ~/.pgpass) shared by serving replicas")
      ->required();
  c->add_option("--port", args->port, "TCP port (0: any free port, printed)")->required()->check(CLI::Range(0, 65535));
  c->add_option("--host", args->host, "address to listen on")->capture_default_str();
  c->add_option("--api-keys", args->api_keys,
                "API keys file ('name secret' or 'name sha256:HEX' per line, mode 0600): generation needs a Bearer "
                "key; the log stays public");
  c->add_option("--name", args->name, "model name clients ask for (default: the model directory's name)");
  c->add_option("--max-tokens-limit", args->max_tokens_limit, "largest max_tokens accepted")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  c->add_option("--max-batch", args->max_batch, "requests decoded together at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  ConnectionLimits& limits = args->limits;
  c->add_option("--max-connections", limits.max_connections,
                "connections open at once, a thread each; at the cap the one waiting longest for a complete request "
                "head is closed to make room")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  c->add_option("--max-connections-per-ip", limits.max_per_ip,
                "connections open at once from one client address (more are refused with a 429)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  AddTimeoutOption(c, "--idle-timeout", &limits.idle_timeout,
                   "longest wait for the first byte of a request on a new or kept-alive connection");
  AddTimeoutOption(c, "--header-timeout", &limits.header_timeout,
                   "the whole request head (request line and headers) must arrive within this of its first byte");
  AddTimeoutOption(c, "--body-timeout", &limits.body_timeout,
                   "the whole request body must arrive within this of the head");
  AddTimeoutOption(c, "--write-timeout", &limits.write_timeout,
                   "longest wait for the client to take the next bytes of a reply");
  AddThreadsOption(c);
  c->callback([args] { Finish(RunServe(*args)); });
}

}  // namespace aftune::cli
