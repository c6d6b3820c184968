// cuBLASLt, opened on the first GEMM rather than linked. Loading the library runs its static
// initialisers, which leave about 200 MB resident in every process that links it (an empty
// program linked with -lcublasLt peaks at 212 MB RSS against 1 MB; `bertrain --help` at 224 MB
// against 14 MB): a CPU run of a CUDA-enabled build would pay that, and the memory model's
// prediction would sit 5-8% under its RSS.
#pragma once

#include <cublasLt.h>

namespace bertrain::cuda {

// The entry points gemm.cu calls, typed by the header's declarations.
struct CublasLt {
  decltype(&::cublasLtCreate) cublasLtCreate;
  decltype(&::cublasLtGetStatusString) cublasLtGetStatusString;
  decltype(&::cublasLtMatmul) cublasLtMatmul;
  decltype(&::cublasLtMatmulAlgoGetHeuristic) cublasLtMatmulAlgoGetHeuristic;
  decltype(&::cublasLtMatmulDescCreate) cublasLtMatmulDescCreate;
  decltype(&::cublasLtMatmulDescSetAttribute) cublasLtMatmulDescSetAttribute;
  decltype(&::cublasLtMatmulPreferenceCreate) cublasLtMatmulPreferenceCreate;
  decltype(&::cublasLtMatmulPreferenceDestroy) cublasLtMatmulPreferenceDestroy;
  decltype(&::cublasLtMatmulPreferenceSetAttribute) cublasLtMatmulPreferenceSetAttribute;
  decltype(&::cublasLtMatrixLayoutCreate) cublasLtMatrixLayoutCreate;
  decltype(&::cublasLtMatrixLayoutSetAttribute) cublasLtMatrixLayoutSetAttribute;
};

// The library (libcublasLt.so.<major> on the loader's path, else in the toolkit the build
// found), loaded on the first call; a missing library or entry point is an error naming it.
const CublasLt& cublaslt();

// Whether this process has loaded it (for the test that a CPU run does not).
bool cublaslt_loaded();

}  // namespace bertrain::cuda
