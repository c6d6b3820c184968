// Tokenizer throughput on a review file: texts/s and MB/s with 1 and N threads (encode with
// [CLS]/[SEP], no truncation). Optionally writes the texts and ids for cross-checking.
//   bench_tokenizer --data ../shared/data/yelp/train.csv --vocab VOCAB [--reps 5] [--dump FILE]
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/parallel.h"
#include "data/reader.h"
#include "tokenizer/bert_tokenizer.h"

using namespace bertrain;

int main(int argc, char** argv) {
  const std::string data = bench::str_arg(argc, argv, "--data", "../shared/data/yelp/train.csv");
  const std::string vocab =
      bench::str_arg(argc, argv, "--vocab", "../shared/data/tokenizer/bert-base-uncased-vocab.txt");
  const std::string dump = bench::str_arg(argc, argv, "--dump", "");
  const int reps = static_cast<int>(bench::arg(argc, argv, "--reps", 5));
  const int max_threads = static_cast<int>(bench::arg(argc, argv, "--threads", 2));
  BertTokenizer tok = load_tokenizer(vocab);
  std::vector<Example> examples = read_examples(data, {}).examples;
  size_t bytes = 0;
  for (const Example& e : examples) bytes += e.text.size();
  std::vector<std::vector<int32_t>> ids(examples.size());
  std::printf("{\"impl\": \"bertrain\", \"texts\": %zu, \"bytes\": %zu, \"runs\": [",
              examples.size(), bytes);
  for (int threads = 1; threads <= max_threads; threads *= 2) {
    set_num_threads(threads);
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
      double t0 = bench::now_seconds();
#pragma omp parallel for schedule(dynamic, 64)
      for (size_t i = 0; i < examples.size(); ++i)
        ids[i] = tok.encode(examples[i].text, nullptr, 0, false, Padding::None).input_ids;
      times.push_back(bench::now_seconds() - t0);
    }
    double t = bench::median(times);
    std::printf(
        "%s{\"threads\": %d, \"median_s\": %.6f, \"texts_per_s\": %.1f, \"mb_per_s\": %.2f}",
        threads == 1 ? "" : ", ", threads, t, examples.size() / t, bytes / t / 1e6);
  }
  std::printf("]}\n");
  if (!dump.empty()) {
    std::ofstream out(dump);
    for (size_t i = 0; i < examples.size(); ++i)
      out << nlohmann::json({{"text", examples[i].text}, {"ids", ids[i]}}).dump() << '\n';
  }
}
