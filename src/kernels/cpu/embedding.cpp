#include "kernels/cpu/embedding.h"

#include "core/parallel.h"

namespace bertrain::cpu {

template <typename T>
void embedding_forward(T* out, const int32_t* ids, const int32_t* types, const T* word,
                       const T* pos, const T* type, int B, int S, int H) {
  parallel_for(
      static_cast<int64_t>(B) * S,
      [&](int64_t r) {
        const T* w = word + static_cast<int64_t>(ids[r]) * H;
        const T* p = pos + (r % S) * H;
        const T* t = type + static_cast<int64_t>(types[r]) * H;
        T* o = out + r * H;
        for (int c = 0; c < H; ++c) o[c] = (w[c] + t[c]) + p[c];  // HF order: (word + type) + pos
      },
      H);
}

template <typename T>
void embedding_backward(T* dword, T* dpos, T* dtype, const T* dout, const int32_t* ids,
                        const int32_t* types, int B, int S, int H, int padding_idx) {
  // Rows may share an id, so split the work by columns instead of rows.
  parallel_column_blocks(H, static_cast<int64_t>(B) * S, [&](int c0, int c1) {
    for (int64_t r = 0; r < static_cast<int64_t>(B) * S; ++r) {
      const T* g = dout + r * H;
      T* dp = dpos + (r % S) * H;
      T* dt = dtype + static_cast<int64_t>(types[r]) * H;
      for (int c = c0; c < c1; ++c) {
        dp[c] += g[c];
        dt[c] += g[c];
      }
      if (ids[r] == padding_idx) continue;
      T* dw = dword + static_cast<int64_t>(ids[r]) * H;
      for (int c = c0; c < c1; ++c) dw[c] += g[c];
    }
  });
}

#define BERTRAIN_INSTANTIATE(T)                                                                  \
  template void embedding_forward<T>(T*, const int32_t*, const int32_t*, const T*, const T*,     \
                                     const T*, int, int, int);                                   \
  template void embedding_backward<T>(T*, T*, T*, const T*, const int32_t*, const int32_t*, int, \
                                      int, int, int);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
