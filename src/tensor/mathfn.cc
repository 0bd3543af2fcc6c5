// aftune's transcendental functions (see mathfn.h for the contract).
//
// Method: every function widens its f32 argument to f64, computes the result
// in f64 with + - * / sqrt only (no fma, no libm), and rounds to f32 once at
// the end. The f64 result carries a relative error of a few 2^-53, far under
// half an f32 ulp (2^-25 relative), so the final rounding is correct except
// when the exact value lies within that distance of a midpoint between two
// floats; the error is then barely above 0.5 ulp, never 1.
//
// Measured over all 2^32 inputs against glibc's f64 functions (mathfn_test.cc
// sweeps a strided subset): max error in f32 ulps
//   ExpF 0.499999998   LogF 0.500000000   SinF 0.500000000
//   CosF 0.500000002   RsqrtF 0.499999998
// All results are correctly rounded but one: CosF(+-0x1.4555p+51), whose
// exact value lies 1.3e-9 ulp above a midpoint (0.5000000013 ulp error).
//
// Every operation used is an IEEE-754 basic operation (or an integer
// operation), so the bits are the same on every machine and instruction set.
// A NaN result is always the canonical quiet NaN 0x7fc00000, whatever NaN or
// domain error produced it: hardware NaN payloads and signs differ.
#include "tensor/mathfn.h"

#include <bit>
#include <cstring>

namespace aftune {

namespace {

constexpr float kNaN = std::bit_cast<float>(0x7fc00000u);
constexpr float kInf = std::bit_cast<float>(0x7f800000u);

uint64_t Bits(double d) { return std::bit_cast<uint64_t>(d); }
double FromBits(uint64_t u) { return std::bit_cast<double>(u); }
uint32_t Bits(float f) { return std::bit_cast<uint32_t>(f); }
float FromBits(uint32_t u) { return std::bit_cast<float>(u); }

// ---------------------------------------------------------------- exp ----

// 0x1.8p52: adding it to |v| < 2^51 rounds v to an integer (round to nearest
// even, the IEEE default) and leaves that integer in the low mantissa bits.
constexpr double kShifter = 0x1.8p52;
constexpr double kLog2e = 0x1.71547652b82fep+0;
// Cody-Waite split of ln 2 (as fdlibm): kLn2Hi has 32 significant bits, so
// k * kLn2Hi is exact for |k| < 2^21; kLn2Lo = ln 2 - kLn2Hi rounded.
constexpr double kLn2Hi = 0x1.62e42fee00000p-1;
constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;
// |x| is clamped to 150 (as f32 bits): e^-150 < 2^-151 and e^150 > 2^216
// round to 0 and +inf anyway, and the clamp keeps k small.
constexpr uint32_t kExpClampBits = 0x43160000u;  // 150.0f

// e^r for |r| <= 0.35 (ln 2 / 2 plus slack): Taylor polynomial of degree 12,
// coefficients 1/n! rounded to f64, evaluated by Estrin's scheme (pairs,
// then pairs of pairs) for a short dependency chain. Truncation error
// < 0.35^13 / 13! < 2^-52 relative.
double ExpPoly(double r) {
  constexpr double c2 = 0.5, c3 = 0x1.5555555555555p-3, c4 = 0x1.5555555555555p-5,
                   c5 = 0x1.1111111111111p-7, c6 = 0x1.6c16c16c16c17p-10, c7 = 0x1.a01a01a01a01ap-13,
                   c8 = 0x1.a01a01a01a01ap-16, c9 = 0x1.71de3a556c734p-19, c10 = 0x1.27e4fb7789f5cp-22,
                   c11 = 0x1.ae64567f544e4p-26, c12 = 0x1.1eed8eff8d898p-29;  // c_n = 1/n!
  double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  double p01 = 1.0 + r, p23 = c2 + c3 * r, p45 = c4 + c5 * r, p67 = c6 + c7 * r;
  double p89 = c8 + c9 * r, p1011 = c10 + c11 * r;
  double p03 = p01 + p23 * r2, p47 = p45 + p67 * r2, p811 = p89 + p1011 * r2;
  double p07 = p03 + p47 * r4, p812 = p811 + c12 * r4;
  return p07 + p812 * r8;
}

// e^x = 2^k * e^r with k = round(x / ln 2), r = x - k ln 2 (Cody-Waite), and
// 2^k built directly in the exponent field. Branch-free so that ExpArray
// vectorizes: GCC must not turn any select into a branch around the
// floating-point code (which may trap, so it would not be if-converted back),
// hence no floating-point compares and a NaN mask built by arithmetic. A NaN
// is clamped like any other input and its result replaced by the canonical
// NaN at the end.
inline float ExpCore(float x) {
  uint32_t bx = Bits(x);
  uint32_t ax = bx & 0x7fffffffu;
  // All ones when x is NaN (ax > 0x7f800000), else zero.
  uint32_t nan_mask = static_cast<uint32_t>(static_cast<int32_t>(0x7f800000u - ax) >> 31);
  ax = ax > kExpClampBits ? kExpClampBits : ax;
  double xd = FromBits((bx & 0x80000000u) | ax);
  double t = xd * kLog2e + kShifter;
  double kd = t - kShifter;
  // k as an integer: the low mantissa bits of t (two's complement wraps).
  uint64_t k = Bits(t) - Bits(kShifter);
  double r = (xd - kd * kLn2Hi) - kd * kLn2Lo;
  double scale = FromBits((k + 1023) << 52);  // 2^k, |k| <= 217: normal f64
  uint32_t y = Bits(static_cast<float>(ExpPoly(r) * scale));
  return FromBits(y ^ ((y ^ 0x7fc00000u) & nan_mask));
}

// Applies ExpCore over n elements; the restrict qualifiers let GCC vectorize
// without runtime alias checks.
void ExpKernel(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = ExpCore(x[i]);
}

// ---------------------------------------------------------------- log ----

constexpr double kLn2 = 0x1.62e42fefa39efp-1;
// Bits of sqrt(1/2) in f64.
constexpr uint64_t kSqrtHalfBits = 0x3fe6a09e667f3bcdull;

// ln(m) for m in [sqrt(1/2), sqrt(2)): with s = (m - 1) / (m + 1),
// ln(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...). |s| <= 0.1716, s^2 <=
// 0.0295; the series is cut after s^19, truncation < 0.0295^10 / 21 < 2^-55
// relative.
double LogOfReduced(double m) {
  double f = m - 1.0;  // exact (Sterbenz)
  double s = f / (2.0 + f);
  double z = s * s;
  double p = 1.0 / 19;
  p = p * z + 1.0 / 17;
  p = p * z + 1.0 / 15;
  p = p * z + 1.0 / 13;
  p = p * z + 1.0 / 11;
  p = p * z + 1.0 / 9;
  p = p * z + 1.0 / 7;
  p = p * z + 1.0 / 5;
  p = p * z + 1.0 / 3;
  return 2.0 * s + 2.0 * s * (z * p);
}

// ---------------------------------------------------------- sin / cos ----

// 2/pi in binary, 32 bits a word, most significant first: bit i (i >= 1)
// has weight 2^-i. A leading zero word stands for the (zero) bits of index
// -31 .. 0, so that windows starting left of the binary point need no
// special case.
constexpr uint32_t kTwoOverPi[] = {
    0x00000000, 0xa2f9836e, 0x4e441529, 0xfc2757d1, 0xf534ddc0,
    0xdb629599, 0x3c439041, 0xfe5163ab, 0xdebbc561, 0xb7246e3a,
};
constexpr double kPiOver2 = 0x1.921fb54442d18p+0;
constexpr float kPiOver4 = 0x1.921fb6p-1f;  // just above pi/4

// The 96 bits of 2/pi with indices first .. first + 95, as three words.
// REQUIRES: -31 <= first <= 192 (the table's length).
void TwoOverPiWindow(int first, uint32_t w[3]) {
  int pos = first + 31;  // bit position in kTwoOverPi, 0 = its leading bit
  int word = pos / 32, shift = pos % 32;
  for (int j = 0; j < 3; ++j) {
    uint64_t pair = (static_cast<uint64_t>(kTwoOverPi[word + j]) << 32) | kTwoOverPi[word + j + 1];
    w[j] = static_cast<uint32_t>(pair >> (32 - shift));
  }
}

struct Reduced {
  double r;     // the remainder, |r| <= pi/4 (+ rounding)
  uint32_t n;   // the quadrant, mod 4
};

// Payne-Hanek reduction of a finite ax >= pi/4: ax = (4j + n) pi/2 + r.
// Write ax = M 2^E with a 24-bit integer M. The bits of 2/pi with index
// i <= E - 2 contribute multiples of 4 to ax * 2/pi and are dropped; the next
// 96 bits W (indices E-1 .. E+94) give ax * 2/pi = M W 2^-94 (mod 4), with an
// error from the dropped tail below M 2^-94 < 2^-70. Bits 94, 95 of M W are
// the quadrant, the bits below its fraction. No float >= pi/4 lies closer
// than 2^-29.2 to a multiple of pi/2 (an exhaustive search finds the closest,
// x = 0x1.f37c8ap+95, at 0x1.bbdd52p-30), so the error of the remainder is
// below 2^-40 of it.
Reduced ReduceLarge(float ax) {
  uint32_t u = Bits(ax);
  uint64_t m = (u & 0x7fffffu) | 0x800000u;
  int e = static_cast<int>(u >> 23) - 150;
  uint32_t w[3];
  TwoOverPiWindow(e - 1, w);
  // M W mod 2^96 from three 24x32-bit products.
  uint64_t lo = m * w[2];
  uint64_t mid = m * w[1] + (lo >> 32);
  uint64_t hi = m * w[0] + (mid >> 32);
  // The top 64 of the 96 bits: 2 bits of quadrant, 62 of fraction.
  uint64_t top = (hi << 32) | (mid & 0xffffffffu);
  uint64_t n = (top + (1ull << 61)) >> 62;  // round to the nearest quadrant
  auto frac = static_cast<int64_t>(top - (n << 62));  // in [-2^61, 2^61)
  double q = static_cast<double>(frac) * 0x1p-62 + static_cast<double>(lo & 0xffffffffu) * 0x1p-94;
  return {q * kPiOver2, static_cast<uint32_t>(n & 3)};
}

Reduced Reduce(float ax) {
  if (ax <= kPiOver4) return {ax, 0};
  return ReduceLarge(ax);
}

// sin(r) for |r| <= pi/4: Taylor polynomial through r^15 (coefficients
// (-1)^k / (2k+1)! rounded to f64); truncation < (pi/4)^17 / 17! < 2^-54
// relative.
double SinPoly(double r) {
  double z = r * r;
  double p = -0x1.ae7f3e733b81fp-41;  // -1/15!
  p = p * z + 0x1.6124613a86d09p-33;  // 1/13!
  p = p * z - 0x1.ae64567f544e4p-26;  // -1/11!
  p = p * z + 0x1.71de3a556c734p-19;  // 1/9!
  p = p * z - 0x1.a01a01a01a01ap-13;  // -1/7!
  p = p * z + 0x1.1111111111111p-7;   // 1/5!
  p = p * z - 0x1.5555555555555p-3;   // -1/3!
  return r + r * (z * p);
}

// cos(r) for |r| <= pi/4: Taylor polynomial through r^16; truncation
// < (pi/4)^18 / 18! < 2^-58.
double CosPoly(double r) {
  double z = r * r;
  double p = 0x1.ae7f3e733b81fp-45;   // 1/16!
  p = p * z - 0x1.93974a8c07c9dp-37;  // -1/14!
  p = p * z + 0x1.1eed8eff8d898p-29;  // 1/12!
  p = p * z - 0x1.27e4fb7789f5cp-22;  // -1/10!
  p = p * z + 0x1.a01a01a01a01ap-16;  // 1/8!
  p = p * z - 0x1.6c16c16c16c17p-10;  // -1/6!
  p = p * z + 0x1.5555555555555p-5;   // 1/4!
  p = p * z - 0.5;
  return 1.0 + z * p;
}

// sin(n pi/2 + r) for the quadrant n in 0..3.
double SinQuadrant(double r, uint32_t n) {
  double v = (n & 1) ? CosPoly(r) : SinPoly(r);
  return (n & 2) ? -v : v;
}

float Negate(float f, uint32_t sign_bit) { return FromBits(Bits(f) ^ sign_bit); }
bool IsFinite(float f) { return (Bits(f) & 0x7f800000u) != 0x7f800000u; }

}  // namespace

float ExpF(float x) { return ExpCore(x); }

void ExpArray(const float* x, float* y, int64_t n) {
  // x and y may be the same array: go through a local buffer, which the
  // compiler knows aliases neither.
  constexpr int64_t kChunk = 256;
  float buf[kChunk];
  for (int64_t i = 0; i < n; i += kChunk) {
    int64_t m = n - i < kChunk ? n - i : kChunk;
    std::memcpy(buf, x + i, static_cast<size_t>(m) * sizeof(float));
    ExpKernel(buf, y + i, m);
  }
}

// ln x = k ln 2 + ln m with x = 2^k m, m in [sqrt(1/2), sqrt(2)). Widening
// to f64 makes f32 subnormals normal, so no rescaling is needed.
float LogF(float x) {
  if (!(x > 0.0f)) return x == 0.0f ? -kInf : kNaN;  // x < 0 or NaN: NaN
  if (x == kInf) return kInf;
  uint64_t ix = Bits(static_cast<double>(x));
  // k = the exponent of x / sqrt(1/2) (arithmetic shift), m = x / 2^k.
  int64_t k = static_cast<int64_t>(ix - kSqrtHalfBits) >> 52;
  double m = FromBits(ix - (static_cast<uint64_t>(k) << 52));
  return static_cast<float>(static_cast<double>(k) * kLn2 + LogOfReduced(m));
}

// sin(-x) = -sin(x): reduce |x| and flip the sign of the result.
float SinF(float x) {
  if (!IsFinite(x)) return kNaN;
  uint32_t sign = Bits(x) & 0x80000000u;
  Reduced red = Reduce(FromBits(Bits(x) & 0x7fffffffu));
  return Negate(static_cast<float>(SinQuadrant(red.r, red.n)), sign);
}

// cos(x) = cos(|x|) = sin(|x| + pi/2): one quadrant further.
float CosF(float x) {
  if (!IsFinite(x)) return kNaN;
  Reduced red = Reduce(FromBits(Bits(x) & 0x7fffffffu));
  return static_cast<float>(SinQuadrant(red.r, (red.n + 1) & 3));
}

// In f64 the sqrt and the division each err by at most 2^-53 (relative), so
// the one rounding to f32 is correct except within 2^-28 ulp of a midpoint
// (1.0f / sqrtf(x) rounds twice in f32 and errs by up to 1.5 ulp).
float RsqrtF(float x) {
  float y = static_cast<float>(1.0 / std::sqrt(static_cast<double>(x)));
  return y != y ? kNaN : y;
}

}  // namespace aftune
