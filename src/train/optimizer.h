// AdamW over the flat parameter buffer, global-norm clipping and the learning-rate
// schedules, with torch / Hugging Face Trainer semantics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/buffer.h"
#include "device/device.h"
#include "dist/shard.h"
#include "model/param_layout.h"

namespace bertrain {

struct AdamWConfig {
  double lr = 5e-5;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;  // applied only to parameters whose ParamSpec::decay is set
};

template <typename T>
class AdamW {
 public:
  // The state lives on `device`, whose kernels update the parameters there. It covers the
  // parameters of `shard` (ZeRO-1: this rank's piece of the flat buffer), all of them by default.
  AdamW(const ParamLayout& layout, const AdamWConfig& config, const Device& device = cpu_device(),
        std::optional<Shard> shard = std::nullopt);
  // One update of the shard's parameters with learning rate lr; gradients are multiplied by
  // grad_scale first. With params_bf16, the parameters' bf16 copy is refreshed in the same
  // pass. Leaves the shard's gradients zero. params, grads and params_bf16 are whole buffers.
  void step(T* params, T* grads, double lr, double grad_scale = 1.0,
            uint16_t* params_bf16 = nullptr);
  int64_t steps() const { return t_; }
  void set_steps(int64_t t) { t_ = t; }
  // The state of the shard: exp_avg()[i] belongs to parameter shard().begin + i.
  T* exp_avg() { return m_.data(); }
  T* exp_avg_sq() { return v_.data(); }
  const T* exp_avg() const { return m_.data(); }
  const T* exp_avg_sq() const { return v_.data(); }
  size_t state_size() const { return m_.size(); }
  const Shard& shard() const { return shard_; }
  size_t num_params() const { return layout_->total(); }
  // Whether the state covers only part of the parameters (ZeRO-1 over several ranks).
  bool sharded() const { return shard_.size() != layout_->total(); }
  const AdamWConfig& config() const { return config_; }
  const Device& device() const { return device_; }

 private:
  const ParamLayout* layout_;
  AdamWConfig config_;
  Device device_;
  Shard shard_;
  Buffer<T> m_, v_;
  int64_t t_ = 0;
};

// torch.nn.utils.clip_grad_norm_: min(1, max_norm / (total_norm + 1e-6)); 1 when max_norm <= 0.
double clip_coefficient(double total_norm, double max_norm);

enum class ScheduleType {
  Linear,
  Cosine,
  CosineWithRestarts,
  Polynomial,
  Constant,
  ConstantWithWarmup
};
// --lr_scheduler_type: linear, cosine, cosine_with_restarts, polynomial, constant,
// constant_with_warmup.
ScheduleType parse_schedule(const std::string& name);

// Hugging Face get_scheduler with Trainer's defaults: lr at optimizer step `step` (0-based,
// before it is taken). After a linear warmup: linear decay to 0; cosine, half a cosine to 0
// (num_cycles 0.5); cosine_with_restarts, one hard restart cycle (num_cycles 1); polynomial,
// power 1 down to lr_end 1e-7 (which then holds).
struct LrSchedule {
  ScheduleType type = ScheduleType::Linear;
  double base_lr = 5e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double lr(int64_t step) const;
  static constexpr double kPolynomialEnd = 1e-7;  // get_polynomial_decay_schedule's lr_end
};

}  // namespace bertrain
