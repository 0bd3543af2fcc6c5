// aftune's own transcendental functions, built only from IEEE-754 operations
// that every machine rounds the same way (+ - * / sqrt and explicit fma), so
// their results are bit-identical everywhere. Library functions (std::exp,
// std::log, ...) are never used in the numeric path: their last bit differs
// between libm versions and instruction sets.
//
// Accuracy: every function is correctly rounded except in rare cases where the
// exact value lies extremely close to a midpoint between two floats; the
// error never exceeds 1 ulp. mathfn_test.cc measures this over the whole f32
// range. Any NaN result is the canonical quiet NaN (bits 0x7fc00000), whatever
// the NaN input or domain error; hardware differs in NaN payloads and signs.
//
// Thread safety: all functions are pure.
#pragma once

#include <cmath>
#include <cstdint>

namespace aftune {

// e^x. Overflows to +inf above ~88.72, underflows to 0 (through subnormals)
// below ~-103.97; NaN in, NaN out.
float ExpF(float x);
// Natural log. LogF(0) = -inf, LogF(x < 0) = NaN, LogF(inf) = inf.
float LogF(float x);
// sin and cos of x in radians, for every finite x (full Payne-Hanek range
// reduction, exact for huge x such as 1e30); NaN for +-inf and NaN.
float SinF(float x);
float CosF(float x);
// y[i] = ExpF(x[i]) for i in [0, n), bit for bit; vectorized. y may be x
// (in-place); otherwise the two ranges must not overlap.
void ExpArray(const float* x, float* y, int64_t n);
// 1 / sqrt(x), from correctly rounded operations only (an f64 division of an
// f64 IEEE sqrt, rounded once to f32). RsqrtF(+-0) = +-inf, RsqrtF(x < 0) = NaN.
float RsqrtF(float x);
// IEEE sqrt: correctly rounded by the standard, so safe to use directly.
inline float SqrtF(float x) { return std::sqrt(x); }

}  // namespace aftune
