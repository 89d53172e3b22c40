// The committer's choice between batch and overlap (engine/commit_mode.h), fed simulated syncs:
// each mode's cost per sync is a function of the mode and the sync's index, so each case says
// which mode is faster when, and checks where the chooser spends its syncs.
#include "engine/commit_mode.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <utility>

namespace kakehashi::test {
namespace {

using detail::commit_mode_chooser;
using mode = commit_mode_chooser::mode;

// Events per sync and microseconds per cycle, for a mode at a sync index.
using cost_model = std::function<std::pair<std::size_t, std::int64_t>(mode, std::size_t)>;

struct simulation {
  commit_mode_chooser chooser;
  std::size_t syncs = 0;
  std::size_t batch_syncs = 0;  // of the last run() only
  std::size_t overlap_syncs = 0;

  void run(std::size_t count, const cost_model& cost, bool busy = true) {
    batch_syncs = overlap_syncs = 0;
    for (std::size_t i = 0; i < count; ++i, ++syncs) {
      const mode m = chooser.current();
      ++(m == mode::batch ? batch_syncs : overlap_syncs);
      auto [events, micros] = cost(m, syncs);
      chooser.on_sync(events, std::chrono::microseconds(micros), busy);
    }
  }
  double batch_share() const {
    return static_cast<double>(batch_syncs) / static_cast<double>(batch_syncs + overlap_syncs);
  }
};

// A fast disk: overlap makes 32 events durable every 300 us (107k/s), batch 64 every 750 us
// (85k/s). A slow disk: overlap 32 every 600 us (53k/s), batch 64 every 950 us (67k/s).
std::pair<std::size_t, std::int64_t> fast_disk(mode m, std::size_t) {
  return m == mode::overlap ? std::pair{std::size_t{32}, std::int64_t{300}}
                            : std::pair{std::size_t{64}, std::int64_t{750}};
}
std::pair<std::size_t, std::int64_t> slow_disk(mode m, std::size_t) {
  return m == mode::overlap ? std::pair{std::size_t{32}, std::int64_t{600}}
                            : std::pair{std::size_t{64}, std::int64_t{950}};
}

TEST_CASE("the chooser starts with batch and keeps it while batch is faster") {
  simulation sim;
  CHECK(sim.chooser.current() == mode::batch);
  sim.run(20000, slow_disk);
  // Only the trials run overlap: two windows of 8 + 32 syncs (two pairs lost) after 64 syncs,
  // then after 1024, 2048 and 4096.
  CHECK(sim.overlap_syncs > 0);
  CHECK(sim.batch_share() > 0.9);
  CHECK(sim.chooser.current() == mode::batch);
}

TEST_CASE("the chooser moves to overlap when a sync costs about as much as the engine's work") {
  simulation sim;
  sim.run(1000, fast_disk);  // the first trial ends after 304 syncs, three pairs won
  sim.run(20000, fast_disk);
  CHECK(sim.batch_share() < 0.1);
}

TEST_CASE("the chooser follows the disk when its speed changes") {
  simulation sim;
  sim.run(20000, fast_disk);
  CHECK(sim.batch_share() < 0.1);
  sim.run(5000, slow_disk);  // within 4096 syncs a trial, and back to batch
  sim.run(20000, slow_disk);
  CHECK(sim.batch_share() > 0.9);
}

// The first trial starts after the 64th sync. It measures, after 8 syncs of settling each,
// 32 syncs of the other mode from index 72, of the chosen mode from 112, of the other from 152,
// and so on: up to four pairs, the last ending at index 384. `disk`, with the 32 syncs from
// `stalled_from` three times as slow, as a flush makes them.
cost_model with_stall(cost_model disk, std::size_t stalled_from) {
  return [disk, stalled_from](mode m, std::size_t i) {
    auto cost = disk(m, i);
    if (i >= stalled_from && i < stalled_from + 32) cost.second *= 3;
    return cost;
  };
}

TEST_CASE("a flush stalling one window of a trial does not decide it") {
  SUBCASE("a stalled window of the chosen mode does not make a slower mode win") {
    simulation sim;
    sim.run(400, with_stall(slow_disk, 112));  // the next trial would start 1024 syncs later
    // The trial's overlap windows until overlap lost two pairs (the 2nd and 3rd), and no more.
    CHECK(sim.overlap_syncs == 3 * (8 + 32));
  }
  SUBCASE("a stalled window of the faster mode does not keep the slower one") {
    simulation sim;
    sim.run(440, with_stall(fast_disk, 72));  // after a switch, a trial comes 512 syncs later
    CHECK(sim.chooser.current() == mode::overlap);
    // The trial's overlap windows (the first pair lost, three won), then overlap from the end of
    // the trial on.
    CHECK(sim.overlap_syncs == 4 * (8 + 32) + (440 - 384));
  }
}

TEST_CASE("cycles in which the committer slept for work never decide") {
  simulation sim;
  // Idle syncs with overlap looking far faster: no trial runs.
  sim.run(20000, fast_disk, /*busy=*/false);
  CHECK(sim.overlap_syncs == 0);
  // Syncs with no events do not count either.
  sim.run(20000, [](mode, std::size_t) { return std::pair{std::size_t{0}, std::int64_t{10}}; });
  CHECK(sim.overlap_syncs == 0);
}

TEST_CASE("a pinned mode never changes") {
  simulation batch{commit_mode_chooser(mode::batch)};
  batch.run(20000, fast_disk);
  CHECK(batch.overlap_syncs == 0);
  simulation overlap{commit_mode_chooser(mode::overlap)};
  overlap.run(20000, slow_disk);
  CHECK(overlap.batch_syncs == 0);
}

}  // namespace
}  // namespace kakehashi::test
