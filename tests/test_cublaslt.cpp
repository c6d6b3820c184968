// The CUDA backend opens cuBLASLt on its first GEMM, not at start-up (kernels/cuda/cublaslt.h):
// a process that runs on the CPU never maps the library. Needs the CUDA toolkit, not a GPU.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#ifdef BERTRAIN_WITH_CUDA
#include "kernels/cuda/cublaslt.h"
#endif

namespace {

bool mapped(const std::string& library) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find(library) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(CublasLt, OpensOnTheFirstUseNotAtStartUp) {
#ifndef BERTRAIN_WITH_CUDA
  GTEST_SKIP() << "built without the CUDA backend";
#else
  EXPECT_FALSE(mapped("libcublasLt"));
  EXPECT_FALSE(bertrain::cuda::cublaslt_loaded());
  const bertrain::cuda::CublasLt& lt = bertrain::cuda::cublaslt();
  EXPECT_TRUE(mapped("libcublasLt"));
  EXPECT_TRUE(bertrain::cuda::cublaslt_loaded());
  for (const void* f : {reinterpret_cast<const void*>(lt.cublasLtCreate),
                        reinterpret_cast<const void*>(lt.cublasLtGetStatusString),
                        reinterpret_cast<const void*>(lt.cublasLtMatmul),
                        reinterpret_cast<const void*>(lt.cublasLtMatmulAlgoGetHeuristic),
                        reinterpret_cast<const void*>(lt.cublasLtMatmulDescCreate),
                        reinterpret_cast<const void*>(lt.cublasLtMatmulDescSetAttribute),
                        reinterpret_cast<const void*>(lt.cublasLtMatmulPreferenceCreate),
                        reinterpret_cast<const void*>(lt.cublasLtMatmulPreferenceDestroy),
                        reinterpret_cast<const void*>(lt.cublasLtMatmulPreferenceSetAttribute),
                        reinterpret_cast<const void*>(lt.cublasLtMatrixLayoutCreate),
                        reinterpret_cast<const void*>(lt.cublasLtMatrixLayoutSetAttribute)})
    EXPECT_NE(f, nullptr);
  // An entry point that needs no GPU answers through the pointer.
  const char* success = lt.cublasLtGetStatusString(CUBLAS_STATUS_SUCCESS);
  ASSERT_NE(success, nullptr);
  EXPECT_STRNE(success, lt.cublasLtGetStatusString(CUBLAS_STATUS_NOT_INITIALIZED));
#endif
}
