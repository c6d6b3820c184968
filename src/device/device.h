// A Device: where the model and the optimizer allocate (through the accounting Allocator,
// in the backend's memory) and which kernels they run (the backend's op tables). A second
// backend fills one with its allocator and tables; model/ and train/ see nothing else.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "core/allocator.h"
#include "core/error.h"
#include "device/ops.h"

namespace bertrain {

struct Device {
  Allocator* allocator;
  const Ops<float>* f32;
  const Ops<double>* f64;  // the finite-difference checks' tables; null where a backend has none
  const Bf16Ops* bf16;

  const std::string& name() const { return allocator->device(); }
  // Whether the host may read and write the device's memory through its pointers.
  bool host_visible() const { return allocator->host_visible(); }
  template <typename T>
  const Ops<T>& ops() const {
    const Ops<T>* o;
    if constexpr (std::is_same_v<T, float>)
      o = f32;
    else
      o = f64;
    if (!o) fail("device ", name(), " has no kernels for this element type");
    return *o;
  }
};

// The CPU backend (kernels/cpu) allocating from `allocator`.
Device cpu_device(Allocator& allocator = cpu_allocator());

// Calls use(p) with p a host pointer to the n elements at device pointer src: src itself on a
// host-visible device, else a copy downloaded for the call.
template <typename T, typename F>
void read_on_host(const Device& d, const T* src, size_t n, F&& use) {
  if (d.host_visible()) return use(src);
  std::vector<T> host(n);
  d.f32->download(host.data(), src, n * sizeof(T));
  use(static_cast<const T*>(host.data()));
}

// Calls fill(p) to write n elements through host pointer p into device pointer dst: dst itself
// on a host-visible device, else a host buffer uploaded after the call.
template <typename T, typename F>
void write_from_host(const Device& d, T* dst, size_t n, F&& fill) {
  if (d.host_visible()) return fill(dst);
  std::vector<T> host(n);
  fill(host.data());
  d.f32->upload(dst, host.data(), n * sizeof(T));
}

}  // namespace bertrain
