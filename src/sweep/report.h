// What a sweep leaves for people: results.md (the lecture's tables), results.csv, and SVG
// plots, all drawn from results.json alone, so `sweep --plot` redraws without re-running.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace bertrain {

// The eval metrics a sweep reports, in column order, under the names the task's
// all_results.json gives them (run_glue's, run_ner's, run_qa's, run_mlm's). A column shows when
// some point has it. `only_with`: recorded only for runs that also report that key (a
// single-label run reports f1_micro too, equal to its accuracy; a multi-label run is the one
// with a subset accuracy). `fraction`: plotted in percent.
struct MetricColumn {
  const char* key;
  const char* title;
  const char* only_with;
  bool fraction;
};
inline constexpr MetricColumn kMetricColumns[] = {
    {"eval_accuracy", "Eval Accuracy", nullptr, true},  // tokens for NER, masked tokens for MLM
    {"eval_exact_match", "Eval EM", nullptr, false},    // QA, in percent already
    {"eval_exact", "Eval Exact", nullptr, false},       // QA with SQuAD v2's null answers
    {"eval_f1", "Eval F1", nullptr, false},             // NER entities (fraction), QA (percent)
    {"eval_f1_micro", "Eval F1 (micro)", "eval_subset_accuracy", true},
    {"eval_subset_accuracy", "Eval Subset Accuracy", nullptr, true},
    {"eval_pearson", "Eval Pearson", nullptr, false},
    {"eval_mse", "Eval MSE", nullptr, false},
    {"eval_perplexity", "Eval Perplexity", nullptr, false},
};
// Whether a run's record (all_results.json, a log-history entry) reports metric m.
bool reports(const nlohmann::json& record, const MetricColumn& m);

// "12.3 s, 5.20 samples/s, peak 1234 MB (predicted 1234 MB), accuracy 0.5740" or "out of
// memory (...)".
std::string point_summary(const nlohmann::json& point);

// A point's peak as a fraction of the sweep's memory limit, or of physical memory without one.
std::optional<double> utilization(const nlohmann::json& point, const nlohmann::json& results);

// The table rows in the lecture's column order: the swept knobs, then Time (s), Samples/s,
// Memory Occupied (MB), Utilization (%), Predicted Memory (MB), Train Loss, and the eval
// metrics the points report (kMetricColumns; per epoch in Markdown, the final value in CSV).
struct ResultsTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};
ResultsTable results_table(const nlohmann::json& results, bool for_csv);

// The Markdown table with a line on what the columns mean.
std::string results_markdown(const nlohmann::json& results);

// Writes results.md, results.csv and the plots (samples_per_second.svg, peak_memory.svg and,
// with evaluation, one per metric against the effective batch size, named by the metric:
// accuracy.svg, f1.svg, exact_match.svg, ...) into out_dir; returns the files written.
std::vector<std::string> write_reports(const nlohmann::json& results, const std::string& out_dir);

}  // namespace bertrain
