#include "data/tagged.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/file_io.h"
#include "data/json_lines.h"

namespace bertrain {

namespace {

bool is_json_lines(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".json" || ext == ".jsonl";
}

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n\v\f") == std::string::npos;
}

std::vector<TaggedSentence> read_conll(const std::string& path, const std::string& text) {
  std::vector<TaggedSentence> out;
  TaggedSentence s;
  std::istringstream in(text);
  size_t line_no = 0;
  auto end_sentence = [&] {
    if (!s.words.empty()) out.push_back(std::move(s));
    s = TaggedSentence{};
  };
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (blank(line)) {
      end_sentence();
      continue;
    }
    std::istringstream cols(line);
    std::vector<std::string> fields;
    for (std::string f; cols >> f;) fields.push_back(f);
    if (fields.front() == "-DOCSTART-") {
      end_sentence();
      continue;
    }
    if (fields.size() < 2)
      fail(path, ":", line_no, ": expected a word and its tag, got \"", line, "\"");
    if (s.words.empty()) s.line = line_no;
    s.words.push_back(fields.front());
    s.tags.push_back(fields.back());
  }
  end_sentence();
  return out;
}

std::vector<TaggedSentence> read_json_lines(const std::string& path, const std::string& text) {
  using nlohmann::json;
  std::vector<TaggedSentence> out;
  for_each_json_line(path, text, [&](const json& j, const std::string& where, size_t line) {
    if (!j.is_object() || !j.contains("tokens") || !j.contains("ner_tags") ||
        !j["tokens"].is_array() || !j["ner_tags"].is_array())
      fail(where, ": expected {\"tokens\": [...], \"ner_tags\": [...]}");
    TaggedSentence s;
    s.line = line;
    for (const json& w : j["tokens"]) {
      if (!w.is_string()) fail(where, ": a token is not a string");
      s.words.push_back(w.get<std::string>());
    }
    for (const json& t : j["ner_tags"]) {
      if (t.is_string())
        s.tags.push_back(t.get<std::string>());
      else if (t.is_number_integer())
        s.tags.push_back(std::to_string(t.get<int64_t>()));
      else
        fail(where, ": a tag is neither a string nor an integer");
    }
    if (s.words.size() != s.tags.size())
      fail(where, ": ", s.words.size(), " tokens but ", s.tags.size(), " tags");
    if (!s.words.empty()) out.push_back(std::move(s));
    return true;
  });
  return out;
}

}  // namespace

std::vector<TaggedSentence> read_tagged(const std::string& path) {
  const std::string text = read_text_file(path, "data file");
  return is_json_lines(path) ? read_json_lines(path, text) : read_conll(path, text);
}

std::vector<std::string> tag_list(const std::vector<TaggedSentence>& sentences) {
  std::set<std::string> distinct;
  for (const TaggedSentence& s : sentences) distinct.insert(s.tags.begin(), s.tags.end());
  return ordered_labels(distinct);
}

TaggedDataset tokenize_tagged(std::vector<TaggedSentence> sentences, const BertTokenizer& tok,
                              int max_length, const LabelMap& labels, bool label_all_tokens,
                              const std::string& source) {
  // run_ner's b_to_i_label: a continuation piece of a B-X word is labelled I-X.
  const std::vector<std::string>& names = labels.labels();
  std::vector<int32_t> continuation(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    continuation[i] = static_cast<int32_t>(i);
    if (names[i].rfind("B-", 0) == 0)
      for (size_t k = 0; k < names.size(); ++k)
        if (names[k] == "I-" + names[i].substr(2)) continuation[i] = static_cast<int32_t>(k);
  }
  TaggedDataset out;
  auto storage = std::make_shared<TokenizedDataset::Storage>();
  storage->offsets.push_back(0);
  for (const TaggedSentence& s : sentences) {
    std::vector<int32_t> tag_ids;
    for (const std::string& t : s.tags)
      tag_ids.push_back(labels.id({"", "", false, t, s.line}, source));
    const Encoding e =
        tok.assemble(tok.word_pieces(s.words), nullptr, max_length, max_length > 0, Padding::None);
    for (size_t k = 0; k < e.input_ids.size(); ++k) {
      const int32_t w = e.word_ids[k];
      storage->ids.push_back(e.input_ids[k]);
      storage->types.push_back(static_cast<uint8_t>(e.token_type_ids[k]));
      out.token_words.push_back(w);
      const bool first_piece = w >= 0 && (k == 0 || e.word_ids[k - 1] != w);
      out.token_labels.push_back(w < 0              ? -100
                                 : first_piece      ? tag_ids[w]
                                 : label_all_tokens ? continuation[tag_ids[w]]
                                                    : -100);
    }
    storage->offsets.push_back(static_cast<int64_t>(storage->ids.size()));
    storage->label_index.push_back(-1);
    storage->lines.push_back(static_cast<int64_t>(s.line));
  }
  out.data.storage = storage;
  out.data.point_at_storage();
  out.data.source = source;
  out.sentences = std::move(sentences);
  return out;
}

}  // namespace bertrain
