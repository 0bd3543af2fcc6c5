// Accuracy of aftune's ExpF, LogF, SinF, CosF and RsqrtF over the whole f32
// range, against glibc's f64 functions as the oracle (tests may use libm; the
// product code may not). The f64 oracle is within 1 f64 ulp of the exact
// value, i.e. within 2^-29 f32 ulp, so the errors measured here are exact to
// that resolution.
//
// Sweeps visit every kStride-th 32-bit pattern (both signs, NaNs, subnormals,
// infinities), plus dense sweeps over the regions where each function is
// hardest (thresholds, arguments near 1, small and huge trig arguments).
//
// Bound asserted: error <= 0.5 + 2^-12 ulp for every function, i.e.
// correctly rounded except within 2^-12 ulp of a midpoint, where the f64
// evaluation may round either way. Measured once over all 2^32 inputs (see
// mathfn.cc): at most 0.500000002 ulp; one input, CosF(+-0x1.4555p+51), is
// not correctly rounded (checked in 120-digit arithmetic).
#include "tensor/mathfn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <vector>

namespace aftune {
namespace {

constexpr uint32_t kCanonicalNaN = 0x7fc00000u;
// Odd and prime, so the sweep visits every low-bit residue: 2^32 / 257 =
// 16.7M inputs per function.
constexpr uint64_t kStride = 257;
constexpr double kTightBound = 0.5 + 0x1p-12;

float F(uint32_t u) { return std::bit_cast<float>(u); }
uint32_t U(float f) { return std::bit_cast<uint32_t>(f); }

// The spacing of f32 values around |v| (v exact, as f64): 2^(e-23) for v in
// [2^e, 2^(e+1)), 2^-149 in the subnormal range, 2^104 beyond FLT_MAX.
double UlpOf(double v) {
  v = std::fabs(v);
  if (v < 0x1p-126) return 0x1p-149;
  if (v >= 0x1p128) return 0x1p104;
  int e;
  std::frexp(v, &e);  // v = f 2^e, f in [0.5, 1)
  return std::ldexp(1.0, e - 24);
}

// Error of y in f32 ulps of the exact value `ref` (f64). Infinity counts as
// 2^128, the next value after FLT_MAX, and so does any ref beyond it. Both
// NaN: 0; one NaN: infinite.
double UlpError(float y, double ref) {
  if (std::isnan(ref) || std::isnan(y)) return std::isnan(ref) && std::isnan(y) ? 0.0 : INFINITY;
  if (std::fabs(ref) > 0x1p128) ref = std::copysign(0x1p128, ref);
  double yd = std::isinf(y) ? std::copysign(0x1p128, y) : y;
  return std::fabs(yd - ref) / UlpOf(ref);
}

struct ErrorStats {
  double max_ulp = 0;
  float worst_input = 0;
  uint64_t count = 0;
  uint64_t not_nearest = 0;  // results other than the f32 nearest the oracle
  void Add(float x, float y, double ref) {
    double e = UlpError(y, ref);
    ++count;
    if (!std::isnan(ref) && U(y) != U(static_cast<float>(ref))) ++not_nearest;
    if (e > max_ulp) {
      max_ulp = e;
      worst_input = x;
    }
  }
  std::string Describe(const char* name) const {
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s: %llu inputs, max error %.9f ulp at x = %a, %llu not nearest", name,
                  static_cast<unsigned long long>(count), max_ulp, worst_input,
                  static_cast<unsigned long long>(not_nearest));
    return buf;
  }
};

using Fn = std::function<float(float)>;
using Ref = std::function<double(double)>;

// Every kStride-th bit pattern, starting at `offset`.
void SweepAllPatterns(const Fn& fn, const Ref& ref, ErrorStats* stats, uint64_t offset = 0) {
  for (uint64_t b = offset; b <= 0xffffffffu; b += kStride) {
    float x = F(static_cast<uint32_t>(b));
    stats->Add(x, fn(x), ref(x));
  }
}

// Every float in [lo, hi] (same sign), visiting every `step`-th pattern.
void SweepRange(float lo, float hi, uint32_t step, const Fn& fn, const Ref& ref, ErrorStats* stats) {
  uint32_t a = U(lo), b = U(hi);
  if (a > b) std::swap(a, b);
  for (uint64_t u = a; u <= b; u += step) {
    float x = F(static_cast<uint32_t>(u));
    stats->Add(x, fn(x), ref(x));
  }
}

double RefExp(double x) { return std::exp(x); }
double RefLog(double x) { return std::log(x); }
double RefSin(double x) { return std::sin(x); }
double RefCos(double x) { return std::cos(x); }
double RefRsqrt(double x) { return 1.0 / std::sqrt(x); }

void ExpectCanonicalNaN(float y, const char* what) {
  EXPECT_EQ(U(y), kCanonicalNaN) << what << " gave bits " << std::hex << U(y);
}

const float kNaNs[] = {F(0x7fc00000u), F(0xffc00000u), F(0x7f800001u), F(0xffbfffffu), F(0x7fffffffu)};
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kMinSub = 0x1p-149f;
constexpr float kMax = std::numeric_limits<float>::max();

// ------------------------------------------------------------------ exp ----

TEST(MathExp, WholeRange) {
  ErrorStats s;
  SweepAllPatterns(ExpF, RefExp, &s);
  SweepRange(-87.0f, -104.0f, 1, ExpF, RefExp, &s);  // subnormal results
  SweepRange(88.0f, 89.0f, 1, ExpF, RefExp, &s);     // overflow threshold
  SweepRange(0x1p-30f, 0.5f, 61, ExpF, RefExp, &s);  // near 1
  SweepRange(-0x1p-30f, -0.5f, 61, ExpF, RefExp, &s);
  std::printf("%s\n", s.Describe("ExpF").c_str());
  EXPECT_LE(s.max_ulp, kTightBound) << s.Describe("ExpF");
}

TEST(MathExp, SpecialValues) {
  EXPECT_EQ(U(ExpF(0.0f)), U(1.0f));
  EXPECT_EQ(U(ExpF(-0.0f)), U(1.0f));
  EXPECT_EQ(ExpF(kInf), kInf);
  EXPECT_EQ(U(ExpF(-kInf)), U(0.0f));
  for (float nan : kNaNs) ExpectCanonicalNaN(ExpF(nan), "ExpF(NaN)");
  // Overflow: 88.7228317 (0x42b17217) is the last argument with a finite result.
  EXPECT_EQ(ExpF(F(0x42b17217u)), 0x1.ffff08p+127f);
  EXPECT_EQ(ExpF(F(0x42b17218u)), kInf);
  EXPECT_EQ(ExpF(kMax), kInf);
  // Underflow: -103.972076 (0xc2cff1b4) is the last argument with a nonzero
  // result (the smallest subnormal); -87.3365402 the last with a normal one.
  EXPECT_EQ(ExpF(F(0xc2cff1b4u)), kMinSub);
  EXPECT_EQ(U(ExpF(F(0xc2cff1b5u))), U(0.0f));
  EXPECT_EQ(U(ExpF(-kMax)), U(0.0f));
  EXPECT_EQ(ExpF(F(0xc2aeac4fu)), 0x1.00004cp-126f);
  EXPECT_LT(ExpF(F(0xc2aeac50u)), 0x1p-126f);
  // Tiny arguments round to 1; subnormal arguments too.
  EXPECT_EQ(ExpF(kMinSub), 1.0f);
  EXPECT_EQ(ExpF(-kMinSub), 1.0f);
  EXPECT_EQ(ExpF(1.0f), 2.71828183f);
}

// ExpArray is ExpF element by element, bit for bit, at every length and
// alignment, in place or not, NaNs and infinities included.
TEST(MathExp, ArrayMatchesScalar) {
  std::vector<float> x;
  for (uint64_t b = 12345; b <= 0xffffffffu; b += 4099) x.push_back(F(static_cast<uint32_t>(b)));
  for (float nan : kNaNs) x.push_back(nan);
  for (float v : {kInf, -kInf, 0.0f, -0.0f, kMinSub, -kMinSub, 88.72283f, -103.97f}) x.push_back(v);
  std::vector<float> y(x.size());
  ExpArray(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(U(y[i]), U(ExpF(x[i]))) << "x = " << x[i];
  // In place, at odd offsets and lengths (vector prologues and tails).
  for (int64_t off : {0, 1, 3, 7}) {
    for (int64_t len : {0, 1, 5, 31, 257, 1000}) {
      std::vector<float> z(x.begin(), x.begin() + 2000);
      ExpArray(z.data() + off, z.data() + off, len);
      for (int64_t i = 0; i < 2000; ++i) {
        float want = (i >= off && i < off + len) ? ExpF(x[i]) : x[i];
        ASSERT_EQ(U(z[i]), U(want)) << "off " << off << " len " << len << " i " << i;
      }
    }
  }
}

// ------------------------------------------------------------------ log ----

TEST(MathLog, WholeRange) {
  ErrorStats s;
  SweepAllPatterns(LogF, RefLog, &s);
  SweepRange(0.75f, 1.5f, 3, LogF, RefLog, &s);  // near 1, where ln x ~ x - 1
  SweepRange(kMinSub, 0x1p-126f, 101, LogF, RefLog, &s);  // subnormals
  std::printf("%s\n", s.Describe("LogF").c_str());
  EXPECT_LE(s.max_ulp, kTightBound) << s.Describe("LogF");
}

TEST(MathLog, SpecialValues) {
  EXPECT_EQ(U(LogF(1.0f)), U(0.0f));
  EXPECT_EQ(LogF(0.0f), -kInf);
  EXPECT_EQ(LogF(-0.0f), -kInf);
  EXPECT_EQ(LogF(kInf), kInf);
  ExpectCanonicalNaN(LogF(-1.0f), "LogF(-1)");
  ExpectCanonicalNaN(LogF(-kMinSub), "LogF(-min subnormal)");
  ExpectCanonicalNaN(LogF(-kInf), "LogF(-inf)");
  for (float nan : kNaNs) ExpectCanonicalNaN(LogF(nan), "LogF(NaN)");
  EXPECT_EQ(LogF(kMinSub), -0x1.9d1dap+6f);  // -149 ln 2
  EXPECT_EQ(LogF(kMax), 0x1.62e43p+6f);
  EXPECT_EQ(LogF(2.0f), 0.693147181f);
  // ln(1 + 2^-23) = 2^-23 - 2^-47 + 2^-69/3: just above a float.
  EXPECT_EQ(LogF(std::nextafter(1.0f, 2.0f)), 0x1.fffffep-24f);
}

// ------------------------------------------------------------ sin / cos ----

TEST(MathSin, WholeRange) {
  ErrorStats s;
  SweepAllPatterns(SinF, RefSin, &s);
  SweepRange(0.0f, 8.0f, 251, SinF, RefSin, &s);  // first quadrants, zeros of sin
  SweepRange(-0.0f, -8.0f, 257, SinF, RefSin, &s);
  std::printf("%s\n", s.Describe("SinF").c_str());
  EXPECT_LE(s.max_ulp, kTightBound) << s.Describe("SinF");
}

TEST(MathCos, WholeRange) {
  ErrorStats s;
  SweepAllPatterns(CosF, RefCos, &s);
  SweepRange(0.0f, 8.0f, 251, CosF, RefCos, &s);
  SweepRange(-0.0f, -8.0f, 257, CosF, RefCos, &s);
  std::printf("%s\n", s.Describe("CosF").c_str());
  EXPECT_LE(s.max_ulp, kTightBound) << s.Describe("CosF");
}

TEST(MathSinCos, SpecialValues) {
  EXPECT_EQ(U(SinF(0.0f)), U(0.0f));
  EXPECT_EQ(U(SinF(-0.0f)), U(-0.0f));
  EXPECT_EQ(CosF(0.0f), 1.0f);
  EXPECT_EQ(CosF(-0.0f), 1.0f);
  EXPECT_EQ(SinF(kMinSub), kMinSub);
  EXPECT_EQ(SinF(-kMinSub), -kMinSub);
  EXPECT_EQ(SinF(0x1p-20f), 0x1p-20f);
  for (float v : {kInf, -kInf}) {
    ExpectCanonicalNaN(SinF(v), "SinF(inf)");
    ExpectCanonicalNaN(CosF(v), "CosF(inf)");
  }
  for (float nan : kNaNs) {
    ExpectCanonicalNaN(SinF(nan), "SinF(NaN)");
    ExpectCanonicalNaN(CosF(nan), "CosF(NaN)");
  }
  // Huge arguments need the full Payne-Hanek reduction.
  EXPECT_EQ(SinF(1e30f), -0x1.95136p-1f);
  EXPECT_EQ(CosF(1e30f), -0x1.392444p-1f);
  EXPECT_EQ(SinF(kMax), -0x1.0b3366p-1f);
  // The float >= pi/4 closest to a multiple of pi/2 (found by exhaustive
  // search): the remainder is 0x1.bbdd52p-30, so cos is tiny there.
  float closest = 0x1.f37c8ap+95f;
  EXPECT_EQ(SinF(closest), static_cast<float>(std::sin(static_cast<double>(closest))));
  EXPECT_EQ(CosF(closest), static_cast<float>(std::cos(static_cast<double>(closest))));
  EXPECT_LT(std::fabs(std::min(std::fabs(SinF(closest)), std::fabs(CosF(closest)))), 0x1p-29f);
  // The float nearest pi/2 and pi: cos and sin are tiny but must be exact to
  // the last bit, which needs many bits of pi.
  float pio2 = 0x1.921fb6p+0f, pi = 0x1.921fb6p+1f;
  EXPECT_EQ(CosF(pio2), static_cast<float>(std::cos(static_cast<double>(pio2))));
  EXPECT_EQ(SinF(pi), static_cast<float>(std::sin(static_cast<double>(pi))));
}

// sin is odd and cos even, bit for bit.
TEST(MathSinCos, Symmetry) {
  for (uint64_t b = 1; b < 0x7f800000u; b += 40009) {
    float x = F(static_cast<uint32_t>(b));
    ASSERT_EQ(U(SinF(-x)), U(SinF(x)) ^ 0x80000000u) << x;
    ASSERT_EQ(U(CosF(-x)), U(CosF(x))) << x;
  }
}

// ---------------------------------------------------------------- rsqrt ----

TEST(MathRsqrt, WholeRange) {
  ErrorStats s;
  SweepAllPatterns(RsqrtF, RefRsqrt, &s);
  std::printf("%s\n", s.Describe("RsqrtF").c_str());
  EXPECT_LE(s.max_ulp, kTightBound) << s.Describe("RsqrtF");
}

TEST(MathRsqrt, SpecialValues) {
  EXPECT_EQ(RsqrtF(0.0f), kInf);
  EXPECT_EQ(RsqrtF(-0.0f), -kInf);  // 1 / sqrt(-0) = 1 / -0
  EXPECT_EQ(U(RsqrtF(kInf)), U(0.0f));
  EXPECT_EQ(RsqrtF(4.0f), 0.5f);
  EXPECT_EQ(RsqrtF(0x1p-148f), 0x1p74f);
  ExpectCanonicalNaN(RsqrtF(-1.0f), "RsqrtF(-1)");
  ExpectCanonicalNaN(RsqrtF(-kInf), "RsqrtF(-inf)");
  for (float nan : kNaNs) ExpectCanonicalNaN(RsqrtF(nan), "RsqrtF(NaN)");
}

// -------------------------------------------------------- determinism ----

// FNV-1a over the result bits of every function on a strided sweep, pinned.
// The same constant must come out of every build (-march=native and
// -march=x86-64, any machine); a change in any result bit changes it. If the
// functions are deliberately changed, re-pin it, which changes the numerics
// of every recorded training run.
TEST(MathDeterminism, PinnedFingerprint) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](float y) {
    uint32_t u = U(y);
    for (int i = 0; i < 4; ++i) {
      h ^= (u >> (8 * i)) & 0xffu;
      h *= 0x100000001b3ull;
    }
  };
  std::vector<float> xs, ys;
  for (uint64_t b = 7; b <= 0xffffffffu; b += 65521) xs.push_back(F(static_cast<uint32_t>(b)));
  ys.resize(xs.size());
  ExpArray(xs.data(), ys.data(), static_cast<int64_t>(xs.size()));
  for (size_t i = 0; i < xs.size(); ++i) {
    float x = xs[i];
    mix(ExpF(x));
    mix(ys[i]);
    mix(LogF(x));
    mix(SinF(x));
    mix(CosF(x));
    mix(RsqrtF(x));
  }
  EXPECT_EQ(h, 0x6b3a9ac1006c6223ull) << std::hex << "fingerprint 0x" << h;
}

}  // namespace
}  // namespace aftune
