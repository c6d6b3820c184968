// Entity-level metrics of tagged sentences as seqeval computes them (its default mode, the one
// run_ner's compute_metrics uses): entities read from BIO (or IOBES) tags, counted exactly
// (same type, same first and last token), micro-averaged over types.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "train/metrics.h"

namespace bertrain {

// An entity: its type and its first and last token (inclusive).
struct Entity {
  std::string type;
  int64_t first, last;
  bool operator<(const Entity& o) const {
    return std::tie(type, first, last) < std::tie(o.type, o.first, o.last);
  }
  bool operator==(const Entity& o) const = default;
};

// seqeval's get_entities over one tag sequence. A tag is a prefix (B, I, E, S, or O) with
// "-TYPE" after it. An entity ends at O, at B or S, at a change of type, or after E or S; it
// starts at B or S, at a change of type, and at I or E after O, E or S: an I- tag after O
// (or after another type) starts an entity of its own, as conlleval reads it.
std::vector<Entity> seqeval_entities(const std::vector<std::string>& tags);

// What seqeval's metrics are made of, added up sentence by sentence (and over data-parallel
// ranks): per entity type the entities predicted exactly, predicted, and true; tokens, and
// tokens tagged right.
struct SeqevalCounts {
  std::map<std::string, std::array<int64_t, 3>> types;  // correct, predicted, true
  int64_t tokens = 0, correct_tokens = 0;
  // One sentence's true and predicted tags (the same length).
  void add(const std::vector<std::string>& truth, const std::vector<std::string>& predicted);
  // Every count, the types of `tags` included (zero if unseen), in one fixed order: for a sum
  // over ranks that saw different types.
  std::vector<int64_t*> cells(const std::vector<std::string>& tags);
  // precision, recall and f1 over all entities (0 where undefined), accuracy over all tokens,
  // and per type <type>_precision, <type>_recall, <type>_f1, <type>_number (true entities).
  Metrics metrics() const;
};

// The metrics of predicted against true tags, sentence by sentence (seqeval joins the
// sentences with an O between them: no entity crosses from one into the next).
Metrics seqeval_metrics(const std::vector<std::vector<std::string>>& truth,
                        const std::vector<std::vector<std::string>>& predicted);

}  // namespace bertrain
