// Predicts the peak memory of a training (or inference) run by category, from the same
// planning code the run allocates with, so prediction and measurement can agree.
#pragma once

#include <string>

#include "core/allocator.h"
#include "model/bert.h"
#include "train/training_args.h"

namespace bertrain {

struct MemoryQuery {
  BertConfig config;
  int batch = 8;                 // per-device micro-batch
  int seq = 128;                 // longest sequence of a batch (max_seq_length)
  int accumulation = 1;          // micro-batches held per window
  int eval_batch = 0;            // 0: no evaluation
  Device device = cpu_device();  // its kernels' scratch (on a CPU, for its threads now)
  int workers = 0;               // dataloader_num_workers
  int prefetch_per_worker = 2;
  bool checkpointing = false;
  AttentionMode attention = AttentionMode::Standard;
  Precision precision = Precision::FP32;
  bool training = true;  // false: forward only, no gradients or optimizer state
  int world_size = 1;    // ranks of a data-parallel job
  int zero_stage = 0;    // 1: the optimizer state sharded over them (rank 0's piece predicted)
  double mlm_probability = 0;  // masked LM: the masking rate (MemoryOptions)
};

struct MemoryEstimate {
  MemByCategory bytes{};
  size_t peak = 0;
  size_t per_layer_activations = 0;  // fp32 activations kept per encoder layer
  // Korthikanti et al. (2022) activations of all layers in fp32 (2 x their 16-bit formula),
  // as a cross-check of the planned activations.
  size_t korthikanti_fp32 = 0;
};

MemoryEstimate estimate_memory(const MemoryQuery& q);

// Largest micro-batch whose predicted peak fits `limit` (0 when even batch 1 does not).
int largest_fitting_batch(MemoryQuery q, size_t limit, int max_batch = 4096);

// The query for a run of these arguments on a model of `config` (its id2label the run's
// labels): what train predicts before it allocates, and what `bertrain memory` prints for the
// same flags. The trainer then sets batch/accumulation (auto_find_batch_size) and seq (cut to
// the tokenizer's model_max_length) as they turn out.
MemoryQuery memory_query(const TrainingArguments& a, const BertConfig& config);

}  // namespace bertrain
