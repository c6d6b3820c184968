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
  bool skipped = false;          // fp16: the gradients overflowed and the optimizer did not step
  double comm_wait_seconds = 0;  // data parallel: time blocked in the gradients' sum over ranks
};

// torch DDP's default bucket_cap_mb: 25 MiB.
constexpr size_t kDdpBucketBytes = size_t{25} << 20;

// Dropout seed of micro-batch k of optimizer step `step` under a run seed.
uint64_t dropout_seed(uint64_t seed, int64_t step, int micro_batch);

// With a Comm of N ranks (data parallel), each rank passes its own micro-batches: the gradients
// and the losses are averaged over the ranks, so every rank takes the same step (a global batch
// of N times the micro-batches). The gradients are summed during the last micro-batch's
// backward in buckets of bucket_bytes (DDP's bucket_cap_mb; on a device with host memory), or
// with bucket_bytes 0 in one sum after it; ZeRO-1 (a sharded optimizer) reduce-scatters them
// after it.
template <typename T>
StepResult train_step(Bert<T>& model, AdamW<T>& optimizer, const LrSchedule& schedule,
                      std::span<const Batch> micro_batches, double max_grad_norm, uint64_t seed,
                      GradScaler* scaler = nullptr, Comm* comm = nullptr,
                      size_t bucket_bytes = kDdpBucketBytes);

}  // namespace bertrain
