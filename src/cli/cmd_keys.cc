// aftune keygen --name NAME --out PREFIX
#include <cstdio>
#include <memory>
#include <string>

#include "base/file.h"
#include "cli/commands.h"
#include "commit/key.h"

namespace aftune::cli {

namespace {

struct KeygenArgs {
  std::string name, out;
};

Status RunKeygen(const KeygenArgs& a) {
  if (!IsValidKeyName(a.name))
    return Status::InvalidArgument("--name '" + a.name +
                                   "' is not a valid key name (1 to 256 bytes of UTF-8, no spaces, "
                                   "control characters or '+'; e.g. example.com/provider)");
  const std::string key_path = a.out + ".key", pub_path = a.out + ".pub";
  // Neither file may exist: a key pair is written whole or not at all, and a
  // signing key is never replaced.
  for (const std::string& p : {key_path, pub_path})
    if (FileExists(p)) return Status::InvalidArgument(p + ": already exists; will not overwrite a key");
  AFTUNE_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(a.name));
  AFTUNE_RETURN_IF_ERROR(WritePrivateKeyFile(key_path, key));
  AFTUNE_RETURN_IF_ERROR(WritePublicKeyFile(pub_path, key.public_key()));
  std::printf("wrote %s (private, mode 0600) and %s\n", key_path.c_str(), pub_path.c_str());
  std::printf("name %s\nkey id %08x\nverifier key %s\n", key.name().c_str(), key.id(),
              FormatVerifierKey(key.public_key()).c_str());
  return Status::Ok();
}

}  // namespace

void RegisterKeyCommands(CLI::App& app) {
  auto args = std::make_shared<KeygenArgs>();
  auto* c = app.add_subcommand("keygen", "create an Ed25519 signing key pair: PREFIX.key (mode 0600) and PREFIX.pub");
  c->add_option("--name", args->name, "key name, e.g. example.com/provider (C2SP signed-note rules)")->required();
  c->add_option("--out", args->out, "output prefix; existing files are never overwritten")->required();
  c->callback([args] { Finish(RunKeygen(*args)); });
}

}  // namespace aftune::cli
