#include "sweep/grid.h"

#include <cctype>
#include <set>
#include <sstream>

#include "core/error.h"

namespace bertrain {

namespace {

struct Knob {
  const char* key;
  const char* short_name;  // in point names
  const char* title;       // in tables and plots
  bool boolean;
};

// The knobs the lecture sweeps get short names and titles; any other train flag works too.
const Knob kKnobs[] = {
    {"per_device_train_batch_size", "bs", "Batch Size", false},
    {"gradient_accumulation_steps", "ga", "Gradient Accumulation", false},
    {"gradient_checkpointing", "ckpt", "Gradient Checkpointing", true},
    {"precision", "", "Precision", false},
    {"attention", "attn", "Attention", false},
    {"max_seq_length", "seq", "Sequence Length", false},
    {"dummy_seq_len", "seq", "Sequence Length", false},
    {"dataloader_num_workers", "workers", "Data Workers", false},
    {"group_by_length", "group", "Group By Length", true},
    {"learning_rate", "lr", "Learning Rate", false},
};

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
  const Knob* k = find_knob(key);
  return k && k->boolean;
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
    for (char c : axis.key)
      if (!(std::islower(static_cast<unsigned char>(c)) ||
            std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
        fail("--grid: '", axis.key, "' is not a train flag name (snake_case)");
    for (const GridAxis& a : axes)
      if (a.key == axis.key) fail("--grid: ", axis.key, " appears twice");
    std::string values = token.substr(eq + 1), v;
    std::istringstream vs(values);
    while (std::getline(vs, v, ',')) {
      if (!safe_value(v))
        fail("--grid: ", axis.key, " value '", v, "' (values are numbers or words)");
      if (axis.key == "precision" && v != "fp32" && v != "bf16" && v != "fp16")
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
    if (k == "precision") {
      if (v != "fp32") flags.push_back("--" + v);
    } else if (is_boolean_knob(k)) {
      flags.push_back("--" + k + "=" + (v == "1" ? "true" : "false"));
    } else {
      flags.push_back("--" + k + "=" + v);
    }
  }
  return flags;
}

}  // namespace bertrain
