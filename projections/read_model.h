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

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "engine/event_store.h"
#include "events/domain.h"

namespace kakehashi {

struct read_model {
  // Bumped whenever what apply() computes changes: stored snapshots of another version are
  // discarded and the model is rebuilt from the log.
  static constexpr std::uint32_t version = 1;

  position_t position = 0;           // the last event applied
  std::int64_t last_occurred_at = 0;  // the latest business time applied
  std::map<std::string, talent_state, std::less<>> talents;  // by id
  std::map<std::string, need_state, std::less<>> needs;
  std::map<std::string, candidacy_state, std::less<>> candidacies;
  std::map<std::string, appointment_state, std::less<>> appointments;
  std::map<std::string, municipality_state, std::less<>> municipalities;  // by lg_code
  std::map<std::string, std::int64_t, std::less<>> last_activity;  // stream -> occurred_at

  // Reads a stream's events up to and including `max_position`, for refolding after a void.
  using stream_reader =
      std::function<result<std::vector<event_ptr>>(std::string_view stream, position_t max_position)>;

  // Folds `event` (the next position) in. Errors: invalid_payload for a stored payload that
  // does not decode, or the reader's error.
  status apply(const recorded_event& event, const stream_reader& read);

  // A compact binary image of the model, and back (for snapshots). load() rejects a snapshot of
  // another version or a malformed one (never crashes on hostile bytes).
  std::string save() const;
  static result<read_model> load(std::string_view bytes);
};

// Where the snapshot of the model at `position` is stored in the projection store.
std::string read_model_snapshot_key(position_t position);
inline constexpr std::string_view read_model_snapshot_prefix = "snap/read_model/";

// A reader over `store` for read_model::apply.
read_model::stream_reader store_reader(const event_store& store);

// The model as of position `position` (0: empty), folded from the latest stored snapshot at or
// before it, or from scratch.
result<read_model> model_at_position(const event_store& store, position_t position);
// The model of every event whose business time (occurred_at) is at or before `micros`, in log
// order: what an auditor means by "as of a date".
result<read_model> model_at_time(const event_store& store, std::int64_t micros);

}  // namespace kakehashi
