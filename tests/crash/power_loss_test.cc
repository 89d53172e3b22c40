// Simulated power cuts under concurrent appends, commands and projections (cli/power_loss.h):
// 4 x 50 crash points, each followed by a reopen that checks every acknowledged event, the
// all-or-nothing of unacknowledged appends, the hash chain and the projections. Fixed seeds;
// `scripts/crash-test --power-loss --iterations N` runs longer ones with fresh seeds.
#include "cli/power_loss.h"

#include <doctest/doctest.h>

#include <string>

namespace kakehashi {
namespace {

void run_crash_points(std::uint64_t seed) {
  power_loss::config config;
  config.iterations = 50;
  config.seed = seed;
  config.appenders = 3;
  auto s = power_loss::run(config);
  MESSAGE(power_loss::describe(s));
  for (const auto& p : s.problems)
    MESSAGE(p);
  CHECK(s.iterations == 50);
  CHECK(s.losses == 0);
  CHECK(s.failed == 0);
  CHECK(s.passed == 50);
  // The crashes did what they claim: acknowledged events were checked after them, and the power
  // cuts dropped and tore unsynced data.
  CHECK(s.acked_events > 0);
  CHECK(s.events_checked > s.acked_events);
  CHECK(s.files_cut + s.files_torn > 0);
  CHECK(s.projection_checks == s.iterations - s.crashes_during_open);  // one per reopen
}

TEST_CASE("power loss: 50 crash points, seed 1") {
  run_crash_points(1);
}
TEST_CASE("power loss: 50 crash points, seed 2") {
  run_crash_points(2);
}
TEST_CASE("power loss: 50 crash points, seed 3") {
  run_crash_points(3);
}
TEST_CASE("power loss: 50 crash points, seed 4") {
  run_crash_points(4);
}

}  // namespace
}  // namespace kakehashi
