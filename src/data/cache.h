// Tokenized datasets on disk: flat arrays + offsets, memory-mapped on reuse. A cache file is
// keyed by a hash of the source file's bytes, the tokenizer (vocabulary and settings), the
// max length and the reader settings, and carries a checksum: a stale or corrupt file is
// detected and rebuilt, never used.
#pragma once

#include <string>

#include "data/dataset.h"
#include "data/reader.h"
#include "tokenizer/bert_tokenizer.h"

namespace bertrain {

struct CacheInfo {
  std::string path;             // the cache file (empty when caching is off)
  bool hit = false;             // read from the cache
  std::string rebuilt_because;  // why an existing file was not used
  size_t skipped_rows = 0;
};

// Reads, tokenizes and caches `path` (cache_dir empty: no cache).
TokenizedDataset load_dataset(const std::string& path, const ReaderOptions& reader,
                              const BertTokenizer& tok, int max_length,
                              const std::string& cache_dir, CacheInfo* info = nullptr);

// The default cache directory: $BERTRAIN_CACHE, else $XDG_CACHE_HOME/bertrain, else
// ~/.cache/bertrain.
std::string default_cache_dir();
// The --cache_dir flag: empty -> default_cache_dir(), "none" -> "" (no cache), else itself.
std::string resolve_cache_dir(const std::string& spec);

uint64_t hash_bytes(const void* data, size_t n, uint64_t seed = 0);

}  // namespace bertrain
