// aftune provide --run RUN [--run RUN…] [--model BASE…] --tokens FILE --port P
//                [--host H] [--http-threads N]
//
// The provider's audit service: answers auditors' challenges on the
// recorded runs over the audit HTTP API (provide/provide_server.h;
// docs/formats.md, "Audit HTTP API"), to bearer tokens from FILE
// (provide/audit_tokens.h, mode 0600). With --model, the base model of the
// runs whose contract binds it (checked by every digest when the service
// starts), served in proven slices to auditors who do not hold it. Prints
// the bound address on its first line, then each base and the runs it
// serves; stops cleanly on SIGINT or SIGTERM.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/stop_signals.h"
#include "provide/provide_server.h"

namespace aftune::cli {

namespace {

struct ProvideArgs {
  std::vector<std::string> runs, models;
  std::string tokens, host = "127.0.0.1";
  int port = 0;
  int http_threads = 8;
};

Status RunProvide(const ProvideArgs& a) {
  const sigset_t stop_signals = BlockStopSignals();

  AFTUNE_ASSIGN_OR_RETURN(std::vector<AuditToken> tokens, ReadAuditTokensFile(a.tokens));
  if (!a.models.empty())
    std::fprintf(stderr, "aftune provide: digesting %zu base model(s) (every byte is read once)\n", a.models.size());
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<ProvideService> service,
                          ProvideService::Open(a.runs, a.models, std::move(tokens)));
  ProvideServer server(*service, ProvideServerOptions{.threads = a.http_threads});
  AFTUNE_ASSIGN_OR_RETURN(int port, server.Bind(a.host, a.port));
  std::printf("aftune provide: listening on http://%s:%d (%zu runs)\n", a.host.c_str(), port, service->runs());
  for (const std::string& line : service->BaseListing()) std::printf("  base %s\n", line.c_str());
  std::fflush(stdout);
  return RunUntilStopSignal(stop_signals, [&server] { return server.Run(); }, [&server] { server.Stop(); });
}

}  // namespace

void RegisterProvideCommands(CLI::App& app) {
  auto args = std::make_shared<ProvideArgs>();
  auto* c = app.add_subcommand("provide", "answer auditors' challenges on recorded runs over HTTP (the audit API)");
  c->add_option("--run", args->runs, "a recorded run directory (repeatable)")->required();
  c->add_option("--model", args->models,
                "a base model directory to serve in proven slices to the runs whose contract binds it (repeatable)");
  c->add_option("--tokens", args->tokens, "bearer tokens file ('client secret run…' per line, mode 0600)")->required();
  c->add_option("--port", args->port, "TCP port (0: any free port, printed)")->required()->check(CLI::Range(0, 65535));
  c->add_option("--host", args->host, "address to listen on")->capture_default_str();
  c->add_option("--http-threads", args->http_threads, "connections served at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  AddThreadsOption(c);
  c->callback([args] { Finish(RunProvide(*args)); });
}

}  // namespace aftune::cli
