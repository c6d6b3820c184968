// bertrain sweep: the lecture's experiments as one command. Each grid point is a fresh
// `bertrain train` process; the results become tables (Markdown, CSV), JSON and SVG plots.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/args.h"
#include "core/error.h"
#include "core/file_io.h"
#include "sweep/report.h"
#include "sweep/sweep.h"

namespace bertrain::cli {

namespace fs = std::filesystem;

namespace {

struct SweepArgs {
  std::string model, train_file, eval_file, grid, memory_limit, out = "sweep";
  bool dummy = false, plot_only = false;
  int dummy_size = 512, dummy_seq_len = 512;
  double num_train_epochs = 1;
  uint64_t seed = 42;
  std::vector<std::string> extra;  // after "--": more train flags for every point
};

// Grid keys are train flags (parse_grid checks them against training_arg_fields()) that the
// sweep does not set itself.
void check_grid_keys(const std::vector<GridAxis>& grid) {
  for (const GridAxis& axis : grid)
    if (axis.key == "output_dir" || axis.key == "model" || axis.key == "memory_limit" ||
        axis.key == "seed")
      fail("--grid: ", axis.key, " is set by the sweep itself");
}

std::vector<std::string> common_train_args(const SweepArgs& s) {
  std::vector<std::string> args = {"--model=" + s.model, "--seed=" + std::to_string(s.seed),
                                   "--num_train_epochs=" + std::to_string(s.num_train_epochs)};
  if (s.dummy) {
    args.push_back("--dummy=true");
    args.push_back("--dummy_size=" + std::to_string(s.dummy_size));
    args.push_back("--dummy_seq_len=" + std::to_string(s.dummy_seq_len));
  }
  if (!s.train_file.empty()) args.push_back("--train_file=" + s.train_file);
  if (!s.eval_file.empty()) args.push_back("--eval_file=" + s.eval_file);
  if (!s.memory_limit.empty()) args.push_back("--memory_limit=" + s.memory_limit);
  args.insert(args.end(), s.extra.begin(), s.extra.end());
  return args;
}

void print_written(const std::vector<std::string>& files) {
  for (const std::string& f : files) std::printf("wrote %s\n", f.c_str());
}

void run(const SweepArgs& s) {
  const fs::path out(s.out);
  if (s.plot_only) {
    const std::string path = (out / "results.json").string();
    nlohmann::json results;
    try {
      results = nlohmann::json::parse(read_text_file(path, "sweep results"));
    } catch (const nlohmann::json::exception& e) {
      fail(path, ": not valid JSON (", e.what(), ")");
    }
    print_written(write_reports(results, s.out));
    return;
  }
  if (s.model.empty()) fail("--model is required (or --plot to redraw an existing sweep)");
  if (s.dummy == !s.train_file.empty())
    fail("give either --dummy or --train_file (with --eval_file for accuracy)");
  SweepOptions o;
  o.exe = fs::read_symlink("/proc/self/exe").string();
  o.out_dir = s.out;
  o.grid = parse_grid(s.grid);
  check_grid_keys(o.grid);
  o.memory_limit = s.memory_limit.empty() ? 0 : parse_size(s.memory_limit);
  o.train_args = common_train_args(s);
  SweepOutcome done = run_sweep(o);
  print_written(write_reports(done.results, s.out));
  std::fputs(results_markdown(done.results).c_str(), stdout);
  if (done.interrupted) std::exit(128 + done.signal);
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto s = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Run the lecture's experiments: a grid of train runs, each in a fresh process, "
      "tabulated and plotted");
  cmd->add_option("--model,--model_name_or_path,--model-name-or-path", s->model,
                  "HF model directory");
  cmd->add_flag(flag("dummy"), s->dummy, "The lecture's random data (ids in [100, 30000))");
  cmd->add_option(flag("dummy_size"), s->dummy_size, "Dummy dataset size")->capture_default_str();
  cmd->add_option(flag("dummy_seq_len"), s->dummy_seq_len, "Dummy sequence length")
      ->capture_default_str();
  cmd->add_option(flag("train_file"), s->train_file, "Training data (CSV, TSV or JSON lines)");
  cmd->add_option(flag("eval_file"), s->eval_file, "Evaluation data (accuracy per epoch)");
  cmd->add_option("--grid", s->grid,
                  "Knobs and values, e.g. 'per_device_train_batch_size=1,2,4,8 "
                  "gradient_checkpointing=0,1 precision=fp32,bf16'");
  cmd->add_option(flag("memory_limit"), s->memory_limit,
                  "Every point behaves like a device of this size, e.g. 7.4GiB");
  cmd->add_option(flag("num_train_epochs"), s->num_train_epochs, "Epochs per point")
      ->capture_default_str();
  cmd->add_option("--seed", s->seed, "Seed for every point (same data order)")
      ->capture_default_str();
  cmd->add_option("--out", s->out, "Output directory (results, plots, one folder per point)")
      ->capture_default_str();
  cmd->add_flag("--plot", s->plot_only, "Only redraw tables and plots from <out>/results.json");
  cmd->add_option("train_args", s->extra, "After --: more `bertrain train` flags for every point");
  cmd->callback([s] { run(*s); });
}

}  // namespace bertrain::cli
