// The withdrawal process manager (DOMAIN.md invariant 8): when a talent withdraws, their open
// candidacies are archived and their active appointments flagged (not ended) for the
// coordinator. It follows the log, keeping an index of each talent's candidacies and
// appointments, and acts through the command service.
//
// Exactly once: every command it sends carries an idempotency key derived from the withdrawal
// event and the target, and the withdrawal's event id as causation. After a restart it replays
// the log from the start; re-sent commands are recognised as retries and append nothing, and a
// candidacy that closed meanwhile is simply left alone.
//
// Thread safety: poll() and run() are called from one thread at a time; stop() from any thread.
// Lifetime: borrows the store and the service, which must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "engine/command_service.h"
#include "engine/event_store.h"

namespace kakehashi {

class process_manager {
 public:
  process_manager(event_store& store, command_service& service);
  ~process_manager();

  // Handles every committed event not handled yet, waiting up to `wait` for the first;
  // returns the last position handled.
  result<position_t> poll(std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  // Follows the log until stop(): poll(), then wait for new events.
  void run();
  void stop();

  std::uint64_t commands_sent() const { return commands_sent_; }

 private:
  status handle(const recorded_event& event);

  event_store& store_;
  command_service& service_;
  std::unique_ptr<subscription> feed_;
  std::map<std::string, std::set<std::string>, std::less<>> candidacies_;   // talent -> ids
  std::map<std::string, std::set<std::string>, std::less<>> appointments_;  // talent -> ids
  position_t handled_ = 0;
  std::atomic<bool> stopping_{false};
  std::uint64_t commands_sent_ = 0;
};

}  // namespace kakehashi
