#include "engine/subscription_hub.h"

#include <algorithm>
#include <condition_variable>
#include <deque>

namespace kakehashi::detail {

class live_subscription final : public subscription {
 public:
  live_subscription(subscription_hub& hub, const event_store& store, subscription_options options)
      : hub_(hub),
        store_(store),
        options_(std::move(options)),
        cursor_(std::max<position_t>(options_.from_position, 1)) {}

  ~live_subscription() override { hub_.leave(this); }

  result<subscription_batch> next(std::size_t max_events, std::chrono::milliseconds wait) override;
  subscription_stats stats() const override;

 private:
  friend class subscription_hub;

  // Called by the hub with its lock held. Returns true when the consumer should be woken.
  bool offer(const std::vector<event_ptr>& group);
  subscription_batch take_buffered(std::size_t max_events);

  subscription_hub& hub_;
  const event_store& store_;
  const subscription_options options_;

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<event_ptr> buffer_;
  std::size_t buffered_bytes_ = 0;
  position_t cursor_;  // the next position not yet buffered or returned
  bool live_ = false;
  std::uint64_t fell_behind_ = 0;
};

bool live_subscription::offer(const std::vector<event_ptr>& group) {
  std::lock_guard lock(mutex_);
  if (!live_) return false;
  std::size_t bytes = 0;
  for (const auto& e : group)
    if (e->position >= cursor_ && options_.filter.matches(e->stream, e->type))
      bytes += e->stored_bytes;
  if (buffered_bytes_ + bytes > options_.max_buffered_bytes) {
    // Too slow for the live feed: keep what is buffered, read the rest from the store later.
    live_ = false;
    ++fell_behind_;
    ready_.notify_one();
    return true;
  }
  bool was_empty = buffer_.empty();
  for (const auto& e : group) {
    if (e->position < cursor_) continue;
    if (options_.filter.matches(e->stream, e->type)) buffer_.push_back(e);
  }
  buffered_bytes_ += bytes;
  cursor_ = std::max(cursor_, group.back()->position + 1);
  if (!buffer_.empty()) ready_.notify_one();
  return was_empty && !buffer_.empty();
}

subscription_batch live_subscription::take_buffered(std::size_t max_events) {
  subscription_batch batch;
  while (!buffer_.empty() && batch.events.size() < max_events) {
    buffered_bytes_ -= buffer_.front()->stored_bytes;
    batch.events.push_back(std::move(buffer_.front()));
    buffer_.pop_front();
  }
  batch.next_position = buffer_.empty() ? cursor_ : buffer_.front()->position;
  batch.caught_up = live_ && buffer_.empty();
  return batch;
}

result<subscription_batch> live_subscription::next(std::size_t max_events,
                                                   std::chrono::milliseconds wait) {
  if (max_events == 0) max_events = 1;
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    std::unique_lock lock(mutex_);
    if (!buffer_.empty()) return take_buffered(max_events);
    if (live_) {
      if (ready_.wait_until(lock, deadline, [&] { return !buffer_.empty() || !live_; })) continue;
      return take_buffered(max_events);  // empty, caught up
    }
    position_t from = cursor_;
    lock.unlock();

    auto page = store_.read_all(from, max_events, options_.filter);
    if (!page) return page.take_err();
    lock.lock();
    cursor_ = std::max(cursor_, page->next_position);
    if (!page->events.empty()) {
      subscription_batch batch;
      batch.events = std::move(page->events);
      batch.next_position = cursor_;
      return batch;
    }
    lock.unlock();
    if (page->end_of_log && hub_.try_join(this)) continue;
    if (std::chrono::steady_clock::now() >= deadline) {
      subscription_batch batch;
      batch.next_position = from;
      return batch;
    }
  }
}

subscription_stats live_subscription::stats() const {
  std::lock_guard lock(mutex_);
  return {buffered_bytes_, options_.max_buffered_bytes, fell_behind_, live_};
}

void subscription_hub::publish(const std::vector<event_ptr>& group) {
  if (group.empty()) return;
  std::lock_guard lock(mutex_);
  published_ = group.back()->position;
  for (auto* sub : live_) {
    if (sub->offer(group) && sub->options_.on_ready) sub->options_.on_ready();
  }
  // Subscriptions that fell behind leave the live list; they rejoin after catching up.
  std::erase_if(live_, [](live_subscription* sub) {
    std::lock_guard sub_lock(sub->mutex_);
    return !sub->live_;
  });
}

bool subscription_hub::try_join(live_subscription* sub) {
  std::lock_guard lock(mutex_);
  std::lock_guard sub_lock(sub->mutex_);
  // Anything published at or after the cursor was missed by the read: read again first.
  if (published_ >= sub->cursor_) return false;
  sub->live_ = true;
  if (std::find(live_.begin(), live_.end(), sub) == live_.end()) live_.push_back(sub);
  return true;
}

void subscription_hub::leave(live_subscription* sub) {
  std::lock_guard lock(mutex_);
  std::erase(live_, sub);
}

std::unique_ptr<subscription> subscription_hub::subscribe(const event_store& store,
                                                          subscription_options options) {
  return std::make_unique<live_subscription>(*this, store, std::move(options));
}

std::size_t subscription_hub::live_count() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

}  // namespace kakehashi::detail
