// Device memory with accounting: every byte bertrain allocates goes through an Allocator,
// which counts it by category, remembers the peak, and enforces an optional limit so a CPU
// run can behave like a card of a given size.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

#include "core/error.h"

namespace bertrain {

enum class MemCategory {
  Weights,
  Gradients,
  OptimizerState,
  Activations,
  Temporaries,
  Data,
  Count
};
constexpr size_t kNumMemCategories = static_cast<size_t>(MemCategory::Count);
using MemByCategory = std::array<size_t, kNumMemCategories>;

std::string_view category_name(MemCategory c);
// "1.50 GiB", "12.0 MiB", "512 B".
std::string format_bytes(size_t bytes);

// Thrown when an allocation would cross the memory limit (or the OS refuses it).
class OutOfMemoryError : public Error {
 public:
  OutOfMemoryError(const std::string& message, size_t requested, size_t allocated, size_t limit)
      : Error(message), requested(requested), allocated(allocated), limit(limit) {}
  size_t requested, allocated, limit;
};

// Where an Allocator's bytes come from: a backend's raw allocation, release and zero fill.
// Host memory (64-byte aligned, huge pages for large buffers) by default; a GPU backend
// passes its device's. host_visible says whether the host may read and write the memory
// through its pointers.
struct RawMemory {
  void* (*allocate)(size_t bytes);  // null when the backend refuses
  void (*release)(void* ptr);
  void (*zero)(void* ptr, size_t bytes);
  bool host_visible;
};
const RawMemory& host_memory();

class Allocator {
 public:
  static constexpr size_t kAlignment = 64;

  explicit Allocator(std::string device = "cpu", size_t limit_bytes = 0,
                     const RawMemory& raw = host_memory());
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Returns 64-byte aligned memory; throws OutOfMemoryError naming `what` when the limit
  // (0 = none) would be crossed.
  void* allocate(size_t bytes, MemCategory category, std::string_view what);
  void release(void* ptr, size_t bytes, MemCategory category);
  // Zero-fills bytes at ptr, memory this allocator gave.
  void zero(void* ptr, size_t bytes) const { raw_->zero(ptr, bytes); }
  bool host_visible() const { return raw_->host_visible; }
  const RawMemory& raw() const { return *raw_; }

  size_t allocated() const;
  size_t allocated(MemCategory c) const;
  size_t peak() const;
  // Per-category bytes at the moment the overall peak was reached.
  MemByCategory peak_breakdown() const;
  size_t limit() const;
  void set_limit(size_t bytes);
  void reset_peak();
  const std::string& device() const { return device_; }

  // The size actually charged for a request (rounded up to the alignment).
  static size_t charged_size(size_t bytes) {
    return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  }

 private:
  std::string device_;
  const RawMemory* raw_;
  mutable std::mutex mutex_;
  size_t limit_ = 0;
  size_t allocated_ = 0;
  size_t peak_ = 0;
  MemByCategory by_category_{};
  MemByCategory at_peak_{};
};

// The process-wide CPU allocator.
Allocator& cpu_allocator();

}  // namespace bertrain
