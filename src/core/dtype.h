// Element types and the 16-bit float conversions (round to nearest even, as torch does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bertrain {

enum class DType { F32, F64, BF16, F16, I32, I64, U8 };

size_t dtype_size(DType t);
// Safetensors spelling: "F32", "BF16", ...
std::string_view dtype_name(DType t);
// Parses the safetensors spelling; returns false for an unknown name.
bool parse_dtype(std::string_view name, DType* out);

uint16_t float_to_bf16(float f);
float bf16_to_float(uint16_t h);
uint16_t float_to_f16(float f);
float f16_to_float(uint16_t h);

// Converts n elements between any two floating or integer dtypes (via double).
void convert(const void* src, DType src_type, void* dst, DType dst_type, size_t n);

}  // namespace bertrain
