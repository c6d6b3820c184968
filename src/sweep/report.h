// What a sweep leaves for people: results.md (the lecture's tables), results.csv, and SVG
// plots, all drawn from results.json alone, so `sweep --plot` redraws without re-running.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace bertrain {

// "12.3 s, 5.20 samples/s, peak 1234 MB (predicted 1234 MB)" or "out of memory (...)".
std::string point_summary(const nlohmann::json& point);

// A point's peak as a fraction of the sweep's memory limit, or of physical memory without one.
std::optional<double> utilization(const nlohmann::json& point, const nlohmann::json& results);

// The table rows in the lecture's column order: the swept knobs, then Time (s), Samples/s,
// Memory Occupied (MB), Utilization (%), Predicted Memory (MB), Train Loss, Eval Accuracy.
struct ResultsTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};
ResultsTable results_table(const nlohmann::json& results, bool for_csv);

// The Markdown table with a line on what the columns mean.
std::string results_markdown(const nlohmann::json& results);

// Writes results.md, results.csv and the plots (samples_per_second.svg, peak_memory.svg and,
// with evaluation, accuracy.svg) into out_dir; returns the files written.
std::vector<std::string> write_reports(const nlohmann::json& results, const std::string& out_dir);

}  // namespace bertrain
