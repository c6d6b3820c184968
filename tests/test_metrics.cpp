// The evaluation metrics (train/metrics.h) on hand-made cases whose answers are worked out
// below, and the label handling of regression and multi-label data (data/labels.h,
// train/task_labels.h).
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "data/labels.h"
#include "train/metrics.h"
#include "train/seqeval.h"
#include "train/squad_metric.h"
#include "train/task_labels.h"

using namespace bertrain;

// Labels 0 0 0 1 1, predictions 0 0 1 1 2: 3 of 5 right. Class 0: tp 2, fp 0, fn 1 -> F1 0.8;
// class 1: tp 1, fp 1, fn 1 -> 0.5; class 2 (predicted, never labelled): tp 0, fp 1 -> 0.
// MCC: t = (3, 2, 0), p = (2, 2, 1), c = 3, s = 5: (15 - 10) / sqrt((25 - 9)(25 - 13)).
TEST(Metrics, SingleLabelFromTheConfusionMatrix) {
  const Metrics m = classification_metrics({{2, 1, 0}, {0, 1, 1}, {0, 0, 0}});
  EXPECT_DOUBLE_EQ(m.at("accuracy"), 0.6);
  EXPECT_DOUBLE_EQ(m.at("f1_micro"), 0.6);
  EXPECT_NEAR(m.at("f1_macro"), (0.8 + 0.5 + 0.0) / 3, 1e-15);
  EXPECT_NEAR(m.at("matthews_correlation"), 5 / std::sqrt(16.0 * 12.0), 1e-15);
}

TEST(Metrics, SingleLabelMacroF1SkipsClassesNeitherLabelledNorPredicted) {
  // Class 2 never occurs: macro F1 over classes 0 and 1 only, as sklearn's default labels.
  const Metrics m = classification_metrics({{1, 0, 0}, {1, 2, 0}, {0, 0, 0}});
  EXPECT_NEAR(m.at("f1_macro"), (2.0 / 3 + 0.8) / 2, 1e-15);
  // All one class: MCC undefined, 0 as sklearn gives.
  EXPECT_EQ(classification_metrics({{4, 0}, {0, 0}}).at("matthews_correlation"), 0.0);
}

// Predictions 1 2 3 4 against 1 3 2 4: squared errors 0 1 1 0; deviations from the mean 2.5
// give sxy 4, sxx = syy = 5; the ranks are the values, so Spearman equals Pearson.
TEST(Metrics, RegressionMsePearsonAndSpearman) {
  const Metrics m = regression_metrics({1, 2, 3, 4}, {1, 3, 2, 4});
  EXPECT_DOUBLE_EQ(m.at("mse"), 0.5);
  EXPECT_NEAR(m.at("pearson"), 0.8, 1e-15);
  EXPECT_NEAR(m.at("spearmanr"), 0.8, 1e-15);
  // Tied predictions share their average rank: ranks 1.5 1.5 3 against 1 2 3 give
  // sxy 1.5, sxx 1.5, syy 2.
  EXPECT_NEAR(regression_metrics({7, 7, 9}, {1, 2, 3}).at("spearmanr"), 1.5 / std::sqrt(3.0),
              1e-15);
  EXPECT_TRUE(std::isnan(regression_metrics({1, 1}, {1, 2}).at("pearson")));
}

// Three labels, threshold 0.5 (inclusive). Row 1 predicts {0, 2} for {0}; row 2 {1} for {1, 2};
// row 3 {0, 1} for {0, 1} (exact). Label 0: tp 2; label 1: tp 2; label 2: fp 1, fn 1.
// Micro F1: 2 * 4 / (8 + 1 + 1); macro: (1 + 1 + 0) / 3; subset accuracy 1 / 3.
TEST(Metrics, MultiLabelF1AndSubsetAccuracy) {
  MultiLabelCounts c(3);
  const float p[3][3] = {{0.9f, 0.2f, 0.6f}, {0.1f, 0.7f, 0.4f}, {0.5f, 0.5f, 0.49f}};
  const float y[3][3] = {{1, 0, 0}, {0, 1, 1}, {1, 1, 0}};
  for (int r = 0; r < 3; ++r) c.add(p[r], y[r]);
  const Metrics m = multi_label_metrics(c);
  EXPECT_DOUBLE_EQ(m.at("f1_micro"), 0.8);
  EXPECT_NEAR(m.at("f1_macro"), 2.0 / 3, 1e-15);
  EXPECT_NEAR(m.at("subset_accuracy"), 1.0 / 3, 1e-15);
}

TEST(Labels, NamesFromJsonArraysOrASeparator) {
  EXPECT_TRUE(is_label_array(R"(["food","service"])"));
  EXPECT_FALSE(is_label_array("[not json"));
  EXPECT_EQ(label_names(R"(["food", 3])", "", "f:1"), (std::vector<std::string>{"food", "3"}));
  EXPECT_EQ(label_names("food|service", "|", "f:1"), (std::vector<std::string>{"food", "service"}));
  EXPECT_EQ(label_names("food", "", "f:1"), (std::vector<std::string>{"food"}));
  try {
    label_names("food||service", "|", "data.csv:7");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("data.csv:7"), std::string::npos) << e.what();
  }
  EXPECT_EQ(multi_label_list({R"(["b","a"])", R"(["c"])", "[]"}, ""),
            (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Labels, RealValuesNeedANumberThatIsNotAnInteger) {
  EXPECT_TRUE(labels_are_real_values({"1", "2.5", "3"}));
  EXPECT_TRUE(labels_are_real_values({"1.0", "2.0"}));  // float column, as datasets reads it
  EXPECT_FALSE(labels_are_real_values({"1", "2", "5"}));
  EXPECT_FALSE(labels_are_real_values({"1.5", "good"}));
  EXPECT_FALSE(labels_are_real_values({"nan", "1.5"}));
}

TEST(TaskLabels, ProblemTypeFromTheFlagTheConfigOrTheLabels) {
  BertConfig c;
  c.id2label = {"a", "b"};
  EXPECT_EQ(resolve_problem_type("", c, {"neg", "pos"}, "f", ""), ProblemType::SingleLabel);
  EXPECT_EQ(resolve_problem_type("", c, {"0.5", "4.25"}, "f", ""), ProblemType::Regression);
  EXPECT_EQ(resolve_problem_type("", c, {R"(["a"])"}, "f", ""), ProblemType::MultiLabel);
  EXPECT_EQ(resolve_problem_type("", c, {"a|b"}, "f", "|"), ProblemType::MultiLabel);
  EXPECT_EQ(resolve_problem_type("regression", c, {"1", "2"}, "f", ""), ProblemType::Regression);
  c.problem_type = "regression";
  EXPECT_EQ(resolve_problem_type("", c, {"1", "5"}, "f", ""), ProblemType::Regression);
  c.problem_type = "single_label_classification";
  try {
    resolve_problem_type("", c, {"0.5", "1.5"}, "train.csv", "");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--problem_type regression"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(resolve_problem_type("classification", c, {"a"}, "f", ""), Error);
}

// seqeval's entities and metrics on hand-made tags, the answers worked out here.
TEST(Seqeval, EntitiesFollowSeqevalsChunkRules) {
  using V = std::vector<std::string>;
  auto ents = [](const V& tags) { return seqeval_entities(tags); };
  EXPECT_EQ(ents({"B-PER", "I-PER", "O", "B-LOC"}),
            (std::vector<Entity>{{"PER", 0, 1}, {"LOC", 3, 3}}));
  // An I- after O starts an entity; one after another type starts a new one.
  EXPECT_EQ(ents({"O", "I-PER", "I-PER", "O"}), (std::vector<Entity>{{"PER", 1, 2}}));
  EXPECT_EQ(ents({"B-PER", "I-LOC"}), (std::vector<Entity>{{"PER", 0, 0}, {"LOC", 1, 1}}));
  EXPECT_EQ(ents({"I-PER", "B-PER"}), (std::vector<Entity>{{"PER", 0, 0}, {"PER", 1, 1}}));
  // IOBES: S is one token, E closes.
  EXPECT_EQ(ents({"S-ORG", "B-PER", "E-PER", "I-PER"}),
            (std::vector<Entity>{{"ORG", 0, 0}, {"PER", 1, 2}, {"PER", 3, 3}}));
}

TEST(Seqeval, MetricsCountExactEntitiesAndAllTokens) {
  // Sentence 1: PER right, LOC predicted as ORG. Sentence 2: a B-PER that ends sentence 1 and
  // an I-PER that starts sentence 2 are two entities, not one (sentences are kept apart).
  const std::vector<std::vector<std::string>> truth = {{"B-PER", "I-PER", "O", "B-LOC"},
                                                       {"I-PER", "O"}};
  const std::vector<std::vector<std::string>> pred = {{"B-PER", "I-PER", "O", "B-ORG"},
                                                      {"B-PER", "O"}};
  const Metrics m = seqeval_metrics(truth, pred);
  // true: PER(0-1), LOC(3), PER(5); predicted: PER(0-1), ORG(3), PER(5): 2 of 3 right.
  EXPECT_DOUBLE_EQ(m.at("precision"), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.at("recall"), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.at("f1"), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.at("accuracy"), 4.0 / 6);  // the LOC/ORG token and I-PER/B-PER differ
  EXPECT_DOUBLE_EQ(m.at("PER_f1"), 1.0);
  EXPECT_DOUBLE_EQ(m.at("PER_number"), 2.0);
  EXPECT_DOUBLE_EQ(m.at("LOC_recall"), 0.0);
  EXPECT_DOUBLE_EQ(m.at("LOC_number"), 1.0);
  EXPECT_DOUBLE_EQ(m.at("ORG_precision"), 0.0);
  EXPECT_DOUBLE_EQ(m.at("ORG_number"), 0.0);
  // Nothing predicted: precision, recall and f1 are 0, not NaN.
  const Metrics none = seqeval_metrics({{"B-PER"}}, {{"O"}});
  EXPECT_EQ(none.at("precision"), 0.0);
  EXPECT_EQ(none.at("f1"), 0.0);
  EXPECT_THROW(seqeval_metrics({{"O"}}, {{"O", "O"}}), Error);
}

// The official SQuAD v1.1 normalisation and scores, worked out by hand.
TEST(SquadMetric, NormalisesAsTheOfficialScript) {
  EXPECT_EQ(normalize_answer("The  Eiffel-Tower!"), "eiffeltower");  // article, punctuation
  EXPECT_EQ(normalize_answer("an apple a day"), "apple day");
  EXPECT_EQ(normalize_answer("Theatre and Anna"), "theatre and anna");  // not whole words
  EXPECT_EQ(normalize_answer("\xc3\x85ngstr\xc3\xb6m's A"),
            "\xc3\xa5ngstr\xc3\xb6ms");                  // Ångström's
  EXPECT_EQ(normalize_answer("x\xe2\x80\x83y"), "x y");  // an em space splits as str.split()
}

TEST(SquadMetric, ExactMatchAndF1TakeTheBestGoldAnswer) {
  EXPECT_EQ(squad_exact_match("the Broncos", "Broncos."), 1.0);
  EXPECT_DOUBLE_EQ(squad_f1("the big red dog", "red dog"), 0.8);  // p 2/3, r 1
  EXPECT_DOUBLE_EQ(squad_f1("dog dog", "dog"), 2.0 / 3);          // shared counts once
  EXPECT_EQ(squad_f1("cat", "dog"), 0.0);
  const SquadScore s = squad_score({"Denver Broncos", "Broncos"},
                                   {{"Denver Broncos", "The Broncos"}, {"Denver Broncos"}});
  EXPECT_DOUBLE_EQ(s.exact_match, 50.0);
  EXPECT_DOUBLE_EQ(s.f1, 100.0 * (1.0 + 2.0 / 3) / 2);  // the second: p 1, r 1/2
}

// evaluate-v2.0.py on worked cases: an unanswerable question's gold is "" (no answers, or all
// normalising to ""); an empty side scores F1 1 only against another empty one.
TEST(SquadMetric, Version2ScoresNullAnswersAndSplitsHasAnsNoAns) {
  const std::vector<std::string> predictions = {"cat", "red", "", "green"};
  const std::vector<std::vector<std::string>> answers = {
      {"the cat", "a dog"},  // exact after normalising: EM 1, F1 1
      {"red apple"},         // "red": EM 0, F1 2 * (1 * 1/2) / (1 + 1/2) = 2/3
      {},                    // unanswerable, answered "": EM 1, F1 1
      {"a"}};                // normalises to "": unanswerable, answered: 0, 0
  const SquadV2Score s = squad_v2_score(predictions, answers);
  EXPECT_EQ(s.total, 4);
  EXPECT_DOUBLE_EQ(s.exact, 50.0);
  EXPECT_NEAR(s.f1, 100.0 * (1 + 2.0 / 3 + 1 + 0) / 4, 1e-12);
  EXPECT_EQ(s.has_ans_total, 2);
  EXPECT_DOUBLE_EQ(s.has_ans_exact, 50.0);
  EXPECT_NEAR(s.has_ans_f1, 100.0 * (1 + 2.0 / 3) / 2, 1e-12);
  EXPECT_EQ(s.no_ans_total, 2);
  EXPECT_DOUBLE_EQ(s.no_ans_exact, 50.0);
  EXPECT_DOUBLE_EQ(s.no_ans_f1, 50.0);
  // v1.1 scores the same predictions without the null rule: "" against {} has no gold at all.
  EXPECT_NE(squad_score(predictions, answers).f1, s.f1);
}
