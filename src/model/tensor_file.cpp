#include "model/tensor_file.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace bertrain {

static bool is_floating(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::BF16 || t == DType::F16;
}

void convert_checked(const std::string& path, const std::string& name, DType stored,
                     const Shape& stored_shape, const unsigned char* src, const Shape& expected,
                     void* dst, DType dst_type) {
  if (stored_shape != expected) {
    fail(path, ": tensor \"", name, "\" has shape ", shape_str(stored_shape), ", expected ",
         shape_str(expected));
  }
  if (is_floating(stored) != is_floating(dst_type)) {
    fail(path, ": tensor \"", name, "\" has dtype ", dtype_name(stored), ", expected ",
         is_floating(dst_type) ? "a floating type" : "an integer type");
  }
  // Mapped data may be unaligned for its dtype; convert() reads through typed pointers, so
  // stage through an aligned copy when needed.
  const size_t n = static_cast<size_t>(shape_numel(stored_shape));
  if (reinterpret_cast<uintptr_t>(src) % dtype_size(stored) != 0) {
    std::vector<uint64_t> staged((n * dtype_size(stored) + 7) / 8);
    std::memcpy(staged.data(), src, n * dtype_size(stored));
    convert(staged.data(), stored, dst, dst_type, n);
  } else {
    convert(src, stored, dst, dst_type, n);
  }
}

}  // namespace bertrain
