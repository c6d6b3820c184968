// The largest per-device batch that fits a memory limit: predicted by the memory model, then
// confirmed by trial steps run in-process against an allocator with that limit. A trial that
// runs out of memory fails gracefully and leaves nothing allocated.
#pragma once

#include <vector>

#include "train/memory_model.h"

namespace bertrain {

struct BatchTrial {
  int batch;
  bool fits;
  size_t predicted_bytes;
  size_t measured_peak_bytes;  // up to the failure, for a trial that did not fit
  std::string error;           // the out-of-memory message, when it did not fit
};

// Builds the model, optimizer and batch buffers under `limit` and runs `steps` training steps
// (forward, backward, AdamW) on random tokens of q.batch x q.seq.
BatchTrial try_batch(const MemoryQuery& q, size_t limit, int steps);

struct BatchSearch {
  int batch = 0;  // 0: not even batch 1 fits
  std::vector<BatchTrial> trials;
};

// Prediction first, then trials at the predicted batch and the one above it, searching
// further (binary) only where a trial disagrees with the prediction.
BatchSearch find_batch_size(const MemoryQuery& q, size_t limit, int steps, int max_batch = 4096);

}  // namespace bertrain
