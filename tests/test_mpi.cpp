// Data parallel over MPI (issue 16), run as `mpirun -np 2 bertrain_mpi_tests` (ctest label mpi):
// every rank runs every test and asserts on its own results.
#include <gtest/gtest.h>

#include <vector>

#include "data/dataset.h"
#include "dist/comm.h"
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
