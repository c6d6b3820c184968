// A host tensor: dtype + shape + one counted allocation. Used at the edges (file IO,
// inputs, outputs); the hot path works on raw pointers into flat buffers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/dtype.h"

namespace bertrain {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
// "[8, 16, 64]"
std::string shape_str(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape, MemCategory category = MemCategory::Data,
         std::string_view what = "tensor", Allocator& allocator = cpu_allocator());

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return storage_.size() == 0; }

  void* raw() { return storage_.data(); }
  const void* raw() const { return storage_.data(); }
  template <typename T>
  T* data() {
    return reinterpret_cast<T*>(storage_.data());
  }
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(storage_.data());
  }

  // A copy converted to another dtype (bf16/f16 rounding: nearest even).
  Tensor to(DType dtype, MemCategory category = MemCategory::Data) const;

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  Buffer<std::byte> storage_;
};

}  // namespace bertrain
