#include "data/mlm_data.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.h"
#include "core/splitmix.h"

namespace bertrain {

TokenizedDataset group_texts(const TokenizedDataset& d, int block) {
  if (block <= 0) fail("group_texts: block size must be positive, got ", block);
  const size_t total = d.ids.size() / static_cast<size_t>(block) * static_cast<size_t>(block);
  auto s = std::make_shared<TokenizedDataset::Storage>();
  s->ids.assign(d.ids.begin(), d.ids.begin() + static_cast<std::ptrdiff_t>(total));
  s->types.assign(total, 0);
  size_t i = 0;  // the example that holds the block's first token (its line, for messages)
  for (size_t b = 0; b * block < total; ++b) {
    s->offsets.push_back(static_cast<int64_t>(b * block));
    s->label_index.push_back(-1);
    while (i + 1 < d.size() && d.offsets[i + 1] <= static_cast<int64_t>(b * block)) ++i;
    s->lines.push_back(d.size() ? d.lines[i] : 0);
  }
  s->offsets.push_back(static_cast<int64_t>(total));
  TokenizedDataset out;
  out.source = d.source;
  out.storage = std::move(s);
  out.point_at_storage();
  return out;
}

namespace {

// splitmix64 over a combination of the keys: a uniform 64-bit draw.
uint64_t draw(uint64_t seed, uint64_t epoch, uint64_t example, uint64_t position, uint64_t what) {
  return splitmix64(seed ^ (epoch * 0x9e3779b97f4a7c15ull) ^ (example * 0xbf58476d1ce4e5b9ull) ^
                    (position * 0x94d049bb133111ebull) ^ (what * 0xd6e8feb86659fd93ull));
}

double uniform(uint64_t bits) {
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);  // [0, 1), 53 bits
}

// Whole-word masking's choice: the positions of the words chosen, as
// DataCollatorForWholeWordMask's _whole_word_mask picks them (its random.shuffle drawn here by
// the counter-based hash).
std::vector<bool> whole_words(const MlmMasking& m, const int32_t* ids, int len, uint64_t example,
                              uint64_t epoch) {
  std::vector<std::vector<int>> words;
  for (int i = 0; i < len; ++i) {
    if (ids[i] == m.cls_id || ids[i] == m.sep_id) continue;
    const bool continues = ids[i] >= 0 && static_cast<size_t>(ids[i]) < m.continuation->size() &&
                           (*m.continuation)[ids[i]];
    if (continues && !words.empty())
      words.back().push_back(i);
    else
      words.push_back({i});
  }
  for (size_t i = words.size(); i > 1; --i)  // Fisher-Yates
    std::swap(words[i - 1], words[draw(m.seed, epoch, example, i, 3) % i]);
  const int target = std::min(512, std::max(1, static_cast<int>(std::lround(len * m.probability))));
  std::vector<bool> chosen(len, false);
  int count = 0;
  for (const auto& w : words) {
    if (count >= target) break;
    if (count + static_cast<int>(w.size()) > target) continue;
    for (int i : w) chosen[i] = true;
    count += static_cast<int>(w.size());
  }
  return chosen;
}

}  // namespace

void MlmMasking::mask_row(int32_t* ids, int32_t* labels, int len, int S, uint64_t example,
                          int epoch) const {
  const uint64_t e = static_cast<uint64_t>(epoch);
  std::vector<bool> words;
  if (continuation) words = whole_words(*this, ids, len, example, e);
  for (int s = 0; s < S; ++s) {
    labels[s] = -100;
    if (s >= len || ids[s] == cls_id || ids[s] == sep_id) continue;
    const uint64_t p = static_cast<uint64_t>(s);
    const bool chosen =
        continuation ? words[s] : uniform(draw(seed, e, example, p, 0)) < probability;
    if (!chosen) continue;
    labels[s] = ids[s];
    const double how = uniform(draw(seed, e, example, p, 1));
    if (how < 0.8)
      ids[s] = mask_id;
    else if (how < 0.9)
      ids[s] =
          static_cast<int32_t>(draw(seed, e, example, p, 2) % static_cast<uint64_t>(vocab_size));
  }
}

}  // namespace bertrain
