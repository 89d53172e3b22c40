// The read model: every aggregate's folded state, kept up to date from the global log, from
// which the views of DOMAIN.md ("Read models users need") are computed (projections/views.h).
//
// apply() folds one event with the same evolve() functions the command service uses, so a view
// always agrees with the rules. EventVoided takes back an earlier event: the voided stream is
// refolded from the store up to the void (fold() skips voided events), which is exactly what a
// from-scratch fold up to that position gives.
//
// A read_model is a plain value: not thread-safe by itself (the runner guards the live one).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/event_store.h"
#include "events/domain.h"

namespace kakehashi {

template <class State>
using state_map = std::map<std::string, State, std::less<>>;  // by id
using activity_map = std::map<std::string, std::int64_t, std::less<>>;

// Where a stream's entries live in a read_model's maps, by stream name, so that folding an event
// costs one hash lookup instead of two walks down trees of long, shared-prefix UUID keys. It
// points into the maps' nodes, which are never erased (std::map nodes stay put as others come
// and go, and move with the map). A copy starts empty and refills itself from the maps as
// events are folded; a move keeps its entries, which follow the moved maps.
class stream_index {
 public:
  struct slot {
    std::int64_t* last_activity = nullptr;
    void* state = nullptr;  // the talent_state, need_state, ... of the stream's category
  };
  stream_index() = default;
  stream_index(const stream_index&) {}
  stream_index& operator=(const stream_index&) {
    clear();
    return *this;
  }
  // The entries follow the maps they point into; the source is left empty, so a moved-from
  // model that is used again starts afresh rather than pointing into the other one.
  stream_index(stream_index&& other) noexcept
      : slots_(std::move(other.slots_)),
        hints_(other.hints_),
        last_(other.last_),
        last_stream_(other.last_stream_) {
    other.clear();
  }
  stream_index& operator=(stream_index&& other) noexcept {
    if (this != &other) {
      slots_ = std::move(other.slots_);
      hints_ = other.hints_;
      last_ = other.last_;
      last_stream_ = other.last_stream_;
      other.clear();
    }
    return *this;
  }

  // Where the last stream of each category was added to the maps (ids are time-ordered, so the
  // next one usually goes right after it). Empty when unknown.
  template <class State>
  using hint = std::optional<typename state_map<State>::iterator>;
  struct hints {
    std::optional<activity_map::iterator> last_activity;
    hint<talent_state> talents;
    hint<need_state> needs;
    hint<candidacy_state> candidacies;
    hint<appointment_state> appointments;
    hint<municipality_state> municipalities;
  };
  static constexpr std::size_t categories = 5;

  slot* find(std::string_view stream) {
    // A command often appends several events to one stream: the last one found comes first.
    if (last_ && stream == last_stream_) return last_;
    auto it = slots_.find(stream);
    if (it == slots_.end()) return nullptr;
    last_stream_ = it->first;
    return last_ = &it->second;
  }
  // `stream` must stay valid as long as the slot: the map node's key.
  slot& add(std::string_view stream, slot s) {
    auto& added = *slots_.emplace(stream, s).first;
    last_stream_ = added.first;
    return *(last_ = &added.second);
  }
  hints& hints_for(std::size_t category) { return hints_[category]; }

 private:
  void clear() {
    slots_.clear();
    hints_ = {};
    last_ = nullptr;
    last_stream_ = {};
  }

  std::unordered_map<std::string_view, slot> slots_;
  std::array<hints, categories> hints_{};
  slot* last_ = nullptr;  // the slot find() or add() returned last (nodes never move)
  std::string_view last_stream_;
};

struct read_model {
  // Bumped whenever what apply() computes or the snapshot encoding changes: stored snapshots of
  // another version are discarded and the model is rebuilt from the log.
  // 2: UUIDs packed into 16 bytes, id hashes in 8 fixed bytes, voidable entries as id sets.
  // 3: a need's CandidateAttached no longer moves the need's last_activity.
  static constexpr std::uint32_t version = 3;

  position_t position = 0;            // the last event applied
  std::int64_t last_occurred_at = 0;  // the latest business time applied
  state_map<talent_state> talents;    // by id
  state_map<need_state> needs;
  state_map<candidacy_state> candidacies;
  state_map<appointment_state> appointments;
  state_map<municipality_state> municipalities;  // by lg_code
  activity_map last_activity;                    // stream -> occurred_at

  // Reads a stream's events up to and including `max_position`, for refolding after a void.
  using stream_reader = std::function<result<std::vector<event_ptr>>(std::string_view stream,
                                                                     position_t max_position)>;

  // Folds `event` (the next position) in. Errors: invalid_payload for a stored payload that
  // does not decode, or the reader's error.
  status apply(const recorded_event& event, const stream_reader& read);

  // A compact binary image of the model, and back (for snapshots). load() rejects a snapshot of
  // another version or a malformed one (never crashes on hostile bytes). save() encodes a large
  // model's second half on a helper thread; it reads the model only.
  std::string save() const;
  static result<read_model> load(std::string_view bytes);

 private:
  stream_index index_;  // a cache over the maps above; not part of the model's value
};

// The kind of the model's snapshot images in the store's snapshot files (engine/snapshot_store.h).
inline constexpr std::string_view read_model_snapshot_kind = "read_model";
// Where earlier versions stored the model's snapshots, in the projection store (through the
// append WAL). Only deleted now: the runner's start removes what an old data directory still
// holds there (projections/runner.h).
std::string read_model_snapshot_key(position_t position);
inline constexpr std::string_view read_model_snapshot_prefix = "snap/read_model/";

// A reader over `store` for read_model::apply.
read_model::stream_reader store_reader(const event_store& store);

// The model as of position `position` (0: empty), folded from the latest stored snapshot at or
// before it, or from scratch.
result<read_model> model_at_position(const event_store& store, position_t position);
// The model as of business time `micros`: what an auditor means by "as of a date". Each stream
// contributes the events, in stream order, up to its first one with occurred_at after `micros`:
// a backdated event appended after a later one is never folded before its stream's earlier ones.
// Folded from the newest snapshot that no event after `micros` went into (its header records the
// latest business time it folds), or from scratch.
result<read_model> model_at_time(const event_store& store, std::int64_t micros);

}  // namespace kakehashi
