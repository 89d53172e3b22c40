// Models as of a past point, shared by the reads that ask for the same point at once. A
// dashboard's as-of view sends one request per panel (board, queue, headline, funnel, coverage),
// each of which used to fold its own copy of the same model: on a long history that is the same
// fold several times over.
//
// Keeps the model last computed, and has a caller asking for a point that another is computing
// wait for that computation instead of repeating it. As of a position the model never changes
// (the log up to it is immutable). As of a time it may: an event appended later can be backdated
// to before that time. So a time model is kept with the head of the log it was folded at, and
// serves a later head only while every event appended since occurred after that time (those the
// fold would cut); one that did not, or more than max_time_extension of them, means a new fold.
//
// Memory: one finished model, plus one per distinct point being computed at that moment (at most
// one per calling thread). Errors are not kept.
// Thread safety: every member may be called from any thread. Lifetime: borrows `store`, which
// must outlive it.
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "projections/read_model.h"

namespace kakehashi {

class as_of_models {
 public:
  using model_ptr = std::shared_ptr<const read_model>;

  explicit as_of_models(const event_store& store) : store_(store) {}

  // model_at_position and model_at_time (projections/read_model.h), shared.
  result<model_ptr> at_position(position_t position);
  result<model_ptr> at_time(std::int64_t micros);

  struct stats {
    std::uint64_t computed = 0;  // folds run
    std::uint64_t shared = 0;    // reads answered with a model kept or being computed
  };
  stats statistics() const;

  // The most events appended since a kept time model that a read checks before folding anew.
  static constexpr position_t max_time_extension = 100000;

 private:
  struct point {
    bool by_time = false;
    std::int64_t value = 0;  // a position or a time
    bool operator==(const point&) const = default;
  };
  struct computation {
    point at;
    position_t head = 0;  // before the fold read the log
    std::uint64_t id = 0;
    std::shared_future<result<model_ptr>> outcome;
  };

  template <class Fold>
  result<model_ptr> get(const point& at, Fold fold);
  // Whether the kept model, folded as of time `micros` at head `folded_at`, is also the model at
  // head `head`: no event after `folded_at` occurred at or before `micros`.
  bool still_holds(std::int64_t micros, position_t folded_at, position_t head) const;

  const event_store& store_;
  mutable std::mutex mutex_;
  std::optional<point> kept_at_;
  position_t kept_head_ = 0;  // for a time model: the head before its fold read the log
  model_ptr kept_;
  std::vector<computation> computing_;
  std::uint64_t next_id_ = 0;
  stats stats_;
};

}  // namespace kakehashi
