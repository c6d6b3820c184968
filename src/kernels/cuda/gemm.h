// GEMMs on cuBLASLt for the CUDA backend, in the CPU's row-major convention (twin of
// kernels/cpu/gemm.h and gemm_bf16.h): C = alpha op(A) op(B) + beta C, op(A) M x K, op(B) K x N, C
// M x N, with lda/ldb/ldc the stored matrices' row strides. fp32 in, fp32 accumulate, no TF32 (as
// PyTorch's default). Optionally a batch of `batch` products at element strides, and a bias added
// to each row of C (length N) in the GEMM's epilogue. Plans are cached by shape.
#pragma once

#include <cstdint>

namespace bertrain::cuda {

struct GemmBatch {
  int count = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
};

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc, GemmBatch batch = {},
          const float* bias = nullptr);

// The same on bf16 inputs (raw uint16_t) on the tensor cores, accumulating in fp32; C is fp32
// (out_bf16 false) or bf16 (rounded from the fp32 sum, bias included). The bias stays fp32.
void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const uint16_t* A,
               int lda, const uint16_t* B, int ldb, float beta, void* C, int ldc, bool out_bf16,
               GemmBatch batch = {}, const float* bias = nullptr);

// The library, for the log.
const char* gemm_backend();

}  // namespace bertrain::cuda
