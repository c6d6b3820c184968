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

}  // namespace bertrain
