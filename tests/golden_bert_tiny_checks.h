// The bert_tiny golden checks (../shared/fixtures/bert_tiny, at the tolerances its README
// states) on any device: the CPU tests (test_golden_bert_tiny.cpp) and the GPU tests
// (test_gpu.cpp) run the same checks. Results are downloaded to the host before comparing.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "bert_tiny_fixture.h"
#include "device/device.h"
#include "dist/comm.h"
#include "model/safetensors.h"
#include "train/train_step.h"

namespace bertrain::test {

// n floats at device pointer p, on the host.
inline std::vector<float> on_host(const Device& d, const float* p, size_t n) {
  std::vector<float> h(n);
  d.f32->download(h.data(), p, n * sizeof(float));
  return h;
}

// |got - want| <= atol + rtol_of_max * max|want| everywhere (got on the host).
inline void expect_close(const std::vector<float>& want, const float* got, double atol,
                         double rtol_of_max, const std::string& what) {
  double max_abs = 0;
  for (float w : want) max_abs = std::max(max_abs, std::abs(static_cast<double>(w)));
  double tol = atol + rtol_of_max * max_abs;
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol) << what << "[" << i << "]";
}

inline void expect_close_on(const Device& d, const std::vector<float>& want, const float* got,
                            double atol, double rtol_of_max, const std::string& what) {
  expect_close(want, on_host(d, got, want.size()).data(), atol, rtol_of_max, what);
}

inline void check_golden_forward(const Device& d, const std::string& dir = "bert_tiny") {
  BertTinyFixture fx(dir);
  auto m = fx.model(d);
  double loss = m->forward(fx.rows(0, fx.B), /*training=*/true, 0);  // dropout probs are 0
  EXPECT_NEAR(loss, fx.values("loss")[0], 1e-6);
  if (fx.config.task == Task::QuestionAnswering) {  // logits(): start [B, S] then end [B, S]
    std::vector<float> want = fx.values("start_logits"), end = fx.values("end_logits");
    want.insert(want.end(), end.begin(), end.end());
    expect_close_on(d, want, m->logits(), 1e-5, 0, "start_logits | end_logits");
  } else {
    expect_close_on(d, fx.values("logits"), m->logits(), 1e-5, 0, "logits");
  }
  if (fx.config.task == Task::SequenceClassification)
    expect_close_on(d, fx.values("pooled_output"), m->pooled_output(), 1e-5, 0, "pooled_output");
  for (int k = 0; k <= fx.config.num_hidden_layers; ++k) {
    std::string name = "hidden_states." + std::to_string(k);
    expect_close_on(d, fx.values(name), m->hidden_state(k), 1e-5, 0, name);
  }
}

inline void check_golden_gradients(const Device& d, const std::string& dir = "bert_tiny") {
  BertTinyFixture fx(dir);
  auto m = fx.model(d);
  m->zero_grads();
  m->forward(fx.rows(0, fx.B), true, 0);
  m->backward(1.0);
  for (const ParamSpec& p : m->layout().params()) {
    const std::string name = "grad." + p.name;
    if (fx.zero_gradient(p.name)) {  // README: an absolute bound only, |g| <= 1e-6
      expect_close_on(d, std::vector<float>(p.numel, 0.0f), m->grads() + p.offset, 1e-6, 0, name);
      continue;
    }
    // README: |diff| <= 1e-4 * max|grad of that tensor| + 1e-9.
    expect_close_on(d, fx.values(name), m->grads() + p.offset, 1e-9, 1e-4, name);
  }
}

// The fixture's trajectory: the same batch every step, split into 2 micro-batches,
// lr 5e-4 linearly decayed, weight decay 0.01, AdamW, clipping at max_norm. Over a Comm of N
// ranks (data parallel), rank r takes micro-batches r, r + N, ...: together the same batch.
inline void check_golden_trajectory(const Device& d, const std::string& prefix,
                                    const std::string& final_prefix, double max_norm,
                                    Comm& comm = single_process(),
                                    const std::string& dir = "bert_tiny") {
  BertTinyFixture fx(dir);
  auto m = fx.model(d);
  std::vector<float> want_loss = fx.values(prefix + ".loss");
  std::vector<float> want_norm = fx.values(prefix + ".grad_norm");
  std::vector<float> want_micro = fx.values(prefix + ".microbatch_loss");
  const int steps = static_cast<int>(want_loss.size());
  const int K = static_cast<int>(want_micro.size()) / steps;
  ASSERT_EQ(fx.B % K, 0);
  ASSERT_EQ(K % comm.size(), 0);
  std::vector<Batch> micro;
  for (int k = comm.rank(); k < K; k += comm.size())
    micro.push_back(fx.rows(k * fx.B / K, fx.B / K));
  AdamW<float> opt(m->layout(), {5e-4, 0.9, 0.999, 1e-8, 0.01}, d);
  LrSchedule sched{ScheduleType::Linear, 5e-4, 0, steps};
  for (int s = 0; s < steps; ++s) {
    StepResult r = train_step(*m, opt, sched, micro, max_norm, 42, nullptr, &comm);
    EXPECT_NEAR(r.loss, want_loss[s], 1e-5) << "step " << s;
    EXPECT_NEAR(r.grad_norm, want_norm[s], 1e-4 * want_norm[s]) << "step " << s;
    if (comm.size() == 1) {  // over ranks, each micro-batch's loss is the mean across them
      for (int k = 0; k < K; ++k) EXPECT_NEAR(r.microbatch_losses[k], want_micro[s * K + k], 1e-5);
    }
  }
  for (const ParamSpec& p : m->layout().params())
    expect_close_on(d, fx.values(final_prefix + "." + p.name), m->params() + p.offset,
                    fx.final_atol(p.name), 0, final_prefix + "." + p.name);
}

#ifdef BERTRAIN_EXE  // the test programs that run the CLI
// `bertrain parity` on the fixture with its recipe (`steps` steps, lr 5e-4, weight decay 0.01,
// 2 micro-batches, max_grad_norm 1): every tensor it writes matches expected.safetensors at the
// README's tolerances. Returns how many it compared.
inline size_t check_parity_command(const BertTinyFixture& fx, int steps, const std::string& out) {
  const std::string cmd = std::string(BERTRAIN_EXE) + " parity --model " +
                          test::fixture(fx.dir + "/model") + " --inputs " +
                          test::fixture(fx.dir + "/expected.safetensors") + " --out " + out +
                          " --train_steps " + std::to_string(steps) +
                          " --learning_rate 5e-4 --weight_decay 0.01"
                          " --gradient_accumulation_steps 2 --max_grad_norm 1 > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  SafetensorsReader got(out);
  size_t compared = 0;
  for (const std::string& name : got.names()) {
    const TensorInfo& ti = got.info(name);
    std::vector<float> v(shape_numel(ti.shape));
    got.read_into(name, ti.shape, v.data(), DType::F32);
    ++compared;
    const bool grad = name.rfind("grad.", 0) == 0;
    if (grad && fx.zero_gradient(name.substr(5))) {  // an absolute bound only
      expect_close(std::vector<float>(v.size(), 0.0f), v.data(), 1e-6, 0, name);
      continue;
    }
    double atol = 1e-5, rtol_of_max = 0;  // hidden states, pooled, logits
    if (name == "loss") atol = 1e-6;
    if (grad) atol = 1e-9, rtol_of_max = 1e-4;
    if (name == "trajectory.grad_norm") atol = 0, rtol_of_max = 1e-4;
    if (name == "trajectory.lr") atol = 1e-10;
    if (name.rfind("final.", 0) == 0) atol = fx.final_atol(name.substr(6));
    expect_close(fx.values(name), v.data(), atol, rtol_of_max, name);
  }
  return compared;
}
#endif

}  // namespace bertrain::test
