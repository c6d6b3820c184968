// Extractive QA data (run_qa): SQuAD reading, windows with answer positions, and answers read
// back from logits, on the shipped SQuAD part.
#include <gtest/gtest.h>

#include "core/error.h"
#include "data/squad.h"
#include "test_util.h"
#include "tokenizer/unicode.h"

using namespace bertrain;

namespace {

const std::vector<QaExample>& first_questions() {
  static std::vector<QaExample> e =
      read_squad(test::shared_dir() + "/data/squad/dev-v1.1-part1.json", 30);
  return e;
}

// The context text a window's token span covers.
std::string span_text(const QaExample& ex, const QaFeatures& f, size_t w, int s, int e) {
  const int64_t base = f.data.offsets[w];
  const std::u32string c = unicode::decode_utf8(ex.context);
  const int32_t b = f.offsets[base + s].first, end = f.offsets[base + e].second;
  return unicode::encode_utf8(c.substr(b, end - b));
}

}  // namespace

TEST(Squad, ReadsTheShippedPartAndJsonLines) {
  const auto& e = first_questions();
  ASSERT_EQ(e.size(), 30u);
  EXPECT_EQ(e[0].id, "56be4db0acb8001400a502ec");
  EXPECT_EQ(e[0].question, "Which NFL team represented the AFC at Super Bowl 50?");
  EXPECT_EQ(e[0].answers.front(), "Denver Broncos");
  EXPECT_EQ(e[0].answer_starts.front(), 177);
  EXPECT_EQ(read_squad(test::shared_dir() + "/data/squad/dev-v1.1-part1.json").size(), 5696u);
  const std::string lines = test::write_text(
      test::temp_dir("squad") + "/q.jsonl",
      "{\"id\": \"q1\", \"question\": \"Who?\", \"context\": \"Ann came.\", \"answers\": "
      "{\"text\": [\"Ann\"], \"answer_start\": [0]}}\n{\"question\": 3}\n");
  EXPECT_NE(
      test::error_of([&] { read_squad(lines); }).find("q.jsonl:2: expected a string \"question\""),
      std::string::npos);
  EXPECT_EQ(read_squad(lines, 1).front().answers, std::vector<std::string>{"Ann"});
}

// Every window of 30 questions at run_qa's 384/128 and at 64/16: where the answer lies within
// the window its (start, end) tokens cover exactly the answer's words (the text they span
// contains the answer and starts and ends inside its first and last token); elsewhere (0, 0).
TEST(Squad, WindowsLabelTheAnswerTokensOrTheCls) {
  for (auto [len, stride] : {std::pair{384, 128}, std::pair{64, 16}}) {
    const QaFeatures f =
        prepare_qa_features(first_questions(), test::uncased_tokenizer(), len, stride, "dev");
    ASSERT_EQ(f.spans.size(), 2 * f.data.size());
    size_t inside = 0, outside = 0;
    for (size_t w = 0; w < f.data.size(); ++w) {
      const QaExample& ex = first_questions()[f.example_of[w]];
      EXPECT_LE(f.data.length(w), len);
      const int s = f.spans[2 * w], e = f.spans[2 * w + 1];
      if (s == 0 && e == 0) {
        ++outside;
        continue;
      }
      ++inside;
      const std::string text = span_text(ex, f, w, s, e);
      EXPECT_NE(text.find(ex.answers[0]), std::string::npos) << ex.id << ": " << text;
      EXPECT_LE(text.size(), ex.answers[0].size() + 24) << ex.id << ": " << text;
    }
    EXPECT_GT(inside, 0u);
    if (len == 64) {
      EXPECT_GT(outside, 0u);  // short windows miss the answer
    }
  }
}

// A context with no tokens (empty, or only what the tokenizer drops) has windows without
// context tokens: labelled at the [CLS], answered "empty".
TEST(Squad, AnEmptyContextIsLabelledAtTheClsAndAnsweredEmpty) {
  const QaExample ex{"e1", "Who?", " \u200b ", {"x"}, {0}};
  const QaFeatures f = prepare_qa_features({ex}, test::uncased_tokenizer(), 32, 8, "q.json");
  ASSERT_EQ(f.data.size(), 1u);
  EXPECT_EQ(f.spans, (std::vector<int32_t>{0, 0}));
  const int n = f.data.length(0);
  const std::vector<std::vector<float>> logits(1, std::vector<float>(n, 1.0f));
  EXPECT_EQ(best_answer(ex, f, {0}, logits, logits).text, "empty");
}

// A window too short for the question (or a stride as long as the window) is named.
TEST(Squad, AWindowWithoutRoomNamesTheQuestion) {
  const std::vector<QaExample> one = {first_questions()[0]};
  const std::string e = test::error_of(
      [&] { prepare_qa_features(one, test::uncased_tokenizer(), 12, 2, "dev.json"); });
  EXPECT_NE(e.find("dev.json: question 56be4db0acb8001400a502ec: max_length 12 leaves no room"),
            std::string::npos)
      << e;
  EXPECT_NE(test::error_of([&] {
              prepare_qa_features(one, test::uncased_tokenizer(), 64, 60, "dev.json");
            }).find("stride 60 must be below"),
            std::string::npos);
}

// Logits that point at the answer's tokens in one window give its text; the best pair outside
// the context (the question's tokens) is never taken, and a too long span is not either.
TEST(Squad, BestAnswerReadsTheSpanBackFromTheContext) {
  const std::vector<QaExample> one = {first_questions()[0]};
  const QaFeatures f = prepare_qa_features(one, test::uncased_tokenizer(), 384, 128, "dev");
  ASSERT_EQ(f.data.size(), 1u);
  const int n = f.data.length(0), s = f.spans[0], e = f.spans[1];
  std::vector<std::vector<float>> start(1, std::vector<float>(n, 0.0f)), end = start;
  start[0][s] = 5;
  end[0][e] = 5;
  end[0][s] = 4;                // "Denver" alone: 9, second best
  start[0][1] = end[0][2] = 9;  // question tokens: not an answer
  QaAnswer a = best_answer(one[0], f, {0}, start, end);
  EXPECT_EQ(a.text, "Denver Broncos");
  EXPECT_EQ(a.start_char, 177);
  EXPECT_DOUBLE_EQ(a.score, 10.0);
  // At most one token: "Denver Broncos" is too long, "Denver" is the best left.
  EXPECT_EQ(best_answer(one[0], f, {0}, start, end, 20, 1).text, "Denver");
  // Nothing valid (every top start after every top end): run_qa's "empty".
  std::vector<std::vector<float>> late(1, std::vector<float>(n, 0.0f)), early = late;
  for (int k = 0; k < n; ++k)
    late[0][k] = static_cast<float>(k), early[0][k] = -static_cast<float>(k);
  EXPECT_EQ(best_answer(one[0], f, {0}, late, early, 2).text, "empty");
}

// SQuAD v2 (--version_2_with_negative): the null answer's score is the lowest [CLS] start + end
// over the windows, and it wins ("") when it beats the best span by more than the threshold.
TEST(Squad, Version2AnswersNullWhenTheClsBeatsTheBestSpanByTheThreshold) {
  const std::vector<QaExample> one = {first_questions()[0]};
  const QaFeatures f = prepare_qa_features(one, test::uncased_tokenizer(), 384, 128, "dev");
  ASSERT_EQ(f.data.size(), 1u);
  const int n = f.data.length(0), s = f.spans[0], e = f.spans[1];
  std::vector<std::vector<float>> start(1, std::vector<float>(n, 0.0f)), end = start;
  start[0][s] = end[0][e] = 5;  // "Denver Broncos": 10
  start[0][0] = end[0][0] = 6;  // the null answer: 12
  QaAnswer null = best_answer(one[0], f, {0}, start, end, 20, 30, true, 0.0);
  EXPECT_EQ(null.text, "");
  EXPECT_DOUBLE_EQ(null.score, 12.0);
  // 12 - 10 = 2 is not more than a threshold of 2: the span stands; v1 ignores the null.
  EXPECT_EQ(best_answer(one[0], f, {0}, start, end, 20, 30, true, 2.0).text, "Denver Broncos");
  EXPECT_EQ(best_answer(one[0], f, {0}, start, end).text, "Denver Broncos");
  // Over two windows the lowest [CLS] score is the null's: min(12, 8) = 8 < 10, the span wins.
  std::vector<std::vector<float>> start2 = {start[0], std::vector<float>(n, 0.0f)}, end2 = start2;
  end2[0] = end[0];
  start2[1][0] = end2[1][0] = 4;
  EXPECT_EQ(best_answer(one[0], f, {0, 0}, start2, end2, 20, 30, true, 0.0).text, "Denver Broncos");
  // No valid span: run_qa's "empty" scores 0, and a null above 0 takes it.
  std::vector<std::vector<float>> late(1, std::vector<float>(n, 0.0f)), early = late;
  for (int k = 0; k < n; ++k)
    late[0][k] = static_cast<float>(k), early[0][k] = -static_cast<float>(k);
  late[0][0] = 1, early[0][0] = 2;  // null: 3
  EXPECT_EQ(best_answer(one[0], f, {0}, late, early, 2, 30, true, 0.0).text, "");
  EXPECT_EQ(best_answer(one[0], f, {0}, late, early, 2, 30, true, 5.0).text, "empty");
}
