// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11): a counter-based generator. Every random number in aftune is a pure
// function of (key, counter); there is no hidden generator state.
//
// Convention: key = the 64-bit seed (low word first); counter = {index low,
// index high, purpose, stream}. `purpose` separates uses (weight init, batch
// shuffle, sampling, ...); `stream` and `index` locate the number within a use.
#pragma once

#include <array>
#include <cstdint>

namespace aftune {

using PhiloxBlock = std::array<uint32_t, 4>;

// The raw block function: ten rounds of Philox-4x32 on `counter` under `key`.
PhiloxBlock Philox4x32(PhiloxBlock counter, std::array<uint32_t, 2> key);

// Purposes (the counter's third word). Never renumber: they are part of
// every contract's meaning.
enum class RandomPurpose : uint32_t {
  kWeightInit = 1,
  kLoraInit = 2,
  kShuffle = 3,
  kSampling = 4,
  kDropout = 5,
  kAuditChallenge = 6,
};

class Philox {
 public:
  Philox(uint64_t seed, RandomPurpose purpose, uint32_t stream);

  // The 4 words at block `index`.
  PhiloxBlock Block(uint64_t index) const;
  // Word `i` of the stream (block i/4, word i%4).
  uint32_t Word(uint64_t i) const;
  // Uniform in [0, 1) with 24 random bits: exactly representable in f32.
  float Uniform(uint64_t i) const;
  // Standard normal via Box-Muller on words 2i and 2i+1, using aftune's own
  // log/sin/cos so every machine gives the same bits.
  float Normal(uint64_t i) const;

 private:
  std::array<uint32_t, 2> key_;
  uint32_t purpose_, stream_;
};

}  // namespace aftune
