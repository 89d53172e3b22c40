// The WebSocket keepalive rule (api/ws_keepalive.h), pure: exact steps, then a simulation with
// late timers and slow answers.
#include "api/ws_keepalive.h"

#include <doctest/doctest.h>

#include <optional>
#include <random>

namespace kakehashi::api::ws {

namespace {

using namespace std::chrono_literals;
using time_point = std::chrono::steady_clock::time_point;
using action = keepalive_step::action;

const time_point t0 = time_point{} + 1h;

}  // namespace

TEST_CASE(
    "ws keepalive: a ping half a timeout after the last sign of life, the close a whole one") {
  auto s = keepalive(t0, t0, false, 60s);
  CHECK(s.what == action::none);
  CHECK(s.next == t0 + 30s);
  s = keepalive(t0 + 30s, t0, false, 60s);
  CHECK(s.what == action::ping);
  CHECK(s.next == t0 + 60s);
  s = keepalive(t0 + 45s, t0, true, 60s);  // waiting for the pong
  CHECK(s.what == action::none);
  CHECK(s.next == t0 + 60s);
  CHECK(keepalive(t0 + 60s, t0, true, 60s).what == action::close);
  // A sign of life meanwhile moves everything on.
  s = keepalive(t0 + 31s, t0 + 30s + 1ms, false, 60s);
  CHECK(s.what == action::none);
  CHECK(s.next == t0 + 60s + 1ms);
  // A late timer pings at once, and a very late one closes.
  CHECK(keepalive(t0 + 50s, t0, false, 60s).what == action::ping);
  CHECK(keepalive(t0 + 61s, t0, false, 60s).what == action::close);
}

TEST_CASE("ws keepalive: a peer answering within half a timeout survives any timer lateness") {
  // The connection's timer fires up to 5 s late; the peer answers each ping after 0 to 20 s
  // (often at once: a pong just after the check was what the old fixed grid dropped). Nothing
  // else is received. 20,000 ping rounds, none may close.
  std::mt19937_64 rng(20261123);
  auto between = [&](std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
    return lo +
           std::chrono::milliseconds(rng() % static_cast<std::uint64_t>((hi - lo).count() + 1));
  };
  time_point last_alive = t0;
  bool outstanding = false;
  std::optional<time_point> pong_at;
  time_point next = keepalive(t0, t0, false, 60s).next;
  int pings = 0;
  while (pings < 20000) {
    time_point fire = next + between(0ms, 5000ms);
    if (pong_at && *pong_at <= fire) {
      last_alive = *pong_at;
      outstanding = false;
      pong_at.reset();
    }
    auto step = keepalive(fire, last_alive, outstanding, 60s);
    REQUIRE_MESSAGE(step.what != action::close, "closed after " << pings << " pings");
    if (step.what == action::ping) {
      ++pings;
      outstanding = true;
      pong_at = fire + (rng() % 4 == 0 ? between(0ms, 2ms) : between(0ms, 20000ms));
    }
    REQUIRE(step.next > fire - 60s);  // always looks ahead
    next = step.next;
  }
}

TEST_CASE("ws keepalive: a silent peer is closed a timeout after its last sign of life") {
  time_point last_alive = t0;
  bool outstanding = false;
  time_point now = t0;
  for (int i = 0; i < 10; ++i) {
    auto step = keepalive(now, last_alive, outstanding, 60s);
    if (step.what == action::close) {
      CHECK(now >= t0 + 60s);
      CHECK(now < t0 + 61s);
      return;
    }
    if (step.what == action::ping) outstanding = true;
    now = step.next + 100ms;  // a slightly late timer
  }
  FAIL("never closed");
}

}  // namespace kakehashi::api::ws
