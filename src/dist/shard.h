// ZeRO-1's split of a flat buffer of n elements over the ranks: one contiguous piece per rank,
// each starting on a multiple of kShardAlign elements (64 bytes of floats), so that every
// piece is as aligned as the buffer; the last pieces may be shorter, or empty.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace bertrain {

constexpr size_t kShardAlign = 16;

struct Shard {
  size_t begin = 0, end = 0;
  size_t size() const { return end - begin; }
  bool operator==(const Shard&) const = default;
};

inline Shard shard_of(size_t n, int rank, int world) {
  const size_t ranks = static_cast<size_t>(std::max(world, 1));
  const size_t piece = ((n + ranks - 1) / ranks + kShardAlign - 1) / kShardAlign * kShardAlign;
  const size_t begin = std::min(n, piece * static_cast<size_t>(rank));
  return {begin, std::min(n, begin + piece)};
}

// Every rank's piece, in rank order.
inline std::vector<Shard> shards_of(size_t n, int world) {
  std::vector<Shard> s;
  for (int r = 0; r < std::max(world, 1); ++r) s.push_back(shard_of(n, r, world));
  return s;
}

}  // namespace bertrain
