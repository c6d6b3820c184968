// The fine-tuning job with Hugging Face Trainer semantics: data -> micro-batches ->
// accumulation windows -> clipped AdamW steps on a linear schedule, evaluation, HF-style
// logs, checkpoints that survive a kill, resume, and the final model in HF format.
#pragma once

#include <nlohmann/json.hpp>

#include "train/training_args.h"

namespace bertrain {

struct TrainOutcome {
  nlohmann::json metrics;  // the contents of all_results.json
  bool interrupted = false;
  int signal = 0;
};

// Runs the whole job; logs go to stdout (a progress bar to stderr on a terminal). When the run
// does not fit the memory limit it writes output_dir/out_of_memory.json (the error and the
// predicted peak) and rethrows the OutOfMemoryError.
TrainOutcome run_training(const TrainingArguments& args);

// The exit code of a command that ran out of memory (the limit, or the machine's), so a sweep
// can tell it from other failures.
constexpr int kExitOutOfMemory = 3;

// Installs SIGINT/SIGTERM handlers that ask the running training to stop after its step.
void install_stop_handlers();

}  // namespace bertrain
