// Dynamic loss scaling for fp16, as torch.cuda.amp.GradScaler does it: the loss is multiplied
// by `scale` before backward, gradients are divided by it before clipping and the optimizer;
// a step whose gradients hold inf/NaN is skipped and the scale backs off; after
// `growth_interval` good steps in a row the scale grows.
#pragma once

#include <cstdint>

namespace bertrain {

struct GradScaler {
  double scale = 65536.0;
  double growth_factor = 2.0, backoff_factor = 0.5;
  int64_t growth_interval = 2000;
  int64_t growth_tracker = 0;  // good steps since the last growth or backoff
  int64_t skipped_steps = 0;

  // Called once per optimizer step with whether the (scaled) gradients overflowed. Returns
  // whether the optimizer step may run, and updates the scale for the next step.
  bool update(bool found_inf) {
    if (found_inf) {
      scale *= backoff_factor;
      growth_tracker = 0;
      ++skipped_steps;
      return false;
    }
    if (++growth_tracker == growth_interval) {
      scale *= growth_factor;
      growth_tracker = 0;
    }
    return true;
  }
};

}  // namespace bertrain
