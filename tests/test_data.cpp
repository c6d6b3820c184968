// Readers, label lists, the token cache and the loader.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "data/cache.h"
#include "data/loader.h"
#include "data/reader.h"
#include "test_util.h"

using namespace bertrain;

namespace {

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  return test::write_text(dir + "/" + name, text);
}

using test::error_of;

const BertTokenizer& tok() {
  static BertTokenizer t =
      load_tokenizer(test::shared_dir() + "/data/tokenizer/bert-base-uncased-vocab.txt");
  return t;
}

std::string yelp(const char* f) {
  return test::shared_dir() + "/data/yelp/" + f;
}

}  // namespace

TEST(Reader, YelpCsvWithNoFlags) {
  ReadResult r = read_examples(yelp("train.csv"), {});
  ASSERT_EQ(r.examples.size(), 10785u);
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(r.examples[0].label, "1");
  EXPECT_EQ(r.examples[0].text.rfind("I don't get all the rage", 0), 0u);
  EXPECT_EQ(r.examples[4].label, "5");
  EXPECT_FALSE(r.examples[0].has_pair);
  std::vector<std::string> labels = default_label_list(r.examples);
  EXPECT_EQ(labels, (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  LabelMap map(labels);
  EXPECT_EQ(map.id(r.examples[0], "x"), 0);
  EXPECT_EQ(map.id(r.examples[4], "x"), 4);
}

TEST(Reader, CsvQuotingNewlinesCrlfAndHeader) {
  std::string dir = test::temp_dir("reader_csv");
  std::string p = write_file(dir, "a.csv",
                             "label,text\r\n"
                             "pos,\"He said \"\"hi\"\", then left\"\r\n"
                             "neg,\"two\nlines, and a comma\"\r\n"
                             "pos,plain\r\n");
  ReadResult r = read_examples(p, {});
  ASSERT_EQ(r.examples.size(), 3u);
  EXPECT_EQ(r.examples[0].text, "He said \"hi\", then left");
  EXPECT_EQ(r.examples[1].text, "two\nlines, and a comma");
  EXPECT_EQ(r.examples[1].line, 3u);
  EXPECT_EQ(r.examples[2].line, 5u);
  EXPECT_EQ(r.examples[2].text, "plain");
  EXPECT_EQ(default_label_list(r.examples), (std::vector<std::string>{"neg", "pos"}));
}

// Integer labels sort numerically at any length (a fuzzing finding: 10^40 overflowed stoll and
// escaped as std::out_of_range; docs/RELIABILITY.md).
TEST(Reader, IntegerLabelsSortNumericallyAtAnyLength) {
  std::vector<Example> examples;
  for (const char* label : {"10", "-3", "2", "100000000000000000000000000000000000000000", "+7",
                            "007", "-40", "0", "-0"}) {
    Example e;
    e.label = label;
    examples.push_back(e);
  }
  EXPECT_EQ(default_label_list(examples),
            (std::vector<std::string>{"-40", "-3", "-0", "0", "2", "+7", "007", "10",
                                      "100000000000000000000000000000000000000000"}));
}

TEST(Reader, TsvJsonlAndColumns) {
  std::string dir = test::temp_dir("reader_tsv");
  std::string tsv = write_file(dir, "sst2.tsv", "sentence\tlabel\nit 's great\t1\nawful\t0\n");
  ReadResult r = read_examples(tsv, {});
  ASSERT_EQ(r.examples.size(), 2u);
  EXPECT_EQ(r.examples[0].text, "it 's great");
  EXPECT_EQ(r.examples[1].label, "0");
  std::string jl = write_file(dir, "d.jsonl",
                              "{\"text\": \"a\", \"label\": 2}\n\n{\"text\": \"b\", \"text_pair\": "
                              "\"c\", \"label\": 10}\n");
  r = read_examples(jl, {});
  ASSERT_EQ(r.examples.size(), 2u);
  EXPECT_EQ(r.examples[1].text_pair, "c");
  EXPECT_EQ(r.examples[1].line, 3u);
  EXPECT_EQ(default_label_list(r.examples),
            (std::vector<std::string>{"2", "10"}));  // numeric order
  std::string cols = write_file(dir, "c.csv", "id,review,stars\n1,good,5\n2,bad,1\n");
  ReaderOptions o;
  o.text_column = "review";
  o.label_column = "stars";
  r = read_examples(cols, o);
  EXPECT_EQ(r.examples[1].text, "bad");
  EXPECT_EQ(r.examples[1].label, "1");
  o.text_column = "1";
  o.label_column = "2";
  o.has_header = true;
  EXPECT_EQ(read_examples(cols, o).examples[0].text, "good");
}

TEST(Reader, MalformedRowsNameFileAndLine) {
  std::string dir = test::temp_dir("reader_bad");
  std::string p =
      write_file(dir, "bad.csv", "\"1\",\"fine\"\n\"2\",\"three\",\"fields\"\n\"3\",\"ok\"\n");
  std::string m = error_of([&] { read_examples(p, {}); });
  EXPECT_NE(m.find("bad.csv:2: malformed row: has 3 fields, expected 2"), std::string::npos) << m;
  ReaderOptions skip;
  skip.bad_rows = BadRows::Skip;
  ReadResult r = read_examples(p, skip);
  EXPECT_EQ(r.examples.size(), 2u);
  EXPECT_EQ(r.skipped, 1u);
  std::string q = write_file(dir, "quote.csv", "\"1\",\"fine\"\n\"2\",\"never closed\n");
  m = error_of([&] { read_examples(q, {}); });
  EXPECT_NE(m.find("quote.csv:2: malformed row: quoted field is never closed"), std::string::npos)
      << m;
  std::string j = write_file(dir, "bad.jsonl", "{\"text\": \"a\", \"label\": 1}\n{oops}\n");
  m = error_of([&] { read_examples(j, {}); });
  EXPECT_NE(m.find("bad.jsonl:2: malformed row: not valid JSON"), std::string::npos) << m;
  m = error_of([&] { read_examples(dir + "/missing.csv", {}); });
  EXPECT_NE(m.find("missing.csv: cannot open"), std::string::npos) << m;
  ReaderOptions named;
  named.text_column = "review";
  m = error_of([&] { read_examples(p, named); });
  EXPECT_NE(m.find("text column \"review\" is a name, but the file has no header"),
            std::string::npos)
      << m;
}

TEST(Reader, LabelOutsideTheListNamesTheLine) {
  std::string dir = test::temp_dir("reader_labels");
  std::string p = write_file(dir, "l.csv", "\"1\",\"a\"\n\"6\",\"b\"\n");
  TokenizedDataset d = load_dataset(p, {}, tok(), 32, "");
  LabelMap map(parse_label_list("1,2,3,4,5"));
  std::string m = error_of([&] { d.class_ids(map); });
  EXPECT_NE(m.find("l.csv:2: label \"6\" is not one of the labels (1, 2, 3, 4, 5)"),
            std::string::npos)
      << m;
  EXPECT_THROW(parse_label_list("a,,b"), Error);
  EXPECT_THROW(LabelMap({"a", "a"}), Error);
}

TEST(Cache, SecondRunReadsTheCacheAndStaleOrCorruptFilesAreRebuilt) {
  std::string dir = test::temp_dir("cache");
  std::string data =
      write_file(dir, "d.csv", "\"1\",\"Hello world\"\n\"2\",\"Good food, bad service.\"\n");
  CacheInfo first, second, third;
  TokenizedDataset a = load_dataset(data, {}, tok(), 16, dir + "/cache", &first);
  EXPECT_FALSE(first.hit);
  ASSERT_TRUE(std::filesystem::exists(first.path));
  TokenizedDataset b = load_dataset(data, {}, tok(), 16, dir + "/cache", &second);
  EXPECT_TRUE(second.hit);
  EXPECT_EQ(second.path, first.path);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(b.length(i), a.length(i));
    for (int t = 0; t < a.length(i); ++t) EXPECT_EQ(b.ids_of(i)[t], a.ids_of(i)[t]);
  }
  EXPECT_EQ(b.label_strings, a.label_strings);
  EXPECT_EQ(b.class_ids(LabelMap(a.label_strings)), a.class_ids(LabelMap(a.label_strings)));
  // A different max length is a different key.
  CacheInfo other;
  load_dataset(data, {}, tok(), 8, dir + "/cache", &other);
  EXPECT_FALSE(other.hit);
  EXPECT_NE(other.path, first.path);
  // Flip a byte in the payload: detected and rebuilt.
  {
    std::fstream f(first.path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(80);
    f.put('\x7f');
  }
  TokenizedDataset c = load_dataset(data, {}, tok(), 16, dir + "/cache", &third);
  EXPECT_FALSE(third.hit);
  EXPECT_NE(third.rebuilt_because.find("checksum"), std::string::npos) << third.rebuilt_because;
  EXPECT_EQ(c.length(1), a.length(1));
  CacheInfo fourth;
  load_dataset(data, {}, tok(), 16, dir + "/cache", &fourth);
  EXPECT_TRUE(fourth.hit);
  // Truncated file: detected.
  std::filesystem::resize_file(first.path, 70);
  CacheInfo fifth;
  load_dataset(data, {}, tok(), 16, dir + "/cache", &fifth);
  EXPECT_FALSE(fifth.hit);
  EXPECT_FALSE(fifth.rebuilt_because.empty());
}

// The cached token ids of data/yelp/test.csv against Hugging Face tokenizers' ids for every
// 10th review, truncated to 512 (tests/data/hf_yelp_test_ids.jsonl, made by
// tests/tools/make_hf_golden.js with its own CSV parser).
TEST(Cache, YelpTokenizesToHuggingFaceIds) {
  TokenizedDataset d = load_dataset(yelp("test.csv"), {}, tok(), 512, "");
  ASSERT_EQ(d.size(), 1000u);
  std::ifstream golden(std::string(BERTRAIN_SOURCE_DIR) + "/tests/data/hf_yelp_test_ids.jsonl");
  size_t checked = 0;
  for (std::string line; std::getline(golden, line); ++checked) {
    nlohmann::json row = nlohmann::json::parse(line);
    const size_t i = row["row"].get<size_t>();
    const auto want = row["input_ids"].get<std::vector<int32_t>>();
    ASSERT_EQ(static_cast<size_t>(d.length(i)), want.size()) << "row " << i;
    for (size_t t = 0; t < want.size(); ++t) ASSERT_EQ(d.ids_of(i)[t], want[t]) << "row " << i;
  }
  EXPECT_EQ(checked, 100u);
}

namespace {

LoaderOptions opts(int batch, bool group, int workers) {
  LoaderOptions o;
  o.batch_size = batch;
  o.group_by_length = group;
  o.num_workers = workers;
  return o;
}

std::vector<HostBatch> epoch(DataLoader& l, int e) {
  std::vector<HostBatch> out;
  l.start_epoch(e);
  HostBatch b;
  while (l.next(b)) out.push_back(std::move(b));
  return out;
}

}  // namespace

TEST(Loader, ShuffleIsSeededAndCoversEveryExampleOnce) {
  TokenizedDataset d = load_dataset(yelp("test.csv"), {}, tok(), 128, "");
  std::vector<int32_t> cls = d.class_ids(LabelMap(d.label_strings));
  DataLoader a(d, ExampleLabels::classes(cls), opts(32, false, 0)),
      b(d, ExampleLabels::classes(cls), opts(32, false, 2));
  std::vector<HostBatch> ea = epoch(a, 0), eb = epoch(b, 0), ea1 = epoch(a, 1);
  ASSERT_EQ(ea.size(), 32u);  // 1000 / 32 rounded up: drop_last is off
  EXPECT_EQ(ea.back().B, 1000 - 31 * 32);
  ASSERT_EQ(eb.size(), ea.size());
  for (size_t k = 0; k < ea.size(); ++k) {
    EXPECT_TRUE(std::ranges::equal(ea[k].ids, eb[k].ids));  // prefetching gives the same batches
    EXPECT_TRUE(std::ranges::equal(ea[k].labels, eb[k].labels));
  }
  EXPECT_FALSE(std::ranges::equal(ea[0].ids, ea1[0].ids));  // another epoch, another order
  std::vector<size_t> order = epoch_order(d, opts(32, false, 0), 0);
  std::set<size_t> seen(order.begin(), order.end());
  EXPECT_EQ(seen.size(), 1000u);
  // Dynamic padding: each batch is as long as its longest row; mask marks the real tokens.
  for (const HostBatch& hb : ea) {
    int longest = 0;
    int64_t real = 0;
    for (int r = 0; r < hb.B; ++r) {
      int len = 0;
      for (int s = 0; s < hb.S; ++s) len += hb.mask[r * hb.S + s];
      longest = std::max(longest, len);
      real += len;
      EXPECT_EQ(hb.ids[r * hb.S], 101);
    }
    EXPECT_EQ(longest, hb.S);
    EXPECT_EQ(real, hb.real_tokens);
  }
  LoaderOptions fixed = opts(32, false, 0);
  fixed.pad_to_max_length = true;
  fixed.max_length = 128;
  DataLoader c(d, ExampleLabels::classes(cls), fixed);
  EXPECT_EQ(epoch(c, 0)[0].S, 128);
  LoaderOptions drop = opts(32, false, 0);
  drop.drop_last = true;
  DataLoader e(d, ExampleLabels::classes(cls), drop);
  EXPECT_EQ(epoch(e, 0).size(), 31u);
}

TEST(Loader, GroupByLengthSortsMegaBatchesLongestFirst) {
  TokenizedDataset d = load_dataset(yelp("train.csv"), {}, tok(), 512, "");
  LoaderOptions o = opts(8, true, 0);
  std::vector<size_t> order = epoch_order(d, o, 0);
  int longest = 0;
  for (size_t i = 0; i < d.size(); ++i) longest = std::max(longest, d.length(i));
  EXPECT_EQ(d.length(order[0]), longest);
  // Within the first mega-batch (50 batches of 8), after the swapped-in longest example,
  // lengths never increase.
  for (size_t i = 1; i + 1 < 400; ++i) EXPECT_GE(d.length(order[i]), d.length(order[i + 1])) << i;
  std::set<size_t> seen(order.begin(), order.end());
  EXPECT_EQ(seen.size(), d.size());
  EXPECT_NE(epoch_order(d, o, 0), epoch_order(d, o, 1));
}

TEST(Loader, WorkerErrorsReachTheCaller) {
  std::string dir = test::temp_dir("loader_err");
  std::string p =
      write_file(dir, "l.csv", "\"1\",\"one two three four five six seven\"\n\"2\",\"a\"\n");
  TokenizedDataset d = load_dataset(p, {}, tok(), 64, "");
  LoaderOptions o = opts(1, false, 2);
  o.shuffle = false;
  o.pad_to_max_length = true;
  o.max_length = 4;  // shorter than the first example
  DataLoader l(d, ExampleLabels::classes(d.class_ids(LabelMap(d.label_strings))), o);
  l.start_epoch(0);
  HostBatch b;
  std::string m = error_of([&] { l.next(b); });
  EXPECT_NE(m.find("l.csv: example at line 1 has 9 tokens, more than max_length 4"),
            std::string::npos)
      << m;
}

TEST(Loader, DummyDataLikeTheLecture) {
  TokenizedDataset d = dummy_dataset(512, 512, 30522, 5, 42);
  EXPECT_EQ(d.size(), 512u);
  EXPECT_EQ(d.length(7), 512);
  for (size_t i = 0; i < d.total_tokens(); ++i) {
    ASSERT_GE(d.ids[i], 100);
    ASSERT_LT(d.ids[i], 30000);
  }
}

TEST(Reader, BomEmptyTextAndTruncatedFiles) {
  std::string dir = test::temp_dir("reader_edges");
  std::string bom = write_file(dir, "bom.csv", "\xEF\xBB\xBF\"1\",\"first\"\n\"2\",\"\"\n");
  ReadResult r = read_examples(bom, {});
  ASSERT_EQ(r.examples.size(), 2u);
  EXPECT_EQ(r.examples[0].label, "1");  // the BOM is not part of the first field
  EXPECT_EQ(r.examples[1].text, "");    // an empty text is a valid example
  TokenizedDataset d = load_dataset(bom, {}, tok(), 16, "");
  EXPECT_EQ(d.length(1), 2);  // [CLS] [SEP]
  // A file cut in the middle of a quoted field.
  std::string cut = write_file(dir, "cut.csv", "\"1\",\"whole\"\n\"2\",\"cut in the mid");
  std::string m = error_of([&] { read_examples(cut, {}); });
  EXPECT_NE(m.find("cut.csv:2: malformed row: quoted field is never closed"), std::string::npos)
      << m;
  // A file cut in the middle of a JSON line.
  std::string jcut =
      write_file(dir, "cut.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"lab");
  m = error_of([&] { read_examples(jcut, {}); });
  EXPECT_NE(m.find("cut.jsonl:2:"), std::string::npos) << m;
  std::string empty = write_file(dir, "empty.csv", "");
  m = error_of([&] { read_examples(empty, {}); });
  EXPECT_NE(m.find("empty.csv: no rows"), std::string::npos) << m;
}

// A row of 1 GiB (a sparse file: the bytes cost no disk) is refused once it passes
// max_row_bytes, naming file and line, without the file being read into memory; skipped, the
// rows after it still load.
TEST(Reader, AGigabyteRowIsRefusedWithoutReadingIt) {
  std::string dir = test::temp_dir("reader_huge_row");
  const off_t gib = off_t{1} << 30;
  auto sparse = [&](const std::string& name, const std::string& head, const std::string& tail) {
    std::string p = write_file(dir, name, head);
    std::filesystem::resize_file(p, gib);
    std::ofstream(p, std::ios::binary | std::ios::app) << tail;
    return p;
  };
  std::string csv = sparse("huge.csv", "1,\"fine\"\n2,\"", "\"\n3,\"after\"\n");
  std::string m = error_of([&] { read_examples(csv, {}); });
  EXPECT_NE(m.find("huge.csv:2: malformed row: row longer than 16777216 bytes"), std::string::npos)
      << m;
  std::string jl = sparse("huge.jsonl", "{\"text\": \"fine\", \"label\": 1}\n{\"text\": \"",
                          "\"}\n{\"text\": \"after\", \"label\": 2}\n");
  m = error_of([&] { read_examples(jl, {}); });
  EXPECT_NE(m.find("huge.jsonl:2: malformed row: line longer than 16777216 bytes"),
            std::string::npos)
      << m;
  ReaderOptions skip;
  skip.bad_rows = BadRows::Skip;
  for (const std::string& p : {csv, jl}) {
    ReadResult r = read_examples(p, skip);
    ASSERT_EQ(r.examples.size(), 2u) << p;
    EXPECT_EQ(r.examples[1].text, "after") << p;
    EXPECT_EQ(r.skipped, 1u) << p;
  }
  std::filesystem::remove_all(dir);
}

TEST(Loader, StopsCleanlyMidEpochAndOnRestart) {
  TokenizedDataset d = dummy_dataset(200, 16, 1000, 3, 1);
  std::vector<int32_t> cls = d.class_ids(LabelMap(d.label_strings));
  for (int round = 0; round < 20; ++round) {
    DataLoader l(d, ExampleLabels::classes(cls), opts(4, false, 2));
    l.start_epoch(0);
    HostBatch b;
    for (int k = 0; k < round; ++k) ASSERT_TRUE(l.next(b));
    if (round % 2) l.start_epoch(1, 3);  // restart while workers are busy, skipping 3 batches
  }                                      // destroyed with workers running: joins without hanging
  DataLoader l(d, ExampleLabels::classes(cls), opts(4, false, 1));
  l.start_epoch(0, 48);
  HostBatch b;
  EXPECT_TRUE(l.next(b));
  EXPECT_TRUE(l.next(b));
  EXPECT_FALSE(l.next(b));  // 50 batches, 48 skipped
}

// Data parallel (issue 16): each rank's shard is torch's DistributedSampler's. The global order
// (the same seeded shuffle on every rank) is padded by repeating its start to a multiple of the
// world, and rank r takes positions r, r + world, ...; so the shards are disjoint but for the
// padding, cover the epoch, and make batches_per_epoch count the shard.
TEST(Loader, ShardsLikeDistributedSampler) {
  TokenizedDataset d = dummy_dataset(10, 8, 100, 2, 1);
  LoaderOptions o = opts(2, false, 0);
  const std::vector<size_t> global = epoch_order(d, o, 3);
  ASSERT_EQ(global.size(), 10u);
  std::vector<size_t> padded = global;
  padded.push_back(global[0]);
  padded.push_back(global[1]);  // 10 -> 12, a multiple of 3
  std::multiset<size_t> all;
  for (int rank = 0; rank < 3; ++rank) {
    o.rank = rank;
    o.world = 3;
    const std::vector<size_t> mine = epoch_order(d, o, 3);
    ASSERT_EQ(mine.size(), 4u);
    for (size_t i = 0; i < mine.size(); ++i) EXPECT_EQ(mine[i], padded[rank + 3 * i]);
    all.insert(mine.begin(), mine.end());
    DataLoader l(d, ExampleLabels::classes(d.class_ids(LabelMap(d.label_strings))), o);
    EXPECT_EQ(l.batches_per_epoch(), 2u);
  }
  EXPECT_EQ(all, std::multiset<size_t>(padded.begin(), padded.end()));
  // Evaluation's shards are not padded: every example once, rank 0 takes one more.
  o.pad_shards = false;
  o.rank = 0;
  EXPECT_EQ(epoch_order(d, o, 3),
            (std::vector<size_t>{global[0], global[3], global[6], global[9]}));
  o.rank = 2;
  EXPECT_EQ(epoch_order(d, o, 3), (std::vector<size_t>{global[2], global[5], global[8]}));
  o.batch_size = 1;
  EXPECT_EQ(DataLoader(d, ExampleLabels::classes(d.class_ids(LabelMap(d.label_strings))), o)
                .batches_per_epoch(),
            3u);
}
