#include "data/reader.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/file_io.h"

namespace bertrain {

namespace {

using Row = std::vector<std::string>;

struct RawRow {
  Row fields;
  size_t line;
  std::string error;  // non-empty: malformed
};

// RFC 4180 with the separator given: quoted fields may hold separators, newlines and ""
// escapes; rows end at LF or CRLF outside quotes. With stop_at_error the rows end at the first
// malformed one (the caller fails there), so a 1 GB row costs a scan of max_row_bytes only.
std::vector<RawRow> split_delimited(std::string_view text, char sep, size_t max_row_bytes,
                                    bool stop_at_error) {
  std::vector<RawRow> rows;
  size_t i = 0, n = text.size(), line = 1;
  if (n >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;  // UTF-8 BOM
  while (i < n) {
    RawRow row{{}, line, ""};
    const size_t row_start = i;
    std::string field;
    bool in_quotes = false, quoted = false, done = false;
    while (i < n && !done) {
      char c = text[i];
      if (i - row_start > max_row_bytes) {
        row.error = "row longer than " + std::to_string(max_row_bytes) + " bytes";
        break;
      }
      if (in_quotes) {
        if (c == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          in_quotes = false;
        } else {
          if (c == '\n') ++line;
          field.push_back(c);
        }
        ++i;
        continue;
      }
      if (c == '"' && field.empty() && !quoted) {
        in_quotes = quoted = true;
        ++i;
      } else if (c == sep) {
        row.fields.push_back(std::move(field));
        field.clear();
        quoted = false;
        ++i;
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
        done = true;
      } else {
        if (quoted && row.error.empty()) row.error = "text after a closing quote";
        field.push_back(c);
        ++i;
      }
    }
    if (in_quotes && row.error.empty()) row.error = "quoted field is never closed";
    if (!row.error.empty() && stop_at_error) {
      rows.push_back(std::move(row));
      break;
    }
    if (!row.error.empty()) {
      // Resynchronise at the next line start.
      const size_t eol = text.find('\n', i);
      i = eol == std::string_view::npos ? n : eol + 1;
      ++line;
    }
    row.fields.push_back(std::move(field));
    bool blank = row.fields.size() == 1 && row.fields[0].empty() && !quoted;
    if (!blank || !row.error.empty()) rows.push_back(std::move(row));
  }
  return rows;
}

bool is_integer(const std::string& s) {
  if (s.empty()) return false;
  size_t start = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (start == s.size()) return false;
  return std::all_of(s.begin() + start, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// a < b for integer strings of any length (is_integer): by sign, then magnitude as digits,
// so a label like 10^40 cannot overflow a conversion.
bool integer_less(const std::string& a, const std::string& b) {
  auto split = [](const std::string& s) {
    const bool negative = s[0] == '-';
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    while (i + 1 < s.size() && s[i] == '0') ++i;  // leading zeros
    std::string digits = s.substr(i);
    return std::pair{negative && digits != "0", digits};
  };
  auto [neg_a, da] = split(a);
  auto [neg_b, db] = split(b);
  if (neg_a != neg_b) return neg_a;
  const bool magnitude_less = da.size() != db.size() ? da.size() < db.size() : da < db;
  const bool magnitude_greater = da.size() != db.size() ? da.size() > db.size() : da > db;
  return neg_a ? magnitude_greater : magnitude_less;
}

const std::vector<std::string> kTextNames = {"text",    "sentence",  "sentence1", "review",
                                             "content", "question1", "premise"};
const std::vector<std::string> kPairNames = {"text_pair", "sentence2", "question2", "hypothesis"};
const std::vector<std::string> kLabelNames = {"label", "labels", "stars", "class", "target"};

bool is_known_name(const std::string& s) {
  for (const auto* names : {&kTextNames, &kPairNames, &kLabelNames})
    if (std::find(names->begin(), names->end(), s) != names->end()) return true;
  return false;
}

struct Columns {
  int text = -1, pair = -1, label = -1;
};

// A column given by name (needs a header) or index; returns -1 when `spec` is empty.
int resolve_column(const std::string& spec, const Row* header, const std::string& path,
                   const char* what, size_t width) {
  if (spec.empty()) return -1;
  if (is_integer(spec)) {
    long idx = std::stol(spec);
    if (idx < 0 || static_cast<size_t>(idx) >= width)
      fail(path, ": ", what, " column ", idx, " does not exist (rows have ", width, " columns)");
    return static_cast<int>(idx);
  }
  if (!header)
    fail(path, ": ", what, " column \"", spec, "\" is a name, but the file has no header");
  auto it = std::find(header->begin(), header->end(), spec);
  if (it == header->end()) fail(path, ": no column named \"", spec, "\" in the header");
  return static_cast<int>(it - header->begin());
}

int find_by_names(const Row& header, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    auto it = std::find(header.begin(), header.end(), name);
    if (it != header.end()) return static_cast<int>(it - header.begin());
  }
  return -1;
}

Columns choose_columns(const ReaderOptions& o, const Row* header, size_t width,
                       const std::string& path) {
  Columns c;
  c.text = resolve_column(o.text_column, header, path, "text", width);
  c.pair = resolve_column(o.text_pair_column, header, path, "text_pair", width);
  c.label = resolve_column(o.label_column, header, path, "label", width);
  if (header) {
    if (c.text < 0) c.text = find_by_names(*header, kTextNames);
    if (c.pair < 0 && o.text_pair_column.empty()) c.pair = find_by_names(*header, kPairNames);
    if (c.label < 0 && o.label_column.empty()) c.label = find_by_names(*header, kLabelNames);
    if (c.text < 0) fail(path, ": no text column in the header; name it with --text_column");
  } else if (c.text < 0) {
    // yelp_review_full / ag_news style: class first, then text (and a second text).
    if (width < 2) fail(path, ": rows have one column; name the text column with --text_column");
    if (c.label < 0 && o.label_column.empty()) c.label = 0;
    c.text = c.label == 0 ? 1 : 0;
    if (width >= 3 && c.pair < 0 && o.text_pair_column.empty()) c.pair = 2;
  }
  return c;
}

void note_bad_row(ReadResult& r, const ReaderOptions& o, const std::string& path, size_t line,
                  const std::string& why) {
  if (o.bad_rows == BadRows::Fail)
    fail(path, ":", line, ": malformed row: ", why, " (use --bad_rows skip to skip such rows)");
  ++r.skipped;
  if (r.skipped_reasons.size() < 5)
    r.skipped_reasons.push_back(path + ":" + std::to_string(line) + ": " + why);
}

ReadResult read_delimited(const std::string& path, std::string_view text, char sep,
                          const ReaderOptions& o) {
  std::vector<RawRow> rows =
      split_delimited(text, sep, o.max_row_bytes, o.bad_rows == BadRows::Fail);
  ReadResult r;
  if (rows.empty()) fail(path, ": no rows");
  bool header = o.has_header.value_or(sep == '\t');
  if (!o.has_header && sep == ',') {
    // Detect: the first row is a header if it names a column we know or one the user asked for.
    header = false;
    for (const std::string& f : rows[0].fields)
      if (is_known_name(f) || f == o.text_column || f == o.label_column ||
          (!o.text_pair_column.empty() && f == o.text_pair_column))
        header = true;
  }
  const size_t width = rows[0].fields.size();
  if (header && !rows[0].error.empty()) fail(path, ":1: malformed header: ", rows[0].error);
  Columns c = choose_columns(o, header ? &rows[0].fields : nullptr, width, path);
  for (size_t k = header ? 1 : 0; k < rows.size(); ++k) {
    RawRow& row = rows[k];
    if (!row.error.empty()) {
      note_bad_row(r, o, path, row.line, row.error);
      continue;
    }
    if (row.fields.size() != width) {
      note_bad_row(r, o, path, row.line,
                   "has " + std::to_string(row.fields.size()) + " fields, expected " +
                       std::to_string(width));
      continue;
    }
    Example e;
    e.text = std::move(row.fields[c.text]);
    if (c.pair >= 0) {
      e.text_pair = std::move(row.fields[c.pair]);
      e.has_pair = true;
    }
    if (c.label >= 0) e.label = row.fields[c.label];
    e.line = row.line;
    r.examples.push_back(std::move(e));
  }
  return r;
}

std::string json_field_string(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

ReadResult read_jsonl(const std::string& path, std::string_view text, const ReaderOptions& o) {
  using nlohmann::json;
  ReadResult r;
  const std::string text_key = o.text_column.empty() ? "" : o.text_column;
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    // Look for the line's end within the cap only: an overlong line fails without a scan to
    // its end (or, skipped, costs one memchr).
    size_t end = text.substr(pos, o.max_row_bytes + 1).find('\n');
    ++line;
    if (end == std::string_view::npos && text.size() - pos > o.max_row_bytes) {
      note_bad_row(r, o, path, line,
                   "line longer than " + std::to_string(o.max_row_bytes) + " bytes");
      end = text.find('\n', pos);
      pos = end == std::string_view::npos ? text.size() : end + 1;
      continue;
    }
    end = end == std::string_view::npos ? text.size() : pos + end;
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    if (raw.empty() || raw == "\r") continue;
    json j;
    try {
      j = json::parse(raw);
    } catch (const json::exception& e) {
      note_bad_row(r, o, path, line, std::string("not valid JSON (") + e.what() + ")");
      continue;
    }
    if (!j.is_object()) {
      note_bad_row(r, o, path, line, "not a JSON object");
      continue;
    }
    auto pick = [&](const std::string& spec, const std::vector<std::string>& names) -> const json* {
      if (!spec.empty()) return j.contains(spec) ? &j[spec] : nullptr;
      for (const std::string& n : names)
        if (j.contains(n)) return &j[n];
      return nullptr;
    };
    const json* t = pick(text_key, kTextNames);
    if (!t || !t->is_string()) {
      note_bad_row(r, o, path, line, "no string text field");
      continue;
    }
    Example e;
    e.text = t->get<std::string>();
    if (const json* p = pick(o.text_pair_column, kPairNames); p && !p->is_null()) {
      e.text_pair = json_field_string(*p);
      e.has_pair = true;
    }
    if (const json* l = pick(o.label_column, kLabelNames); l && !l->is_null())
      e.label = json_field_string(*l);
    e.line = line;
    r.examples.push_back(std::move(e));
  }
  return r;
}

std::string format_of(const std::string& path, const std::string& format) {
  if (!format.empty()) return format;
  auto ends = [&](const char* suffix) {
    std::string s(suffix);
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  if (ends(".tsv")) return "tsv";
  if (ends(".jsonl") || ends(".json")) return "jsonl";
  if (ends(".txt")) return "txt";
  return "csv";
}

}  // namespace

ReadResult read_examples(const std::string& path, const ReaderOptions& o) {
  MappedFile file(path);
  return parse_examples(path, file.text(), o);
}

// Plain text (run_mlm's text files): each non-empty line one unlabelled example; a line over
// max_row_bytes is malformed.
static ReadResult read_lines(const std::string& path, std::string_view text,
                             const ReaderOptions& o) {
  ReadResult r;
  size_t line = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++line;
    std::string_view l = text.substr(pos, end - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.size() > o.max_row_bytes) {
      if (o.bad_rows == BadRows::Fail)
        fail(path, ":", line, ": a line of ", l.size(), " bytes, over the ", o.max_row_bytes,
             "-byte limit (--bad_rows skip skips it)");
      ++r.skipped;
    } else if (l.find_first_not_of(" \t") != std::string_view::npos) {
      Example e;
      e.text = std::string(l);
      e.line = line;
      r.examples.push_back(std::move(e));
    }
    pos = end + 1;
  }
  return r;
}

ReadResult parse_examples(const std::string& path, std::string_view text, const ReaderOptions& o) {
  std::string format = format_of(path, o.format);
  if (format == "txt") return read_lines(path, text, o);
  if (format == "csv") return read_delimited(path, text, ',', o);
  if (format == "tsv") return read_delimited(path, text, '\t', o);
  if (format == "jsonl") return read_jsonl(path, text, o);
  fail("unknown data format \"", format, "\"; expected csv, tsv, jsonl or txt");
}

std::vector<std::string> default_label_list(const std::vector<Example>& examples) {
  std::set<std::string> distinct;
  for (const Example& e : examples)
    if (!e.label.empty()) distinct.insert(e.label);
  return ordered_labels(distinct);
}

std::vector<std::string> ordered_labels(const std::set<std::string>& distinct) {
  std::vector<std::string> labels(distinct.begin(), distinct.end());
  if (std::all_of(labels.begin(), labels.end(), is_integer))
    std::stable_sort(labels.begin(), labels.end(), integer_less);
  return labels;
}

std::vector<std::string> parse_label_list(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    std::string label = s.substr(pos, end - pos);
    if (label.empty()) fail("--label_list \"", s, "\" has an empty label");
    out.push_back(label);
    pos = end + 1;
  }
  return out;
}

LabelMap::LabelMap(std::vector<std::string> labels) : labels_(std::move(labels)) {
  for (size_t i = 0; i < labels_.size(); ++i)
    if (!ids_.emplace(labels_[i], static_cast<int>(i)).second)
      fail("label \"", labels_[i], "\" appears twice in the label list");
}

int LabelMap::id(const Example& e, const std::string& path) const {
  auto it = ids_.find(e.label);
  if (it == ids_.end()) {
    std::string known;
    for (const std::string& l : labels_) known += (known.empty() ? "" : ", ") + l;
    fail(path, ":", e.line, ": label \"", e.label, "\" is not one of the labels (", known, ")");
  }
  return it->second;
}

}  // namespace bertrain
