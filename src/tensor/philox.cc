#include "tensor/philox.h"

#include "tensor/mathfn.h"

namespace aftune {

namespace {
constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

void MulHiLo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}
}  // namespace

PhiloxBlock Philox4x32(PhiloxBlock c, std::array<uint32_t, 2> k) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    MulHiLo(kMul0, c[0], &hi0, &lo0);
    MulHiLo(kMul1, c[2], &hi1, &lo1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kWeyl0;
    k[1] += kWeyl1;
  }
  return c;
}

Philox::Philox(uint64_t seed, RandomPurpose purpose, uint32_t stream)
    : key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)},
      purpose_(static_cast<uint32_t>(purpose)),
      stream_(stream) {}

PhiloxBlock Philox::Block(uint64_t index) const {
  return Philox4x32({static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), purpose_, stream_},
                    key_);
}

uint32_t Philox::Word(uint64_t i) const { return Block(i / 4)[i % 4]; }

float Philox::Uniform(uint64_t i) const {
  return static_cast<float>(Word(i) >> 8) * (1.0f / 16777216.0f);
}

float Philox::Normal(uint64_t i) const {
  PhiloxBlock b = Block(i / 2);
  uint32_t w0 = b[(i % 2) * 2], w1 = b[(i % 2) * 2 + 1];
  // u1 in (0, 1], so log(u1) is finite.
  float u1 = static_cast<float>((w0 >> 8) + 1) * (1.0f / 16777216.0f);
  float u2 = static_cast<float>(w1 >> 8) * (1.0f / 16777216.0f);
  float r = SqrtF(-2.0f * LogF(u1));
  return r * CosF(6.2831853071795864f * u2);
}

}  // namespace aftune
