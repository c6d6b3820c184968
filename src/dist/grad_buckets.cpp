#include "dist/grad_buckets.h"

#include <algorithm>
#include <functional>

namespace bertrain {

GradBuckets::GradBuckets(Comm& comm, float* grads, size_t n, std::vector<size_t> boundaries,
                         size_t cap_bytes)
    : comm_(comm), grads_(grads) {
  boundaries.push_back(0);
  std::sort(boundaries.begin(), boundaries.end(), std::greater<>());
  bounds_.push_back(n);
  for (size_t b : boundaries) {
    if (b >= bounds_.back()) continue;
    // A bucket closes at the first boundary that makes it at least cap_bytes (0 gives one
    // bucket per boundary); the last one takes whatever is left down to 0.
    if ((bounds_.back() - b) * sizeof(float) >= cap_bytes || b == 0) bounds_.push_back(b);
  }
}

void GradBuckets::ready(size_t from) {
  while (started_ < num_buckets() && bounds_[started_ + 1] >= from) {
    const size_t lo = bounds_[started_ + 1], hi = bounds_[started_];
    comm_.start_allreduce_sum(grads_ + lo, hi - lo);
    ++started_;
  }
  comm_.progress();
}

void GradBuckets::finish() {
  ready(0);
  comm_.wait_all();
}

}  // namespace bertrain
