// DType names and the BF16 / F16 <-> F32 conversions, against an independent
// reference: a slow generic IEEE encoder/decoder written with f64 arithmetic
// (ldexp, nearbyint, which round to nearest even) for any binary format, and,
// where the compiler has it, GCC's _Float16 (IEEE round to nearest even).
//
// Decoding is checked exhaustively (all 65536 patterns). Encoding is checked
// exhaustively at every rounding boundary: for each pair of adjacent 16-bit
// values, the f32 midpoint between them (a tie) and its two f32 neighbours;
// plus a strided sweep over all 2^32 f32 patterns.
#include "tensor/dtype.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>

namespace aftune {
namespace {

float F(uint32_t u) { return std::bit_cast<float>(u); }
uint32_t U(float f) { return std::bit_cast<uint32_t>(f); }

// A binary interchange format with 1 sign bit, exp_bits and man_bits.
struct Format {
  int exp_bits, man_bits;
  int Bias() const { return (1 << (exp_bits - 1)) - 1; }
  int MinExp() const { return 1 - Bias(); }
  uint16_t InfBits() const { return static_cast<uint16_t>(((1 << exp_bits) - 1) << man_bits); }
  bool IsNaN(uint16_t h) const { return (h & 0x7fff) > InfBits(); }
};
constexpr Format kF16{5, 10};
constexpr Format kBF16{8, 7};

// The value of pattern h (a quiet NaN for NaN patterns).
double Decode(uint16_t h, Format f) {
  double sign = (h & 0x8000) ? -1.0 : 1.0;
  int exp = (h >> f.man_bits) & ((1 << f.exp_bits) - 1);
  int man = h & ((1 << f.man_bits) - 1);
  if (exp == (1 << f.exp_bits) - 1) return man ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
  if (exp == 0) return sign * std::ldexp(man, f.MinExp() - f.man_bits);
  return sign * std::ldexp(man + (1 << f.man_bits), exp - f.Bias() - f.man_bits);
}

// v rounded to nearest even in format f. REQUIRES: v is not NaN.
uint16_t EncodeRne(double v, Format f) {
  uint16_t sign = std::signbit(v) ? 0x8000 : 0;
  double a = std::fabs(v);
  if (std::isinf(a)) return sign | f.InfBits();
  int e = a == 0 ? f.MinExp() : std::max(std::ilogb(a), f.MinExp());
  double quantum = std::ldexp(1.0, e - f.man_bits);
  double r = std::nearbyint(a / quantum) * quantum;  // a / quantum is exact
  if (r >= std::ldexp(2.0, f.Bias())) return sign | f.InfBits();  // beyond max + half ulp
  if (r < std::ldexp(1.0, f.MinExp()))
    return sign | static_cast<uint16_t>(r / std::ldexp(1.0, f.MinExp() - f.man_bits));
  int e2 = std::ilogb(r);
  auto man = static_cast<int>(r / std::ldexp(1.0, e2 - f.man_bits)) - (1 << f.man_bits);
  return static_cast<uint16_t>(sign | ((e2 + f.Bias()) << f.man_bits) | man);
}

// Checks one f32 -> 16-bit conversion against the reference.
void CheckEncode(float x, uint16_t got, Format f, const char* name) {
  if (std::isnan(x)) {
    ASSERT_TRUE(f.IsNaN(got)) << name << "(NaN 0x" << std::hex << U(x) << ") = 0x" << got;
    ASSERT_EQ(got & 0x8000, (U(x) >> 16) & 0x8000) << name << ": NaN sign";
    return;
  }
  ASSERT_EQ(got, EncodeRne(x, f)) << name << "(" << std::hexfloat << x << ")";
}

// ----------------------------------------------------------------- names ----

TEST(DTypeNames, RoundTrip) {
  const DType all[] = {DType::kF32, DType::kBF16, DType::kF16, DType::kF64, DType::kI64,
                       DType::kI32, DType::kI16,  DType::kI8,  DType::kU8,  DType::kBool};
  const int sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};
  for (size_t i = 0; i < std::size(all); ++i) {
    std::string_view name = DTypeName(all[i]);
    std::optional<DType> parsed = ParseDType(name);
    ASSERT_TRUE(parsed.has_value()) << name;
    EXPECT_EQ(*parsed, all[i]) << name;
    EXPECT_EQ(DTypeSize(all[i]), sizes[i]) << name;
    EXPECT_EQ(IsFloatStorage(all[i]), i < 3) << name;
  }
  EXPECT_EQ(DTypeName(DType::kBF16), "BF16");
  EXPECT_EQ(DTypeName(DType::kBool), "BOOL");
}

TEST(DTypeNames, ParseIsStrict) {
  for (std::string_view bad : {"", "f32", "Bf16", "F32 ", " F32", "F3", "F320", "FLOAT", "bool", "F8_E4M3"})
    EXPECT_FALSE(ParseDType(bad).has_value()) << "'" << bad << "'";
}

// -------------------------------------------------------------- decoding ----

TEST(DTypeConvert, BF16ToF32AllPatterns) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float got = BF16ToF32(static_cast<uint16_t>(h));
    double want = Decode(static_cast<uint16_t>(h), kBF16);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << h;
      ASSERT_EQ(U(got) >> 31, h >> 15) << std::hex << h;
    } else {
      ASSERT_EQ(U(got), U(static_cast<float>(want))) << std::hex << h;  // exact
    }
  }
}

TEST(DTypeConvert, F16ToF32AllPatterns) {
  for (uint32_t h = 0; h < 65536; ++h) {
    auto h16 = static_cast<uint16_t>(h);
    float got = F16ToF32(h16);
    double want = Decode(h16, kF16);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << h;
      ASSERT_EQ(U(got) >> 31, h >> 15) << std::hex << h;
      continue;
    }
    ASSERT_EQ(U(got), U(static_cast<float>(want))) << std::hex << h;  // exact
#ifdef __FLT16_MAX__
    ASSERT_EQ(U(got), U(static_cast<float>(std::bit_cast<_Float16>(h16)))) << std::hex << h;
#endif
  }
}

TEST(DTypeConvert, RoundTripAllPatterns) {
  for (uint32_t h = 0; h < 65536; ++h) {
    auto h16 = static_cast<uint16_t>(h);
    if (kBF16.IsNaN(h16)) {
      EXPECT_TRUE(kBF16.IsNaN(F32ToBF16(BF16ToF32(h16)))) << std::hex << h;
    } else {
      ASSERT_EQ(F32ToBF16(BF16ToF32(h16)), h16) << std::hex << h;
    }
    if (kF16.IsNaN(h16)) {
      EXPECT_TRUE(kF16.IsNaN(F32ToF16(F16ToF32(h16)))) << std::hex << h;
    } else {
      ASSERT_EQ(F32ToF16(F16ToF32(h16)), h16) << std::hex << h;
    }
  }
}

// -------------------------------------------------------------- encoding ----

// For each finite, non-negative 16-bit value v and the next one up, the f32
// midpoint (exactly representable: f32 has more bits than either format) and
// its f32 neighbours, on both signs. This covers every tie and every
// overflow and underflow boundary.
void CheckAllRoundingBoundaries(Format f, uint16_t (*to16)(float), const char* name) {
  for (uint32_t h = 0; h < f.InfBits(); ++h) {
    double lo = Decode(static_cast<uint16_t>(h), f);
    // Above the largest finite value, the "next value" is one ulp further.
    double hi = h + 1 < f.InfBits() ? Decode(static_cast<uint16_t>(h + 1), f) : 2 * lo - Decode(static_cast<uint16_t>(h - 1), f);
    auto mid = static_cast<float>((lo + hi) / 2);
    ASSERT_EQ(static_cast<double>(mid), (lo + hi) / 2);
    for (float x : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY), static_cast<float>(lo)}) {
      CheckEncode(x, to16(x), f, name);
      CheckEncode(-x, to16(-x), f, name);
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(DTypeConvert, F32ToBF16RoundingBoundaries) { CheckAllRoundingBoundaries(kBF16, F32ToBF16, "F32ToBF16"); }
TEST(DTypeConvert, F32ToF16RoundingBoundaries) { CheckAllRoundingBoundaries(kF16, F32ToF16, "F32ToF16"); }

// Every 127th f32 pattern (all signs, NaNs, subnormals, infinities); the slow
// reference on every 7th of those, _Float16 on all of them.
TEST(DTypeConvert, F32ToBF16AndF16Sweep) {
  for (uint64_t b = 0, i = 0; b <= 0xffffffffu; b += 127, ++i) {
    float x = F(static_cast<uint32_t>(b));
    uint16_t f16 = F32ToF16(x);
#ifdef __FLT16_MAX__
    if (!std::isnan(x)) {
      ASSERT_EQ(f16, std::bit_cast<uint16_t>(static_cast<_Float16>(x))) << std::hexfloat << x;
    }
#endif
    if (i % 7 == 0) {
      CheckEncode(x, f16, kF16, "F32ToF16");
      CheckEncode(x, F32ToBF16(x), kBF16, "F32ToBF16");
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(DTypeConvert, SpecialValues) {
  const float inf = INFINITY;
  // BF16: same exponent range as f32.
  EXPECT_EQ(F32ToBF16(0.0f), 0x0000);
  EXPECT_EQ(F32ToBF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToBF16(1.0f), 0x3f80);
  EXPECT_EQ(F32ToBF16(inf), 0x7f80);
  EXPECT_EQ(F32ToBF16(-inf), 0xff80);
  EXPECT_EQ(F32ToBF16(F(0x3f808000u)), 0x3f80);  // tie, even below
  EXPECT_EQ(F32ToBF16(F(0x3f818000u)), 0x3f82);  // tie, even above
  EXPECT_EQ(F32ToBF16(F(0x3f808001u)), 0x3f81);
  EXPECT_EQ(F32ToBF16(F(0x7f7fffffu)), 0x7f80);  // FLT_MAX rounds to inf
  EXPECT_EQ(F32ToBF16(F(0x7f7f7fffu)), 0x7f7f);
  EXPECT_EQ(F32ToBF16(F(0x00008000u)), 0x0000);  // f32 subnormal tie -> 0
  EXPECT_EQ(F32ToBF16(F(0x00018000u)), 0x0002);
  EXPECT_EQ(F32ToBF16(F(0x007fffffu)), 0x0080);  // rounds up to the smallest normal
  for (uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7f80ffffu, 0x7fffffffu}) {
    uint16_t h = F32ToBF16(F(nan));
    EXPECT_TRUE(kBF16.IsNaN(h)) << std::hex << nan << " -> " << h;  // never inf
    EXPECT_EQ(h & 0x8000, (nan >> 16) & 0x8000);
  }
  // F16.
  EXPECT_EQ(F32ToF16(1.0f), 0x3c00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xc000);
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7bff);
  EXPECT_EQ(F32ToF16(std::nextafter(65520.0f, 0.0f)), 0x7bff);
  EXPECT_EQ(F32ToF16(65520.0f), 0x7c00);  // tie to even: inf
  EXPECT_EQ(F32ToF16(1e10f), 0x7c00);
  EXPECT_EQ(F32ToF16(-1e10f), 0xfc00);
  EXPECT_EQ(F32ToF16(inf), 0x7c00);
  EXPECT_EQ(F32ToF16(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(F32ToF16(0x1p-25f), 0x0000);  // tie to even: 0
  EXPECT_EQ(F32ToF16(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(F32ToF16(0x3p-25f), 0x0002);  // tie to even: 2
  EXPECT_EQ(F32ToF16(0x1p-14f), 0x0400);  // smallest normal
  EXPECT_EQ(F32ToF16(std::nextafter(0x1p-14f, 0.0f)), 0x0400);
  EXPECT_EQ(F32ToF16(0x1p-149f), 0x0000);
  EXPECT_EQ(F32ToF16(F(0x3f801000u)), 0x3c00);  // 1 + 2^-11: tie, even below
  EXPECT_EQ(F32ToF16(F(0x3f803000u)), 0x3c02);  // 1 + 3 * 2^-11: tie, even above
  for (uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7f801fffu, 0x7fffffffu}) {
    uint16_t h = F32ToF16(F(nan));
    EXPECT_TRUE(kF16.IsNaN(h)) << std::hex << nan << " -> " << h;
    EXPECT_EQ(h & 0x8000, (nan >> 16) & 0x8000);
  }
  EXPECT_EQ(F16ToF32(0x7c00), inf);
  EXPECT_EQ(F16ToF32(0xfc00), -inf);
  EXPECT_EQ(F16ToF32(0x0001), 0x1p-24f);
  EXPECT_EQ(F16ToF32(0x03ff), 0x3ffp-24f);
  EXPECT_EQ(F16ToF32(0x7bff), 65504.0f);
  EXPECT_EQ(BF16ToF32(0x0001), 0x1p-133f);
  EXPECT_EQ(BF16ToF32(0x7f7f), 0x1.fep127f);
}

}  // namespace
}  // namespace aftune
