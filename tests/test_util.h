// Shared helpers for the tests: fixture paths, temp dirs, finite differences.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "tokenizer/bert_tokenizer.h"

namespace bertrain::test {

// The fixtures and data (../shared), or $BERTRAIN_SHARED_DIR where the tests run away from the
// tree they were built in (bench/gpu_check.sh on a lent GPU machine).
inline std::string shared_dir() {
  const char* env = std::getenv("BERTRAIN_SHARED_DIR");
  return env && *env ? env : BERTRAIN_SHARED_DIR;
}
inline std::string test_tmp_dir() {
  const char* env = std::getenv("BERTRAIN_TEST_TMP");
  return env && *env ? env : BERTRAIN_TEST_TMP;
}
inline std::string fixture(const std::string& rel) {
  return shared_dir() + "/fixtures/" + rel;
}

// A fresh directory per (test, name): tests run in parallel processes under ctest.
inline std::string temp_dir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string owner = info ? std::string(info->test_suite_name()) + "." + info->name() : "static";
  std::filesystem::path p = std::filesystem::path(test_tmp_dir()) / owner / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

inline std::vector<double> random_vector(size_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(0.0, scale);
  std::vector<double> v(n);
  for (double& x : v) x = d(rng);
  return v;
}

// Writes `text` to `path` (binary) and returns the path.
inline std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The message of the bertrain::Error that f throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Compares analytic d f / d x[i] (grad[i]) with central differences of f, for every i.
// `stride` > 1 checks every stride-th element only (for large inputs).
inline void expect_gradient(const std::function<double()>& f, double* x, const double* grad,
                            size_t n, const std::string& what, double tol = 1e-6,
                            size_t stride = 1) {
  const double h = 1e-5;
  for (size_t i = 0; i < n; i += stride) {
    double saved = x[i];
    x[i] = saved + h;
    double fp = f();
    x[i] = saved - h;
    double fm = f();
    x[i] = saved;
    double numeric = (fp - fm) / (2 * h);
    ASSERT_NEAR(grad[i], numeric, tol * (1.0 + std::abs(numeric))) << what << "[" << i << "]";
  }
}

// bert-base-uncased's tokenizer from its vocab.txt (../shared/data/tokenizer), loaded once.
inline const BertTokenizer& uncased_tokenizer() {
  static const BertTokenizer t =
      load_tokenizer(shared_dir() + "/data/tokenizer/bert-base-uncased-vocab.txt");
  return t;
}

}  // namespace bertrain::test
