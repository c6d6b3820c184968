// One thread pool for the whole process: OpenMP's. bertrain links OpenBLAS's OpenMP build,
// so BLAS and our kernels share the same workers and never oversubscribe the cores.
#pragma once

#include <omp.h>

#include <cstdint>

namespace bertrain {

int num_threads();
void set_num_threads(int n);

// Below this much work (in rough element-operations) a loop runs on the calling thread:
// waking the pool costs more than it saves. The ThreadSanitizer build sets it to 1, so that
// the tests' tiny shapes run every loop on the pool.
#ifndef BERTRAIN_MIN_PARALLEL_WORK
#define BERTRAIN_MIN_PARALLEL_WORK (1 << 15)
#endif
constexpr int64_t kMinParallelWork = BERTRAIN_MIN_PARALLEL_WORK;

// Columns per task where a kernel splits its work by columns (parameter-gradient sums over
// rows), so that no two threads add into one accumulator.
constexpr int kColumnBlock = 64;

// Runs f(i) for i in [0, n), split statically over the pool's threads; `cost` is the work
// of one item.
template <typename F>
void parallel_for(int64_t n, F&& f, int64_t cost = 1) {
#pragma omp parallel for schedule(static) if (n * cost >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// Runs f(begin, end) once per thread over contiguous slices of [0, n), so the body can be a
// plain loop the compiler vectorises.
template <typename F>
void parallel_range(int64_t n, F&& f, int64_t cost = 1) {
  if (n * cost < kMinParallelWork) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    f(n * t / nt, n * (t + 1) / nt);
  }
}

// Runs f(c0, c1) for each block [c0, c1) of kColumnBlock columns of C, over the pool; `rows`
// is the work per column (for the parallel threshold).
template <typename F>
void parallel_column_blocks(int C, int64_t rows, F&& f) {
  const int blocks = (C + kColumnBlock - 1) / kColumnBlock;
  parallel_for(
      blocks,
      [&](int64_t blk) {
        const int c0 = static_cast<int>(blk) * kColumnBlock;
        f(c0, c0 + kColumnBlock < C ? c0 + kColumnBlock : C);
      },
      rows * kColumnBlock);
}

}  // namespace bertrain
