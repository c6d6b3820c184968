// bertrain demo: the engine's main job until the trainer lands — a few training steps of
// BertForSequenceClassification on the lecture's dummy data, with HF-style logs and a summary.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include "cli/args.h"
#include "core/error.h"
#include "core/parallel.h"
#include "model/checkpoint.h"
#include "train/train_step.h"

namespace bertrain::cli {

namespace {

struct DemoOptions {
  std::string model, preset = "bert-base-uncased";
  int steps = 10, batch = 8, seq_len = 128, accumulation = 1, threads = 0;
  double learning_rate = 5e-5;
  uint64_t seed = 42;
};

// The lecture's dummy dataset: random ids in [100, 30000), random labels.
struct DummyData {
  std::vector<int32_t> ids, types, mask, labels;
  DummyData(int rows, int S, int vocab, int num_labels, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> id(100, std::max(100, std::min(30000, vocab) - 1));
    std::uniform_int_distribution<int> label(0, num_labels - 1);
    for (int i = 0; i < rows * S; ++i) ids.push_back(id(rng));
    types.assign(ids.size(), 0);
    mask.assign(ids.size(), 1);
    for (int r = 0; r < rows; ++r) labels.push_back(label(rng));
  }
  Batch rows(int begin, int count, int S) const {
    size_t off = static_cast<size_t>(begin) * S;
    return {
        ids.data() + off, types.data() + off, mask.data() + off, labels.data() + begin, count, S};
  }
};

void run_demo(const DemoOptions& o) {
  set_num_threads(o.threads);
  BertConfig c = o.model.empty()
                     ? preset_config(o.preset)
                     : load_config((std::filesystem::path(o.model) / "config.json").string());
  if (o.model.empty()) c.id2label = {"1 star", "2 stars", "3 stars", "4 stars", "5 stars"};
  if (o.seq_len > c.max_position_embeddings)
    fail("--seq_len ", o.seq_len, " exceeds the model's max_position_embeddings ",
         c.max_position_embeddings);
  BertForSequenceClassification<float> model(c);
  if (o.model.empty())
    init_weights(model, o.seed);
  else
    load_weights(model, weights_path(o.model), /*allow_new_head=*/true);
  AdamW<float> opt(model.layout(), {o.learning_rate});
  LrSchedule sched{ScheduleType::Linear, o.learning_rate, 0, o.steps};
  const int rows = o.batch * o.accumulation;
  DummyData data(rows, o.seq_len, c.vocab_size, c.num_labels(), o.seed);
  std::vector<Batch> micro;
  for (int k = 0; k < o.accumulation; ++k)
    micro.push_back(data.rows(k * o.batch, o.batch, o.seq_len));
  model.reserve(o.batch, o.seq_len);

  std::printf("model: %s, %zu parameters; batch %d x seq %d, accumulation %d, %d threads\n",
              o.model.empty() ? o.preset.c_str() : o.model.c_str(), model.num_params(), o.batch,
              o.seq_len, o.accumulation, num_threads());
  double loss_sum = 0;
  auto start = std::chrono::steady_clock::now();
  for (int s = 0; s < o.steps; ++s) {
    StepResult r = train_step(model, opt, sched, micro, 1.0, o.seed);
    loss_sum += r.loss;
    std::printf("{'loss': %.4f, 'grad_norm': %.4f, 'learning_rate': %.3e, 'step': %d}\n", r.loss,
                r.grad_norm, r.lr, s + 1);
    std::fflush(stdout);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Allocator& a = cpu_allocator();
  std::printf("\nTime: %.2f s\nSamples/second: %.2f\nSteps/second: %.3f\ntrain_loss: %.4f\n", secs,
              o.steps * rows / secs, o.steps / secs, loss_sum / o.steps);
  std::printf("Peak memory occupied: %s\n", format_bytes(a.peak()).c_str());
  MemByCategory at_peak = a.peak_breakdown();
  for (size_t i = 0; i < kNumMemCategories; ++i)
    std::printf("  %-16s %s\n", std::string(category_name(static_cast<MemCategory>(i))).c_str(),
                format_bytes(at_peak[i]).c_str());
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand("demo", "Train a few steps on dummy data and print a summary");
  cmd->add_option("--model", o->model, "HF model directory (default: random init of --preset)");
  cmd->add_option("--preset", o->preset, "tiny | bert-base-uncased | bert-large-uncased")
      ->capture_default_str();
  cmd->add_option("--steps", o->steps, "Optimizer steps")->capture_default_str();
  cmd->add_option(flag("per_device_train_batch_size"), o->batch, "Micro-batch size")
      ->capture_default_str();
  cmd->add_option(flag("seq_len"), o->seq_len, "Sequence length")->capture_default_str();
  cmd->add_option(flag("gradient_accumulation_steps"), o->accumulation, "Micro-batches per step")
      ->capture_default_str();
  cmd->add_option(flag("learning_rate"), o->learning_rate, "Peak LR")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (0: OpenMP default)");
  cmd->add_option("--seed", o->seed, "Seed")->capture_default_str();
  cmd->callback([o] { run_demo(*o); });
}

}  // namespace bertrain::cli
