#include "projections/as_of_models.h"

#include <algorithm>

namespace kakehashi {

template <class Fold>
result<as_of_models::model_ptr> as_of_models::get(const point& at, Fold fold) {
  std::promise<result<model_ptr>> promise;
  {
    std::unique_lock lock(mutex_);
    if (kept_at_ == at) {
      ++stats_.shared;
      return kept_;
    }
    auto same = std::find_if(computing_.begin(), computing_.end(),
                             [&](const auto& entry) { return entry.first == at; });
    if (same != computing_.end()) {
      ++stats_.shared;
      shared_result pending = same->second;
      lock.unlock();
      return pending.get();
    }
    computing_.emplace_back(at, promise.get_future().share());
  }
  result<model_ptr> outcome = model_ptr{};
  if (auto model = fold(); model)
    outcome = std::make_shared<const read_model>(std::move(*model));
  else
    outcome = model.take_err();
  {
    std::lock_guard lock(mutex_);
    std::erase_if(computing_, [&](const auto& entry) { return entry.first == at; });
    ++stats_.computed;
    if (outcome) {
      kept_at_ = at;
      kept_ = *outcome;
    }
  }
  promise.set_value(outcome);
  return outcome;
}

result<as_of_models::model_ptr> as_of_models::at_position(position_t position) {
  return get(point{false, static_cast<std::int64_t>(position), 0},
             [&] { return model_at_position(store_, position); });
}

result<as_of_models::model_ptr> as_of_models::at_time(std::int64_t micros) {
  return get(point{true, micros, store_.head_position()},
             [&] { return model_at_time(store_, micros); });
}

as_of_models::stats as_of_models::statistics() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace kakehashi
