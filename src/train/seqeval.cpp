#include "train/seqeval.h"

#include <set>

#include "core/error.h"

namespace bertrain {

namespace {

struct Tag {
  char prefix;  // B, I, E, S, O (or whatever the first character is)
  std::string type;
};

// seqeval splits "B-PER" into prefix 'B' and type "PER"; "O" has the type "_".
Tag split_tag(const std::string& tag) {
  if (tag.empty()) return {'O', "_"};
  const std::string rest = tag.substr(1);
  const size_t dash = rest.find('-');
  std::string type = dash == std::string::npos ? rest : rest.substr(dash + 1);
  return {tag[0], type.empty() ? "_" : type};
}

bool ends(const Tag& prev, const Tag& tag) {
  const char p = prev.prefix, t = tag.prefix;
  if (p == 'E' || p == 'S') return true;
  if ((p == 'B' || p == 'I') && (t == 'B' || t == 'S' || t == 'O')) return true;
  return p != 'O' && p != '.' && prev.type != tag.type;
}

bool starts(const Tag& prev, const Tag& tag) {
  const char p = prev.prefix, t = tag.prefix;
  if (t == 'B' || t == 'S') return true;
  if ((p == 'E' || p == 'S' || p == 'O') && (t == 'E' || t == 'I')) return true;
  return t != 'O' && t != '.' && prev.type != tag.type;
}

double ratio(int64_t a, int64_t b) {
  return b ? static_cast<double>(a) / b : 0.0;
}
double f1(double p, double r) {
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

}  // namespace

std::vector<Entity> seqeval_entities(const std::vector<std::string>& tags) {
  std::vector<Entity> out;
  Tag prev{'O', ""};
  int64_t begin = 0;
  for (size_t i = 0; i <= tags.size(); ++i) {
    const Tag tag = i < tags.size() ? split_tag(tags[i]) : Tag{'O', "_"};
    if (ends(prev, tag)) out.push_back({prev.type, begin, static_cast<int64_t>(i) - 1});
    if (starts(prev, tag)) begin = static_cast<int64_t>(i);
    prev = tag;
  }
  return out;
}

void SeqevalCounts::add(const std::vector<std::string>& truth,
                        const std::vector<std::string>& predicted) {
  if (truth.size() != predicted.size())
    fail("seqeval: a sentence has ", truth.size(), " true tags but ", predicted.size(),
         " predicted");
  for (size_t i = 0; i < truth.size(); ++i) correct_tokens += truth[i] == predicted[i];
  tokens += static_cast<int64_t>(truth.size());
  const std::vector<Entity> t = seqeval_entities(truth), p = seqeval_entities(predicted);
  const std::set<Entity> true_set(t.begin(), t.end()), pred_set(p.begin(), p.end());
  for (const Entity& e : pred_set) {
    ++types[e.type][1];
    types[e.type][0] += true_set.count(e);
  }
  for (const Entity& e : true_set) ++types[e.type][2];
}

std::vector<int64_t*> SeqevalCounts::cells(const std::vector<std::string>& tags) {
  for (const std::string& tag : tags)
    if (!tag.empty() && tag != "O") types[split_tag(tag).type];  // zero when unseen
  std::vector<int64_t*> out = {&tokens, &correct_tokens};
  for (auto& [type, c] : types)
    for (int64_t& x : c) out.push_back(&x);
  return out;
}

Metrics SeqevalCounts::metrics() const {
  Metrics m;
  int64_t correct = 0, n_pred = 0, n_true = 0;
  for (const auto& [type, c] : types) {
    if (c[1] == 0 && c[2] == 0) continue;  // a type of the label list never seen
    const double pr = ratio(c[0], c[1]), rc = ratio(c[0], c[2]);
    m[type + "_precision"] = pr;
    m[type + "_recall"] = rc;
    m[type + "_f1"] = f1(pr, rc);
    m[type + "_number"] = static_cast<double>(c[2]);
    correct += c[0];
    n_pred += c[1];
    n_true += c[2];
  }
  m["precision"] = ratio(correct, n_pred);
  m["recall"] = ratio(correct, n_true);
  m["f1"] = f1(m["precision"], m["recall"]);
  m["accuracy"] = ratio(correct_tokens, tokens);
  return m;
}

Metrics seqeval_metrics(const std::vector<std::vector<std::string>>& truth,
                        const std::vector<std::vector<std::string>>& predicted) {
  if (truth.size() != predicted.size())
    fail("seqeval: ", truth.size(), " true sentences but ", predicted.size(), " predicted");
  SeqevalCounts counts;
  for (size_t s = 0; s < truth.size(); ++s) counts.add(truth[s], predicted[s]);
  return counts.metrics();
}

}  // namespace bertrain
