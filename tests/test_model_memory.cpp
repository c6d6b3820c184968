#include <gtest/gtest.h>

#include "core/parallel.h"
#include "model/bert.h"

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
