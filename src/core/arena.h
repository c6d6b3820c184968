// Planned memory: a Carver hands out consecutive aligned slices of one block. Run the same
// sequence of take() calls twice: first without a block to learn the total size, then over
// the block allocated for exactly that size. So activation memory is one counted
// allocation whose size is known before the first step.
#pragma once

#include <cstddef>

#include "core/allocator.h"

namespace bertrain {

class Carver {
 public:
  explicit Carver(std::byte* base = nullptr) : base_(base) {}
  // Returns null while sizing (no base).
  template <typename T>
  T* take(size_t count) {
    T* p = base_ ? reinterpret_cast<T*>(base_ + used_) : nullptr;
    used_ += Allocator::charged_size(count * sizeof(T));
    return p;
  }
  size_t used() const { return used_; }

 private:
  std::byte* base_;
  size_t used_ = 0;
};

}  // namespace bertrain
