#include <gtest/gtest.h>

#include "core/buffer.h"
#include "core/tensor.h"

using namespace bertrain;

TEST(Allocator, CountsByCategoryAndPeak) {
  Allocator a("test");
  {
    Buffer<float> w(1000, MemCategory::Weights, "w", a);
    Buffer<float> g(1000, MemCategory::Gradients, "g", a);
    EXPECT_EQ(a.allocated(MemCategory::Weights), Allocator::charged_size(4000));
    EXPECT_EQ(a.allocated(), 2 * Allocator::charged_size(4000));
    {
      Buffer<double> act(100, MemCategory::Activations, "act", a);
      EXPECT_EQ(a.peak(), 2 * Allocator::charged_size(4000) + Allocator::charged_size(800));
    }
    EXPECT_EQ(a.allocated(MemCategory::Activations), 0u);
  }
  EXPECT_EQ(a.allocated(), 0u);
  MemByCategory at_peak = a.peak_breakdown();
  EXPECT_EQ(at_peak[static_cast<size_t>(MemCategory::Activations)], Allocator::charged_size(800));
  EXPECT_EQ(at_peak[static_cast<size_t>(MemCategory::Weights)], Allocator::charged_size(4000));
}

TEST(Allocator, LimitThrowsClearErrorAndProcessSurvives) {
  Allocator a("cpu", 10 * 1024);
  Buffer<float> w(1024, MemCategory::Weights, "parameters", a);
  try {
    Buffer<float> big(4096, MemCategory::Activations, "layer 3 attention probabilities", a);
    FAIL() << "expected OutOfMemoryError";
  } catch (const OutOfMemoryError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("layer 3 attention probabilities"), std::string::npos) << m;
    EXPECT_NE(m.find("16.00 KiB"), std::string::npos) << m;  // the request
    EXPECT_NE(m.find("4.00 KiB already allocated"), std::string::npos) << m;
    EXPECT_NE(m.find("limit 10.00 KiB"), std::string::npos) << m;
    EXPECT_NE(m.find("--per_device_train_batch_size"), std::string::npos) << m;
    EXPECT_NE(m.find("--gradient_checkpointing"), std::string::npos) << m;
    EXPECT_EQ(e.requested, 16384u);
    EXPECT_EQ(e.limit, 10240u);
  }
  // Nothing leaked by the failed request; a fitting one still works.
  EXPECT_EQ(a.allocated(), 4096u);
  Buffer<float> ok(1024, MemCategory::Activations, "fits", a);
  EXPECT_EQ(a.allocated(), 8192u);
}

TEST(Tensor, ShapeAndConversion) {
  Allocator a("t");
  Tensor t(DType::F32, {2, 3}, MemCategory::Data, "t", a);
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(shape_str(t.shape()), "[2, 3]");
  for (int i = 0; i < 6; ++i) t.data<float>()[i] = 0.5f * i;
  Tensor h = t.to(DType::F16);
  Tensor back = h.to(DType::F32);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(back.data<float>()[i], 0.5f * i);
}
