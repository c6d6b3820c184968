// Dense layers on the CUDA backend (twins of kernels/cpu/linear.h): out = in W^T + b with W
// [out_f, in_f] row-major as torch stores it; backward writes (or adds to) din and adds to dW
// and db.
#pragma once

namespace bertrain::cuda {

void linear_forward(float* out, const float* in, const float* W, const float* b, int N, int in_f,
                    int out_f);
// din may be null (no input gradient); db may be null (no bias).
void linear_backward(float* din, float* dW, float* db, const float* dout, const float* in,
                     const float* W, int N, int in_f, int out_f, bool accumulate_din);

}  // namespace bertrain::cuda
