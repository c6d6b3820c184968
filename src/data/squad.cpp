#include "data/squad.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.h"
#include "core/file_io.h"
#include "data/json_lines.h"
#include "tokenizer/unicode.h"

namespace bertrain {

using nlohmann::json;

namespace {

std::string text_field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) fail(where, ": expected a string \"", key, "\"");
  return it->get<std::string>();
}

// {"text": [...], "answer_start": [...]} (datasets) or [{"text", "answer_start"}] (SQuAD).
void read_answers(const json& a, QaExample& e, const std::string& where) {
  auto add = [&](const json& text, const json& start) {
    if (!text.is_string() || !start.is_number_integer())
      fail(where, ": an answer needs a string text and an integer answer_start");
    e.answers.push_back(text.get<std::string>());
    e.answer_starts.push_back(start.get<int32_t>());
  };
  if (a.is_array()) {
    for (const json& x : a) {
      if (!x.is_object() || !x.contains("text") || !x.contains("answer_start"))
        fail(where, ": an answer needs \"text\" and \"answer_start\"");
      add(x["text"], x["answer_start"]);
    }
  } else if (a.is_object() && a.contains("text") && a.contains("answer_start") &&
             a["text"].is_array() && a["answer_start"].is_array() &&
             a["text"].size() == a["answer_start"].size()) {
    for (size_t i = 0; i < a["text"].size(); ++i) add(a["text"][i], a["answer_start"][i]);
  } else {
    fail(where,
         ": \"answers\" must be a list of {text, answer_start} or {text: [...], "
         "answer_start: [...]} of equal lengths");
  }
}

}  // namespace

std::vector<QaExample> read_squad(const std::string& path, int64_t max_examples) {
  const std::string text = read_text_file(path, "data file");
  std::vector<QaExample> out;
  auto full = [&] { return max_examples >= 0 && static_cast<int64_t>(out.size()) >= max_examples; };
  const bool lines = std::filesystem::path(path).extension() == ".jsonl";
  if (lines) {
    for_each_json_line(path, text, [&](const json& j, const std::string& where, size_t line) {
      if (full()) return false;
      if (!j.is_object()) fail(where, ": expected an object");
      QaExample e;
      e.id = j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>()
                                                     : std::to_string(line);
      e.question = text_field(j, "question", where);
      e.context = text_field(j, "context", where);
      if (j.contains("answers")) read_answers(j["answers"], e, where);
      out.push_back(std::move(e));
      return !full();
    });
    return out;
  }
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
    fail(path, ": expected SQuAD's {\"data\": [...]}");
  for (size_t a = 0; a < j["data"].size() && !full(); ++a) {
    const json& article = j["data"][a];
    const std::string at = path + ": data[" + std::to_string(a) + "]";
    if (!article.is_object() || !article.contains("paragraphs") ||
        !article["paragraphs"].is_array())
      fail(at, ": expected \"paragraphs\"");
    for (size_t p = 0; p < article["paragraphs"].size() && !full(); ++p) {
      const json& para = article["paragraphs"][p];
      const std::string where = at + ".paragraphs[" + std::to_string(p) + "]";
      const std::string context = text_field(para, "context", where);
      if (!para.contains("qas") || !para["qas"].is_array()) fail(where, ": expected \"qas\"");
      for (const json& qa : para["qas"]) {
        if (full()) break;
        QaExample e;
        e.context = context;
        e.id = text_field(qa, "id", where);
        e.question = text_field(qa, "question", where + " (" + e.id + ")");
        if (qa.contains("answers")) read_answers(qa["answers"], e, where + " (" + e.id + ")");
        out.push_back(std::move(e));
      }
    }
  }
  return out;
}

QaFeatures prepare_qa_features(const std::vector<QaExample>& examples, const BertTokenizer& tok,
                               int max_length, int doc_stride, const std::string& source) {
  QaFeatures f;
  auto storage = std::make_shared<TokenizedDataset::Storage>();
  storage->offsets.push_back(0);
  for (size_t i = 0; i < examples.size(); ++i) {
    const QaExample& ex = examples[i];
    const size_t lead = ex.question.find_first_not_of(" \t\n\r\f\v");
    const std::vector<Piece> q =
        tok.pieces(lead == std::string::npos ? "" : ex.question.substr(lead));
    const std::vector<Piece> c = tok.pieces(ex.context);
    std::vector<Encoding> windows;
    try {
      windows = tok.windows(q, &c, max_length, doc_stride, Padding::None);
    } catch (const Error& err) {
      fail(source, ": question ", ex.id, ": ", err.what());
    }
    for (const Encoding& e : windows) {
      const int n = static_cast<int>(e.input_ids.size());
      for (int k = 0; k < n; ++k) {
        storage->ids.push_back(e.input_ids[k]);
        storage->types.push_back(static_cast<uint8_t>(e.token_type_ids[k]));
        f.offsets.push_back(e.offsets[k]);
        f.is_context.push_back(e.sequence_ids[k] == 1);
      }
      storage->offsets.push_back(static_cast<int64_t>(storage->ids.size()));
      storage->label_index.push_back(-1);
      storage->lines.push_back(static_cast<int64_t>(i + 1));
      f.example_of.push_back(static_cast<int32_t>(i));
      // run_qa's prepare_train_features: the [CLS] (0) unless the first answer lies wholly
      // within the window's context tokens.
      int32_t start = 0, end = 0;
      if (!ex.answers.empty()) {
        const int32_t start_char = ex.answer_starts[0];
        const int32_t end_char =
            start_char + static_cast<int32_t>(unicode::decode_utf8(ex.answers[0]).size());
        int s = 0, t = n - 1;
        while (s < n && e.sequence_ids[s] != 1) ++s;
        while (t >= 0 && e.sequence_ids[t] != 1) --t;
        if (s <= t && e.offsets[s].first <= start_char && e.offsets[t].second >= end_char) {
          while (s < n && e.offsets[s].first <= start_char) ++s;
          start = s - 1;
          while (e.offsets[t].second >= end_char) --t;
          end = t + 1;
        }
      }
      f.spans.push_back(start);
      f.spans.push_back(end);
    }
  }
  f.data.storage = storage;
  f.data.point_at_storage();
  f.data.source = source;
  return f;
}

QaAnswer best_answer(const QaExample& example, const QaFeatures& features,
                     const std::vector<size_t>& windows,
                     const std::vector<std::vector<float>>& start_logits,
                     const std::vector<std::vector<float>>& end_logits, int n_best_size,
                     int max_answer_length, bool version_2, double null_threshold) {
  struct Candidate {
    double score;
    int32_t begin, end;
  };
  std::vector<Candidate> candidates;
  auto top = [&](const std::vector<float>& logits) {
    std::vector<int> idx(logits.size());
    std::iota(idx.begin(), idx.end(), 0);
    const int k = std::min<int>(n_best_size, static_cast<int>(idx.size()));
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int a, int b) { return logits[a] > logits[b]; });
    idx.resize(k);
    return idx;
  };
  for (size_t w = 0; w < windows.size(); ++w) {
    const int64_t base = features.data.offsets[windows[w]];
    for (int s : top(start_logits[w]))
      for (int e : top(end_logits[w])) {
        if (!features.is_context[base + s] || !features.is_context[base + e]) continue;
        if (e < s || e - s + 1 > max_answer_length) continue;
        candidates.push_back({static_cast<double>(start_logits[w][s]) + end_logits[w][e],
                              features.offsets[base + s].first, features.offsets[base + e].second});
      }
  }
  // run_qa's answer when no pair is valid: "empty", scored 0.
  const Candidate none{0.0, -1, -1};
  const Candidate& best = candidates.empty()
                              ? none
                              : *std::max_element(candidates.begin(), candidates.end(),
                                                  [](const Candidate& a, const Candidate& b) {
                                                    return a.score < b.score;
                                                  });
  if (version_2) {  // the null answer beats the best other by more than the threshold: ""
    double null_score = 0;
    for (size_t w = 0; w < windows.size(); ++w) {
      const double cls = static_cast<double>(start_logits[w][0]) + end_logits[w][0];
      if (w == 0 || cls < null_score) null_score = cls;
    }
    if (null_score - best.score > null_threshold) return {"", null_score, 0, 0};
  }
  if (candidates.empty()) return {"empty", 0.0, 0, 0};
  const std::u32string context = unicode::decode_utf8(example.context);
  const std::u32string span = context.substr(best.begin, best.end - best.begin);
  return {unicode::encode_utf8(span), best.score, best.begin, best.end};
}

}  // namespace bertrain
