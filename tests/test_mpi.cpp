// Data parallel over MPI (issue 16), run as `mpirun -np 2 bertrain_mpi_tests` (ctest label mpi):
// every rank runs every test and asserts on its own results.
#include <gtest/gtest.h>

#include <vector>

#include "data/dataset.h"
#include "dist/comm.h"
#include "dist/shard.h"
#include "golden_bert_tiny_checks.h"
#include "data/squad.h"
#include "model/checkpoint.h"
#include "test_util.h"
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
// Every problem type's metrics (single-label from the confusion matrix, multi-label from
// per-label counts, regression from the gathered prediction-label pairs) over two shards equal
// the whole set's.
TEST(DataParallel, ShardedEvaluationEqualsTheWholeSet) {
  Comm& w = world();
  ASSERT_EQ(w.size(), 2) << "run under mpirun -np 2";
  for (ProblemType problem :
       {ProblemType::SingleLabel, ProblemType::Regression, ProblemType::MultiLabel}) {
    BertConfig c = preset_config("tiny");
    c.problem_type = problem_type_name(problem);
    c.id2label = {"a", "b", "c"};
    if (problem == ProblemType::Regression) c.id2label = {"score"};
    Bert<float> m(c, cpu_device(), /*with_grads=*/false);
    init_weights(m, 11);
    TokenizedDataset d = dummy_dataset(37, 16, c.vocab_size, 3, 5);  // odd: unequal shards
    ExampleLabels labels = ExampleLabels::classes(d.class_ids(LabelMap(d.label_strings)));
    if (problem != ProblemType::SingleLabel) {  // values, or 2-hot rows, from the class ids
      labels.width = c.num_labels();
      for (int32_t id : labels.class_ids)
        for (int k = 0; k < labels.width; ++k)
          labels.targets.push_back(problem == ProblemType::Regression
                                       ? 0.5f * id
                                       : static_cast<float>(k == id || k == (id + 1) % 3));
      labels.class_ids.clear();
    }
    LoaderOptions o;
    o.batch_size = 4;
    o.shuffle = false;
    DataLoader whole(d, labels, o);
    const EvalResult want = evaluate_model(m, whole);
    o.rank = w.rank();
    o.world = w.size();
    o.pad_shards = false;
    DataLoader mine(d, labels, o);
    const EvalResult got = evaluate_model(m, mine, &w);
    const std::string what = problem_type_name(problem);
    EXPECT_EQ(got.count, 37) << what;
    EXPECT_EQ(got.examples, 37) << what;
    ASSERT_EQ(got.metrics.size(), want.metrics.size()) << what;
    // To rounding: a row's outputs in another batch differ in the last float bits, which the
    // correlations of a random model's near-constant outputs magnify (1e-8 seen).
    for (const auto& [name, value] : want.metrics)
      EXPECT_NEAR(got.metrics.at(name), value, 1e-6 * std::abs(value)) << what << " " << name;
    EXPECT_EQ(got.confusion, want.confusion) << what;
    EXPECT_NEAR(got.loss, want.loss, 1e-6 * want.loss) << what;
  }
}

// Question answering: each rank evaluates its shard of the windows (an uneven split), and with
// every window's logits gathered on every rank the answers, EM/F1 and the loss are one
// process's. A window at a time, so that each window's logits are computed alike in both.
TEST(DataParallel, ShardedQuestionAnsweringEqualsTheWholeSet) {
  Comm& w = world();
  ASSERT_EQ(w.size(), 2) << "run under mpirun -np 2";
  BertConfig c = preset_config("tiny");
  c.task = Task::QuestionAnswering;
  c.vocab_size = 30522;  // bert-base-uncased's ids
  c.id2label = {"LABEL_0", "LABEL_1"};
  Bert<float> m(c, cpu_device(), /*with_grads=*/false);
  init_weights(m, 13);
  const std::vector<QaExample> examples =
      read_squad(test::shared_dir() + "/data/squad/dev-v1.1-part1.json", 25);
  const QaFeatures f = prepare_qa_features(examples, test::uncased_tokenizer(), 64, 16, "dev");
  ASSERT_GT(f.data.size(), examples.size());  // several windows per question
  const QaReference qa{&examples, &f};
  LoaderOptions o;
  o.batch_size = 1;
  o.shuffle = false;
  DataLoader whole(f.data, ExampleLabels::answer_spans(f.spans), o);
  const EvalResult want = evaluate_model(m, whole, nullptr, &qa);
  o.rank = w.rank();
  o.world = w.size();
  o.pad_shards = false;
  DataLoader mine(f.data, ExampleLabels::answer_spans(f.spans), o);
  const EvalResult got = evaluate_model(m, mine, &w, &qa);
  EXPECT_EQ(got.answers, want.answers);
  EXPECT_EQ(got.metrics, want.metrics);
  EXPECT_EQ(got.count, want.count);
  EXPECT_NEAR(got.loss, want.loss, 1e-12 * want.loss);
}

// Token classification: each rank evaluates its shard of the sentences; the seqeval counts are
// summed and every example's predicted tags gathered on every rank, in example order: one
// process's metrics and predictions. A sentence at a time, so that each is computed alike.
TEST(DataParallel, ShardedTokenClassificationEqualsTheWholeSet) {
  Comm& w = world();
  ASSERT_EQ(w.size(), 2) << "run under mpirun -np 2";
  BertConfig c = preset_config("tiny");
  c.task = Task::TokenClassification;
  c.id2label = {"B-x", "I-x", "O"};
  Bert<float> m(c, cpu_device(), /*with_grads=*/false);
  init_weights(m, 17);
  TokenizedDataset d = dummy_dataset(37, 16, c.vocab_size, 3, 5);  // odd: unequal shards
  std::vector<int32_t> tags(d.ids.size());
  for (size_t i = 0; i < tags.size(); ++i) tags[i] = i % 5 == 0 ? -100 : d.ids[i] % 3;
  LoaderOptions o;
  o.batch_size = 1;
  o.shuffle = false;
  DataLoader whole(d, ExampleLabels::per_token(tags), o);
  const EvalResult want = evaluate_model(m, whole);
  o.rank = w.rank();
  o.world = w.size();
  o.pad_shards = false;
  DataLoader mine(d, ExampleLabels::per_token(tags), o);
  const EvalResult got = evaluate_model(m, mine, &w);
  ASSERT_EQ(want.token_predictions.size(), 37u);
  EXPECT_EQ(got.token_predictions, want.token_predictions);
  EXPECT_EQ(got.metrics, want.metrics);
  EXPECT_EQ(got.count, want.count);
  EXPECT_NEAR(got.loss, want.loss, 1e-12 * want.loss);
}
