#include "train/squad_metric.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace bertrain {

namespace u = unicode;

namespace {

bool is_ascii_punctuation(char32_t c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
         (c >= 123 && c <= 126);
}

bool is_word(char32_t c) {
  return c == U'_' || u::is_alnum(c);
}

std::vector<std::string> tokens(const std::string& s) {
  std::vector<std::string> out;
  const std::u32string n = u::decode_utf8(normalize_answer(s));
  size_t i = 0;
  while (i < n.size()) {
    size_t j = n.find(U' ', i);
    if (j == std::u32string::npos) j = n.size();
    if (j > i) out.push_back(u::encode_utf8(n.substr(i, j - i)));
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string normalize_answer(const std::string& s) {
  std::u32string lowered, text;
  for (char32_t c : u::decode_utf8(s)) u::append_lower(lowered, c);
  for (char32_t c : lowered)
    if (!is_ascii_punctuation(c)) text.push_back(c);
  // \b(a|an|the)\b -> ' ': a whole word a, an or the, between non-word characters.
  std::u32string no_articles;
  for (size_t i = 0; i < text.size();) {
    bool article = false;
    if (i == 0 || !is_word(text[i - 1]))
      for (std::u32string_view a : {U"the", U"an", U"a"})
        if (text.compare(i, a.size(), a) == 0 &&
            (i + a.size() == text.size() || !is_word(text[i + a.size()]))) {
          no_articles.push_back(U' ');
          i += a.size();
          article = true;
          break;
        }
    if (!article) no_articles.push_back(text[i++]);
  }
  // ' '.join(text.split())
  std::u32string out;
  for (size_t i = 0; i < no_articles.size();) {
    while (i < no_articles.size() && u::is_python_space(no_articles[i])) ++i;
    size_t j = i;
    while (j < no_articles.size() && !u::is_python_space(no_articles[j])) ++j;
    if (j > i) {
      if (!out.empty()) out.push_back(U' ');
      out.append(no_articles, i, j - i);
    }
    i = j;
  }
  return u::encode_utf8(out);
}

double squad_exact_match(const std::string& prediction, const std::string& truth) {
  return normalize_answer(prediction) == normalize_answer(truth) ? 1.0 : 0.0;
}

double squad_f1(const std::string& prediction, const std::string& truth) {
  const std::vector<std::string> p = tokens(prediction), t = tokens(truth);
  std::map<std::string, int> counts;
  for (const std::string& x : t) ++counts[x];
  int same = 0;
  for (const std::string& x : p)
    if (counts[x]-- > 0) ++same;
  if (same == 0) return 0.0;
  const double precision = static_cast<double>(same) / p.size();
  const double recall = static_cast<double>(same) / t.size();
  return 2 * precision * recall / (precision + recall);
}

SquadScore squad_score(const std::vector<std::string>& predictions,
                       const std::vector<std::vector<std::string>>& answers) {
  if (predictions.size() != answers.size())
    fail("squad: ", predictions.size(), " predictions for ", answers.size(), " questions");
  SquadScore s;
  for (size_t i = 0; i < predictions.size(); ++i) {
    double em = 0, f1 = 0;
    for (const std::string& a : answers[i]) {
      em = std::max(em, squad_exact_match(predictions[i], a));
      f1 = std::max(f1, squad_f1(predictions[i], a));
    }
    s.exact_match += em;
    s.f1 += f1;
  }
  if (!predictions.empty()) {
    s.exact_match *= 100.0 / predictions.size();
    s.f1 *= 100.0 / predictions.size();
  }
  return s;
}

SquadV2Score squad_v2_score(const std::vector<std::string>& predictions,
                            const std::vector<std::vector<std::string>>& answers) {
  if (predictions.size() != answers.size())
    fail("squad_v2: ", predictions.size(), " predictions for ", answers.size(), " questions");
  // evaluate-v2.0's compute_f1: an empty side scores 1 only against another empty one.
  auto f1_v2 = [](const std::string& prediction, const std::string& truth) {
    const std::vector<std::string> p = tokens(prediction), t = tokens(truth);
    if (p.empty() || t.empty()) return p == t ? 1.0 : 0.0;
    return squad_f1(prediction, truth);
  };
  SquadV2Score s;
  for (size_t i = 0; i < predictions.size(); ++i) {
    std::vector<std::string> gold;
    for (const std::string& a : answers[i])
      if (!normalize_answer(a).empty()) gold.push_back(a);
    const bool has_answer = !gold.empty();
    if (!has_answer) gold = {""};
    double em = 0, f1 = 0;
    for (const std::string& a : gold) {
      em = std::max(em, squad_exact_match(predictions[i], a));
      f1 = std::max(f1, f1_v2(predictions[i], a));
    }
    s.exact += em;
    s.f1 += f1;
    (has_answer ? s.has_ans_exact : s.no_ans_exact) += em;
    (has_answer ? s.has_ans_f1 : s.no_ans_f1) += f1;
    ++(has_answer ? s.has_ans_total : s.no_ans_total);
  }
  s.total = static_cast<int64_t>(predictions.size());
  auto percent = [](double& v, int64_t n) { v = n ? 100.0 * v / static_cast<double>(n) : 0.0; };
  percent(s.exact, s.total);
  percent(s.f1, s.total);
  percent(s.has_ans_exact, s.has_ans_total);
  percent(s.has_ans_f1, s.has_ans_total);
  percent(s.no_ans_exact, s.no_ans_total);
  percent(s.no_ans_f1, s.no_ans_total);
  return s;
}

}  // namespace bertrain
