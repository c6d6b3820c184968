// The device seam (device/device.h): a model and optimizer on a device whose memory the host
// may not read through pointers move every host value through upload and download, a tensor
// at a time, and train exactly as on the CPU device. The "staged" device here is host memory
// that declares itself not host-visible, so the staging paths a GPU takes run on the CPU.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "device/cuda_device.h"
#include "device/device.h"
#include "model/bert.h"
#include "model/checkpoint.h"
#include "test_util.h"
#include "train/optimizer.h"
#include "train/train_step.h"

using namespace bertrain;

namespace {

const RawMemory& staged_memory() {
  static const RawMemory raw = [] {
    RawMemory r = host_memory();
    r.host_visible = false;
    return r;
  }();
  return raw;
}

// The CPU's tables with upload and download counting the bytes they move.
size_t g_uploaded = 0, g_downloaded = 0;
const Ops<float>& counting_ops() {
  static const Ops<float> ops = [] {
    Ops<float> o = cpu_ops<float>();
    o.upload = [](void* dst, const void* src, size_t bytes) {
      g_uploaded += bytes;
      cpu_ops<float>().upload(dst, src, bytes);
    };
    o.download = [](void* dst, const void* src, size_t bytes) {
      g_downloaded += bytes;
      cpu_ops<float>().download(dst, src, bytes);
    };
    return o;
  }();
  return ops;
}

struct Rows {
  std::vector<int32_t> ids, types, mask, labels;
  int B, S;
  Rows(int B, int S, uint64_t seed) : B(B), S(S) {
    std::mt19937 rng(static_cast<unsigned>(seed));
    ids.resize(static_cast<size_t>(B) * S);
    for (int32_t& id : ids) id = 1 + static_cast<int32_t>(rng() % 90);
    types.assign(ids.size(), 0);
    mask.assign(ids.size(), 1);
    for (int b = 0; b < B; ++b) labels.push_back(static_cast<int32_t>(rng() % 2));
  }
  Batch batch() const { return {ids.data(), types.data(), mask.data(), labels.data(), B, S}; }
};

template <typename T>
std::vector<T> host_copy(const Device& d, const T* src, size_t n) {
  std::vector<T> out(n);
  d.f32->download(out.data(), src, n * sizeof(T));
  return out;
}

}  // namespace

TEST(DeviceSeam, AStagedDeviceInitialisesSavesLoadsAndTrainsBitIdenticallyToTheCpu) {
  Allocator staged_alloc("staged", 0, staged_memory());
  Device staged = cpu_device(staged_alloc);
  staged.f32 = &counting_ops();
  ASSERT_FALSE(staged.host_visible());
  const BertConfig c = preset_config("tiny");
  Bert<float> cpu(c), dev(c, staged);
  const size_t n = cpu.num_params();
  init_weights(cpu, 3);
  g_uploaded = 0;
  init_weights(dev, 3);  // written from host buffers, uploaded a tensor at a time
  EXPECT_EQ(g_uploaded, n * sizeof(float));
  ASSERT_EQ(std::memcmp(cpu.params(), host_copy(staged, dev.params(), n).data(), n * 4), 0);

  // Saved from the staged device (downloads), loaded onto it (uploads), read back on the CPU.
  const std::string dir = test::temp_dir("staged_save");
  g_downloaded = g_uploaded = 0;
  save_pretrained(dev, dir);
  EXPECT_EQ(g_downloaded, n * sizeof(float));
  Bert<float> reloaded(c, staged);
  load_weights(reloaded, dir);
  EXPECT_EQ(g_uploaded, n * sizeof(float));
  ASSERT_EQ(std::memcmp(cpu.params(), host_copy(staged, reloaded.params(), n).data(), n * 4), 0);

  AdamW<float> cpu_opt(cpu.layout(), {1e-3}), dev_opt(dev.layout(), {1e-3}, staged);
  const LrSchedule sched{ScheduleType::Linear, 1e-3, 0, 4};
  const Rows a(2, 16, 1), b(2, 16, 2);
  const Batch micro[] = {a.batch(), b.batch()};
  for (int step = 0; step < 2; ++step) {
    StepResult r1 = train_step(cpu, cpu_opt, sched, micro, 1.0, 42);
    StepResult r2 = train_step(dev, dev_opt, sched, micro, 1.0, 42);
    EXPECT_EQ(r1.loss, r2.loss);
    EXPECT_EQ(r1.grad_norm, r2.grad_norm);
    EXPECT_EQ(r1.microbatch_losses, r2.microbatch_losses);
  }
  EXPECT_EQ(std::memcmp(cpu.params(), host_copy(staged, dev.params(), n).data(), n * 4), 0);
  EXPECT_GT(staged_alloc.allocated(MemCategory::OptimizerState), 0u);
}

TEST(TrainStep, MoreMicroBatchesThanLossSlotsKeepsEveryLoss) {
  // The step reads its micro-batch losses back from device slots, kStepLosses at a time.
  const BertConfig c = preset_config("tiny");
  Bert<float> m(c);
  init_weights(m, 5);
  constexpr int K = Bert<float>::kStepLosses + 6;
  std::vector<Rows> rows;
  for (int k = 0; k < K; ++k) rows.emplace_back(1, 8, 100 + k);
  std::vector<Batch> micro;
  for (const Rows& r : rows) micro.push_back(r.batch());
  // Each micro-batch's loss as a lone forward computes it, with the step's dropout seed.
  std::vector<double> expected;
  for (int k = 0; k < K; ++k) expected.push_back(m.forward(micro[k], true, dropout_seed(7, 0, k)));
  AdamW<float> opt(m.layout(), {1e-3});
  StepResult r = train_step(m, opt, {ScheduleType::Constant, 1e-3, 0, 1}, micro, 1.0, 7);
  ASSERT_EQ(r.microbatch_losses, expected);
  double mean = 0;
  for (double loss : expected) mean += loss / K;
  EXPECT_EQ(r.loss, mean);
}

TEST(DeviceSelection, NamesPickTheDeviceAndAMissingGpuIsAClearError) {
  EXPECT_EQ(device_named("cpu").name(), "cpu");
  EXPECT_NE(test::error_of([] { device_named("tpu"); }).find("expected cpu, cuda or auto"),
            std::string::npos);
  if (cuda_device_count() == 0) {
    EXPECT_NE(test::error_of([] { device_named("cuda"); }).find("--device cuda"),
              std::string::npos);
    EXPECT_EQ(device_named("auto").name(), "cpu");
  } else {  // a GPU machine: auto takes the GPU
    EXPECT_EQ(device_named("auto").name().rfind("cuda:0", 0), 0u);
  }
}
