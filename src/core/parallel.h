// One thread pool for the whole process: OpenMP's. bertrain links OpenBLAS's OpenMP build,
// so BLAS and our kernels share the same workers and never oversubscribe the cores.
#pragma once

#include <cstdint>

namespace bertrain {

int num_threads();
void set_num_threads(int n);

// Runs f(i) for i in [0, n), split statically over the pool's threads.
template <typename F>
void parallel_for(int64_t n, F&& f) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) f(i);
}

}  // namespace bertrain
