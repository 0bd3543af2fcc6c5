// Storage dtypes and their conversion to and from f32.
//
// Conversions are exact where the format allows and otherwise round to nearest
// even, done with integer operations only so every machine gives the same bits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aftune {

enum class DType { kF32, kBF16, kF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

// Spelled as safetensors spells it: "F32", "BF16", "F16", ...
std::string_view DTypeName(DType t);
std::optional<DType> ParseDType(std::string_view name);
// Bytes per element.
int DTypeSize(DType t);
// Whether the dtype can be loaded into f32 compute (F32, BF16, F16).
bool IsFloatStorage(DType t);

float BF16ToF32(uint16_t h);
uint16_t F32ToBF16(float f);  // round to nearest even; NaN stays NaN
float F16ToF32(uint16_t h);
uint16_t F32ToF16(float f);   // round to nearest even; overflow to inf

}  // namespace aftune
