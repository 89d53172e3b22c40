#include "api/ws_keepalive.h"

namespace kakehashi::api::ws {

keepalive_step keepalive(std::chrono::steady_clock::time_point now,
                         std::chrono::steady_clock::time_point last_alive, bool ping_outstanding,
                         std::chrono::steady_clock::duration idle_timeout) {
  keepalive_step step;
  const auto quiet = now - last_alive;
  if (quiet >= idle_timeout) {
    step.what = keepalive_step::action::close;
    step.next = now;
    return step;
  }
  if (quiet >= idle_timeout / 2 && !ping_outstanding) {
    step.what = keepalive_step::action::ping;
    ping_outstanding = true;
  }
  // Waiting for a pong: look again when the peer would be a whole timeout quiet. Otherwise when
  // the next ping is due.
  step.next = last_alive + (ping_outstanding ? idle_timeout : idle_timeout / 2);
  return step;
}

}  // namespace kakehashi::api::ws
