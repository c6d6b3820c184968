#include "kernels/cpu/blas_setup.h"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace bertrain::cpu {

const char* blas_core_name() {
  return openblas_get_corename();
}

void ensure_best_blas_kernels(char** argv) {
#if defined(__x86_64__)
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr)
    return;  // the user's choice, or already re-executed
  const char* core = openblas_get_corename();
  bool avx2_core = std::strcmp(core, "Haswell") == 0 || std::strcmp(core, "Zen") == 0;
  __builtin_cpu_init();
  bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  if (!avx2_core || !avx512) return;
  setenv("OPENBLAS_CORETYPE", __builtin_cpu_supports("avx512bf16") ? "COOPERLAKE" : "SKYLAKEX", 1);
  execv("/proc/self/exe", argv);
  // execv failed: keep running with the AVX2 kernels.
#else
  (void)argv;
#endif
}

}  // namespace bertrain::cpu
