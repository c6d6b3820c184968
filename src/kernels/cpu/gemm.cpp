#include "kernels/cpu/gemm.h"

#include <cblas.h>

#if BERTRAIN_WITH_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

namespace bertrain::cpu {

static CBLAS_TRANSPOSE op(bool t) {
  return t ? CblasTrans : CblasNoTrans;
}

// fp32 goes to oneDNN's JIT sgemm where it is built in: it picks the CPU's widest vector
// kernels by itself (AVX-512 here, 1.3-1.9x OpenBLAS's AVX2 kernels, docs/PERF.md), and runs
// on the same OpenMP pool as our kernels. Inside a parallel region it runs on the calling
// thread, as OpenBLAS does.
template <>
void gemm<float>(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                 int lda, const float* B, int ldb, float beta, float* C, int ldc) {
#if BERTRAIN_WITH_DNNL
  if (M > 0 && N > 0) {
    dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C,
               ldc);
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, op(trans_a), op(trans_b), M, N, K, alpha, A, lda, B, ldb, beta, C,
              ldc);
}

// Double precision serves the finite-difference checks only; oneDNN has no dgemm.
template <>
void gemm<double>(bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A,
                  int lda, const double* B, int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, op(trans_a), op(trans_b), M, N, K, alpha, A, lda, B, ldb, beta, C,
              ldc);
}

const char* gemm_backend() {
#if BERTRAIN_WITH_DNNL
  return "oneDNN";
#else
  return "OpenBLAS";
#endif
}

}  // namespace bertrain::cpu
