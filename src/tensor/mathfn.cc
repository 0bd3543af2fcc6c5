#include "tensor/mathfn.h"

// Placeholder: replaced by the project's own implementations.
namespace aftune {
float ExpF(float x) { return std::exp(x); }
float LogF(float x) { return std::log(x); }
float SinF(float x) { return std::sin(x); }
float CosF(float x) { return std::cos(x); }
float RsqrtF(float x) { return 1.0f / std::sqrt(x); }
}  // namespace aftune
