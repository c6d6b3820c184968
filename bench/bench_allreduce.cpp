// The all-reduce a data-parallel step pays: the gradients of a model (bert-base: 109.5M fp32
// values, 438 MB) summed over the ranks through Comm (MPI), timed REPS times after one warm-up;
// prints one JSON line per rank 0 with the median and the bus bandwidth a ring all-reduce
// implies (2 (N - 1) / N x bytes / time), the figure the many-machine model in docs/PERF.md uses.
//   mpirun -np 2 bench_allreduce [--preset bert-base-uncased] [--reps 5]
#include <cstdio>
#include <string>
#include <vector>

#include "bench_common.h"
#include "dist/comm.h"
#include "model/bert_config.h"
#include "model/param_layout.h"

using namespace bertrain;

int main(int argc, char** argv) {
  const std::string preset = bench::str_arg(argc, argv, "--preset", "bert-base-uncased");
  const int reps = static_cast<int>(bench::arg(argc, argv, "--reps", 5));
  BertConfig c = preset_config(preset);
  c.id2label = {"0", "1", "2", "3", "4"};
  const size_t n = ParamLayout(c).total();
  Comm& w = world();
  std::vector<float> grads(n, 1e-3f * (w.rank() + 1));
  std::vector<double> times;
  for (int r = 0; r <= reps; ++r) {
    w.barrier();
    const double t0 = bench::now_seconds();
    w.allreduce_sum(grads.data(), n);
    if (r > 0) times.push_back(bench::now_seconds() - t0);
  }
  if (w.rank() != 0) return 0;
  const double med = bench::median(times), bytes = 4.0 * static_cast<double>(n);
  const double ranks = w.size();
  std::printf(
      "{\"ranks\": %d, \"values\": %zu, \"bytes\": %.0f, \"median_s\": %.6f, "
      "\"bus_bandwidth_GBps\": %.3f}\n",
      w.size(), n, bytes, med, ranks > 1 ? 2 * (ranks - 1) / ranks * bytes / med / 1e9 : 0.0);
}
