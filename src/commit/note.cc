#include "commit/note.h"

#include <cstdio>
#include <set>

#include "commit/encoding.h"

namespace aftune {

namespace {

constexpr std::string_view kSigPrefix = "\xe2\x80\x94 ";  // U+2014 EM DASH, space

std::string KeyLabel(std::string_view name, uint32_t id) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", id);
  return std::string(name) + "+" + buf;
}

// UTF-8 and no control character except LF.
Status CheckChars(std::string_view s, std::string_view what) {
  if (!IsValidUtf8(s)) return Status::Corruption(std::string(what) + ": not valid UTF-8");
  for (size_t i = 0; i < s.size(); i++) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x20 && c != '\n') {
      return Status::Corruption(std::string(what) + ": control character 0x" + HexEncode({&c, 1}) + " at byte " +
                                std::to_string(i));
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckNoteText(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("note text: empty");
  if (text.back() != '\n') return Status::InvalidArgument("note text: does not end in a newline");
  if (text.size() > kMaxNoteBytes / 2) return Status::InvalidArgument("note text: too long");
  Status st = CheckChars(text, "note text");
  if (!st.ok()) return Status::InvalidArgument(st.message());
  return Status::Ok();
}

Result<std::string> SignNote(std::string_view text, std::span<const PrivateKey* const> signers) {
  AFTUNE_RETURN_IF_ERROR(CheckNoteText(text));
  if (signers.empty()) return Status::InvalidArgument("note: no signer");
  if (signers.size() > kMaxNoteSignatures) return Status::InvalidArgument("note: too many signers");
  std::string out(text);
  out += '\n';
  for (const PrivateKey* k : signers) {
    AFTUNE_CHECK(k != nullptr);
    Ed25519Signature sig = k->Sign(AsBytes(text));
    uint32_t id = k->id();
    uint8_t blob[4 + 64] = {static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16),
                            static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
    std::copy(sig.begin(), sig.end(), blob + 4);
    out += kSigPrefix;
    out += k->name();
    out += ' ';
    out += Base64Encode(blob);
    out += '\n';
  }
  return out;
}

Result<std::string> SignNote(std::string_view text, const PrivateKey& signer) {
  const PrivateKey* one[] = {&signer};
  return SignNote(text, one);
}

Result<Note> OpenNote(std::string_view msg, std::span<const PublicKey> known) {
  if (msg.size() > kMaxNoteBytes) {
    return Status::Corruption("note: " + std::to_string(msg.size()) + " bytes, more than the limit of " +
                              std::to_string(kMaxNoteBytes));
  }
  AFTUNE_RETURN_IF_ERROR(CheckChars(msg, "note"));
  size_t split = msg.rfind("\n\n");
  if (split == std::string_view::npos) return Status::Corruption("note: no blank line before the signatures");
  Note note;
  note.text = std::string(msg.substr(0, split + 1));
  std::string_view sigs = msg.substr(split + 2);
  if (sigs.empty()) return Status::Corruption("note: no signature lines");
  if (sigs.back() != '\n') return Status::Corruption("note: last signature line does not end in a newline");

  std::set<std::pair<std::string, uint32_t>> seen_known;
  std::set<std::string_view> seen_unknown;
  size_t count = 0;
  while (!sigs.empty()) {
    size_t nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    std::string where = "note: signature line " + std::to_string(count + 1);
    if (++count > kMaxNoteSignatures) {
      return Status::Corruption("note: more than " + std::to_string(kMaxNoteSignatures) + " signatures");
    }
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) {
      return Status::Corruption(where + ": does not start with \"\xe2\x80\x94 \"");
    }
    std::string_view body = line.substr(kSigPrefix.size());
    size_t sp = body.find(' ');
    if (sp == std::string_view::npos) return Status::Corruption(where + ": no space between key name and signature");
    std::string_view name = body.substr(0, sp), b64 = body.substr(sp + 1);
    if (!IsValidKeyName(name)) return Status::Corruption(where + ": invalid key name");
    Result<std::vector<uint8_t>> raw = Base64Decode(b64);
    if (!raw.ok()) return raw.status().WithContext(where);
    if (raw->size() < 5) return Status::Corruption(where + ": signature shorter than 5 bytes");
    uint32_t id = uint32_t{(*raw)[0]} << 24 | uint32_t{(*raw)[1]} << 16 | uint32_t{(*raw)[2]} << 8 | (*raw)[3];

    const PublicKey* key = nullptr;
    for (const PublicKey& k : known) {
      if (k.name != name || k.id() != id) continue;
      if (key != nullptr && key->key != k.key) {
        return Status::InvalidArgument("note: two known keys named " + KeyLabel(name, id));
      }
      key = &k;
    }
    NoteSignature s{std::string(name), id, std::string(b64)};
    if (key == nullptr) {
      if (seen_unknown.insert(line).second) note.unverified.push_back(std::move(s));
      continue;
    }
    // Every signature by a known key must verify, repeated ones included.
    Ed25519Signature sig;
    if (raw->size() != 4 + sig.size()) {
      return Status::Mismatch("note: signature by " + KeyLabel(name, id) + " is not 64 bytes");
    }
    std::copy(raw->begin() + 4, raw->end(), sig.begin());
    if (!key->Verify(AsBytes(note.text), sig)) {
      return Status::Mismatch("note: invalid signature by " + KeyLabel(name, id));
    }
    if (seen_known.insert({std::string(name), id}).second) note.verified.push_back(std::move(s));
  }
  if (note.verified.empty()) {
    return Status::NotFound("note: no signature by a known key (" + std::to_string(note.unverified.size()) +
                            " by unknown keys)");
  }
  return note;
}

}  // namespace aftune
