// Registration of the aftune subcommands. Each Register* adds its subcommands
// to the app with callbacks that run the command and record its exit status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/status.h"
#include "commit/sha256.h"

namespace aftune::cli {

void RegisterModelCommands(CLI::App& app);
void RegisterTrainCommands(CLI::App& app);
void RegisterGenerateCommands(CLI::App& app);
void RegisterEvalCommands(CLI::App& app);
void RegisterKeyCommands(CLI::App& app);
void RegisterDigestCommands(CLI::App& app);
void RegisterContractCommands(CLI::App& app);
void RegisterServeCommands(CLI::App& app);
void RegisterProvideCommands(CLI::App& app);
void RegisterClientCommands(CLI::App& app);
void RegisterOpenCommands(CLI::App& app);
void RegisterAuditCommands(CLI::App& app);
void RegisterChatCommands(CLI::App& app);
void RegisterTokenizeCommands(CLI::App& app);
// `aftune audit infer`, a subcommand of `audit` (cmd_audit_infer.cc).
void RegisterAuditInferCommand(CLI::App* audit);


// Adds --threads N to a compute command (default: AFTUNE_THREADS, else all
// cores) and applies it before the command runs.
void AddThreadsOption(CLI::App* cmd);

// Records the command's outcome: prints a non-ok status to stderr as
// "aftune: <message>" and sets the exit code (1 for errors).
void Finish(const Status& st);
int ExitCode();

// A command's outcome that is not an error: `aftune audit` exits
// kExitAuditFailed when the audit found a violation.
inline constexpr int kExitAuditFailed = 3;
void SetExitCode(int code);

// The state digests a receipt names (protocol/receipt.h): of MODEL_DIR's
// model.safetensors and, when adapter_dir is non-empty, of its
// adapter_model.safetensors. Errors name the file.
struct ServedWeightsDigests {
  Hash model{};
  std::optional<Hash> adapter;
};
Result<ServedWeightsDigests> ServedWeightsDigest(const std::string& model_dir, const std::string& adapter_dir);

// An audit's --nonce: lowercase hex, 1 to 64 bytes; empty: 16 bytes from the
// OS. kInvalidArgument naming the value.
Result<std::vector<uint8_t>> AuditNonce(const std::string& hex);

}  // namespace aftune::cli
