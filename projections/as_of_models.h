// Models as of a past point, shared by the reads that ask for the same point at once. A
// dashboard's as-of view sends one request per panel (board, queue, headline, funnel, coverage),
// each of which used to fold its own copy of the same model: on a long history that is the same
// fold several times over.
//
// Keeps the model last computed, and has a caller asking for a point that another is computing
// wait for that computation instead of repeating it. As of a position the model never changes
// (the log up to it is immutable). As of a time it may: an event appended later can be backdated
// before that time, so a time read is keyed by the head of the log as well, and a read after an
// append computes afresh.
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

 private:
  struct point {
    bool by_time = false;
    std::int64_t value = 0;  // a position or a time
    position_t head = 0;     // for a time: the head of the log when asked
    bool operator==(const point&) const = default;
  };
  using shared_result = std::shared_future<result<model_ptr>>;

  template <class Fold>
  result<model_ptr> get(const point& at, Fold fold);

  const event_store& store_;
  mutable std::mutex mutex_;
  std::optional<point> kept_at_;
  model_ptr kept_;
  std::vector<std::pair<point, shared_result>> computing_;
  stats stats_;
};

}  // namespace kakehashi
