// Row-major GEMM over the BLAS: C = alpha * op(A) * op(B) + beta * C.
#pragma once

namespace bertrain::cpu {

// op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides of the stored matrices.
template <typename T>
void gemm(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda, const T* B,
          int ldb, T beta, T* C, int ldc);

// The library fp32 GEMMs run on: "oneDNN" or "OpenBLAS".
const char* gemm_backend();

}  // namespace bertrain::cpu
