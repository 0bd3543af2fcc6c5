// aftune's own transcendental functions, built only from IEEE-754 operations
// that every machine rounds the same way (+ - * / sqrt and explicit fma), so
// their results are bit-identical everywhere. Library functions (std::exp,
// std::log, ...) are never used in the numeric path: their last bit differs
// between libm versions and instruction sets.
//
// Accuracy over the whole f32 range is tested in mathfn_test.cc.
#pragma once

#include <cmath>

namespace aftune {

// e^x. Overflows to +inf above ~88.72, underflows to 0 (through subnormals)
// below ~-103.97; NaN in, NaN out.
float ExpF(float x);
// Natural log. LogF(0) = -inf, LogF(x < 0) = NaN, LogF(inf) = inf.
float LogF(float x);
// sin and cos of x in radians, for every finite x (full range reduction).
float SinF(float x);
float CosF(float x);
// 1 / sqrt(x), correctly rounded operations only (a division of an IEEE sqrt).
float RsqrtF(float x);
// IEEE sqrt: correctly rounded by the standard, so safe to use directly.
inline float SqrtF(float x) { return std::sqrt(x); }

}  // namespace aftune
