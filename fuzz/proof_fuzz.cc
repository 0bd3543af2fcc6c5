// libFuzzer target for the Merkle proof verifiers and provers (src/commit/).
//
// Input layout: u16 tree size n (mod 300, >= 1), u16 index, u16 old size,
// then bytes that are XORed into the proofs. It builds a tree of n synthetic
// leaves, checks that tlog-style proofs equal the reference ones and verify,
// and that a proof the fuzz bytes changed (compared with the original: bytes
// can cancel out) never verifies (that would be a SHA-256 collision). The
// same bytes also drive the verifiers with arbitrary 64-bit sizes and hashes,
// which must fail cleanly, never abort.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "commit/merkle.h"
#include "commit/tlog.h"

namespace {

void Require(bool cond) {
  if (!cond) std::abort();
}

uint64_t Read64(const uint8_t*& p, size_t& left) {
  uint64_t v = 0;
  size_t n = left < 8 ? left : 8;
  std::memcpy(&v, p, n);
  p += n;
  left -= n;
  return v;
}

// The proof with the fuzz bytes XORed into its hashes (byte i into hash
// (i / 32) % size at position i % 32). Bytes may cancel each other out, so
// whether the proof changed is decided by comparing it with the original,
// never by the fuzz bytes themselves.
std::vector<aftune::Hash> Mangled(std::vector<aftune::Hash> proof, const uint8_t* p, size_t left) {
  for (size_t i = 0; i < left && !proof.empty(); i++) {
    proof[(i / 32) % proof.size()][i % 32] ^= p[i];
  }
  return proof;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint8_t* p = data;
  size_t left = size;
  if (left < 6) return 0;
  uint64_t n = (uint64_t{p[0]} | uint64_t{p[1]} << 8) % 300 + 1;
  uint64_t index = (uint64_t{p[2]} | uint64_t{p[3]} << 8) % n;
  uint64_t old = (uint64_t{p[4]} | uint64_t{p[5]} << 8) % (n + 1);
  p += 6;
  left -= 6;

  std::vector<aftune::Hash> leaves;
  aftune::MemoryLog log;
  for (uint64_t i = 0; i < n; i++) {
    std::string d = "leaf " + std::to_string(i);
    leaves.push_back(aftune::LeafHash({reinterpret_cast<const uint8_t*>(d.data()), d.size()}));
    log.Append(leaves.back());
  }
  aftune::Hash root = aftune::MerkleRoot(leaves);
  aftune::Hash old_root = aftune::MerkleRoot(std::span(leaves).first(old));

  aftune::Result<aftune::InclusionProof> incl = aftune::ProveInclusion(index, n, log);
  Require(incl.ok() && *incl == aftune::MakeInclusionProof(leaves, index));
  Require(aftune::VerifyInclusion(index, n, leaves[index], *incl, root).ok());
  aftune::InclusionProof bad_incl = Mangled(*incl, p, left);
  if (bad_incl != *incl) {
    Require(!aftune::VerifyInclusion(index, n, leaves[index], bad_incl, root).ok());
  }

  aftune::Result<aftune::ConsistencyProof> cons = aftune::ProveConsistency(old, n, log);
  Require(cons.ok() && *cons == aftune::MakeConsistencyProof(leaves, old));
  Require(aftune::VerifyConsistency(old, n, old_root, root, *cons).ok());
  aftune::ConsistencyProof bad_cons = Mangled(*cons, p, left);
  if (bad_cons != *cons) {
    Require(!aftune::VerifyConsistency(old, n, old_root, root, bad_cons).ok());
  }

  // Arbitrary inputs: must not abort.
  uint64_t a = Read64(p, left), b = Read64(p, left);
  std::vector<aftune::Hash> junk(left / 32);
  for (size_t i = 0; i < junk.size(); i++) std::memcpy(junk[i].data(), p + 32 * i, 32);
  (void)aftune::VerifyInclusion(a, b, root, junk, root);
  (void)aftune::VerifyConsistency(a, b, old_root, root, junk);
  (void)aftune::VerifyConsistency(b == UINT64_MAX ? a : a % (b + 1), b, old_root, root, junk);
  return 0;
}
