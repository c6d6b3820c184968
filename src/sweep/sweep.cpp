#include "sweep/sweep.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file_io.h"
#include "core/timing.h"
#include "sweep/report.h"
#include "train/trainer.h"

extern char** environ;

namespace bertrain {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

size_t physical_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : 0;
}

struct ChildResult {
  int exit_code = 0;  // 128 + signal when killed by one
  double wall_seconds = 0;
  size_t max_rss_bytes = 0;
};

// Runs argv with stdout and stderr going to `log_path`; waits for it.
ChildResult run_child(const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) fail("cannot start ", args[0], ": ", std::strerror(rc));
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0)
    if (errno != EINTR) fail("waiting for ", args[0], ": ", std::strerror(errno));
  ChildResult r;
  r.wall_seconds = seconds_since(t0);
  r.max_rss_bytes = static_cast<size_t>(usage.ru_maxrss) * 1024;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

json read_json_if_present(const fs::path& path) {
  if (!fs::exists(path)) return nullptr;
  try {
    return json::parse(read_text_file(path.string(), "results file"));
  } catch (const json::exception& e) {
    fail(path.string(), ": not valid JSON (", e.what(), ")");
  }
}

// The last line of the log that starts with "error:", for the table.
std::string error_line(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line, last;
  while (std::getline(in, line))
    if (line.rfind("error:", 0) == 0) last = line.substr(7);
  return last;
}

// `bertrain train` for one point: the sweep's flags, the point's, and what a sweep wants of
// every run (a fresh directory, no checkpoints or model, no progress bar).
std::vector<std::string> point_command(const SweepOptions& o, const GridPoint& point,
                                       const std::string& run_dir) {
  std::vector<std::string> args = {o.exe, "train"};
  args.insert(args.end(), o.train_args.begin(), o.train_args.end());
  for (const std::string& f : train_flags(point)) args.push_back(f);
  for (const char* f : {"--overwrite_output_dir=true", "--save_strategy=no",
                        "--save_final_model=false", "--disable_tqdm=true"})
    args.push_back(f);
  args.push_back("--output_dir=" + run_dir);
  return args;
}

}  // namespace

json collect_point(const GridPoint& point, const std::string& run_dir, int exit_code,
                   double wall_seconds, size_t max_rss_bytes) {
  json p = {{"name", point.name},
            {"exit_code", exit_code},
            {"wall_seconds", wall_seconds},
            {"max_rss_bytes", max_rss_bytes}};
  json settings = json::object();
  for (const auto& [k, v] : point.settings) settings[k] = v;
  p["settings"] = settings;
  const fs::path dir(run_dir);
  const std::string log = (dir.parent_path() / "log.txt").string();
  if (exit_code == kExitOutOfMemory) {
    json oom = read_json_if_present(dir / "out_of_memory.json");
    p["status"] = "oom";
    if (oom.is_object()) {
      p["predicted_peak_memory_bytes"] = oom.value("predicted_peak_memory_bytes", json());
      p["error"] = oom.value("error", "");
    }
    return p;
  }
  json results = read_json_if_present(dir / "all_results.json");
  if (exit_code != 0 || !results.is_object()) {
    p["status"] = "failed";
    p["error"] = error_line(log);
    return p;
  }
  p["status"] = "ok";
  for (const char* key :
       {"train_runtime", "train_samples_per_second", "train_loss", "peak_memory_bytes",
        "predicted_peak_memory_bytes", "per_device_train_batch_size", "gradient_accumulation_steps",
        "precision", "train_samples"})
    if (results.contains(key)) p[key] = results[key];
  for (const MetricColumn& m : kMetricColumns)
    if (reports(results, m)) p[m.key] = results[m.key];
  p["effective_batch_size"] = results.value("per_device_train_batch_size", 0) *
                              results.value("gradient_accumulation_steps", 1);
  // The metrics after each epoch, from the run's log history.
  json state = read_json_if_present(dir / "trainer_state.json");
  json per_epoch = json::array();
  if (state.is_object())
    for (const json& entry : state.value("log_history", json::array())) {
      json e = {{"epoch", entry.value("epoch", 0.0)}};
      for (const MetricColumn& m : kMetricColumns)
        if (reports(entry, m)) e[m.key] = entry[m.key];
      if (e.size() > 1) per_epoch.push_back(e);
    }
  p["eval_per_epoch"] = per_epoch;
  return p;
}

SweepOutcome run_sweep(const SweepOptions& o) {
  const std::vector<GridPoint> points = expand_grid(o.grid);
  fs::create_directories(fs::path(o.out_dir) / "points");
  SweepOutcome out;
  json grid = json::array();
  for (const GridAxis& a : o.grid) grid.push_back({{"key", a.key}, {"values", a.values}});
  out.results = {{"grid", grid},
                 {"train_args", o.train_args},
                 {"memory_limit_bytes", o.memory_limit},
                 {"physical_memory_bytes", physical_memory_bytes()},
                 {"points", json::array()}};
  for (size_t i = 0; i < points.size(); ++i) {
    const GridPoint& point = points[i];
    const fs::path pdir = fs::path(o.out_dir) / "points" / point.name;
    const fs::path record = pdir / "point.json";
    const std::string run_dir = (pdir / "run").string();
    const std::vector<std::string> args = point_command(o, point, run_dir);
    // A point is reused only if it finished (ok or out of memory) with the same command.
    json p = read_json_if_present(record);
    const bool reuse = p.is_object() && p.value("command", json()) == json(args) &&
                       (p.value("status", "") == "ok" || p.value("status", "") == "oom");
    if (reuse) {
      std::printf("[%zu/%zu] %s: already done (%s)\n", i + 1, points.size(), point.name.c_str(),
                  point_summary(p).c_str());
    } else {
      fs::create_directories(pdir);
      std::printf("[%zu/%zu] %s: running\n", i + 1, points.size(), point.name.c_str());
      std::fflush(stdout);
      ChildResult child = run_child(args, (pdir / "log.txt").string());
      if (child.exit_code == 130 || child.exit_code == 143) {  // stopped by SIGINT/SIGTERM
        out.interrupted = true;
        out.signal = child.exit_code - 128;
        std::printf("[%zu/%zu] %s: interrupted; run the same command again to resume\n", i + 1,
                    points.size(), point.name.c_str());
        break;
      }
      p = collect_point(point, run_dir, child.exit_code, child.wall_seconds, child.max_rss_bytes);
      if (auto u = utilization(p, out.results)) p["utilization"] = *u;
      p["command"] = args;
      write_text_file_atomic(record.string(), p.dump(1) + "\n");
      std::printf("[%zu/%zu] %s: %s\n", i + 1, points.size(), point.name.c_str(),
                  point_summary(p).c_str());
    }
    out.results["points"].push_back(p);
    write_text_file_atomic((fs::path(o.out_dir) / "results.json").string(),
                           out.results.dump(1) + "\n");
  }
  return out;
}

}  // namespace bertrain
