// RAII owner of one typed allocation from an Allocator (in its backend's memory: the element
// accessors are for host-visible allocators). Move-only; zero-initialised.
#pragma once

#include <span>
#include <string_view>
#include <utility>

#include "core/allocator.h"

namespace bertrain {

template <typename T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(size_t count, MemCategory category, std::string_view what,
         Allocator& allocator = cpu_allocator())
      : allocator_(&allocator), category_(category), count_(count) {
    data_ = static_cast<T*>(allocator.allocate(count * sizeof(T), category, what));
    allocator.zero(data_, count * sizeof(T));
  }
  Buffer(Buffer&& o) noexcept { swap(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    Buffer tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() {
    if (data_) allocator_->release(data_, count_ * sizeof(T), category_);
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return count_; }
  std::span<T> span() { return {data_, count_}; }
  std::span<const T> span() const { return {data_, count_}; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  void swap(Buffer& o) noexcept {
    std::swap(allocator_, o.allocator_);
    std::swap(category_, o.category_);
    std::swap(count_, o.count_);
    std::swap(data_, o.data_);
  }
  Allocator* allocator_ = nullptr;
  MemCategory category_ = MemCategory::Temporaries;
  size_t count_ = 0;
  T* data_ = nullptr;
};

}  // namespace bertrain
