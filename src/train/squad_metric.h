// The official SQuAD v1.1 evaluation (evaluate-v1.1.py, which run_qa's "squad" metric runs):
// answers normalised (lower case, ASCII punctuation removed, the articles a/an/the removed as
// words, whitespace collapsed), exact match and token F1 against each gold answer, the best of
// them per question, averaged and reported in percent.
#pragma once

#include <string>
#include <vector>

namespace bertrain {

// normalize_answer: Python's str.lower(), string.punctuation dropped, \b(a|an|the)\b replaced
// by a space, ' '.join(s.split()).
std::string normalize_answer(const std::string& s);
// 1 when the normalised strings are equal.
double squad_exact_match(const std::string& prediction, const std::string& truth);
// F1 of the normalised tokens' multiset overlap (0 when nothing is shared).
double squad_f1(const std::string& prediction, const std::string& truth);

struct SquadScore {
  double exact_match = 0, f1 = 0;  // percent, over the questions given
};
// predictions[i] against answers[i] (each question's gold answers; the best one counts).
SquadScore squad_score(const std::vector<std::string>& predictions,
                       const std::vector<std::vector<std::string>>& answers);

// The official SQuAD v2.0 evaluation (evaluate-v2.0.py, run_qa's "squad_v2" metric, with
// every no-answer probability 0): a question whose gold answers all normalise to "" (or has
// none) is unanswerable, its gold answer ""; F1 against an empty answer on either side is 1 when
// both are empty, else 0. In percent: exact and f1 over all questions (`total`), and the same
// over the answerable (HasAns_*) and the unanswerable (NoAns_*) ones, each group reported when
// it has questions.
struct SquadV2Score {
  double exact = 0, f1 = 0;
  int64_t total = 0;
  double has_ans_exact = 0, has_ans_f1 = 0, no_ans_exact = 0, no_ans_f1 = 0;
  int64_t has_ans_total = 0, no_ans_total = 0;
};
SquadV2Score squad_v2_score(const std::vector<std::string>& predictions,
                            const std::vector<std::vector<std::string>>& answers);

}  // namespace bertrain
