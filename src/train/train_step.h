// One optimizer step over an accumulation window of micro-batches, as Hugging Face Trainer
// takes it: zero grads; for each micro-batch, backward(loss / K); clip; AdamW; advance.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dist/comm.h"
#include "model/bert.h"
#include "train/grad_scaler.h"
#include "train/optimizer.h"

namespace bertrain {

struct StepResult {
  double loss;       // mean of the micro-batch losses (the loss Trainer logs)
  double grad_norm;  // before clipping
  double lr;         // the learning rate this step used
  std::vector<double> microbatch_losses;
  bool skipped = false;  // fp16: the gradients overflowed and the optimizer did not step
};

// Dropout seed of micro-batch k of optimizer step `step` under a run seed.
uint64_t dropout_seed(uint64_t seed, int64_t step, int micro_batch);

// With a Comm of N ranks (data parallel), each rank passes its own micro-batches: the gradients
// and the losses are averaged over the ranks after backward, so every rank takes the same step
// (a global batch of N times the micro-batches).
template <typename T>
StepResult train_step(BertForSequenceClassification<T>& model, AdamW<T>& optimizer,
                      const LrSchedule& schedule, std::span<const Batch> micro_batches,
                      double max_grad_norm, uint64_t seed, GradScaler* scaler = nullptr,
                      Comm* comm = nullptr);

}  // namespace bertrain
