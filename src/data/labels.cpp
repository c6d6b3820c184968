#include "data/labels.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace bertrain {

namespace {

// The value of a number label, or false when the whole string is not a finite number.
bool parse_number(const std::string& s, double* value) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  size_t pos = 0;
  try {
    *value = std::stod(s, &pos);
  } catch (const std::exception&) {
    return false;
  }
  return pos == s.size() && std::isfinite(*value);
}

void require_labels(const TokenizedDataset& d) {
  for (size_t i = 0; i < d.size(); ++i)
    if (d.label_index[i] < 0) fail(d.source, ":", d.lines[i], ": the example has no label");
}

}  // namespace

bool is_label_array(const std::string& label) {
  if (label.empty() || label[0] != '[') return false;
  return nlohmann::json::accept(label) && nlohmann::json::parse(label).is_array();
}

std::vector<std::string> label_names(const std::string& label, const std::string& separator,
                                     const std::string& where) {
  std::vector<std::string> names;
  if (is_label_array(label)) {
    for (const auto& v : nlohmann::json::parse(label)) {
      if (v.is_string())
        names.push_back(v.get<std::string>());
      else if (v.is_number_integer())
        names.push_back(std::to_string(v.get<long long>()));
      else
        fail(where, ": label ", label, " has an element that is not a name: ", v.dump());
    }
  } else if (separator.empty()) {
    names.push_back(label);
  } else {
    for (size_t pos = 0;;) {
      const size_t end = label.find(separator, pos);
      names.push_back(label.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
      if (end == std::string::npos) break;
      pos = end + separator.size();
    }
  }
  for (const std::string& n : names)
    if (n.empty()) fail(where, ": label \"", label, "\" has an empty name");
  return names;
}

bool labels_are_real_values(const std::vector<std::string>& distinct) {
  bool fraction = false;
  for (const std::string& s : distinct) {
    double v = 0;
    if (!parse_number(s, &v)) return false;
    fraction = fraction || std::floor(v) != v || s.find_first_of(".eE") != std::string::npos;
  }
  return fraction;
}

std::vector<std::string> multi_label_list(const std::vector<std::string>& distinct,
                                          const std::string& separator) {
  std::set<std::string> names;
  for (const std::string& l : distinct)
    for (std::string& n : label_names(l, separator, "label list")) names.insert(std::move(n));
  return ordered_labels(names);
}

std::vector<float> real_targets(const TokenizedDataset& d) {
  require_labels(d);
  std::vector<float> per_label(d.label_strings.size());
  for (size_t k = 0; k < per_label.size(); ++k) {
    double v = 0;
    if (!parse_number(d.label_strings[k], &v))
      fail(d.source, ":", d.first_lines()[k], ": label \"", d.label_strings[k],
           "\" is not a number (a regression model needs real-valued labels)");
    per_label[k] = static_cast<float>(v);
  }
  std::vector<float> out(d.size());
  for (size_t i = 0; i < d.size(); ++i) out[i] = per_label[d.label_index[i]];
  return out;
}

std::vector<float> multi_hot_targets(const TokenizedDataset& d, const LabelMap& map,
                                     const std::string& separator) {
  require_labels(d);
  const size_t L = map.labels().size();
  std::vector<std::vector<float>> per_label(d.label_strings.size(), std::vector<float>(L, 0.0f));
  const std::vector<int64_t> first = d.first_lines();
  for (size_t k = 0; k < per_label.size(); ++k) {
    const std::string where = d.source + ":" + std::to_string(first[k]);
    Example probe;
    probe.line = static_cast<size_t>(first[k]);
    for (const std::string& name : label_names(d.label_strings[k], separator, where)) {
      probe.label = name;
      per_label[k][map.id(probe, d.source)] = 1.0f;
    }
  }
  std::vector<float> out;
  out.reserve(d.size() * L);
  for (size_t i = 0; i < d.size(); ++i) {
    const auto& row = per_label[d.label_index[i]];
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

}  // namespace bertrain
