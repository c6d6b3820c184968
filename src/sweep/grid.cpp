#include "sweep/grid.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "core/error.h"
#include "train/training_args.h"

namespace bertrain {

namespace {

// How the lecture's knobs are shown: short names in point names, titles in tables and plots.
// Which keys exist and which are booleans is training_arg_fields()'s to say.
struct Knob {
  const char* key;
  const char* short_name;
  const char* title;
};

const Knob kKnobs[] = {
    {"per_device_train_batch_size", "bs", "Batch Size"},
    {"gradient_accumulation_steps", "ga", "Gradient Accumulation"},
    {"gradient_checkpointing", "ckpt", "Gradient Checkpointing"},
    {"precision", "", "Precision"},
    {"attention", "attn", "Attention"},
    {"max_seq_length", "seq", "Sequence Length"},
    {"dummy_seq_len", "seq", "Sequence Length"},
    {"dataloader_num_workers", "workers", "Data Workers"},
    {"group_by_length", "group", "Group By Length"},
    {"learning_rate", "lr", "Learning Rate"},
};

// `precision=fp32,bf16,fp16` is the one key that is not a field: the lecture's Precision
// column, set through the boolean fields its values name (fp32: neither).
constexpr const char* kPrecision = "precision";
const char* const kPrecisionFields[] = {"bf16", "fp16"};

const Knob* find_knob(const std::string& key) {
  for (const Knob& k : kKnobs)
    if (key == k.key) return &k;
  return nullptr;
}

// A boolean knob's value as the grid stores it: "1" or "0".
std::string bool_value(const std::string& key, const std::string& v) {
  if (v == "1" || v == "true" || v == "True") return "1";
  if (v == "0" || v == "false" || v == "False") return "0";
  fail("--grid: ", key, "=", v, " is not a boolean (use 0/1 or true/false)");
}

bool safe_value(const std::string& v) {
  for (char c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
      return false;
  return !v.empty();
}

}  // namespace

bool is_boolean_knob(const std::string& key) {
  const ArgField* f = find_training_arg(key);
  return f && is_boolean(*f);
}

std::string knob_title(const std::string& key) {
  const Knob* k = find_knob(key);
  return k ? k->title : key;
}

const std::string* GridPoint::get(const std::string& key) const {
  for (const auto& [k, v] : settings)
    if (k == key) return &v;
  return nullptr;
}

std::vector<GridAxis> parse_grid(const std::string& text) {
  std::vector<GridAxis> axes;
  std::istringstream in(text);
  std::string token;
  while (in >> token) {
    size_t eq = token.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == token.size())
      fail("--grid: '", token, "' is not key=value[,value...]");
    GridAxis axis{token.substr(0, eq), {}};
    if (axis.key.rfind("--", 0) == 0) axis.key = axis.key.substr(2);
    if (axis.key != kPrecision && !find_training_arg(axis.key))
      fail("--grid: '", axis.key, "' is not a train flag (see bertrain train --help)");
    for (const GridAxis& a : axes)
      if (a.key == axis.key) fail("--grid: ", axis.key, " appears twice");
    std::string values = token.substr(eq + 1), v;
    std::istringstream vs(values);
    while (std::getline(vs, v, ',')) {
      if (!safe_value(v))
        fail("--grid: ", axis.key, " value '", v, "' (values are numbers or words)");
      if (axis.key == kPrecision && v != "fp32" &&
          std::find(std::begin(kPrecisionFields), std::end(kPrecisionFields), v) ==
              std::end(kPrecisionFields))
        fail("--grid: precision=", v, " (use fp32, bf16 or fp16)");
      if (is_boolean_knob(axis.key)) v = bool_value(axis.key, v);
      axis.values.push_back(v);
    }
    if (axis.values.empty()) fail("--grid: ", axis.key, " has no values");
    axes.push_back(std::move(axis));
  }
  if (axes.empty()) fail("--grid is empty; e.g. --grid 'per_device_train_batch_size=1,2,4,8'");
  return axes;
}

std::vector<GridPoint> expand_grid(const std::vector<GridAxis>& axes) {
  // Every point is a training run: a grid past this is a typo, not a plan.
  constexpr size_t kMaxPoints = 10000;
  size_t count = 1;
  for (const GridAxis& axis : axes) {
    count *= axis.values.size();
    if (count > kMaxPoints) fail("--grid has more than ", kMaxPoints, " points");
  }
  std::vector<GridPoint> points(1);
  for (const GridAxis& axis : axes) {
    std::vector<GridPoint> next;
    for (const GridPoint& p : points)
      for (const std::string& v : axis.values) {
        GridPoint q = p;
        q.settings.emplace_back(axis.key, v);
        next.push_back(std::move(q));
      }
    points = std::move(next);
  }
  std::set<std::string> names;
  for (GridPoint& p : points) {
    for (const auto& [k, v] : p.settings) {
      const Knob* knob = find_knob(k);
      if (!p.name.empty()) p.name += '_';
      p.name += std::string(knob ? knob->short_name : k) + v;
    }
    if (!names.insert(p.name).second) fail("--grid: two points would both be named ", p.name);
  }
  return points;
}

std::vector<std::string> train_flags(const GridPoint& point) {
  std::vector<std::string> flags;
  for (const auto& [k, v] : point.settings) {
    if (k == kPrecision) {
      for (const char* field : kPrecisionFields)
        flags.push_back(std::string("--") + field + "=" + (v == field ? "true" : "false"));
    } else if (is_boolean_knob(k)) {
      flags.push_back("--" + k + "=" + (v == "1" ? "true" : "false"));
    } else {
      flags.push_back("--" + k + "=" + v);
    }
  }
  return flags;
}

}  // namespace bertrain
