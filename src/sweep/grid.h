// The grid of a sweep: "per_device_train_batch_size=1,2,4 gradient_checkpointing=0,1
// precision=fp32,bf16" -> every combination (the first knob varies slowest), each turned
// into `bertrain train` flags.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace bertrain {

struct GridAxis {
  std::string key;  // a `bertrain train` flag in snake_case, or "precision"
  std::vector<std::string> values;
};

// One combination: (key, value) per axis, in axis order.
struct GridPoint {
  std::vector<std::pair<std::string, std::string>> settings;
  std::string name;  // directory-safe and unique, e.g. "bs4_ga8_ckpt1_bf16"

  const std::string* get(const std::string& key) const;
};

// Parses "key=v1,v2 key2=v3"; an error names the offending token.
std::vector<GridAxis> parse_grid(const std::string& text);
std::vector<GridPoint> expand_grid(const std::vector<GridAxis>& axes);
// The train flags of a point: --key=value; booleans as true/false; precision=bf16 -> --bf16.
std::vector<std::string> train_flags(const GridPoint& point);

// Whether `key` takes 0/1/true/false values (the boolean train flags a sweep may vary).
bool is_boolean_knob(const std::string& key);
// A column/axis title for a knob: "Batch Size", "Gradient Accumulation", ...
std::string knob_title(const std::string& key);

}  // namespace bertrain
