// How the committer runs its cycle (store_impl.h), chosen by measuring both ways on the live load.
//
// batch:   after a sync the committer completes the callers itself and waits for the appends
//          they submit, so one sync covers every closed-loop writer. Best when a sync costs much
//          more than the engine's work on its events: each sync carries all the writers.
// overlap: after a sync the committer hands the callers to the sequencer and at once syncs what
//          was written meanwhile, so the disk and the engine work at the same time, and
//          closed-loop writers settle into two cohorts whose syncs take turns. Best when a sync
//          costs about as much as the engine's work: neither waits for the other.
// Which is faster depends on the disk, and on this machine a sync takes twice as long in some
// minutes as in others (README, "How appends are committed"). So the chooser measures both on
// the live load, as one compares two builds: now and then a trial runs short windows of the two
// modes in turn, pairing each window of the other mode with the chosen mode's window right after
// it, which saw the same disk. The other mode wins when it beats the chosen one by a margin in 3
// of 4 pairs, so that a flush stalling one window decides nothing; the trial stops as soon as
// the outcome is certain. The first trial comes soon after the start, later ones more rarely while
// the chosen mode holds. It starts with batch, whose appends wait less when neither mode is faster.
// Only busy cycles count: a cycle in which the committer slept waiting for work measures the load,
// not the mode, so an idle store never switches.
//
// Owned and called by the committer only; not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/event_store.h"

namespace kakehashi::detail {

class commit_mode_chooser {
 public:
  using mode = commit_policy;  // batch or overlap; adaptive is the chooser itself
  struct tuning {
    std::size_t settle_syncs = 8;   // after each change of mode, before measuring: cohorts re-form
    std::size_t window_syncs = 32;  // busy syncs per measured window
    std::size_t trial_pairs = 4;    // windows of each mode in a trial, alternating
    std::size_t pairs_to_switch = 3;  // pairs the other mode must win
    // Busy syncs in the chosen mode before a trial: few before the first, then more, doubling
    // while the chosen mode holds. A trial runs up to 4 * (8 + 32) syncs in the other mode.
    std::size_t first_trial_after = 64;
    std::size_t syncs_between_trials = 512;
    std::size_t max_syncs_between_trials = 4096;
    double margin = 1.05;  // how much faster the other mode must be to win a pair
  };

  // `policy` other than adaptive: always that mode, never measured (for comparisons and tests).
  explicit commit_mode_chooser(commit_policy policy = commit_policy::adaptive);
  commit_mode_chooser(commit_policy policy, tuning t);

  mode current() const { return trial_window_ % 2 == 1 ? other(chosen_) : chosen_; }

  // A sync made `events` durable, `cycle` after the previous sync ended; `busy`: the committer
  // never slept waiting for work in between.
  void on_sync(std::size_t events, std::chrono::nanoseconds cycle, bool busy);

 private:
  struct busy_sync {
    std::size_t events;
    std::int64_t cycle_ns;
  };

  static mode other(mode m) { return m == mode::batch ? mode::overlap : mode::batch; }
  void start_trial();
  void end_trial(bool switch_mode);
  double window_rate() const;

  const tuning tuning_;
  const bool pinned_;
  mode chosen_ = mode::batch;
  std::size_t syncs_between_trials_;
  std::size_t steady_syncs_ = 0;  // busy syncs in the chosen mode since the last trial
  std::size_t trial_window_ = 0;  // 0: no trial; odd: the other mode's window; even: chosen's
  std::size_t to_settle_ = 0;
  std::vector<busy_sync> window_;  // the trial window's busy syncs so far
  double other_rate_ = 0;          // events per second in the trial's last window of the other mode
  std::size_t pairs_won_ = 0;      // by the other mode, in this trial
  std::size_t pairs_lost_ = 0;
};

}  // namespace kakehashi::detail
