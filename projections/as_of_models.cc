#include "projections/as_of_models.h"

#include <algorithm>

namespace kakehashi {

template <class Fold>
result<as_of_models::model_ptr> as_of_models::get(const point& at, Fold fold) {
  const position_t head = store_.head_position();
  // A model folded at head `folded_at` answers at `head` too: always as of a position; as of a
  // time while nothing appended since belongs before it.
  auto serves = [&](position_t folded_at) {
    return !at.by_time || folded_at >= head || still_holds(at.value, folded_at, head);
  };
  auto shared = [&](result<model_ptr> outcome) {
    std::lock_guard lock(mutex_);
    ++stats_.shared;
    return outcome;
  };
  std::unique_lock lock(mutex_);
  if (kept_at_ == at) {
    auto model = kept_;
    const auto folded_at = kept_head_;
    lock.unlock();
    if (serves(folded_at)) return shared(std::move(model));
    lock.lock();
  }
  auto same = std::find_if(computing_.begin(), computing_.end(),
                           [&](const computation& c) { return c.at == at; });
  if (same != computing_.end()) {
    auto pending = same->outcome;
    const auto folded_at = same->head;
    lock.unlock();
    auto outcome = pending.get();
    if (!outcome || serves(folded_at)) return shared(std::move(outcome));
    lock.lock();
  }
  std::promise<result<model_ptr>> promise;
  const auto id = next_id_++;
  computing_.push_back({at, head, id, promise.get_future().share()});
  lock.unlock();

  result<model_ptr> outcome = model_ptr{};
  if (auto model = fold(); model)
    outcome = std::make_shared<const read_model>(std::move(*model));
  else
    outcome = model.take_err();
  lock.lock();
  std::erase_if(computing_, [&](const computation& c) { return c.id == id; });
  ++stats_.computed;
  if (outcome) {
    kept_at_ = at;
    kept_head_ = head;
    kept_ = *outcome;
  }
  lock.unlock();
  promise.set_value(outcome);
  return outcome;
}

bool as_of_models::still_holds(std::int64_t micros, position_t folded_at, position_t head) const {
  if (head - folded_at > max_time_extension) return false;
  bool holds = true;
  auto scanned = store_.scan(folded_at + 1, [&](const recorded_event& e) {
    if (e.position > head) return false;
    holds = e.occurred_at > micros;  // cut by the fold, whatever its stream
    return holds;
  });
  return scanned.ok() && holds;
}

result<as_of_models::model_ptr> as_of_models::at_position(position_t position) {
  return get(point{false, static_cast<std::int64_t>(position)},
             [&] { return model_at_position(store_, position); });
}

result<as_of_models::model_ptr> as_of_models::at_time(std::int64_t micros) {
  return get(point{true, micros}, [&] { return model_at_time(store_, micros); });
}

as_of_models::stats as_of_models::statistics() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace kakehashi
