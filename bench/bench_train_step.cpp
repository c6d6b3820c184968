// Times bertrain's training step (forward, backward, clip, AdamW) of a randomly initialised
// BertForSequenceClassification on random token ids; prints one JSON line.
//   bench_train_step --preset bert-base-uncased --batch 8 --seq 128 --steps 5 --threads 2
//                    [--device cpu|cuda] [--precision fp32|bf16|fp16]
// On a GPU each step is timed to the end of its queued work, and the JSON adds the driver's
// view of the card's memory (used before the model and at the end, as nvidia-smi shows it).
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/parallel.h"
#include "device/cuda_device.h"
#include "model/checkpoint.h"
#include "train/train_step.h"

using namespace bertrain;

namespace {

int run(int argc, char** argv) {
  const std::string preset = bench::str_arg(argc, argv, "--preset", "bert-base-uncased");
  const int B = static_cast<int>(bench::arg(argc, argv, "--batch", 8));
  const int S = static_cast<int>(bench::arg(argc, argv, "--seq", 128));
  const int steps = static_cast<int>(bench::arg(argc, argv, "--steps", 5));
  const int warmup = static_cast<int>(bench::arg(argc, argv, "--warmup", 1));
  const bool eval_only = bench::arg(argc, argv, "--inference", 0) != 0;
  set_num_threads(static_cast<int>(bench::arg(argc, argv, "--threads", 2)));

  BertConfig c = preset_config(preset);
  c.id2label = {"0", "1", "2", "3", "4"};
  // Inference builds what `bertrain predict` builds: no gradients, no optimizer state.
  const Device device = device_named(bench::str_arg(argc, argv, "--device", "cpu"));
  const DriverMemory driver_before = cuda_driver_memory();
  Bert<float> model(c, device, /*with_grads=*/!eval_only);
  if (bench::arg(argc, argv, "--checkpointing", 0) != 0) model.set_gradient_checkpointing(true);
  model.set_precision(parse_precision(bench::str_arg(argc, argv, "--precision", "fp32")));
  if (bench::arg(argc, argv, "--memory_efficient", 0) != 0)
    model.set_attention_mode(AttentionMode::MemoryEfficient);
  init_weights(model, 42);
  std::optional<AdamW<float>> opt;
  if (!eval_only) opt.emplace(model.layout(), AdamWConfig{5e-5}, device);
  LrSchedule sched{ScheduleType::Linear, 5e-5, 0, warmup + steps};
  std::mt19937 rng(0);
  std::uniform_int_distribution<int> id(100, std::min(30000, c.vocab_size) - 1), label(0, 4);
  std::vector<int32_t> ids(B * S), types(B * S, 0), mask(B * S, 1), labels(B);
  for (int32_t& x : ids) x = id(rng);
  for (int32_t& y : labels) y = label(rng);
  Batch batch{ids.data(), types.data(), mask.data(), labels.data(), B, S};

  std::vector<double> times;
  double loss = 0;
  for (int s = 0; s < warmup + steps; ++s) {
    double t0 = bench::now_seconds();
    if (eval_only)
      loss = model.forward(batch, false, 0);
    else
      loss = train_step(model, *opt, sched, {&batch, 1}, 1.0, 42).loss;
    device.f32->synchronize();
    if (s >= warmup) times.push_back(bench::now_seconds() - t0);
  }
  double med = bench::median(times);
  const Allocator& mem = *device.allocator;
  const DriverMemory driver_after = cuda_driver_memory();
  std::printf(
      "{\"impl\": \"bertrain\", \"mode\": \"%s\", \"checkpointing\": %d, \"attention\": \"%s\", "
      "\"precision\": \"%s\", \"device\": \"%s\", \"gemm_kernel\": \"%s\", \"batch\": %d, "
      "\"seq\": %d, \"threads\": %d, \"driver_used_before_bytes\": %zu, "
      "\"driver_used_after_bytes\": %zu, "
      "\"median_step_s\": %.6f, \"samples_per_s\": %.3f, \"loss\": %.6f, \"peak_rss_bytes\": %ld, "
      "\"peak_counted_bytes\": %zu, \"step_times\": [",
      eval_only ? "inference" : "train", model.gradient_checkpointing() ? 1 : 0,
      model.memory_options().attention == AttentionMode::Standard ? "standard" : "memory_efficient",
      precision_name(model.memory_options().precision), device.name().c_str(),
      model.gemm_kernel().c_str(), B, S, num_threads(), driver_before.used, driver_after.used, med,
      B / med, loss, bench::max_rss_bytes(), mem.peak());
  for (size_t i = 0; i < times.size(); ++i) std::printf("%s%.6f", i ? ", " : "", times[i]);
  std::printf("], \"peak_by_category\": {");
  MemByCategory at_peak = mem.peak_breakdown();
  for (size_t i = 0; i < kNumMemCategories; ++i)
    std::printf("%s\"%s\": %zu", i ? ", " : "",
                std::string(category_name(static_cast<MemCategory>(i))).c_str(), at_peak[i]);
  std::printf("}}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // a bad flag or no GPU: a message, not an abort
    std::fprintf(stderr, "bench_train_step: %s\n", e.what());
    return 1;
  }
}
