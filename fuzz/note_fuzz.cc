// libFuzzer target for the parsers of signed, text-encoded commit objects:
// signed notes, checkpoints, key files, verifier keys and the strict
// base64/hex/decimal decoders (src/commit/). Beyond "no crash", it checks the
// canonical-form property: whatever a strict parser accepts, the matching
// formatter writes back byte for byte.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "commit/checkpoint.h"
#include "commit/encoding.h"
#include "commit/key.h"
#include "commit/note.h"

namespace {

void Require(bool cond) {
  if (!cond) std::abort();
}

const std::vector<aftune::PublicKey>& Known() {
  static const std::vector<aftune::PublicKey> keys = [] {
    std::vector<aftune::PublicKey> k;
    // Go's sumdb/note example key, plus a key whose seed is all zeros.
    k.push_back(*aftune::ParseVerifierKey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
    k.push_back(aftune::PrivateKey::FromSeed("k", aftune::Ed25519Seed{})->public_key());
    return k;
  }();
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  aftune::Result<aftune::Note> note = aftune::OpenNote(in, Known());
  if (note.ok()) {
    Require(!note->verified.empty());
    Require(in.substr(0, note->text.size()) == note->text);
  }

  aftune::Result<aftune::Checkpoint> cp = aftune::ParseCheckpoint(in);
  if (cp.ok()) {
    aftune::Result<std::string> back = aftune::FormatCheckpoint(*cp);
    Require(back.ok() && *back == in);
  }

  aftune::Result<aftune::PublicKey> pub = aftune::ParsePublicKey(in);
  if (pub.ok()) Require(aftune::FormatPublicKey(*pub) == in);
  aftune::Result<aftune::PrivateKey> priv = aftune::ParsePrivateKey(in);
  if (priv.ok()) Require(aftune::FormatPrivateKey(*priv) == in);
  aftune::Result<aftune::PublicKey> vkey = aftune::ParseVerifierKey(in);
  if (vkey.ok()) Require(aftune::FormatVerifierKey(*vkey) == in);

  aftune::Result<std::vector<uint8_t>> b64 = aftune::Base64Decode(in);
  if (b64.ok()) Require(aftune::Base64Encode(*b64) == in);
  aftune::Result<std::vector<uint8_t>> hex = aftune::HexDecode(in);
  if (hex.ok()) Require(aftune::HexEncode(*hex) == in);
  aftune::Result<uint64_t> dec = aftune::ParseDecimalU64(in);
  if (dec.ok()) Require(std::to_string(*dec) == in);
  return 0;
}
