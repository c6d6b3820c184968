// One fused AdamW pass (torch.optim.AdamW semantics) over a contiguous range of parameters.
#pragma once

#include <cstdint>

#include "kernels/types.h"

namespace bertrain::cpu {

// p *= 1 - lr * wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
// With p_bf16 (float only), the updated parameters' bf16 copy is written in the same pass.
// The gradient is left zero, ready for the next step's accumulation: zeroing it here, where
// it is read anyway, saves the step a separate pass over it.
template <typename T>
void adamw_update(T* p, T* g, T* m, T* v, int64_t n, const AdamWStep& s,
                  uint16_t* p_bf16 = nullptr);

}  // namespace bertrain::cpu
