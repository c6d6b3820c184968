// The dropout masks every backend draws. A dropout site (one tensor [B, per-sample elements] in
// one step) keeps element c of local sample b when a counter-based hash of (the site's seed, the
// sample's global index, c) clears the threshold. So backward (and a recomputing forward)
// regenerates the mask instead of storing it, a GPU step draws the same mask as a CPU step, and
// a sample draws the same mask whichever data-parallel rank holds it (SampleRows). The hash is
// 32-bit (murmur3's finaliser: once per element, a few times per sample or attention row):
// inline and branch-free so that the CPU loops vectorise on 16 lanes; callable from CUDA too.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/batch.h"
#include "core/splitmix.h"

namespace bertrain {

// One dropout site of one step: the probability, the site's seed, and which global samples the
// tensor's rows are.
struct Dropout {
  double p = 0;
  uint64_t seed = 0;
  SampleRows rows;
};

// murmur3's 32-bit finaliser: a bijection whose output bits each depend on every input bit.
BERTRAIN_HOST_DEVICE inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x;
}

// The keep decisions of a run of elements from some element on: keep(j) decides element
// first + j. A sample's elements are indexed in its row-major layout ([S, H] hidden states,
// [H] pooled); attention probabilities are drawn per query row (DropoutMask::attention_row).
class ElementMask {
 public:
  BERTRAIN_HOST_DEVICE ElementMask(uint32_t key, uint32_t threshold, uint32_t first)
      : key_(key), threshold_(threshold), first_(first * kStep) {}

  BERTRAIN_HOST_DEVICE bool keep(int64_t j) const {
    return mix32(key_ ^ (first_ + static_cast<uint32_t>(j) * kStep)) >= threshold_;
  }

 private:
  static constexpr uint32_t kStep = 0x9e3779b9u;  // 2^32 / golden ratio, odd
  uint32_t key_, threshold_, first_;
};

class DropoutMask {
 public:
  // An element is kept when its 32-bit draw u is >= ceil(p * 2^32), so P(keep) = 1 - p to
  // within 2^-32 (p < 1, as the config checks; p * 2^32 is exact in double).
  BERTRAIN_HOST_DEVICE explicit DropoutMask(const Dropout& d)
      : key_(site_key(d.seed)), threshold_(threshold(d.p)), rows_(d.rows) {}

  // Local sample b's elements from `first` on.
  BERTRAIN_HOST_DEVICE ElementMask sample(int64_t b, int64_t first = 0) const {
    return ElementMask(sample_key(b), threshold_, static_cast<uint32_t>(first));
  }

  // Query row i of head h of local sample b's attention probabilities: keep(j) decides key j.
  // The row's key does not depend on the padded length S, so a sample padded to another length
  // (in another rank's batch) draws the same mask over its real keys.
  BERTRAIN_HOST_DEVICE ElementMask attention_row(int64_t b, int64_t h, int64_t i) const {
    const uint32_t head = mix32(sample_key(b) ^ (static_cast<uint32_t>(h) * 0x85ebca77u));
    return ElementMask(mix32(head ^ (static_cast<uint32_t>(i) * 0xc2b2ae3du)), threshold_, 0);
  }
  // The same for batch-head bh = b * heads + h.
  BERTRAIN_HOST_DEVICE ElementMask head_row(int64_t bh, int heads, int64_t i) const {
    return attention_row(bh / heads, bh % heads, i);
  }

  // Flat element i of a [B, per_sample] tensor.
  BERTRAIN_HOST_DEVICE bool keep(int64_t i, int64_t per_sample) const {
    const int64_t b = i / per_sample;
    return sample(b, i - b * per_sample).keep(0);
  }

 private:
  BERTRAIN_HOST_DEVICE uint32_t sample_key(int64_t b) const {
    const int64_t g = b * rows_.stride + rows_.base;  // the sample's global index
    return mix32(key_ + static_cast<uint32_t>(g) * 0x27d4eb2fu);
  }
  BERTRAIN_HOST_DEVICE static uint32_t site_key(uint64_t seed) {
    return static_cast<uint32_t>(splitmix64(seed));  // all 64 bits folded in
  }
  BERTRAIN_HOST_DEVICE static uint32_t threshold(double p) {
    const double t = ::ceil(p * 4294967296.0);
    return t >= 4294967295.0 ? 4294967295u : static_cast<uint32_t>(t);
  }

  uint32_t key_, threshold_;
  SampleRows rows_;
};

}  // namespace bertrain
