#include "kernels/cpu/convert.h"

#include "core/dtype.h"
#include "core/parallel.h"

namespace bertrain::cpu {

namespace {

// dst[i] = f(src[i]) over the pool, each thread a plain loop: with the format chosen once
// per call (not per element) and the conversions inline, the loops vectorise.
template <typename Dst, typename Src, typename F>
void map_elements(Dst* dst, const Src* src, int64_t n, F f) {
  parallel_range(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] = f(src[i]);
  });
}

// Calls body(narrow, widen) with the format's two conversions as lambdas, so that each
// format gets its own loop.
template <typename Body>
void with_format(HalfFormat f, Body body) {
  if (f == HalfFormat::BF16)
    body([](float v) { return float_to_bf16(v); }, [](uint16_t h) { return bf16_to_float(h); });
  else
    body([](float v) { return float_to_f16(v); }, [](uint16_t h) { return f16_to_float(h); });
}

}  // namespace

template <typename T>
void to_half(uint16_t* dst, const T* x, int64_t n, HalfFormat f) {
  with_format(f, [&](auto narrow, auto) {
    map_elements(dst, x, n, [&](T v) { return narrow(static_cast<float>(v)); });
  });
}

template <typename T>
void from_half(T* dst, const uint16_t* x16, int64_t n, HalfFormat f) {
  with_format(f, [&](auto, auto widen) {
    map_elements(dst, x16, n, [&](uint16_t h) { return static_cast<T>(widen(h)); });
  });
}

template <typename T>
void round_half(T* x, int64_t n, HalfFormat f, uint16_t* store) {
  with_format(f, [&](auto narrow, auto widen) {
    if (!store) {
      map_elements(x, x, n,
                   [&](T v) { return static_cast<T>(widen(narrow(static_cast<float>(v)))); });
      return;
    }
    parallel_range(n, [&](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        const uint16_t h = narrow(static_cast<float>(x[i]));
        store[i] = h;
        x[i] = static_cast<T>(widen(h));
      }
    });
  });
}

#define BERTRAIN_INSTANTIATE(T)                                         \
  template void to_half<T>(uint16_t*, const T*, int64_t, HalfFormat);   \
  template void from_half<T>(T*, const uint16_t*, int64_t, HalfFormat); \
  template void round_half<T>(T*, int64_t, HalfFormat, uint16_t*);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
