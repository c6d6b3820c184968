#include "sweep/report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "core/file_io.h"
#include "report/svg_plot.h"
#include "sweep/grid.h"

namespace bertrain {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr double kMB = 1e6;  // MB as `bertrain train` prints it (10^6 bytes)

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::optional<double> number(const json& p, const char* key) {
  if (!p.contains(key) || !p[key].is_number()) return std::nullopt;
  return p[key].get<double>();
}

std::string setting(const json& p, const std::string& key) {
  const json& s = p.value("settings", json::object());
  if (!s.contains(key)) return "";
  std::string v = s[key].get<std::string>();
  if (is_boolean_knob(key)) return v == "1" ? "yes" : "no";
  return v;
}

std::vector<std::string> grid_keys(const json& results) {
  std::vector<std::string> keys;
  for (const json& axis : results.value("grid", json::array()))
    keys.push_back(axis.at("key").get<std::string>());
  return keys;
}

// The metric columns some point reports, in kMetricColumns' order.
std::vector<MetricColumn> reported_metrics(const json& results) {
  std::vector<MetricColumn> out;
  for (const MetricColumn& m : kMetricColumns)
    for (const json& p : results.value("points", json::array()))
      if (p.contains(m.key)) {
        out.push_back(m);
        break;
      }
  return out;
}

// "eval_exact_match" -> "exact_match" (file names) or "exact match" (text).
std::string metric_name(const MetricColumn& m, char space) {
  std::string name = std::string(m.key).substr(5);
  std::replace(name.begin(), name.end(), '_', space);
  return name;
}

std::string limit_text(const json& results) {
  size_t limit = results.value("memory_limit_bytes", size_t{0});
  if (limit) return "the " + fixed(limit / kMB, 0) + " MB --memory_limit";
  return fixed(results.value("physical_memory_bytes", size_t{0}) / kMB, 0) +
         " MB of physical memory";
}

// Series label for a point: its settings on every axis but the excluded ones.
std::string series_label(const json& p, const std::vector<std::string>& keys,
                         const std::vector<std::string>& excluded) {
  std::string label;
  for (const std::string& k : keys) {
    if (std::find(excluded.begin(), excluded.end(), k) != excluded.end()) continue;
    if (!label.empty()) label += ", ";
    label += knob_title(k) + " " + setting(p, k);
  }
  return label.empty() ? "bertrain" : label;
}

// One plot of `metric` (scaled) against the x key, one series per combination of the rest.
LinePlot knob_plot(const json& results, const std::string& x_key, const char* metric, double scale,
                   const std::string& title, const std::string& y_label) {
  const std::vector<std::string> keys = grid_keys(results);
  LinePlot plot;
  plot.title = title;
  plot.y_label = y_label;
  plot.x_label = knob_title(x_key);
  for (const json& axis : results["grid"])
    if (axis["key"] == x_key)
      for (const json& v : axis["values"]) {
        std::string s = v.get<std::string>();
        plot.x_categories.push_back(is_boolean_knob(x_key) ? (s == "1" ? "yes" : "no") : s);
      }
  std::map<std::string, size_t> index;
  std::vector<std::string> oom;
  for (const json& p : results["points"]) {
    std::string label = series_label(p, keys, {x_key});
    if (!index.count(label)) {
      index[label] = plot.series.size();
      plot.series.push_back({label, std::vector<std::optional<double>>(plot.x_categories.size())});
    }
    auto it = std::find(plot.x_categories.begin(), plot.x_categories.end(), setting(p, x_key));
    if (it == plot.x_categories.end()) continue;
    std::optional<double> v = number(p, metric);
    if (v) plot.series[index[label]].y[it - plot.x_categories.begin()] = *v * scale;
    if (p.value("status", "") == "oom") {
      oom.push_back(p.value("name", ""));
      plot.x_annotations.resize(plot.x_categories.size());
      plot.x_annotations[it - plot.x_categories.begin()] = "OOM";
    }
  }
  if (!oom.empty()) {
    std::string names;
    for (const std::string& n : oom) {
      if (!names.empty()) names += ", ";
      names += n;
    }
    plot.notes.push_back("Out of memory (no point drawn) within " + limit_text(results) + ": " +
                         names);
  }
  return plot;
}

// A final eval metric against the effective batch size (batch x accumulation).
LinePlot metric_plot(const json& results, const MetricColumn& m) {
  const std::vector<std::string> keys = grid_keys(results);
  std::vector<int> sizes;
  for (const json& p : results["points"])
    if (p.contains(m.key)) sizes.push_back(p.value("effective_batch_size", 0));
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  LinePlot plot;
  plot.title = m.title + std::string(" vs effective batch size");
  plot.x_label = "Effective batch size (batch x gradient accumulation, samples)";
  plot.y_label = m.title + std::string(m.fraction ? " (%)" : "");
  for (int s : sizes) plot.x_categories.push_back(std::to_string(s));
  std::map<std::string, size_t> index;
  for (const json& p : results["points"]) {
    if (!p.contains(m.key)) continue;
    std::string label =
        series_label(p, keys, {"per_device_train_batch_size", "gradient_accumulation_steps"});
    if (keys.size() <= 2 && std::count(keys.begin(), keys.end(), "per_device_train_batch_size"))
      label = "Batch Size " + std::to_string(p.value("per_device_train_batch_size", 0));
    if (!index.count(label)) {
      index[label] = plot.series.size();
      plot.series.push_back({label, std::vector<std::optional<double>>(sizes.size())});
    }
    size_t i = std::lower_bound(sizes.begin(), sizes.end(), p.value("effective_batch_size", 0)) -
               sizes.begin();
    plot.series[index[label]].y[i] = (m.fraction ? 100 : 1) * p[m.key].get<double>();
  }
  return plot;
}

std::string markdown(const ResultsTable& t) {
  std::string s = "|";
  for (const std::string& h : t.header) s += " " + h + " |";
  s += "\n|";
  for (size_t i = 0; i < t.header.size(); ++i) s += "---|";
  s += "\n";
  for (const auto& row : t.rows) {
    s += "|";
    for (const std::string& c : row) s += " " + c + " |";
    s += "\n";
  }
  return s;
}

std::string csv_cell(const std::string& c) {
  if (c.find_first_of(",\"\n") == std::string::npos) return c;
  std::string q = "\"";
  for (char ch : c) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string csv_line(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) line += ',';
    line += csv_cell(cells[i]);
  }
  return line + "\n";
}

}  // namespace

std::optional<double> utilization(const json& p, const json& results) {
  size_t capacity = results.value("memory_limit_bytes", size_t{0});
  if (!capacity) capacity = results.value("physical_memory_bytes", size_t{0});
  auto peak = number(p, "peak_memory_bytes");
  if (!peak || !capacity) return std::nullopt;
  return *peak / static_cast<double>(capacity);
}

std::string point_summary(const json& p) {
  const std::string status = p.value("status", "");
  if (status == "oom") {
    std::string s = "out of memory";
    if (auto pred = number(p, "predicted_peak_memory_bytes"))
      s += " (predicted peak " + fixed(*pred / kMB, 0) + " MB)";
    return s;
  }
  if (status != "ok") return "failed: " + p.value("error", std::string("see its log.txt"));
  std::string s = fixed(number(p, "train_runtime").value_or(0), 1) + " s, " +
                  fixed(number(p, "train_samples_per_second").value_or(0), 2) +
                  " samples/s, peak " + fixed(number(p, "peak_memory_bytes").value_or(0) / kMB, 0) +
                  " MB (predicted " +
                  fixed(number(p, "predicted_peak_memory_bytes").value_or(0) / kMB, 0) + " MB)";
  for (const MetricColumn& m : kMetricColumns)
    if (auto v = number(p, m.key)) s += ", " + metric_name(m, ' ') + " " + fixed(*v, 4);
  return s;
}

bool reports(const json& record, const MetricColumn& m) {
  return record.contains(m.key) && (!m.only_with || record.contains(m.only_with));
}

ResultsTable results_table(const json& results, bool for_csv) {
  ResultsTable t;
  const std::vector<std::string> keys = grid_keys(results);
  const std::vector<MetricColumn> metrics = reported_metrics(results);
  for (const std::string& k : keys) t.header.push_back(knob_title(k));
  for (const char* h : {"Time (s)", "Samples/s", "Memory Occupied (MB)", "Utilization (%)",
                        "Predicted Memory (MB)", "Train Loss"})
    t.header.push_back(h);
  for (const MetricColumn& m : metrics)
    t.header.push_back(m.title + std::string(for_csv ? "" : " (per epoch)"));
  if (for_csv) t.header.push_back("Status");
  // Whole MB, unless some point is so small that a decimal tells points apart.
  double smallest = 1e300;
  for (const json& p : results.value("points", json::array()))
    for (const char* key : {"peak_memory_bytes", "predicted_peak_memory_bytes"})
      if (auto v = number(p, key)) smallest = std::min(smallest, *v / kMB);
  const int mb_digits = smallest < 10 ? 1 : 0;
  for (const json& p : results.value("points", json::array())) {
    std::vector<std::string> row;
    for (const std::string& k : keys) row.push_back(setting(p, k));
    const bool ok = p.value("status", "") == "ok";
    const std::string blank = for_csv ? "" : (p.value("status", "") == "oom" ? "OOM" : "failed");
    auto cell = [&](const char* key, double scale, int digits) {
      auto v = number(p, key);
      return v ? fixed(*v * scale, digits) : std::string(for_csv ? "" : "-");
    };
    row.push_back(ok ? cell("train_runtime", 1, 2) : blank);
    row.push_back(ok ? cell("train_samples_per_second", 1, 3) : blank);
    row.push_back(ok ? cell("peak_memory_bytes", 1 / kMB, mb_digits) : blank);
    auto used = utilization(p, results);
    row.push_back(!ok ? blank : used ? fixed(100 * *used, 1) : std::string(for_csv ? "" : "-"));
    row.push_back(cell("predicted_peak_memory_bytes", 1 / kMB, mb_digits));
    row.push_back(ok ? cell("train_loss", 1, 4) : blank);
    for (const MetricColumn& m : metrics) {
      std::string v;
      if (for_csv) {
        v = ok ? cell(m.key, 1, 4) : "";
      } else if (ok) {
        for (const json& e : p.value("eval_per_epoch", json::array())) {
          if (!e.contains(m.key)) continue;
          if (!v.empty()) v += " / ";
          v += fixed(e[m.key].get<double>(), 4);
        }
        if (v.empty()) v = cell(m.key, 1, 4);
      } else {
        v = blank;
      }
      row.push_back(v);
    }
    if (for_csv) row.push_back(p.value("status", ""));
    t.rows.push_back(row);
  }
  return t;
}

std::string results_markdown(const json& results) {
  return markdown(results_table(results, false)) +
         "\nMemory Occupied: bertrain's counted peak (weights, gradients, optimizer state, "
         "activations, temporaries, data), MB = 10^6 bytes. Utilization: of " +
         limit_text(results) +
         ". Predicted: `bertrain memory`'s prediction for the same settings. Time and "
         "Samples/s: the training loop (train_runtime). OOM: the point does not fit; it stopped "
         "before training.\n";
}

std::vector<std::string> write_reports(const json& results, const std::string& out_dir) {
  const fs::path dir(out_dir);
  std::vector<std::string> written;
  auto write = [&](const std::string& name, const std::string& text) {
    write_text_file_atomic((dir / name).string(), text);
    written.push_back((dir / name).string());
  };
  const std::vector<std::string> keys = grid_keys(results);
  write("results.md", "# bertrain sweep\n\n" + results_markdown(results));

  ResultsTable csv = results_table(results, true);
  std::string text = csv_line(csv.header);
  for (const auto& row : csv.rows) text += csv_line(row);
  write("results.csv", text);

  if (keys.empty()) return written;
  const std::string x = keys.front();
  write("samples_per_second.svg",
        render_svg(knob_plot(results, x, "train_samples_per_second", 1,
                             "Training throughput vs " + knob_title(x), "Throughput (samples/s)")));
  LinePlot mem = knob_plot(results, x, "peak_memory_bytes", 1 / kMB,
                           "Peak memory vs " + knob_title(x), "Peak memory occupied (MB)");
  if (size_t limit = results.value("memory_limit_bytes", size_t{0}))
    mem.reference = PlotMarkerLine{limit / kMB, "memory limit " + fixed(limit / kMB, 0) + " MB"};
  write("peak_memory.svg", render_svg(mem));
  for (const MetricColumn& m : reported_metrics(results))
    write(metric_name(m, '_') + ".svg", render_svg(metric_plot(results, m)));
  return written;
}

}  // namespace bertrain
