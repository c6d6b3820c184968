// The data-parallel pieces that need no MPI: ZeRO-1's shards and DDP's gradient buckets (the
// MPI collectives themselves are tested under mpirun in test_mpi.cpp).
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "dist/grad_buckets.h"
#include "dist/shard.h"
#include "model/bert.h"
#include "model/checkpoint.h"

using namespace bertrain;

TEST(Shard, PiecesCoverTheBufferInOrderAlignedWithoutOverlap) {
  for (size_t n : {0, 1, 15, 16, 17, 1000, 4'386'437})
    for (int world : {1, 2, 3, 7}) {
      size_t next = 0;
      for (const Shard& s : shards_of(n, world)) {
        EXPECT_EQ(s.begin, next) << n << " " << world;
        EXPECT_LE(s.begin, s.end);
        if (s.size() > 0) {
          EXPECT_EQ(s.begin % kShardAlign, 0u);
        }
        next = s.end;
      }
      EXPECT_EQ(next, n) << n << " " << world;
      EXPECT_EQ(shard_of(n, 0, world).size(), shards_of(n, world).front().size());
    }
}

namespace {

// A world of two that records the sums started, and when they were waited for.
class RecordingComm final : public Comm {
 public:
  std::vector<std::pair<size_t, size_t>> started;  // (offset, count)
  size_t started_at_wait = 0;
  int progress_calls = 0;
  const float* base = nullptr;
  int rank() const override { return 0; }
  int size() const override { return 2; }
  int local_size() const override { return 2; }
  void allreduce_sum(float*, size_t) override {}
  void allreduce_sum(double*, size_t) override {}
  void start_allreduce_sum(float* data, size_t n) override {
    started.emplace_back(static_cast<size_t>(data - base), n);
  }
  void progress() override { ++progress_calls; }
  void wait_all() override { started_at_wait = started.size(); }
  void reduce_scatter_sum(float*, size_t) override {}
  void reduce_scatter_sum(double*, size_t) override {}
  void allgather(float*, size_t) override {}
  void allgather(double*, size_t) override {}
  void allgather(uint16_t*, size_t) override {}
  void gather_to_root(const float*, float*, size_t) override {}
  void barrier() override {}
  void abort(int) override {}
};

}  // namespace

// A buffer of 1000 values with layer starts at 100, 300, 500, 700 and a head from 900, as
// backward reports them: with a cap of 250 values (1000 bytes) the buckets are [900, 1000) +
// [700, 900) = 300 values, then [300, 700), then [0, 300); each starts as soon as backward has
// reported its lower edge, from the end of the buffer down, and finish() starts the rest and
// waits for all of them.
TEST(GradBuckets, StartEachBucketOnceBackwardHasFinishedItFromTheEndDown) {
  std::vector<float> grads(1000);
  RecordingComm comm;
  comm.base = grads.data();
  GradBuckets b(comm, grads.data(), grads.size(), {100, 300, 500, 700, 900}, 250 * sizeof(float));
  ASSERT_EQ(b.num_buckets(), 3u);
  b.ready(900);  // the head: no bucket is whole yet
  EXPECT_TRUE(comm.started.empty());
  b.ready(700);
  ASSERT_EQ(comm.started.size(), 1u);
  EXPECT_EQ(comm.started[0], std::make_pair(size_t{700}, size_t{300}));
  b.ready(500);
  EXPECT_EQ(comm.started.size(), 1u);
  b.ready(300);
  ASSERT_EQ(comm.started.size(), 2u);
  EXPECT_EQ(comm.started[1], std::make_pair(size_t{300}, size_t{400}));
  b.ready(100);
  EXPECT_EQ(comm.started.size(), 2u);
  EXPECT_EQ(comm.started_at_wait, 0u);
  b.finish();
  ASSERT_EQ(comm.started.size(), 3u);
  EXPECT_EQ(comm.started[2], std::make_pair(size_t{0}, size_t{300}));
  EXPECT_EQ(comm.started_at_wait, 3u);  // waited after starting the last one
  EXPECT_GT(comm.progress_calls, 0);
}

TEST(GradBuckets, ATinyCapGivesABucketPerLayerAndAHugeOneASingleBucket) {
  std::vector<float> grads(1000);
  RecordingComm comm;
  comm.base = grads.data();
  EXPECT_EQ(GradBuckets(comm, grads.data(), 1000, {100, 300, 500, 700, 900}, 1).num_buckets(), 6u);
  EXPECT_EQ(GradBuckets(comm, grads.data(), 1000, {100, 300, 500, 700, 900}, size_t{1} << 40)
                .num_buckets(),
            1u);
}

// What the buckets rely on: backward reports grads_ready_offsets() in that order, and at each
// report every gradient from the offset to the end already has its final value.
TEST(GradBuckets, BackwardReportsEachOffsetOnceItsGradientsAreFinal) {
  const BertConfig c = preset_config("tiny");
  Bert<float> model(c);
  init_weights(model, 7);
  const int B = 2, S = 8;
  std::vector<int32_t> ids(B * S), types(B * S, 0), mask(B * S, 1), labels = {0, 1};
  for (int i = 0; i < B * S; ++i) ids[i] = 5 + (i * 37) % (c.vocab_size - 5);
  const size_t n = model.num_params();
  std::vector<size_t> reported;
  std::vector<std::vector<float>> tails;  // the gradients from each reported offset to the end
  model.set_grads_ready_hook([&](size_t from) {
    reported.push_back(from);
    tails.emplace_back(model.grads() + from, model.grads() + n);
  });
  model.zero_grads();
  model.forward({ids.data(), types.data(), mask.data(), labels.data(), B, S}, true, 3);
  model.backward(1.0);
  model.set_grads_ready_hook({});
  EXPECT_EQ(reported, model.grads_ready_offsets());
  const float* g = model.grads();
  for (size_t k = 0; k < reported.size(); ++k)
    EXPECT_TRUE(std::equal(tails[k].begin(), tails[k].end(), g + reported[k])) << reported[k];
}
