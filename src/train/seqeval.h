// Entity-level metrics of tagged sentences as seqeval computes them (its default mode, the one
// run_ner's compute_metrics uses): entities read from BIO (or IOBES) tags, counted exactly
// (same type, same first and last token), micro-averaged over types.
#pragma once

#include <cstdint>
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

// The metrics of predicted against true tags, sentence by sentence (each pair of the same
// length): precision, recall and f1 over all entities (0 where undefined), accuracy over all
// tokens, and per type <type>_precision, <type>_recall, <type>_f1, <type>_number (true
// entities of the type).
Metrics seqeval_metrics(const std::vector<std::vector<std::string>>& truth,
                        const std::vector<std::vector<std::string>>& predicted);

}  // namespace bertrain
