// `bertrain sweep`: every grid point is a `bertrain train` run in a fresh process (so each
// peak is its own), with the same seed and data; results are kept per point so an
// interrupted sweep resumes where it stopped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sweep/grid.h"

namespace bertrain {

struct SweepOptions {
  std::string exe;                      // the bertrain binary to run points with
  std::string out_dir;                  // results.{md,csv,json}, plots, points/<name>/
  std::vector<std::string> train_args;  // flags every point gets (model, data, limit, ...)
  std::vector<GridAxis> grid;
  size_t memory_limit = 0;  // bytes; 0: none (utilisation is then of physical memory)
};

// Runs (or, for points already recorded, reuses) every point, rewriting results.json after
// each. Returns the results document; exits early with `interrupted` set when a point was
// stopped by a signal (the sweep resumes from that point).
struct SweepOutcome {
  nlohmann::json results;
  bool interrupted = false;
  int signal = 0;
};
SweepOutcome run_sweep(const SweepOptions& options);

// One point's record from its run directory: status ok / oom / failed and the metrics.
nlohmann::json collect_point(const GridPoint& point, const std::string& run_dir, int exit_code,
                             double wall_seconds, size_t max_rss_bytes);

}  // namespace bertrain
