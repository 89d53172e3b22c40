#include "api/session_context.h"

namespace kakehashi::api {

bool connection_registry::add(const std::shared_ptr<connection>& session) {
  std::lock_guard lock(mutex_);
  if (shutting_down_ || live_.size() >= limit_) return false;
  live_.emplace(session.get(), session);
  return true;
}

bool connection_registry::replace(const connection* from, const std::shared_ptr<connection>& to) {
  std::lock_guard lock(mutex_);
  if (shutting_down_ || live_.erase(from) == 0) return false;
  live_.emplace(to.get(), to);
  return true;
}

void connection_registry::remove(const connection* session) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mutex_);
    if (live_.erase(session) == 0) return;
    if (shutting_down_ && live_.empty()) notify = std::move(on_empty_);
  }
  // Outside the lock: the callback may post work that takes it again.
  if (notify) notify();
}

std::vector<std::shared_ptr<connection>> connection_registry::snapshot() const {
  std::vector<std::shared_ptr<connection>> out;
  std::lock_guard lock(mutex_);
  out.reserve(live_.size());
  for (const auto& [key, weak] : live_)
    if (auto session = weak.lock()) out.push_back(std::move(session));
  return out;
}

std::size_t connection_registry::size() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

std::vector<std::shared_ptr<connection>> connection_registry::begin_shutdown(
    std::function<void()> on_empty) {
  std::vector<std::shared_ptr<connection>> out;
  std::lock_guard lock(mutex_);
  shutting_down_ = true;
  if (!live_.empty()) on_empty_ = std::move(on_empty);
  for (const auto& [key, weak] : live_)
    if (auto session = weak.lock()) out.push_back(std::move(session));
  return out;
}

}  // namespace kakehashi::api
