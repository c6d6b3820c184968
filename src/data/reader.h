// Labelled text examples from CSV (RFC 4180), TSV and JSON lines files, with Hugging Face
// run_glue defaults: columns found by name or position, labels mapped through a label list
// (by default the sorted distinct labels of the training file).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace bertrain {

struct Example {
  std::string text, text_pair;
  bool has_pair = false;
  std::string label;  // as written in the file; empty when the file has no label column
  size_t line = 0;    // 1-based line where the row starts
};

enum class BadRows { Fail, Skip };

struct ReaderOptions {
  std::string format;  // csv | tsv | jsonl; empty: from the file extension
  // Column name or 0-based index; empty: defaults (see docs/DATA.md).
  std::string text_column, text_pair_column, label_column;
  std::optional<bool> has_header;  // unset: detect
  BadRows bad_rows = BadRows::Fail;
  size_t max_row_bytes = 16 << 20;  // a row longer than this is malformed
};

struct ReadResult {
  std::vector<Example> examples;
  size_t skipped = 0;                        // malformed rows skipped under BadRows::Skip
  std::vector<std::string> skipped_reasons;  // the first few, for the log
};

// The file is mapped, not copied: an absurd row (a 1 GB line) is refused after max_row_bytes
// without allocating for it.
ReadResult read_examples(const std::string& path, const ReaderOptions& options);
// The same over a file's contents already in memory (path is used in messages and for the
// format's extension).
ReadResult parse_examples(const std::string& path, std::string_view text,
                          const ReaderOptions& options);

// Label strings in class order. Default (from training examples): sorted distinct labels,
// numerically when every label is an integer (as datasets' int columns sort).
std::vector<std::string> default_label_list(const std::vector<Example>& examples);
// Distinct labels in that order: numerically when every one is an integer, else as strings.
std::vector<std::string> ordered_labels(const std::set<std::string>& distinct);
std::vector<std::string> parse_label_list(const std::string& comma_separated);

class LabelMap {
 public:
  explicit LabelMap(std::vector<std::string> labels);
  // Class id of a label; an unknown label is an error naming path:line.
  int id(const Example& e, const std::string& path) const;
  const std::vector<std::string>& labels() const { return labels_; }

 private:
  std::vector<std::string> labels_;
  std::map<std::string, int> ids_;
};

}  // namespace bertrain
