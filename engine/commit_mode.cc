#include "engine/commit_mode.h"

#include <algorithm>

namespace kakehashi::detail {
namespace {

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

}  // namespace

commit_mode_chooser::commit_mode_chooser(commit_policy policy)
    : commit_mode_chooser(policy, tuning{}) {}

commit_mode_chooser::commit_mode_chooser(commit_policy policy, tuning t)
    : tuning_(t),
      pinned_(policy != commit_policy::adaptive),
      chosen_(pinned_ ? policy : mode::batch),
      syncs_between_trials_(t.first_trial_after) {
  window_.reserve(tuning_.window_syncs);
}

void commit_mode_chooser::on_sync(std::size_t events, std::chrono::nanoseconds cycle, bool busy) {
  if (pinned_ || !busy || events == 0) return;
  if (trial_window_ == 0) {
    if (++steady_syncs_ >= syncs_between_trials_) start_trial();
    return;
  }
  if (to_settle_ > 0) {
    --to_settle_;
    return;
  }
  window_.push_back({events, cycle.count()});
  if (window_.size() < tuning_.window_syncs) return;
  const double rate = window_rate();
  window_.clear();
  if (trial_window_ % 2 == 1) {
    other_rate_ = rate;
  } else {
    ++(other_rate_ > rate * tuning_.margin ? pairs_won_ : pairs_lost_);
    if (pairs_won_ >= tuning_.pairs_to_switch) return end_trial(true);
    if (pairs_lost_ > tuning_.trial_pairs - tuning_.pairs_to_switch) return end_trial(false);
  }
  ++trial_window_;
  to_settle_ = tuning_.settle_syncs;  // the mode changes with the window
}

void commit_mode_chooser::start_trial() {
  trial_window_ = 1;
  to_settle_ = tuning_.settle_syncs;
  pairs_won_ = 0;
  pairs_lost_ = 0;
}

void commit_mode_chooser::end_trial(bool switch_mode) {
  trial_window_ = 0;
  steady_syncs_ = 0;
  if (switch_mode) {
    chosen_ = other(chosen_);
    syncs_between_trials_ = tuning_.syncs_between_trials;
  } else {
    // The chosen mode held: try less often while it keeps holding.
    syncs_between_trials_ = std::clamp(2 * syncs_between_trials_, tuning_.syncs_between_trials,
                                       tuning_.max_syncs_between_trials);
  }
}

double commit_mode_chooser::window_rate() const {
  // Events per second over the window's busy syncs, from the median of blocks of a few: in
  // overlap mode the two cohorts may differ in size and a block holds both, and a flush holding
  // the disk for a few syncs stalls some blocks whatever the mode.
  constexpr std::size_t block = 4;
  std::vector<double> rates;
  rates.reserve(window_.size() / block);
  for (std::size_t i = 0; i + block <= window_.size(); i += block) {
    double events = 0;
    double ns = 0;
    for (std::size_t j = i; j < i + block; ++j) {
      events += static_cast<double>(window_[j].events);
      ns += static_cast<double>(window_[j].cycle_ns);
    }
    rates.push_back(ns > 0 ? events * 1e9 / ns : 0);
  }
  return median(std::move(rates));
}

}  // namespace kakehashi::detail
