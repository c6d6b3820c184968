// The machine's practical GEMM rate with the BLAS bertrain links (the MFU denominator):
// sgemm at the shapes of a BERT training step and a large square one; prints JSON.
#include <cstdio>
#include <vector>

#include "bench_common.h"
#include "core/parallel.h"
#include "kernels/cpu/gemm.h"

using namespace bertrain;

int main(int argc, char** argv) {
  set_num_threads(static_cast<int>(bench::arg(argc, argv, "--threads", 2)));
  const int reps = static_cast<int>(bench::arg(argc, argv, "--reps", 10));
  struct Shape {
    int M, N, K;
  };
  const Shape shapes[] = {
      {1024, 768, 768}, {1024, 3072, 768}, {1024, 768, 3072}, {2048, 2048, 2048}};
  double best = 0;
  std::printf("{\"gemm\": \"%s\", \"threads\": %d, \"shapes\": [", cpu::gemm_backend(),
              num_threads());
  bool first = true;
  for (const Shape& s : shapes) {
    std::vector<float> A(size_t(s.M) * s.K, 0.5f), B(size_t(s.K) * s.N, 0.25f),
        C(size_t(s.M) * s.N);
    std::vector<double> times;
    for (int r = 0; r < reps + 1; ++r) {
      double t0 = bench::now_seconds();
      cpu::gemm<float>(false, true, s.M, s.N, s.K, 1.0f, A.data(), s.K, B.data(), s.K, 0.0f,
                       C.data(), s.N);
      if (r > 0) times.push_back(bench::now_seconds() - t0);  // first run warms up
    }
    double gflops = 2.0 * s.M * s.N * s.K / bench::median(times) / 1e9;
    best = std::max(best, gflops);
    std::printf("%s{\"M\": %d, \"N\": %d, \"K\": %d, \"gflops\": %.1f}", first ? "" : ", ", s.M,
                s.N, s.K, gflops);
    first = false;
  }
  std::printf("], \"peak_gflops\": %.1f}\n", best);
}
