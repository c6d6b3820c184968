#include <cmath>

#include "kernels/cuda/adamw.h"
#include "kernels/cuda/bf16.cuh"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

constexpr int kThreads = 256;

// The step's constants, computed on the host in double exactly as the CPU kernel does.
struct AdamWConstants {
  float decay, b1, b2, one_minus_b1, one_minus_b2, step_size, bc2_sqrt, eps, scale;
};

// One element: returns the updated parameter; m and v are updated in place.
__device__ float adamw_one(float param, float grad, float& m, float& v, const AdamWConstants& c) {
  grad *= c.scale;
  param *= c.decay;
  m = m * c.b1 + grad * c.one_minus_b1;
  v = v * c.b2 + grad * grad * c.one_minus_b2;
  return param - c.step_size * (m / (sqrtf(v) / c.bc2_sqrt + c.eps));
}

__global__ void adamw_kernel(float* p, float* g, float* m, float* v, int64_t n, AdamWConstants c,
                             uint16_t* p_bf16) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  float mi = m[i], vi = v[i];
  const float updated = adamw_one(p[i], g[i], mi, vi, c);
  g[i] = 0.0f;
  m[i] = mi;
  v[i] = vi;
  p[i] = updated;
  if (p_bf16) p_bf16[i] = float_to_bf16(updated);
}

// The same on four elements per thread with 16-byte loads and stores (the update streams seven
// arrays; wide accesses keep more bytes in flight). n4 counts groups of four.
__global__ void adamw4_kernel(float4* p, float4* g, float4* m, float4* v, int64_t n4,
                              AdamWConstants c, uint2* p_bf16) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n4) return;
  float4 pi = p[i], mi = m[i], vi = v[i];
  const float4 gi = g[i];
  pi.x = adamw_one(pi.x, gi.x, mi.x, vi.x, c);
  pi.y = adamw_one(pi.y, gi.y, mi.y, vi.y, c);
  pi.z = adamw_one(pi.z, gi.z, mi.z, vi.z, c);
  pi.w = adamw_one(pi.w, gi.w, mi.w, vi.w, c);
  g[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  m[i] = mi;
  v[i] = vi;
  p[i] = pi;
  if (p_bf16)
    p_bf16[i] = make_uint2(float_to_bf16(pi.x) | (unsigned{float_to_bf16(pi.y)} << 16),
                           float_to_bf16(pi.z) | (unsigned{float_to_bf16(pi.w)} << 16));
}

bool aligned(const void* ptr, size_t bytes) {
  return reinterpret_cast<uintptr_t>(ptr) % bytes == 0;
}

}  // namespace

void adamw_update(float* p, float* g, float* m, float* v, int64_t n, const AdamWStep& s,
                  uint16_t* p_bf16) {
  if (n == 0) return;
  const double t = static_cast<double>(s.t);
  const AdamWConstants c{static_cast<float>(1.0 - s.lr * s.weight_decay),
                         static_cast<float>(s.beta1),
                         static_cast<float>(s.beta2),
                         static_cast<float>(1.0 - s.beta1),
                         static_cast<float>(1.0 - s.beta2),
                         static_cast<float>(s.lr / (1.0 - std::pow(s.beta1, t))),
                         static_cast<float>(std::sqrt(1.0 - std::pow(s.beta2, t))),
                         static_cast<float>(s.eps),
                         static_cast<float>(s.grad_scale)};
  // Groups of four where every array is aligned for it, then the rest one by one.
  const bool wide =
      aligned(p, 16) && aligned(g, 16) && aligned(m, 16) && aligned(v, 16) && aligned(p_bf16, 8);
  const int64_t n4 = wide ? n / 4 : 0, done = 4 * n4;
  if (n4 > 0) {
    adamw4_kernel<<<blocks_for(n4, kThreads), kThreads, 0, stream()>>>(
        reinterpret_cast<float4*>(p), reinterpret_cast<float4*>(g), reinterpret_cast<float4*>(m),
        reinterpret_cast<float4*>(v), n4, c, reinterpret_cast<uint2*>(p_bf16));
    check_launch("adamw_update (x4)");
  }
  if (done < n) {
    adamw_kernel<<<blocks_for(n - done, kThreads), kThreads, 0, stream()>>>(
        p + done, g + done, m + done, v + done, n - done, c, p_bf16 ? p_bf16 + done : nullptr);
    check_launch("adamw_update");
  }
}

}  // namespace bertrain::cuda
