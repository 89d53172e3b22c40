// When a WebSocket connection pings its peer and when it gives up on a silent one, as a pure
// function of the last sign of life (anything received, or a write the peer took), so the rule
// can be tested against any timer lateness.
//
// The rule: a ping goes out idle_timeout / 2 after the last sign of life, and the connection is
// closed idle_timeout after it; a peer that answers each ping within idle_timeout / 2 is never
// closed, however late the timer fires. (Ticking on a fixed grid instead let a pong that arrived
// just after a tick be too young to ping at the next and a whole idle_timeout old at the one
// after: the peer was closed with no ping unanswered.) Thread-safe: no state.
#pragma once

#include <chrono>
#include <cstdint>

namespace kakehashi::api::ws {

struct keepalive_step {
  enum class action : std::uint8_t { none, ping, close };
  action what = action::none;
  std::chrono::steady_clock::time_point next;  // when to call keepalive() again
};

// `ping_outstanding`: a ping was sent and nothing has been received since.
keepalive_step keepalive(std::chrono::steady_clock::time_point now,
                         std::chrono::steady_clock::time_point last_alive, bool ping_outstanding,
                         std::chrono::steady_clock::duration idle_timeout);

}  // namespace kakehashi::api::ws
