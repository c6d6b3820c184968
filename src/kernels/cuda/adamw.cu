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

__global__ void adamw_kernel(float* p, float* g, float* m, float* v, int64_t n, AdamWConstants c,
                             uint16_t* p_bf16) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float grad = g[i] * c.scale;
  g[i] = 0.0f;
  const float param = p[i] * c.decay;
  const float mi = m[i] * c.b1 + grad * c.one_minus_b1;
  const float vi = v[i] * c.b2 + grad * grad * c.one_minus_b2;
  m[i] = mi;
  v[i] = vi;
  const float updated = param - c.step_size * (mi / (sqrtf(vi) / c.bc2_sqrt + c.eps));
  p[i] = updated;
  if (p_bf16) p_bf16[i] = float_to_bf16(updated);
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
  adamw_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(p, g, m, v, n, c, p_bf16);
  check_launch("adamw_update");
}

}  // namespace bertrain::cuda
