#include "core/allocator.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>

namespace bertrain {

std::string_view category_name(MemCategory c) {
  switch (c) {
    case MemCategory::Weights:
      return "weights";
    case MemCategory::Gradients:
      return "gradients";
    case MemCategory::OptimizerState:
      return "optimizer_state";
    case MemCategory::Activations:
      return "activations";
    case MemCategory::Temporaries:
      return "temporaries";
    case MemCategory::Data:
      return "data";
    case MemCategory::Count:
      break;
  }
  return "?";
}

std::string format_bytes(size_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%zu B", bytes);
  else
    std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

Allocator::Allocator(std::string device, size_t limit_bytes, const RawMemory& raw)
    : device_(std::move(device)), raw_(&raw), limit_(limit_bytes) {}

static std::string oom_message(const std::string& device, std::string_view what, MemCategory c,
                               size_t bytes, size_t allocated, size_t limit) {
  std::ostringstream os;
  os << "out of memory on " << device << ": tried to allocate " << format_bytes(bytes) << " for "
     << what << " (" << category_name(c) << "); " << format_bytes(allocated)
     << " already allocated";
  if (limit) {
    os << ", limit " << format_bytes(limit) << " ("
       << format_bytes(limit > allocated ? limit - allocated : 0) << " free)";
  }
  os << ". To use less memory: lower --per_device_train_batch_size (keep the effective batch "
        "with --gradient_accumulation_steps), lower --max_seq_length, enable "
        "--gradient_checkpointing, or use --bf16/--fp16.";
  return os.str();
}

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Buffers of 2 MiB and more are 2 MiB-aligned and advised onto transparent huge pages (where
// the kernel offers them only on request, as Debian's default "madvise" mode does): touching
// them the first time costs one page fault per 2 MiB instead of per 4 KiB, and GEMMs and
// AdamW walk them with fewer TLB misses. The bytes counted do not change.
void* system_allocate(size_t bytes) {
  if (bytes < kHugePage) return std::aligned_alloc(Allocator::kAlignment, bytes);
  const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
#ifdef MADV_HUGEPAGE
  if (p) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
  return p;
}

void host_zero(void* ptr, size_t bytes) {
  std::memset(ptr, 0, bytes);
}

}  // namespace

const RawMemory& host_memory() {
  static const RawMemory raw{system_allocate, std::free, host_zero, true};
  return raw;
}

void* Allocator::allocate(size_t bytes, MemCategory category, std::string_view what) {
  size_t charged = charged_size(bytes == 0 ? 1 : bytes);
  {
    std::lock_guard lock(mutex_);
    if (limit_ && (charged > limit_ || allocated_ > limit_ - charged)) {
      throw OutOfMemoryError(oom_message(device_, what, category, charged, allocated_, limit_),
                             charged, allocated_, limit_);
    }
    allocated_ += charged;
    by_category_[static_cast<size_t>(category)] += charged;
    if (allocated_ > peak_) {
      peak_ = allocated_;
      at_peak_ = by_category_;
    }
  }
  void* p = raw_->allocate(charged);
  if (!p) {
    std::lock_guard lock(mutex_);
    allocated_ -= charged;
    by_category_[static_cast<size_t>(category)] -= charged;
    throw OutOfMemoryError(oom_message(device_, what, category, charged, allocated_, limit_),
                           charged, allocated_, limit_);
  }
  return p;
}

void Allocator::release(void* ptr, size_t bytes, MemCategory category) {
  if (!ptr) return;
  raw_->release(ptr);
  size_t charged = charged_size(bytes == 0 ? 1 : bytes);
  std::lock_guard lock(mutex_);
  allocated_ -= charged;
  by_category_[static_cast<size_t>(category)] -= charged;
}

size_t Allocator::allocated() const {
  std::lock_guard lock(mutex_);
  return allocated_;
}

size_t Allocator::allocated(MemCategory c) const {
  std::lock_guard lock(mutex_);
  return by_category_[static_cast<size_t>(c)];
}

size_t Allocator::peak() const {
  std::lock_guard lock(mutex_);
  return peak_;
}

MemByCategory Allocator::peak_breakdown() const {
  std::lock_guard lock(mutex_);
  return at_peak_;
}

size_t Allocator::limit() const {
  std::lock_guard lock(mutex_);
  return limit_;
}

void Allocator::set_limit(size_t bytes) {
  std::lock_guard lock(mutex_);
  limit_ = bytes;
}

void Allocator::reset_peak() {
  std::lock_guard lock(mutex_);
  peak_ = allocated_;
  at_peak_ = by_category_;
}

Allocator& cpu_allocator() {
  static Allocator instance("cpu");
  return instance;
}

}  // namespace bertrain
