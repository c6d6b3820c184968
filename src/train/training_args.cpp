#include "train/training_args.h"

#include <cctype>
#include <cmath>

#include "core/error.h"

namespace bertrain {

bool pads_to_max_length(const std::string& padding) {
  if (padding != "max_length" && padding != "longest")
    fail("--padding must be max_length or longest, got \"", padding, "\"");
  return padding == "max_length";
}

size_t parse_size(const std::string& text) {
  size_t pos = 0;
  double value = 0;
  try {
    value = std::stod(text, &pos);
  } catch (const std::exception&) {
    fail("cannot read the size \"", text, "\" (expected e.g. 7.4GiB, 3281MB, 512M)");
  }
  std::string unit = text.substr(pos);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(0, 1);
  double scale = 0;
  const std::pair<const char*, double> units[] = {{"", 1},
                                                  {"B", 1},
                                                  {"K", 1024},
                                                  {"KiB", 1024},
                                                  {"KB", 1e3},
                                                  {"M", 1 << 20},
                                                  {"MiB", 1 << 20},
                                                  {"MB", 1e6},
                                                  {"G", 1ull << 30},
                                                  {"GiB", 1ull << 30},
                                                  {"GB", 1e9},
                                                  {"T", 1ull << 40},
                                                  {"TiB", 1ull << 40},
                                                  {"TB", 1e12}};
  for (const auto& [name, s] : units)
    if (unit == name) scale = s;
  if (scale == 0)
    fail("unknown unit \"", unit, "\" in size \"", text, "\" (use B, KiB, MiB, GiB, KB, MB, GB)");
  double bytes = value * scale;
  if (!(bytes > 0) || bytes > 1e18) fail("size \"", text, "\" is out of range");
  return static_cast<size_t>(std::llround(bytes));
}

void TrainingArguments::validate() const {
  if (model.empty()) fail("--model is required (a Hugging Face model directory)");
  if (output_dir.empty()) fail("--output_dir is required");
  if (dummy && !train_file.empty())
    fail("--dummy and --train_file exclude each other: pick one data source");
  if (!dummy && train_file.empty()) fail("--train_file is required (or --dummy for random data)");
  auto positive = [](const char* name, double v) {
    if (!(v > 0)) fail("--", name, " must be positive, got ", v);
  };
  positive("per_device_train_batch_size", per_device_train_batch_size);
  positive("per_device_eval_batch_size", per_device_eval_batch_size);
  positive("gradient_accumulation_steps", gradient_accumulation_steps);
  positive("max_seq_length", max_seq_length);
  if (max_steps <= 0) positive("num_train_epochs", num_train_epochs);
  if (learning_rate < 0) fail("--learning_rate must be >= 0");
  if (weight_decay < 0) fail("--weight_decay must be >= 0");
  if (warmup_ratio < 0 || warmup_ratio >= 1) fail("--warmup_ratio must be in [0, 1)");
  if (warmup_steps < 0) fail("--warmup_steps must be >= 0");
  if (warmup_steps > 0 && warmup_ratio > 0)
    fail("--warmup_steps and --warmup_ratio both set: give one (HF uses warmup_steps then)");
  pads_to_max_length(padding);
  for (const auto& [name, v] :
       {std::pair{"eval_strategy", eval_strategy}, {"save_strategy", save_strategy}})
    if (!v.empty() && v != "no" && v != "epoch" && v != "steps")
      fail("--", name, " must be no, epoch or steps, got \"", v, "\"");
  if (eval_strategy == "steps" && eval_steps <= 0 && logging_steps <= 0)
    fail("--eval_strategy steps needs --eval_steps");
  if ((eval_strategy == "epoch" || eval_strategy == "steps") && eval_file.empty() && !dummy)
    fail("--eval_strategy ", eval_strategy, " needs --eval_file");
  if (save_strategy == "steps" && save_steps <= 0)
    fail("--save_steps must be positive with --save_strategy steps");
  if (logging_steps <= 0) fail("--logging_steps must be positive");
  if (dataloader_num_workers < 0) fail("--dataloader_num_workers must be >= 0");
  if (dummy && (dummy_size <= 0 || dummy_seq_len <= 1))
    fail("--dummy_size and --dummy_seq_len must be positive");
  if (!memory_limit.empty()) parse_size(memory_limit);
  if (bf16 && fp16) fail("--bf16 and --fp16 exclude each other: pick one precision");
  if (attention != "standard" && attention != "memory_efficient")
    fail("--attention must be standard or memory_efficient, got \"", attention, "\"");
}

}  // namespace bertrain
