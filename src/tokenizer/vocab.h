// A WordPiece vocabulary: token <-> id.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bertrain {

class Vocab {
 public:
  static constexpr int kMaxSize = 10'000'000;  // larger vocabularies are refused as corrupt

  // Adds a token with the next id; a duplicate is an error naming `source` and `line`.
  void add(std::string token, const std::string& source, size_t line);
  // Places a token at a given id (tokenizer.json); gaps are errors found by finish().
  void set(std::string token, int id, const std::string& source);
  void finish(const std::string& source);

  // -1 when absent.
  int find(std::string_view token) const {
    auto it = ids_.find(token);
    return it == ids_.end() ? -1 : it->second;
  }
  // Throws Error naming `source` when the token is missing.
  int require(std::string_view token, const std::string& source) const;
  const std::string& token(int id) const { return tokens_.at(id); }
  size_t size() const { return tokens_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int, Hash, std::equal_to<>> ids_;
  std::vector<std::string> tokens_;
};

// vocab.txt: one token per line, id = 0-based line number.
Vocab load_vocab_txt(const std::string& path);

}  // namespace bertrain
