// Token classification data (run_ner): CoNLL and JSON lines readers, and the alignment of word
// tags to word pieces, on hand-made sentences whose answers are worked out here.
#include <gtest/gtest.h>

#include "core/error.h"
#include "data/loader.h"
#include "data/tagged.h"
#include "test_util.h"
#include "train/inference.h"

using namespace bertrain;

// WNUT's train file ends sentences with TAB-only lines; -DOCSTART- is skipped; CRLF is fine.
TEST(Tagged, ConllSentencesEndAtWhitespaceOnlyLines) {
  const std::string path = test::write_text(
      test::temp_dir("tagged") + "/a.conll",
      "-DOCSTART-\tO\n\nEmma\tB-person\nlives\tO\r\n\t\nin Paris B-location\n\n\n");
  const std::vector<TaggedSentence> s = read_tagged(path);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].words, (std::vector<std::string>{"Emma", "lives"}));
  EXPECT_EQ(s[0].tags, (std::vector<std::string>{"B-person", "O"}));
  EXPECT_EQ(s[0].line, 3u);
  EXPECT_EQ(s[1].words, (std::vector<std::string>{"in"}));  // first and last column
  EXPECT_EQ(s[1].tags, (std::vector<std::string>{"B-location"}));
  EXPECT_EQ(tag_list(s), (std::vector<std::string>{"B-location", "B-person", "O"}));
  const std::string bad = test::write_text(test::temp_dir("tagged") + "/b.conll", "Emma\n");
  EXPECT_NE(
      test::error_of([&] { read_tagged(bad); }).find("b.conll:1: expected a word and its tag"),
      std::string::npos);
}

TEST(Tagged, JsonLinesTakeStringOrIntegerTags) {
  const std::string path = test::write_text(test::temp_dir("tagged") + "/a.jsonl",
                                            "{\"tokens\": [\"a\", \"b\"], \"ner_tags\": [3, "
                                            "10]}\n\n{\"tokens\": [\"c\"], \"ner_tags\": [\"O\"]}\n"
                                            "{\"tokens\": [\"d\"], \"ner_tags\": []}\n");
  EXPECT_NE(test::error_of([&] { read_tagged(path); }).find("a.jsonl:4: 1 tokens but 0 tags"),
            std::string::npos);
  const std::string ok = test::write_text(test::temp_dir("tagged") + "/b.jsonl",
                                          "{\"tokens\": [\"a\", \"b\"], \"ner_tags\": [3, 10]}\n");
  const std::vector<TaggedSentence> s = read_tagged(ok);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].tags, (std::vector<std::string>{"3", "10"}));
  EXPECT_EQ(tag_list(s), (std::vector<std::string>{"3", "10"}));  // numerically
}

// "Emma Thompson visited Zürichsee" -> [CLS] emma thompson visited zurich ##see [SEP]: the first
// piece of each word carries its tag, the rest -100; with label_all_tokens a B- word's other pieces
// carry the I- tag.
TEST(Tagged, TagsAlignToTheFirstPieceOfEachWord) {
  const std::vector<std::string> tags = {"B-location", "B-person", "I-location", "I-person", "O"};
  const LabelMap map(tags);
  TaggedSentence s{
      {"Emma", "Thompson", "visited", "Zürichsee"}, {"B-person", "I-person", "O", "B-location"}, 1};
  const TaggedDataset first = tokenize_tagged({s}, test::uncased_tokenizer(), 0, map, false, "x");
  ASSERT_EQ(first.data.length(0), 7);
  EXPECT_EQ(test::uncased_tokenizer().vocab().token(first.data.ids_of(0)[5]), "##see");
  EXPECT_EQ(first.token_labels, (std::vector<int32_t>{-100, 1, 3, 4, 0, -100, -100}));
  EXPECT_EQ(first.token_words, (std::vector<int32_t>{-1, 0, 1, 2, 3, 3, -1}));
  const TaggedDataset all = tokenize_tagged({s}, test::uncased_tokenizer(), 0, map, true, "x");
  EXPECT_EQ(all.token_labels, (std::vector<int32_t>{-100, 1, 3, 4, 0, 2, -100}));
  // Truncated to 4 tokens: [CLS] emma thompson [SEP]; the loader puts the labels per position.
  const TaggedDataset cut = tokenize_tagged({s}, test::uncased_tokenizer(), 4, map, false, "x");
  EXPECT_EQ(cut.token_labels, (std::vector<int32_t>{-100, 1, 3, -100}));
  LoaderOptions o;
  o.batch_size = 2;
  o.shuffle = false;
  DataLoader loader(cut.data, ExampleLabels::per_token(cut.token_labels), o);
  loader.start_epoch(0);
  HostBatch b;
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(std::vector<int32_t>(b.labels.begin(), b.labels.end()),
            (std::vector<int32_t>{-100, 1, 3, -100}));
  // A tag outside the list names the file.
  TaggedSentence odd{{"x"}, {"B-thing"}, 7};
  EXPECT_NE(test::error_of([&] {
              tokenize_tagged({odd}, test::uncased_tokenizer(), 0, map, false, "f.conll");
            }).find("f.conll"),
            std::string::npos);
}

// predict's entities: seqeval's grouping of the word tags, each entity's characters from its
// first word's start to its last word's end, its score the mean of its words' probabilities.
TEST(Tagged, PredictGroupsWordTagsIntoEntitiesWithCharacterSpans) {
  const std::string text = "Émile met Rick Sanchez in New York";
  // words: Émile met Rick Sanchez in New York
  const std::vector<std::pair<int32_t, int32_t>> spans = {{0, 5},   {6, 9},   {10, 14}, {15, 22},
                                                          {23, 25}, {26, 29}, {30, 34}};
  const std::vector<std::string> tags = {"B-person", "O",          "B-person",  "I-person",
                                         "O",        "I-location", "I-location"};
  const std::vector<float> scores = {0.9f, 0.99f, 0.8f, 0.6f, 0.99f, 0.5f, 0.7f};
  const std::vector<TaggedEntity> e = group_entities(text, spans, tags, scores);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].text, "Émile");
  EXPECT_EQ(e[0].start, 0);
  EXPECT_EQ(e[0].end, 5);  // characters, not bytes
  EXPECT_EQ(e[1].type, "person");
  EXPECT_EQ(e[1].text, "Rick Sanchez");
  EXPECT_NEAR(e[1].score, 0.7, 1e-6);
  EXPECT_EQ(e[2].type, "location");  // an I- after O starts an entity
  EXPECT_EQ(e[2].text, "New York");
  EXPECT_EQ(e[2].start, 26);
  EXPECT_NEAR(e[2].score, 0.6, 1e-6);
}
