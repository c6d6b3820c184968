// Masked-LM data (data/mlm_data.h): DataCollatorForLanguageModeling's masking, run_mlm's
// group_texts, and plain-text files.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "data/mlm_data.h"
#include "data/reader.h"

using namespace bertrain;

namespace {

MlmMasking masking() {
  MlmMasking m;
  m.probability = 0.15;
  m.seed = 7;
  m.mask_id = 103;
  m.cls_id = 101;
  m.sep_id = 102;
  m.vocab_size = 30522;
  return m;
}

}  // namespace

// Over 200,000 tokens: 15% chosen (5 standard deviations: +-0.4%); of those 80% [MASK], 10% a
// random token, 10% unchanged (+-1%); labels are the original ids where chosen, -100 elsewhere;
// [CLS], [SEP] and padding never chosen.
TEST(MlmMasking, ChoosesFifteenPercentAndMasksEightyTenTen) {
  const MlmMasking m = masking();
  const int S = 200, len = 190, rows = 1000;
  int64_t chosen = 0, masked = 0, random = 0, kept = 0, tokens = 0;
  for (int r = 0; r < rows; ++r) {
    std::vector<int32_t> ids(S, 0), labels(S);
    for (int s = 0; s < len; ++s) ids[s] = 1000 + (r * 7 + s * 13) % 20000;
    ids[0] = m.cls_id;
    ids[len - 1] = m.sep_id;
    const std::vector<int32_t> original = ids;
    m.mask_row(ids.data(), labels.data(), len, S, r, 0);
    for (int s = 0; s < S; ++s) {
      const bool special = s == 0 || s >= len - 1;
      if (special) {
        ASSERT_EQ(labels[s], -100) << s;
        ASSERT_EQ(ids[s], original[s]) << s;
        continue;
      }
      ++tokens;
      if (labels[s] == -100) {
        ASSERT_EQ(ids[s], original[s]);
        continue;
      }
      ASSERT_EQ(labels[s], original[s]);
      ++chosen;
      if (ids[s] == m.mask_id)
        ++masked;
      else if (ids[s] == original[s])
        ++kept;  // (a random draw equal to the original counts here: 1 in 30522)
      else
        ++random;
    }
  }
  EXPECT_NEAR(static_cast<double>(chosen) / tokens, 0.15, 5 * std::sqrt(0.15 * 0.85 / tokens));
  EXPECT_NEAR(static_cast<double>(masked) / chosen, 0.8, 0.01);
  EXPECT_NEAR(static_cast<double>(random) / chosen, 0.1, 0.01);
  EXPECT_NEAR(static_cast<double>(kept) / chosen, 0.1, 0.01);
}

// The draws depend on (seed, epoch, example, position) only: the same row masks the same way
// however it is padded or batched, and differently in another epoch or under another seed.
TEST(MlmMasking, DrawsDependOnExampleEpochAndPositionOnly) {
  const MlmMasking m = masking();
  std::vector<int32_t> base(64);
  std::iota(base.begin(), base.end(), 2000);
  auto run = [&](int S, uint64_t example, int epoch, uint64_t seed) {
    MlmMasking mm = m;
    mm.seed = seed;
    std::vector<int32_t> ids(S, 0), labels(S);
    std::copy(base.begin(), base.end(), ids.begin());
    mm.mask_row(ids.data(), labels.data(), 64, S, example, epoch);
    return std::vector<int32_t>(labels.begin(), labels.begin() + 64);
  };
  EXPECT_EQ(run(64, 5, 0, 7), run(100, 5, 0, 7));  // padding does not matter
  EXPECT_NE(run(64, 5, 0, 7), run(64, 5, 1, 7));
  EXPECT_NE(run(64, 5, 0, 7), run(64, 6, 0, 7));
  EXPECT_NE(run(64, 5, 0, 7), run(64, 5, 0, 8));
}

// 16 tokens in examples of 5, 7 and 4, blocks of 6: two blocks of the concatenation, the last
// 4 tokens dropped (run_mlm's group_texts).
TEST(MlmData, GroupTextsConcatenatesAndCutsBlocks) {
  TokenizedDataset d;
  auto s = std::make_shared<TokenizedDataset::Storage>();
  s->offsets = {0, 5, 12, 16};
  s->ids.resize(16);
  std::iota(s->ids.begin(), s->ids.end(), 100);
  s->types.assign(16, 0);
  s->label_index = {-1, -1, -1};
  s->lines = {1, 2, 3};
  d.storage = s;
  d.point_at_storage();
  const TokenizedDataset g = group_texts(d, 6);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g.length(0), 6);
  EXPECT_EQ(g.length(1), 6);
  EXPECT_EQ(std::vector<int32_t>(g.ids_of(1), g.ids_of(1) + 6),
            (std::vector<int32_t>{106, 107, 108, 109, 110, 111}));
  EXPECT_EQ(g.lines[1], 2);  // the block starts in the second text
  EXPECT_EQ(group_texts(d, 20).size(), 0u);
}

TEST(Reader, PlainTextLinesAreExamples) {
  const std::string text = "first line\r\n\n   \nsecond line\nthird";
  const ReadResult r = parse_examples("corpus.txt", text, ReaderOptions{});
  ASSERT_EQ(r.examples.size(), 3u);
  EXPECT_EQ(r.examples[0].text, "first line");
  EXPECT_EQ(r.examples[1].text, "second line");
  EXPECT_EQ(r.examples[1].line, 4u);
  EXPECT_TRUE(r.examples[2].label.empty());
  ReaderOptions small;
  small.max_row_bytes = 8;
  try {
    parse_examples("corpus.txt", text, small);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corpus.txt:1"), std::string::npos) << e.what();
  }
  small.bad_rows = BadRows::Skip;
  EXPECT_EQ(parse_examples("corpus.txt", text, small).examples.size(), 1u);
}

// Whole-word masking: a word's pieces ("##" continuations) are chosen together, never a part
// of a word; round(len x 0.15) tokens are chosen where whole words add up to it.
TEST(MlmMasking, WholeWordMaskChoosesWholeWords) {
  MlmMasking m = masking();
  std::vector<uint8_t> continuation(30522, 0);
  for (int id = 5000; id < 5100; ++id) continuation[id] = 1;  // "##..." pieces
  m.continuation = &continuation;
  const int len = 120;
  for (uint64_t example = 0; example < 50; ++example) {
    std::vector<int32_t> ids(len), labels(len);
    std::vector<int> word(len);  // the word each position belongs to
    int w = -1;
    for (int s = 0; s < len; ++s) {
      const bool piece = s > 1 && (s * 7 + static_cast<int>(example)) % 3 == 0;
      ids[s] = piece ? 5000 + s % 100 : 2000 + s;
      if (!piece) ++w;
      word[s] = w;
    }
    ids[0] = m.cls_id;
    ids[len - 1] = m.sep_id;
    const std::vector<int32_t> original = ids;
    m.mask_row(ids.data(), labels.data(), len, len, example, 0);
    std::vector<int> chosen_in(w + 1, 0), size(w + 1, 0);
    int chosen = 0;
    for (int s = 1; s < len - 1; ++s) {
      ++size[word[s]];
      if (labels[s] != -100) {
        ASSERT_EQ(labels[s], original[s]);
        ++chosen_in[word[s]];
        ++chosen;
      }
    }
    for (int k = 0; k <= w; ++k) {
      ASSERT_TRUE(chosen_in[k] == 0 || chosen_in[k] == size[k]) << "word " << k;
    }
    EXPECT_LE(chosen, 18);  // round(120 x 0.15)
    EXPECT_GE(chosen, 15);  // words of 1-2 pieces fill it to within a word
  }
}
