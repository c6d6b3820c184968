// The op table's memory and conversion ops (device/ops.h, filled from kernels/cpu) against
// their definitions: the CPU kernels are the references a second backend's twins are tested
// against, so they are checked element by element here.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "device/ops.h"
#include "test_util.h"

using namespace bertrain;

TEST(DeviceOps, CopyRowsGathersAndScattersStridedRows) {
  const Ops<float>& ops = cpu_ops<float>();
  const int rows = 3, cols = 5, ld = 12;  // the [CLS] rows of 3 sequences of 12 / 5 values
  std::vector<float> src(rows * ld);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i);
  std::vector<float> gathered(rows * cols, -1.0f);
  ops.copy_rows(gathered.data(), cols, src.data(), ld, rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) ASSERT_EQ(gathered[r * cols + c], src[r * ld + c]);
  std::vector<float> scattered(rows * ld, 7.0f);
  ops.copy_rows(scattered.data(), ld, gathered.data(), cols, rows, cols);
  for (int i = 0; i < rows * ld; ++i)
    ASSERT_EQ(scattered[i], i % ld < cols ? src[i] : 7.0f) << i;  // the rest untouched
}

TEST(DeviceOps, UploadDownloadCopyAndFillZero) {
  const Ops<double>& ops = cpu_ops<double>();
  const int64_t n = 100003;  // above the parallel threshold, not a multiple of the threads
  std::vector<double> a(n), b(n, 1.0);
  for (int64_t i = 0; i < n; ++i) a[i] = 0.5 * static_cast<double>(i);
  ops.copy(b.data(), a.data(), n);
  EXPECT_EQ(a, b);
  ops.fill_zero(b.data(), n - 1);
  for (int64_t i = 0; i < n - 1; ++i) ASSERT_EQ(b[i], 0.0) << i;
  EXPECT_EQ(b[n - 1], a[n - 1]);
  std::vector<int32_t> host{3, -1, 7}, device(3, 0);
  ops.upload(device.data(), host.data(), host.size() * sizeof(int32_t));
  EXPECT_EQ(device, host);
  std::vector<int32_t> back(3, 0);
  ops.download(back.data(), device.data(), device.size() * sizeof(int32_t));
  EXPECT_EQ(back, host);
}

TEST(DeviceOps, HalfConversionsRoundToNearestEvenAndWidenExactly) {
  const Ops<float>& ops = cpu_ops<float>();
  std::vector<float> x;
  for (double v : test::random_vector(5000, 3, 100.0)) x.push_back(static_cast<float>(v));
  const int64_t n = static_cast<int64_t>(x.size());
  for (HalfFormat f : {HalfFormat::BF16, HalfFormat::FP16}) {
    auto narrow = [&](float v) {
      return f == HalfFormat::BF16 ? float_to_bf16(v) : float_to_f16(v);
    };
    auto widen = [&](uint16_t h) {
      return f == HalfFormat::BF16 ? bf16_to_float(h) : f16_to_float(h);
    };
    std::vector<uint16_t> h(n), store(n);
    ops.to_half(h.data(), x.data(), n, f);
    std::vector<float> back(n), rounded = x;
    ops.from_half(back.data(), h.data(), n, f);
    ops.round_half(rounded.data(), n, f, store.data());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(h[i], narrow(x[i])) << i;
      ASSERT_EQ(back[i], widen(h[i])) << i;
      ASSERT_EQ(store[i], h[i]) << i;
      ASSERT_EQ(rounded[i], back[i]) << i;
    }
    std::vector<float> in_place = x;  // without a store: only the rounding
    ops.round_half(in_place.data(), n, f, nullptr);
    EXPECT_EQ(in_place, back);
  }
}
