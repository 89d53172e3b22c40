// Live fan-out of committed events to subscriptions, with the catch-up -> live handover.
//
// A subscription reads from the store until it has seen everything published, then joins the
// hub's live list under the hub lock, so no group is published between its last read and its
// joining (no gap), and publish skips positions it has already seen (no duplicate). Its live
// buffer is bounded in bytes; a publish that would overflow it detaches the subscription, which
// then drains its buffer and catches up from the store again. It is never dropped.
//
// Thread safety: publish is called by the one sequencer thread; subscriptions are created and
// consumed on any thread. Lock order: hub lock, then a subscription's lock.
// Lifetime: the hub outlives its subscriptions; the store guarantees it.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "engine/event_store.h"

namespace kakehashi::detail {

class live_subscription;

class subscription_hub {
 public:
  // Delivers one committed group (contiguous positions, in order) to every live subscription.
  void publish(const std::vector<event_ptr>& group);

  // A new subscription reading `store`. `store` must outlive it.
  std::unique_ptr<subscription> subscribe(const event_store& store, subscription_options options);

  std::size_t live_count() const;

 private:
  friend class live_subscription;
  bool try_join(live_subscription* sub);  // under the hub lock, as described above
  void leave(live_subscription* sub);

  mutable std::mutex mutex_;
  position_t published_ = 0;  // the last position published
  std::vector<live_subscription*> live_;
};

}  // namespace kakehashi::detail
