// bertrain memory: the predicted peak of a run by category, before anything runs.
// bertrain find-batch-size: the largest per-device batch that fits a memory limit.
// Both take every train flag (training_arg_fields()), so a train command's flags pasted here
// give the prediction for exactly that run.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "core/error.h"
#include "core/parallel.h"
#include "data/reader.h"
#include "data/tagged.h"
#include "train/batch_finder.h"
#include "train/task_labels.h"

namespace bertrain::cli {

namespace {

using nlohmann::json;

struct MemoryOptions {
  TrainingArguments a;
  std::string config;  // a BertConfig JSON instead of --model's config.json
  int trial_steps = 1, max_batch = 1024;
  int world_size = 1;  // ranks of the job the prediction is for (one rank's memory)
  bool json = false, inference = false;
};

void add_query_options(CLI::App* cmd, MemoryOptions& o) {
  add_training_args(cmd, o.a);
  cmd->add_option("--config", o.config, "A BertConfig JSON file instead of --model");
  cmd->add_option("--world_size", o.world_size,
                  "Ranks of the mpirun job: one rank's memory (with --zero_stage 1, its piece of "
                  "the optimizer state)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", o.json, "Print JSON");
}

// The problem type and labels train would use (train/task_labels.h): from the training file
// when there is one, else --problem_type or the config's, and --label_list, --num_labels or
// the config's names.
void set_run_labels(const TrainingArguments& a, BertConfig& config) {
  if (config.task == Task::TokenClassification && !a.train_file.empty() && a.label_list.empty()) {
    config.id2label = tag_list(read_tagged(a.train_file));  // as train reads the tags
    return;
  }
  if (!a.dummy && !a.train_file.empty() && config.task != Task::TokenClassification) {
    const std::vector<std::string> distinct =
        default_label_list(read_examples(a.train_file, a.reader).examples);
    const ProblemType p =
        resolve_problem_type(a.problem_type, config, distinct, a.train_file, a.label_separator);
    config.id2label = run_label_names(p, a.label_list, config, distinct, a.label_separator);
    config.problem_type = problem_type_name(p);
    return;
  }
  if (!a.problem_type.empty())
    config.problem_type = problem_type_name(parse_problem_type(a.problem_type, "--problem_type"));
  if (!a.label_list.empty())
    config.id2label = parse_label_list(a.label_list);
  else if (a.num_labels > 0)
    config.id2label = default_labels(a.num_labels, "--num_labels");
}

MemoryQuery resolve(MemoryOptions& o) {
  const TrainingArguments& a = o.a;
  if (a.model.empty() == o.config.empty()) fail("give exactly one of --model or --config");
  if (!a.memory_limit.empty()) parse_size(a.memory_limit);
  BertConfig config = load_config(
      o.config.empty() ? (std::filesystem::path(a.model) / "config.json").string() : o.config);
  if (!a.config_overrides.empty()) config = override_config(config, a.config_overrides);
  config.task = parse_task(a.task, "--task");  // the head train (or pretrain) builds
  set_run_labels(a, config);
  if (a.num_labels > 0 && a.num_labels != config.num_labels())
    fail("--num_labels ", a.num_labels, " but the run has ", config.num_labels(), " labels");
  set_num_threads(a.threads);
  MemoryQuery q = memory_query(a, config);
  if (q.seq > config.max_position_embeddings && !a.dummy)
    fail("--max_seq_length ", q.seq, " exceeds max_position_embeddings ",
         config.max_position_embeddings);
  q.training = !o.inference;
  q.world_size = o.world_size;
  return q;
}

json categories(const MemByCategory& b) {
  json j = json::object();
  for (size_t i = 0; i < kNumMemCategories; ++i)
    j[std::string(category_name(static_cast<MemCategory>(i)))] = b[i];
  return j;
}

void run_memory(MemoryOptions& o) {
  const MemoryQuery q = resolve(o);
  MemoryEstimate e = estimate_memory(q);
  if (o.json) {
    std::cout << json{{"peak_bytes", e.peak},
                      {"categories", categories(e.bytes)},
                      {"precision", precision_name(q.precision)},
                      {"per_layer_activation_bytes", e.per_layer_activations},
                      {"korthikanti_fp32_activation_bytes", e.korthikanti_fp32}}
                     .dump()
              << "\n";
    return;
  }
  std::printf("predicted peak for batch %d x seq %d, accumulation %d, %s%s%s%s:\n", q.batch, q.seq,
              q.accumulation, precision_name(q.precision),
              q.checkpointing ? ", gradient checkpointing" : "", q.eval_batch ? ", evaluation" : "",
              q.training ? "" : ", inference");
  for (size_t i = 0; i < kNumMemCategories; ++i)
    std::printf("  %-16s %14zu  %s\n",
                std::string(category_name(static_cast<MemCategory>(i))).c_str(), e.bytes[i],
                format_bytes(e.bytes[i]).c_str());
  std::printf("  %-16s %14zu  %s\n", "total (peak)", e.peak, format_bytes(e.peak).c_str());
  std::printf(
      "per encoder layer: %s of activations (fp32); Korthikanti et al. estimate for all layers "
      "in fp32: %s\n",
      format_bytes(e.per_layer_activations).c_str(), format_bytes(e.korthikanti_fp32).c_str());
}

size_t default_limit(const std::string& spec) {
  if (!spec.empty()) return parse_size(spec);
  std::ifstream meminfo("/proc/meminfo");  // no limit given: what the machine has free
  std::string key;
  size_t kb = 0;
  while (meminfo >> key >> kb)
    if (key == "MemAvailable:") return kb * 1024;
  fail("find-batch-size: give --memory_limit");
}

void run_find(MemoryOptions& o) {
  const MemoryQuery q = resolve(o);
  const size_t limit = default_limit(o.a.memory_limit);
  BatchSearch s = find_batch_size(q, limit, o.trial_steps, o.max_batch);
  json trials = json::array();
  for (const BatchTrial& t : s.trials)
    trials.push_back({{"batch_size", t.batch},
                      {"fits", t.fits},
                      {"predicted_bytes", t.predicted_bytes},
                      {"measured_peak_bytes", t.measured_peak_bytes}});
  if (o.json) {
    std::cout
        << json{{"batch_size", s.batch}, {"memory_limit_bytes", limit}, {"trials", trials}}.dump()
        << "\n";
    return;
  }
  std::printf("memory limit %s, seq %d, accumulation %d, %s%s\n", format_bytes(limit).c_str(),
              q.seq, q.accumulation, precision_name(q.precision),
              q.checkpointing ? ", gradient checkpointing" : "");
  for (const BatchTrial& t : s.trials)
    std::printf("  trial batch %4d: %-8s predicted %12s, measured peak %12s\n", t.batch,
                t.fits ? "fits" : "OOM", format_bytes(t.predicted_bytes).c_str(),
                format_bytes(t.measured_peak_bytes).c_str());
  if (s.batch == 0) fail("not even batch size 1 fits ", format_bytes(limit));
  std::printf("largest per-device batch that fits: %d\n", s.batch);
}

}  // namespace

void add_memory_commands(CLI::App& app) {
  auto m = std::make_shared<MemoryOptions>();
  CLI::App* mem = app.add_subcommand("memory", "Predict peak memory by category before running");
  add_query_options(mem, *m);
  mem->add_flag("--inference", m->inference, "Forward only (no gradients or optimizer state)");
  mem->callback([m] { run_memory(*m); });

  auto f = std::make_shared<MemoryOptions>();
  CLI::App* find =
      app.add_subcommand("find-batch-size", "Largest per-device batch that fits a memory limit");
  add_query_options(find, *f);
  find->add_option(flag("trial_steps"), f->trial_steps,
                   "Training steps per trial (0: allocate only)")
      ->capture_default_str();
  find->add_option(flag("max_batch"), f->max_batch, "Largest batch to consider")
      ->capture_default_str();
  find->callback([f] { run_find(*f); });
}

}  // namespace bertrain::cli
