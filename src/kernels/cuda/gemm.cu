#include <map>
#include <mutex>
#include <tuple>

#include "core/error.h"
#include "kernels/cuda/cublaslt.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

void check_lt(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    fail("cuBLASLt error in ", what, ": ", cublaslt().cublasLtGetStatusString(status));
}

// cuBLASLt's workspace: one per process, allocated at the first GEMM. (It is outside the
// Allocator's accounts; `bertrain memory --device cuda` adds it.)
constexpr size_t kWorkspaceBytes = size_t{32} << 20;

struct Context {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  Context() {
    check_lt(cublaslt().cublasLtCreate(&handle), "cublasLtCreate");
    check(cudaMalloc(&workspace, kWorkspaceBytes), "cudaMalloc (cuBLASLt workspace)");
  }
};

Context& context() {
  static Context c;
  return c;
}

// A column-major problem as cuBLASLt takes it: transposes, m, n, k, leading dimensions, batch
// count and strides, whether a bias is added, the inputs' and the output's element types, and
// the alignment of the three pointers (the heuristic assumes 256 bytes unless told: a slice of
// the flat parameter buffer may be aligned to no more than its element).
using Key = std::tuple<bool, bool, int, int, int, int64_t, int64_t, int64_t, int, int64_t, int64_t,
                       int64_t, bool, cudaDataType_t, cudaDataType_t, uint32_t, uint32_t, uint32_t>;

// The largest power of two up to 256 that divides the address and, in a batch, the byte stride
// (so that every matrix of the batch is as aligned as the first).
uint32_t alignment(const void* p, int64_t stride_bytes) {
  const auto a = reinterpret_cast<uintptr_t>(p) | static_cast<uintptr_t>(stride_bytes);
  uint32_t align = 256;
  while (align > 1 && a % align != 0) align /= 2;
  return align;
}

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
};

cublasLtMatrixLayout_t layout(cudaDataType_t type, int rows, int cols, int64_t ld, int count,
                              int64_t stride) {
  cublasLtMatrixLayout_t l;
  check_lt(cublaslt().cublasLtMatrixLayoutCreate(&l, type, rows, cols, ld), "MatrixLayoutCreate");
  if (count > 1) {
    check_lt(cublaslt().cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                         &count, sizeof count),
             "layout batch count");
    check_lt(cublaslt().cublasLtMatrixLayoutSetAttribute(
                 l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride),
             "layout batch stride");
  }
  return l;
}

const Plan& plan_for(const Key& key) {
  static std::map<Key, Plan> plans;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  auto it = plans.find(key);
  if (it != plans.end()) return it->second;
  const auto [ta, tb, m, n, k, lda, ldb, ldc, count, sa, sb, sc, with_bias, in, out, align_a,
              align_b, align_c] = key;
  Plan p;
  check_lt(cublaslt().cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F),
           "MatmulDescCreate");
  const cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                          opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  check_lt(cublaslt().cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opa,
                                                     sizeof opa),
           "transa");
  check_lt(cublaslt().cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opb,
                                                     sizeof opb),
           "transb");
  if (with_bias) {
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    check_lt(cublaslt().cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                       &epilogue, sizeof epilogue),
             "epilogue");
    const cudaDataType_t bias_type = CUDA_R_32F;  // fp32 biases, whatever the output
    check_lt(cublaslt().cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                                       &bias_type, sizeof bias_type),
             "bias type");
  }
  p.a = ta ? layout(in, k, m, lda, count, sa) : layout(in, m, k, lda, count, sa);
  p.b = tb ? layout(in, n, k, ldb, count, sb) : layout(in, k, n, ldb, count, sb);
  p.c = layout(out, m, n, ldc, count, sc);
  cublasLtMatmulPreference_t pref;
  check_lt(cublaslt().cublasLtMatmulPreferenceCreate(&pref), "PreferenceCreate");
  const size_t ws = kWorkspaceBytes;
  check_lt(cublaslt().cublasLtMatmulPreferenceSetAttribute(
               pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
           "preference workspace");
  for (auto [attribute, align] : {std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_a},
                                  {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_b},
                                  {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_c},
                                  {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_c}})
    check_lt(cublaslt().cublasLtMatmulPreferenceSetAttribute(pref, attribute, &align, sizeof align),
             "preference alignment");
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status = cublaslt().cublasLtMatmulAlgoGetHeuristic(
      context().handle, p.desc, p.a, p.b, p.c, p.c, pref, 1, &result, &found);
  cublaslt().cublasLtMatmulPreferenceDestroy(pref);
  if (status != CUBLAS_STATUS_SUCCESS || found == 0)
    fail("cuBLASLt has no GEMM for column-major m=", m, " n=", n, " k=", k, " op ", ta ? "T" : "N",
         tb ? "T" : "N", ", inputs ", in == CUDA_R_32F ? "fp32" : "bf16", ", output ",
         out == CUDA_R_32F ? "fp32" : "bf16", with_bias ? ", fp32 bias" : "", ", batch ", count,
         ", alignments ", align_a, "/", align_b, "/", align_c, " (",
         cublaslt().cublasLtGetStatusString(status), ")");
  p.algo = result.algo;
  return plans.emplace(key, p).first->second;
}

}  // namespace

namespace {

void run(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const void* A, int lda,
         const void* B, int ldb, float beta, void* C, int ldc, GemmBatch batch, const float* bias,
         cudaDataType_t in, cudaDataType_t out) {
  if (M == 0 || N == 0 || batch.count == 0) return;
  const int64_t in_size = in == CUDA_R_32F ? 4 : 2, out_size = out == CUDA_R_32F ? 4 : 2;
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, and a row-major matrix
  // read column-major is its transpose: swap the operands, keep their transpose flags.
  const Key key{trans_b,
                trans_a,
                N,
                M,
                K,
                ldb,
                lda,
                ldc,
                batch.count,
                batch.stride_b,
                batch.stride_a,
                batch.stride_c,
                bias != nullptr,
                in,
                out,
                alignment(B, batch.stride_b * in_size),
                alignment(A, batch.stride_a * in_size),
                alignment(C, batch.stride_c * out_size)};
  const Plan& p = plan_for(key);
  if (bias)
    check_lt(cublaslt().cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                       &bias, sizeof bias),
             "bias pointer");
  Context& ctx = context();
  check_lt(cublaslt().cublasLtMatmul(ctx.handle, p.desc, &alpha, B, p.a, A, p.b, &beta, C, p.c, C,
                                     p.c, &p.algo, ctx.workspace, kWorkspaceBytes, stream()),
           "cublasLtMatmul");
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc, GemmBatch batch,
          const float* bias) {
  run(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, batch, bias, CUDA_R_32F,
      CUDA_R_32F);
}

void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const uint16_t* A,
               int lda, const uint16_t* B, int ldb, float beta, void* C, int ldc, bool out_bf16,
               GemmBatch batch, const float* bias) {
  run(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, batch, bias, CUDA_R_16BF,
      out_bf16 ? CUDA_R_16BF : CUDA_R_32F);
}

const char* gemm_backend() {
  return "cuBLASLt";
}

}  // namespace bertrain::cuda
