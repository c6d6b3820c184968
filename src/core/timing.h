// Seconds elapsed on the monotonic clock: the run's own accounting (data wait, evaluation time,
// time blocked in the ranks' sums, step and child-process times). Benchmarks time themselves
// (bench/bench_common.h).
#pragma once

#include <chrono>

namespace bertrain {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace bertrain
