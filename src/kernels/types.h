// Argument types every backend's kernels share (kernels/cpu now, kernels/cuda to come), so
// that the op table (device/ops.h) names one type per argument.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bertrain {

// Memory a GEMM library uses during one GEMM (packed panels, per-thread buffers), given by
// the caller, so that it is planned and counted like every other buffer. A GEMM whose
// shape needs more than it is given (a shape its caller did not plan for) runs on the
// library's own scratchpad instead.
struct GemmScratch {
  std::byte* data = nullptr;
  size_t bytes = 0;
};

// The 16-bit storage formats of mixed precision.
enum class HalfFormat { BF16, FP16 };

// One AdamW update's hyper-parameters.
struct AdamWStep {
  double lr;
  double beta1, beta2, eps;
  double weight_decay;
  int64_t t;          // 1-based step count (for bias correction)
  double grad_scale;  // gradients are multiplied by this first (the clip coefficient)
};

}  // namespace bertrain
