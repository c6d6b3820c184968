// The whole model's backward against finite differences in double precision, on tiny odd
// shapes (so nothing depends on the fixture's config), with and without dropout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"
#include "model/bert.h"
#include "test_util.h"

using namespace bertrain;

namespace {

BertConfig tiny_config(double dropout, ProblemType problem = ProblemType::SingleLabel,
                       Task task = Task::SequenceClassification) {
  BertConfig c;
  c.vocab_size = 40;
  c.hidden_size = 6;
  c.num_attention_heads = 2;
  c.num_hidden_layers = 2;
  c.intermediate_size = 10;
  c.max_position_embeddings = 12;
  c.type_vocab_size = 2;
  c.id2label = {"a", "b", "c"};
  c.hidden_dropout_prob = dropout;
  c.attention_probs_dropout_prob = dropout / 2;
  c.problem_type = problem_type_name(problem);
  if (problem == ProblemType::Regression) c.id2label = {"score"};
  c.task = task;
  return c;
}

void randomize(Bert<double>& m, uint64_t seed) {
  auto v = test::random_vector(m.num_params(), seed, 0.4);
  std::copy(v.begin(), v.end(), m.params());
  for (const ParamSpec& p : m.layout().params())
    if (p.name.find("LayerNorm.weight") != std::string::npos)
      for (size_t i = 0; i < p.numel; ++i) m.params()[p.offset + i] += 1.0;
}

struct TinyBatch {
  // Row 0 full single segment, row 1 a padded pair, row 2 short and padded.
  std::vector<int32_t> ids = {1, 7, 9, 13, 2, 1, 5, 2, 8, 0, 1, 39, 2, 0, 0};
  std::vector<int32_t> types = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  std::vector<int32_t> mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0};
  std::vector<int32_t> labels = {2, 0, 1};
  std::vector<float> scores = {1.5f, -0.25f, 3.0f};               // regression
  std::vector<float> multi_hot = {1, 0, 1, 0, 0, 0, 0.0f, 1, 1};  // multi-label
  // Per position (token classification over 3 classes, masked LM over the 40 ids), -100 where
  // nothing is predicted; question answering's (start, end) per row, one end past the row
  // (clamped to S: ignored) and one start before it (clamped to 0).
  std::vector<int32_t> tokens = {2, -100, 0, 1, -100, -100, 1, 2, -100, -100, 0, 2, 1, -100, -100};
  std::vector<int32_t> masked = {-100, 7,    -100, 13, -100, 5, -100, -100,
                                 8,    -100, -100, 39, -100, 0, -100};
  std::vector<int32_t> spans = {1, 3, 0, 7, -2, 2};
  ProblemType problem = ProblemType::SingleLabel;
  Task task = Task::SequenceClassification;
  Batch rows(int begin, int count) const {
    size_t off = static_cast<size_t>(begin) * 5;
    Batch b{ids.data() + off, types.data() + off, mask.data() + off, nullptr, count, 5};
    if (task == Task::TokenClassification) b.labels = tokens.data() + off;
    if (task == Task::MaskedLM) b.labels = masked.data() + off;
    if (task == Task::QuestionAnswering) b.labels = spans.data() + 2 * begin;
    if (task != Task::SequenceClassification) return b;
    if (problem == ProblemType::SingleLabel) b.labels = labels.data() + begin;
    if (problem == ProblemType::Regression) b.targets = scores.data() + begin;
    if (problem == ProblemType::MultiLabel) b.targets = multi_hot.data() + 3 * begin;
    return b;
  }
};

void check_model(double dropout, bool training, ProblemType problem = ProblemType::SingleLabel,
                 Task task = Task::SequenceClassification) {
  Bert<double> m(tiny_config(dropout, problem, task));
  randomize(m, 11);
  TinyBatch tb;
  tb.problem = problem;
  tb.task = task;
  Batch b = tb.rows(0, 3);
  auto f = [&] { return m.forward(b, training, 99); };
  m.zero_grads();
  f();
  m.backward(1.0);
  std::vector<double> grads(m.grads(), m.grads() + m.num_params());
  for (const ParamSpec& p : m.layout().params()) {
    // Skip the [PAD] row: nn.Embedding(padding_idx) gives it no gradient by definition.
    size_t begin = p.offset, n = p.numel;
    // The masked LM's tied decoder does give it one, which differences cannot separate from
    // the lookup's: there the golden test checks the row (GoldenHeads.Gradients/mlm).
    if (p.name == "bert.embeddings.word_embeddings.weight") {
      for (int c = 0; c < 6 && task != Task::MaskedLM; ++c) {
        EXPECT_EQ(grads[begin + c], 0.0);
      }
      begin += 6;
      n -= 6;
    }
    test::expect_gradient(f, m.params() + begin, grads.data() + begin, n, p.name, 1e-6);
  }
}

}  // namespace

TEST(ModelGradCheck, EvalModeNoDropout) {
  check_model(0.0, false);
}
TEST(ModelGradCheck, TrainingModeWithSeededDropout) {
  check_model(0.2, true);
}
TEST(ModelGradCheck, RegressionHeadMeanSquaredError) {
  check_model(0.2, true, ProblemType::Regression);
}
TEST(ModelGradCheck, MultiLabelHeadBinaryCrossEntropy) {
  check_model(0.2, true, ProblemType::MultiLabel);
}
TEST(ModelGradCheck, MaskedLmHeadWithTiedDecoder) {
  check_model(0.2, true, ProblemType::SingleLabel, Task::MaskedLM);
}
TEST(ModelGradCheck, TokenClassificationHead) {
  check_model(0.2, true, ProblemType::SingleLabel, Task::TokenClassification);
}
TEST(ModelGradCheck, QuestionAnsweringHeadWithClampedPositions) {
  check_model(0.2, true, ProblemType::SingleLabel, Task::QuestionAnswering);
}

// --label_smoothing_factor reaches the loss of a single-label model, (1 - eps) NLL + eps times
// the mean over classes of -log p (worked out here from the model's own logits), and is refused
// for another problem type.
TEST(Model, LabelSmoothingMixesTheClassMeanIntoTheLoss) {
  Bert<double> m(tiny_config(0.0));
  randomize(m, 4);
  TinyBatch tb;
  const double eps = 0.2;
  m.set_label_smoothing(eps);
  const double loss = m.forward(tb.rows(0, 3), false, 0);
  const double* z = m.logits();
  double want = 0;
  for (int r = 0; r < 3; ++r) {
    double mx = std::max({z[3 * r], z[3 * r + 1], z[3 * r + 2]}), s = 0, mean_nll = 0;
    for (int c = 0; c < 3; ++c) s += std::exp(z[3 * r + c] - mx);
    for (int c = 0; c < 3; ++c) mean_nll += (std::log(s) + mx - z[3 * r + c]) / 3;
    const double nll = std::log(s) + mx - z[3 * r + tb.labels[r]];
    want += ((1 - eps) * nll + eps * mean_nll) / 3;
  }
  EXPECT_NEAR(loss, want, 1e-12);
  Bert<double> regression(tiny_config(0.0, ProblemType::Regression));
  EXPECT_THROW(regression.set_label_smoothing(0.1), Error);
}

// The masked LM's decoder runs over the labelled positions only: the same loss and gradients
// as over every position.
TEST(Model, MaskedLmOverLabelledPositionsEqualsAllPositions) {
  auto run = [](bool all) {
    Bert<double> m(tiny_config(0.0, ProblemType::SingleLabel, Task::MaskedLM));
    randomize(m, 3);
    m.set_mlm_all_positions(all);
    TinyBatch tb;
    tb.task = Task::MaskedLM;
    m.zero_grads();
    const double loss = m.forward(tb.rows(0, 3), true, 1);
    m.backward(1.0);
    EXPECT_EQ(m.logit_rows(), all ? 15 : 6);
    return std::pair{loss, std::vector<double>(m.grads(), m.grads() + m.num_params())};
  };
  const auto [sparse_loss, sparse_grads] = run(false);
  const auto [all_loss, all_grads] = run(true);
  EXPECT_NEAR(sparse_loss, all_loss, 1e-14);
  for (size_t i = 0; i < all_grads.size(); ++i)
    ASSERT_NEAR(sparse_grads[i], all_grads[i], 1e-14) << i;
}

// Planned for masking rate 0.01, the decoder of 3 rows x 5 positions has room for 3 rows
// (mlm_decoder_rows); a batch with 6 masked positions is predicted at its first 3, as if only
// those were labelled.
TEST(Model, MaskedLmBeyondThePlannedRowsLeavesTheRestOut) {
  EXPECT_EQ(mlm_decoder_rows(3, 5, 0.01), 3);
  EXPECT_EQ(mlm_decoder_rows(3, 5, 0.0), 15);
  EXPECT_EQ(mlm_decoder_rows(32, 128, 0.15), 752);  // 614.4 + 6 x 22.8, not 4096
  auto run = [](double p, const std::vector<int32_t>& masked) {
    Bert<double> m(tiny_config(0.0, ProblemType::SingleLabel, Task::MaskedLM));
    randomize(m, 3);
    m.set_mlm_probability(p);
    TinyBatch tb;
    tb.task = Task::MaskedLM;
    tb.masked = masked;
    m.zero_grads();
    const double loss = m.forward(tb.rows(0, 3), true, 1);
    m.backward(1.0);
    EXPECT_EQ(m.logit_rows(), 3);
    return std::pair{loss, std::vector<double>(m.grads(), m.grads() + m.num_params())};
  };
  TinyBatch tb;
  tb.task = Task::MaskedLM;
  std::vector<int32_t> first3 = tb.masked;
  int kept = 0;
  for (int32_t& y : first3)
    if (y != -100 && ++kept > 3) y = -100;
  const auto [capped_loss, capped_grads] = run(0.01, tb.masked);
  const auto [loss, grads] = run(0.0, first3);
  EXPECT_EQ(capped_loss, loss);
  EXPECT_EQ(capped_grads, grads);
  Bert<double> m(tiny_config(0.0, ProblemType::SingleLabel, Task::MaskedLM));
  m.set_mlm_probability(0.01);
  m.set_mlm_all_positions(true);
  const std::string e = test::error_of([&] { m.forward(tb.rows(0, 3), false, 1); });
  EXPECT_NE(e.find("not for every position"), std::string::npos) << e;
}

TEST(ModelGradCheck, AccumulatedMicroBatchesEqualTheFullBatch) {
  // Two micro-batches of rows {0} and {1, 2} weighted by their share reproduce the full
  // batch's mean-loss gradient; this checks that backward accumulates and scales.
  Bert<double> m(tiny_config(0.0));
  randomize(m, 5);
  TinyBatch tb;
  m.zero_grads();
  m.forward(tb.rows(0, 3), true, 1);
  m.backward(1.0);
  std::vector<double> full(m.grads(), m.grads() + m.num_params());
  m.zero_grads();
  m.forward(tb.rows(0, 1), true, 1);
  m.backward(1.0 / 3);
  m.forward(tb.rows(1, 2), true, 1);
  m.backward(2.0 / 3);
  for (size_t i = 0; i < full.size(); ++i) ASSERT_NEAR(m.grads()[i], full[i], 1e-12) << i;
}

TEST(Model, BadInputsAreNamed) {
  Bert<float> m(tiny_config(0.0));
  TinyBatch tb;
  tb.ids[4] = 40;
  try {
    m.forward(tb.rows(0, 3), false, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input_ids[0, 4] = 40"), std::string::npos) << e.what();
  }
  tb = TinyBatch();
  tb.labels[2] = 3;
  try {
    m.forward(tb.rows(0, 3), false, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("labels[2] = 3"), std::string::npos) << e.what();
  }
  tb = TinyBatch();
  tb.types[1] = 2;
  EXPECT_THROW(m.forward(tb.rows(0, 3), false, 0), Error);
  tb = TinyBatch();
  Batch too_long = tb.rows(0, 1);
  too_long.S = 13;
  EXPECT_THROW(m.forward(too_long, false, 0), Error);
}

TEST(Model, ThreadedKernelsAgreeWithSerial) {
  // Shapes large enough that every kernel takes its parallel path with 2 threads.
  BertConfig c = preset_config("tiny");
  c.id2label = {"a", "b", "c"};
  c.hidden_dropout_prob = 0.1;
  c.attention_probs_dropout_prob = 0.1;
  const int B = 8, S = 64;
  std::vector<int32_t> ids(B * S), types(B * S, 0), mask(B * S, 1), labels(B);
  for (int i = 0; i < B * S; ++i) ids[i] = 1 + (i * 37) % 500;
  for (int s = 40; s < S; ++s) mask[3 * S + s] = 0;
  for (int b = 0; b < B; ++b) labels[b] = b % 3;
  Batch batch{ids.data(), types.data(), mask.data(), labels.data(), B, S};
  auto run = [&](int threads, std::vector<float>& grads) {
    set_num_threads(threads);
    Bert<float> m(c);
    auto v = test::random_vector(m.num_params(), 3, 0.05);
    std::copy(v.begin(), v.end(), m.params());
    m.zero_grads();
    double loss = m.forward(batch, true, 7);
    m.backward(1.0);
    grads.assign(m.grads(), m.grads() + m.num_params());
    return loss;
  };
  std::vector<float> g1, g2;
  double l1 = run(1, g1), l2 = run(2, g2);
  set_num_threads(2);
  EXPECT_NEAR(l1, l2, 1e-6);
  double max_g = 0;
  for (float g : g1) max_g = std::max(max_g, static_cast<double>(std::abs(g)));
  for (size_t i = 0; i < g1.size(); ++i) ASSERT_NEAR(g1[i], g2[i], 1e-5 * max_g) << i;
}

TEST(Model, GradientCheckpointingGivesIdenticalGradients) {
  BertConfig c = preset_config("tiny");
  c.id2label = {"a", "b", "c"};
  c.num_hidden_layers = 3;
  c.hidden_dropout_prob = 0.1;
  c.attention_probs_dropout_prob = 0.1;
  const int B = 8, S = 64;
  std::vector<int32_t> ids(B * S), types(B * S, 0), mask(B * S, 1), labels(B);
  for (int i = 0; i < B * S; ++i) ids[i] = 1 + (i * 53) % 500;
  for (int s = 30; s < S; ++s) mask[5 * S + s] = 0;
  for (int b = 0; b < B; ++b) labels[b] = (b * 7) % 3;
  Batch batch{ids.data(), types.data(), mask.data(), labels.data(), B, S};
  auto run = [&](bool ckpt, std::vector<float>& grads, std::vector<float>& hidden) {
    Bert<float> m(c);
    auto v = test::random_vector(m.num_params(), 9, 0.05);
    std::copy(v.begin(), v.end(), m.params());
    m.set_gradient_checkpointing(ckpt);
    m.zero_grads();
    double loss = m.forward(batch, true, 11);
    hidden.assign(m.hidden_state(2), m.hidden_state(2) + B * S * c.hidden_size);
    m.backward(1.0);
    grads.assign(m.grads(), m.grads() + m.num_params());
    return loss;
  };
  std::vector<float> g_plain, g_ckpt, h_plain, h_ckpt;
  double l_plain = run(false, g_plain, h_plain), l_ckpt = run(true, g_ckpt, h_ckpt);
  EXPECT_EQ(l_plain, l_ckpt);
  EXPECT_EQ(h_plain, h_ckpt);  // every layer's output is still available
  EXPECT_EQ(g_plain, g_ckpt);  // recomputation reproduces the forward bit for bit
  ActivationPlan plain = Bert<float>::plan(cpu_device(), c, B, S, {});
  ActivationPlan ckpt = Bert<float>::plan(cpu_device(), c, B, S, {true});
  EXPECT_LT(ckpt.activations, plain.activations * 6 / 10);
}

TEST(ModelGradCheck, WithGradientCheckpointing) {
  Bert<double> m(tiny_config(0.2));
  randomize(m, 13);
  m.set_gradient_checkpointing(true);
  TinyBatch tb;
  Batch b = tb.rows(0, 3);
  auto f = [&] { return m.forward(b, true, 5); };
  m.zero_grads();
  f();
  m.backward(1.0);
  std::vector<double> grads(m.grads(), m.grads() + m.num_params());
  const ParamSpec& q = m.layout().find("bert.encoder.layer.0.attention.self.query.weight");
  test::expect_gradient(f, m.params() + q.offset, grads.data() + q.offset, q.numel, q.name, 1e-6);
  const ParamSpec& ln = m.layout().find("bert.encoder.layer.0.output.LayerNorm.weight");
  test::expect_gradient(f, m.params() + ln.offset, grads.data() + ln.offset, ln.numel, ln.name,
                        1e-6);
}

TEST(Model, MemoryEfficientAttentionMatchesStandard) {
  BertConfig c = preset_config("tiny");
  c.id2label = {"a", "b"};
  c.max_position_embeddings = 160;
  c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0.1;
  const int B = 3, S = 150;  // three query blocks, the last partial
  std::vector<int32_t> ids(B * S), types(B * S, 0), mask(B * S, 1), labels = {0, 1, 1};
  for (int i = 0; i < B * S; ++i) ids[i] = 1 + (i * 31) % 500;
  for (int s = 90; s < S; ++s) mask[2 * S + s] = 0;
  Batch batch{ids.data(), types.data(), mask.data(), labels.data(), B, S};
  auto run = [&](AttentionMode mode, std::vector<float>& grads) {
    Bert<float> m(c);
    auto v = test::random_vector(m.num_params(), 4, 0.05);
    std::copy(v.begin(), v.end(), m.params());
    m.set_attention_mode(mode);
    m.zero_grads();
    double loss = m.forward(batch, true, 3);
    m.backward(1.0);
    grads.assign(m.grads(), m.grads() + m.num_params());
    return loss;
  };
  std::vector<float> g_std, g_me;
  double l_std = run(AttentionMode::Standard, g_std),
         l_me = run(AttentionMode::MemoryEfficient, g_me);
  EXPECT_NEAR(l_std, l_me, 1e-6);
  double max_g = 0;
  for (float g : g_std) max_g = std::max(max_g, static_cast<double>(std::abs(g)));
  for (size_t i = 0; i < g_std.size(); ++i) ASSERT_NEAR(g_me[i], g_std[i], 1e-4 * max_g) << i;
  ActivationPlan std_plan = Bert<float>::plan(cpu_device(), c, B, S, {});
  ActivationPlan me_plan =
      Bert<float>::plan(cpu_device(), c, B, S, {false, AttentionMode::MemoryEfficient});
  EXPECT_LT(me_plan.activations, std_plan.activations);
}
