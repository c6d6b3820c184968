#include <gtest/gtest.h>

#include "core/parallel.h"
#include "model/bert.h"
#include "train/batch_finder.h"

using namespace bertrain;

TEST(ModelMemory, EveryByteIsCountedInItsCategory) {
  Allocator a("test");
  BertConfig c = preset_config("tiny");
  Bert<float> m(c, cpu_device(a));
  size_t param_bytes = Allocator::charged_size(m.num_params() * 4);
  EXPECT_EQ(a.allocated(MemCategory::Weights), param_bytes);
  EXPECT_EQ(a.allocated(MemCategory::Gradients), param_bytes);
  m.reserve(4, 32);
  ActivationPlan plan = decltype(m)::plan(m.device(), c, 4, 32);
  EXPECT_EQ(a.allocated(MemCategory::Activations), plan.activations);
  EXPECT_EQ(a.allocated(MemCategory::Temporaries), plan.temporaries);
  // The per-layer activations include the [B, heads, S, S] attention probabilities.
  EXPECT_GT(plan.activations, static_cast<size_t>(c.num_hidden_layers) * 4 * 4 * 32 * 32 * 4);
  // A smaller batch reuses the planned memory: no new allocation.
  size_t before = a.allocated();
  std::vector<int32_t> ids(2 * 16, 5), types(2 * 16, 0), mask(2 * 16, 1), labels(2, 1);
  m.forward({ids.data(), types.data(), mask.data(), labels.data(), 2, 16}, true, 1);
  m.backward(1.0);
  EXPECT_EQ(a.allocated(), before);
}

TEST(ModelMemory, LimitFailsCleanlyAndReleasesEverything) {
  Allocator a("cpu");
  BertConfig c = preset_config("tiny");
  size_t weights_and_grads;
  {
    Bert<float> m(c, cpu_device(a));
    weights_and_grads = a.allocated();
  }
  a.set_limit(weights_and_grads + 1024);
  {
    Bert<float> m(c, cpu_device(a));
    try {
      m.reserve(8, 64);
      FAIL() << "expected out of memory";
    } catch (const OutOfMemoryError& e) {
      EXPECT_NE(std::string(e.what()).find("activations"), std::string::npos) << e.what();
    }
    EXPECT_EQ(a.allocated(), weights_and_grads);
  }
  EXPECT_EQ(a.allocated(), 0u);
}

// Pretraining's plan holds the decoder's logits for the masked positions it expects
// (mlm_decoder_rows), not for every position: at 15% of 8 x 64 that is 126 rows of the
// 30522-word vocabulary instead of 512. The run (as many positions masked as planned) counts
// exactly the predicted peak, in fp32 and on bf16 GEMMs.
TEST(ModelMemory, MaskedLmDecoderIsPlannedForTheMaskedPositions) {
  BertConfig c = preset_config("tiny");
  c.vocab_size = 30522;
  c.task = Task::MaskedLM;
  const size_t every = Bert<float>::plan(cpu_device(), c, 8, 64).activations;
  MemoryOptions masked;
  masked.mlm_probability = 0.15;
  const size_t planned = Bert<float>::plan(cpu_device(), c, 8, 64, masked).activations;
  EXPECT_EQ(mlm_decoder_rows(8, 64, 0.15), 126);
  // logits and probabilities of (512 - 126) rows fewer, in fp32
  EXPECT_GE(every - planned, (512 - 126) * 30522 * 2 * sizeof(float));
  for (Precision p : {Precision::FP32, Precision::BF16}) {
    MemoryQuery q;
    q.config = c;
    q.batch = 8;
    q.seq = 64;
    q.precision = p;
    q.mlm_probability = 0.15;
    BatchTrial t = try_batch(q, 0, 1);
    ASSERT_TRUE(t.fits) << t.error;
    EXPECT_EQ(t.measured_peak_bytes, t.predicted_bytes);
  }
}

// A trial step of every head and problem type (the labels each reads: per position, an answer
// span, float targets) counts exactly the predicted peak, in fp32 and in bf16 with
// checkpointing, as find-batch-size and --auto_find_batch_size rely on.
TEST(ModelMemory, EveryHeadsTrialStepCountsItsPrediction) {
  struct Head {
    Task task;
    ProblemType problem;
    int labels;
  };
  for (const Head& h : {Head{Task::SequenceClassification, ProblemType::SingleLabel, 3},
                        Head{Task::SequenceClassification, ProblemType::Regression, 1},
                        Head{Task::SequenceClassification, ProblemType::MultiLabel, 4},
                        Head{Task::TokenClassification, ProblemType::SingleLabel, 13},
                        Head{Task::QuestionAnswering, ProblemType::SingleLabel, 2}})
    for (bool mixed : {false, true}) {
      MemoryQuery q;
      q.config = preset_config("tiny");
      q.config.task = h.task;
      q.config.id2label = default_labels(h.labels, "test");
      q.config.problem_type = problem_type_name(h.problem);
      q.batch = 4;
      q.seq = 32;
      q.precision = mixed ? Precision::BF16 : Precision::FP32;
      q.checkpointing = mixed;
      BatchTrial t = try_batch(q, 0, 1);
      ASSERT_TRUE(t.fits) << task_name(h.task) << ": " << t.error;
      EXPECT_EQ(t.measured_peak_bytes, t.predicted_bytes) << task_name(h.task);
    }
}
