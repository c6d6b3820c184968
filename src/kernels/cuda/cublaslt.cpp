#include "kernels/cuda/cublaslt.h"

#include <dlfcn.h>

#include <atomic>
#include <string>

#include "core/error.h"

namespace bertrain::cuda {

namespace {

std::atomic<bool> loaded{false};

void* open_library() {
  const std::string name = "libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR);
  if (void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
  const std::string first_error = dlerror();
  const std::string in_toolkit = std::string(BERTRAIN_CUDA_LIBRARY_DIR) + "/" + name;
  if (void* h = dlopen(in_toolkit.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
  fail("the CUDA backend needs cuBLASLt: cannot load ", name, " (", first_error, ") or ",
       in_toolkit, " (", dlerror(), ")");
}

template <typename F>
void bind(void* library, const char* name, F& f) {
  void* p = dlsym(library, name);
  if (!p) fail("libcublasLt has no ", name, " (", dlerror(), ")");
  f = reinterpret_cast<F>(p);
}

CublasLt load() {
  void* h = open_library();
  CublasLt lt{};
#define BERTRAIN_BIND(name) bind(h, #name, lt.name)
  BERTRAIN_BIND(cublasLtCreate);
  BERTRAIN_BIND(cublasLtGetStatusString);
  BERTRAIN_BIND(cublasLtMatmul);
  BERTRAIN_BIND(cublasLtMatmulAlgoGetHeuristic);
  BERTRAIN_BIND(cublasLtMatmulDescCreate);
  BERTRAIN_BIND(cublasLtMatmulDescSetAttribute);
  BERTRAIN_BIND(cublasLtMatmulPreferenceCreate);
  BERTRAIN_BIND(cublasLtMatmulPreferenceDestroy);
  BERTRAIN_BIND(cublasLtMatmulPreferenceSetAttribute);
  BERTRAIN_BIND(cublasLtMatrixLayoutCreate);
  BERTRAIN_BIND(cublasLtMatrixLayoutSetAttribute);
#undef BERTRAIN_BIND
  loaded = true;
  return lt;
}

}  // namespace

const CublasLt& cublaslt() {
  static const CublasLt lt = load();
  return lt;
}

bool cublaslt_loaded() {
  return loaded;
}

}  // namespace bertrain::cuda
