// Data parallel over MPI (issue 16), run as `mpirun -np 2 bertrain_mpi_tests` (ctest label mpi):
// every rank runs every test and asserts on its own results.
#include <gtest/gtest.h>

#include <vector>

#include "data/dataset.h"
#include "dist/comm.h"
#include "dist/shard.h"
#include "golden_bert_tiny_checks.h"
#include "model/checkpoint.h"
#include "train/evaluation.h"

using namespace bertrain;

TEST(Mpi, AllreduceSumsOverTheRanks) {
  Comm& w = world();
  ASSERT_EQ(w.size(), 2) << "run under mpirun -np 2";
  std::vector<float> f = {1.0f + w.rank(), 10.0f * w.rank()};
  std::vector<double> d = {0.5 * (w.rank() + 1)};
  w.allreduce_sum(f.data(), f.size());
  w.allreduce_sum(d.data(), d.size());
  EXPECT_EQ(f, (std::vector<float>{3.0f, 10.0f}));
  EXPECT_EQ(d[0], 1.5);
}

// ZeRO-1's collectives over a buffer split as shards_of lays it out (35 values: pieces of 32
// and 3): each rank's piece summed over the ranks, then every piece everywhere, or on rank 0.
TEST(Mpi, ShardCollectivesFollowThePieces) {
  Comm& w = world();
  ASSERT_EQ(w.size(), 2) << "run under mpirun -np 2";
  const size_t n = 35;
  const Shard mine = shard_of(n, w.rank(), w.size());
  auto value = [](size_t i, int rank) { return static_cast<float>(i) + 100.0f * rank; };
  std::vector<float> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = value(i, w.rank());
  w.reduce_scatter_sum(f.data(), n);
  for (size_t i = mine.begin; i < mine.end; ++i) EXPECT_EQ(f[i], value(i, 0) + value(i, 1)) << i;
  std::vector<float> g(n, -1.0f);
  std::vector<uint16_t> h(n, 0);
  std::vector<double> d(n, -1.0);
  for (size_t i = mine.begin; i < mine.end; ++i) {
    g[i] = value(i, w.rank());
    h[i] = static_cast<uint16_t>(i + 1);
    d[i] = 2.0 * value(i, w.rank());
  }
  std::vector<float> piece(g.begin() + mine.begin, g.begin() + mine.end);
  std::vector<float> root(w.rank() == 0 ? n : 0);
  w.allgather(g.data(), n);
  w.allgather(h.data(), n);
  w.allgather(d.data(), n);
  w.gather_to_root(piece.data(), root.data(), n);
  for (size_t i = 0; i < n; ++i) {
    const int owner = i < shard_of(n, 0, 2).end ? 0 : 1;
    EXPECT_EQ(g[i], value(i, owner)) << i;
    EXPECT_EQ(h[i], i + 1) << i;
    EXPECT_EQ(d[i], 2.0 * value(i, owner)) << i;
    if (w.rank() == 0) {
      EXPECT_EQ(root[i], value(i, owner)) << i;
    }
  }
}

// Rank r takes micro-batch r of the fixture's two: together the single process's batch. The
// averaged gradients and losses follow Hugging Face's trajectory at the fixture's tolerances.
TEST(DataParallel, TwoRanksFollowTheGoldenTrajectory) {
  ASSERT_EQ(world().size(), 2) << "run under mpirun -np 2";
  test::check_golden_trajectory(cpu_device(), "trajectory", "final", 1.0, world());
}

TEST(DataParallel, TwoRanksFollowTheClippedGoldenTrajectory) {
  ASSERT_EQ(world().size(), 2) << "run under mpirun -np 2";
  test::BertTinyFixture fx;
  test::check_golden_trajectory(cpu_device(), "trajectory_clip", "final_clip",
                                fx.values("trajectory_clip.max_grad_norm")[0], world());
}

// Each rank evaluates its unpadded shard; the sums over the ranks give the same accuracy, loss
// and confusion matrix as one process evaluating every example.
TEST(DataParallel, ShardedEvaluationEqualsTheWholeSet) {
  Comm& w = world();
  ASSERT_EQ(w.size(), 2) << "run under mpirun -np 2";
  BertConfig c = preset_config("tiny");
  BertForSequenceClassification<float> m(c, cpu_device(), /*with_grads=*/false);
  init_weights(m, 11);
  TokenizedDataset d =
      dummy_dataset(37, 16, c.vocab_size, c.num_labels(), 5);  // odd: unequal shards
  LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  DataLoader whole(d, d.class_ids(LabelMap(d.label_strings)), o);
  const EvalResult want = evaluate_model(m, whole);
  o.rank = w.rank();
  o.world = w.size();
  o.pad_shards = false;
  DataLoader mine(d, d.class_ids(LabelMap(d.label_strings)), o);
  const EvalResult got = evaluate_model(m, mine, &w);
  EXPECT_EQ(got.count, 37);
  EXPECT_EQ(got.examples, 37);
  EXPECT_EQ(got.accuracy, want.accuracy);
  EXPECT_EQ(got.confusion, want.confusion);
  EXPECT_NEAR(got.loss, want.loss, 1e-12);
}
