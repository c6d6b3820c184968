#include "train/optimizer.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace bertrain {

template <typename T>
AdamW<T>::AdamW(const ParamLayout& layout, const AdamWConfig& config, const Device& device,
                std::optional<Shard> shard)
    : layout_(&layout),
      config_(config),
      device_(device),
      shard_(shard.value_or(Shard{0, layout.total()})),
      m_(shard_.size(), MemCategory::OptimizerState, "AdamW exp_avg", *device.allocator),
      v_(shard_.size(), MemCategory::OptimizerState, "AdamW exp_avg_sq", *device.allocator) {
  if (shard_.end > layout.total() || shard_.begin > shard_.end)
    fail("AdamW: shard [", shard_.begin, ", ", shard_.end, ") outside the ", layout.total(),
         " parameters");
}

template <typename T>
void AdamW<T>::step(T* params, T* grads, double lr, double grad_scale, uint16_t* params_bf16) {
  ++t_;
  AdamWStep s{lr, config_.beta1, config_.beta2, config_.eps, 0.0, t_, grad_scale};
  // Runs of adjacent parameters with the same decay setting go in one pass.
  const auto& specs = layout_->params();
  for (size_t i = 0; i < specs.size();) {
    size_t j = i;
    while (j < specs.size() && specs[j].decay == specs[i].decay) ++j;
    // The run's part inside the shard.
    const size_t begin = std::max(specs[i].offset, shard_.begin);
    const size_t end = std::min(specs[j - 1].offset + specs[j - 1].numel, shard_.end);
    s.weight_decay = specs[i].decay ? config_.weight_decay : 0.0;
    if (begin < end)
      device_.ops<T>().adamw_update(
          params + begin, grads + begin, m_.data() + (begin - shard_.begin),
          v_.data() + (begin - shard_.begin), static_cast<int64_t>(end - begin), s,
          params_bf16 ? params_bf16 + begin : nullptr);
    i = j;
  }
}

double clip_coefficient(double total_norm, double max_norm) {
  if (max_norm <= 0) return 1.0;
  return std::min(1.0, max_norm / (total_norm + 1e-6));
}

ScheduleType parse_schedule(const std::string& name) {
  static const std::pair<const char*, ScheduleType> kNames[] = {
      {"linear", ScheduleType::Linear},
      {"cosine", ScheduleType::Cosine},
      {"cosine_with_restarts", ScheduleType::CosineWithRestarts},
      {"polynomial", ScheduleType::Polynomial},
      {"constant", ScheduleType::Constant},
      {"constant_with_warmup", ScheduleType::ConstantWithWarmup}};
  for (const auto& [n, t] : kNames)
    if (name == n) return t;
  fail("unknown lr_scheduler_type \"", name,
       "\"; expected linear, cosine, cosine_with_restarts, polynomial, constant or "
       "constant_with_warmup");
}

double LrSchedule::lr(int64_t step) const {
  if (type == ScheduleType::Constant) return base_lr;
  if (step < warmup_steps)
    return base_lr * static_cast<double>(step) /
           static_cast<double>(std::max<int64_t>(1, warmup_steps));
  if (type == ScheduleType::ConstantWithWarmup) return base_lr;
  const double decay_steps = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  const double progress = static_cast<double>(step - warmup_steps) / decay_steps;
  const double pi = std::acos(-1.0);
  switch (type) {
    case ScheduleType::Cosine:
      return base_lr * std::max(0.0, 0.5 * (1.0 + std::cos(pi * progress)));
    case ScheduleType::CosineWithRestarts:
      if (progress >= 1.0) return 0.0;
      return base_lr * std::max(0.0, 0.5 * (1.0 + std::cos(pi * std::fmod(progress, 1.0))));
    case ScheduleType::Polynomial: {
      if (base_lr <= kPolynomialEnd)
        fail("lr_scheduler_type polynomial: the learning rate ", base_lr,
             " must be above its end value ", kPolynomialEnd);
      if (step > total_steps) return kPolynomialEnd;
      return (base_lr - kPolynomialEnd) * (1.0 - progress) + kPolynomialEnd;
    }
    default:
      break;
  }
  return base_lr * std::max(0.0, 1.0 - progress);
}

template class AdamW<float>;
template class AdamW<double>;

}  // namespace bertrain
