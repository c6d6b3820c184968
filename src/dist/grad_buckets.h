// DDP's gradient buckets (torch.nn.parallel.DistributedDataParallel, bucket_cap_mb): the flat
// gradient buffer cut, from its end, into buckets of at least `cap_bytes` that end and start on
// the offsets backward reports as it goes (a layer's start). Backward finishes the buffer from
// its end down (the head, then the last layer first), so each bucket's all-reduce starts as
// soon as backward has finished its layers and runs while backward goes on below it.
#pragma once

#include <cstddef>
#include <vector>

#include "dist/comm.h"

namespace bertrain {

class GradBuckets {
 public:
  // grads holds n values; boundaries are the offsets backward will report (any order;
  // Bert::grads_ready_offsets()).
  GradBuckets(Comm& comm, float* grads, size_t n, std::vector<size_t> boundaries, size_t cap_bytes);
  // Every gradient from `from` to the end is final: start the buckets lying there.
  void ready(size_t from);
  // Starts what is left and waits for every bucket's sum.
  void finish();
  size_t num_buckets() const { return bounds_.size() - 1; }

 private:
  Comm& comm_;
  float* grads_;
  std::vector<size_t> bounds_;  // descending: n, ..., 0; bucket i is [bounds_[i+1], bounds_[i])
  size_t started_ = 0;          // buckets started, from the end
};

}  // namespace bertrain
