// bertrain memory: the predicted peak of a run by category, before anything runs.
// bertrain find-batch-size: the largest per-device batch that fits a memory limit.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "core/error.h"
#include "core/parallel.h"
#include "train/batch_finder.h"

namespace bertrain::cli {

namespace {

using nlohmann::json;

struct MemoryOptions {
  std::string model, config, memory_limit;
  int num_labels = -1, trial_steps = 1, max_batch = 1024;
  bool json = false, inference = false;
  MemoryQuery q;
};

void add_query_options(CLI::App* cmd, MemoryOptions& o) {
  o.q.threads = 0;  // the OpenMP default, as train uses
  cmd->add_option("--model", o.model, "Model directory (its config.json)");
  cmd->add_option("--config", o.config, "A BertConfig JSON file instead of a model");
  cmd->add_option(flag("num_labels"), o.num_labels, "Override the number of classes");
  cmd->add_option(flag("per_device_train_batch_size") + ",--batch_size", o.q.batch, "Micro-batch")
      ->capture_default_str();
  cmd->add_option(flag("max_seq_length") + ",--seq_len", o.q.seq, "Sequence length")
      ->capture_default_str();
  cmd->add_option(flag("gradient_accumulation_steps"), o.q.accumulation, "Micro-batches per step")
      ->capture_default_str();
  cmd->add_option(flag("per_device_eval_batch_size"), o.q.eval_batch,
                  "Eval batch (0: no evaluation)")
      ->capture_default_str();
  cmd->add_option(flag("dataloader_num_workers"), o.q.workers, "Prefetch threads")
      ->capture_default_str();
  cmd->add_flag(flag("gradient_checkpointing"), o.q.checkpointing, "Gradient checkpointing");
  cmd->add_option_function<std::string>(
      "--attention", [&o](const std::string& v) { o.q.attention = parse_attention_mode(v); },
      "standard | memory_efficient");
  cmd->add_option("--threads", o.q.threads, "Compute threads (0: OpenMP default)");
  cmd->add_flag("--json", o.json, "Print JSON");
}

void resolve(MemoryOptions& o) {
  if (o.model.empty() == o.config.empty()) fail("give exactly one of --model or --config");
  std::string path =
      o.config.empty() ? (std::filesystem::path(o.model) / "config.json").string() : o.config;
  o.q.config = load_config(path);
  if (o.num_labels > 0) o.q.config.id2label = default_labels(o.num_labels, "--num_labels");
  if (o.q.seq > o.q.config.max_position_embeddings)
    fail("--max_seq_length ", o.q.seq, " exceeds max_position_embeddings ",
         o.q.config.max_position_embeddings);
  set_num_threads(o.q.threads);
  o.q.threads = num_threads();
  o.q.training = !o.inference;
}

json categories(const MemByCategory& b) {
  json j = json::object();
  for (size_t i = 0; i < kNumMemCategories; ++i)
    j[std::string(category_name(static_cast<MemCategory>(i)))] = b[i];
  return j;
}

void run_memory(MemoryOptions& o) {
  resolve(o);
  MemoryEstimate e = estimate_memory(o.q);
  if (o.json) {
    std::cout << json{{"peak_bytes", e.peak},
                      {"categories", categories(e.bytes)},
                      {"per_layer_activation_bytes", e.per_layer_activations},
                      {"korthikanti_fp32_activation_bytes", e.korthikanti_fp32}}
                     .dump()
              << "\n";
    return;
  }
  std::printf("predicted peak for batch %d x seq %d, accumulation %d%s%s:\n", o.q.batch, o.q.seq,
              o.q.accumulation, o.q.checkpointing ? ", gradient checkpointing" : "",
              o.q.training ? "" : ", inference");
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
  resolve(o);
  const size_t limit = default_limit(o.memory_limit);
  BatchSearch s = find_batch_size(o.q, limit, o.trial_steps, o.max_batch);
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
  std::printf("memory limit %s, seq %d, accumulation %d%s\n", format_bytes(limit).c_str(), o.q.seq,
              o.q.accumulation, o.q.checkpointing ? ", gradient checkpointing" : "");
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
  find->add_option(flag("memory_limit"), f->memory_limit, "e.g. 7.4GiB (default: available RAM)");
  find->add_option(flag("trial_steps"), f->trial_steps,
                   "Training steps per trial (0: allocate only)")
      ->capture_default_str();
  find->add_option(flag("max_batch"), f->max_batch, "Largest batch to consider")
      ->capture_default_str();
  find->callback([f] { run_find(*f); });
}

}  // namespace bertrain::cli
