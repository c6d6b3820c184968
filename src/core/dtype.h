// Element types and the 16-bit float conversions (round to nearest even, as torch does).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace bertrain {

enum class DType { F32, F64, BF16, F16, I32, I64, U8 };

size_t dtype_size(DType t);
// Safetensors spelling: "F32", "BF16", ...
std::string_view dtype_name(DType t);
// Parses the safetensors spelling; returns false for an unknown name.
bool parse_dtype(std::string_view name, DType* out);

// Inline, so that loops over arrays of them vectorise (mixed precision converts every stored
// activation and the weights each step).
inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline float float_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t float_to_bf16(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

inline float bf16_to_float(uint16_t h) {
  return float_from_bits(static_cast<uint32_t>(h) << 16);
}

inline uint16_t float_to_f16(float f) {
  uint32_t u = float_bits(f);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {
    // Result is subnormal (or zero) in f16: scale so the f16 ulp (2^-24) becomes 1.0 and
    // let the float unit round to nearest even.
    float scaled = float_from_bits(abs) * 16777216.0f;  // 2^24
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(scaled)));
  }
  // Normal: rebias exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even.
  uint32_t rounding = 0xfffu + ((abs >> 13) & 1u);
  uint32_t r = (abs - (112u << 23) + rounding) >> 13;
  return static_cast<uint16_t>(sign | r);
}

inline float f16_to_float(uint16_t h) {
  uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0) {
    float v = static_cast<float>(man) * (1.0f / 16777216.0f);  // man * 2^-24
    return sign ? -v : v;
  }
  if (exp == 31) return float_from_bits(sign | 0x7f800000u | (man << 13));
  return float_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
}

// Converts n elements between any two floating or integer dtypes (via double).
void convert(const void* src, DType src_type, void* dst, DType dst_type, size_t n);

}  // namespace bertrain
