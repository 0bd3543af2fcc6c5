// C2SP signed notes (c2sp.org/signed-note, Ed25519 signature type 0x01), the
// envelope of everything aftune signs.
//
// Format (docs/formats.md, "Signed notes"):
//
//   <text: one or more lines, each ending in LF>
//   <blank line: LF>
//   — <key name> <base64(u32 big-endian key id ‖ 64-byte Ed25519 signature)>LF
//   … one signature line per signer
//
// The signature covers the text exactly (its final LF included, the blank
// line not). "—" is U+2014 EM DASH (bytes E2 80 94), followed by one space.
// The whole note is valid UTF-8 without control characters other than LF (so
// no CR, no TAB), at most kMaxNoteBytes bytes with at most kMaxNoteSignatures
// signature lines. The text is separated from the signatures by the LAST
// blank line, so the text may itself contain blank lines.
//
// Example (Go's golang.org/x/mod/sumdb/note documentation; note_test.cc
// verifies it with the published key
// PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW):
//
//   If you think cryptography is the answer to your problem,
//   then you don't know what your problem is.
//
//   — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=
//
// Trust: OpenNote returns the text only when at least one signature by a
// known key verifies and no signature by a known key fails. Signatures by
// keys not in `known` (different name or key id) are ignored, as the spec
// requires, but reported.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commit/key.h"

namespace aftune {

inline constexpr size_t kMaxNoteBytes = 1 << 20;
inline constexpr size_t kMaxNoteSignatures = 100;

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string base64;  // base64(key id ‖ signature), as on the wire
};

struct Note {
  std::string text;
  std::vector<NoteSignature> verified;    // by known keys, checked; one per key
  std::vector<NoteSignature> unverified;  // by unknown keys, not checked
};

// Ok when `text` can be a note text: non-empty, ends in LF, valid UTF-8, no
// control characters but LF, short enough. kInvalidArgument otherwise.
Status CheckNoteText(std::string_view text);

// text ‖ LF ‖ one signature line per signer, in the given order.
// kInvalidArgument when the text fails CheckNoteText or no signer is given.
Result<std::string> SignNote(std::string_view text, std::span<const PrivateKey* const> signers);
Result<std::string> SignNote(std::string_view text, const PrivateKey& signer);

// Parses and verifies a signed note against the `known` keys.
//   kCorruption       the bytes do not follow the format (named in the message)
//   kMismatch         a signature by a known key does not verify
//   kNotFound         well-formed, but no signature by a known key
//   kInvalidArgument  `known` holds two different keys with one name and id
Result<Note> OpenNote(std::string_view msg, std::span<const PublicKey> known);

}  // namespace aftune
