// The power-loss test: the real event store on the fault-injecting file system
// (engine/fault_injection.h), crashed at random points while many threads append, then reopened
// on what a power cut would have left on disk. After every crash it checks that:
// - every acknowledged event is at its acknowledged position with the same content (stream,
//   version, type, actor, payload), and so is every event an earlier reopen recovered;
// - positions run 1..head without a gap, stream versions are contiguous and match
//   stream_version(), no event id appears twice;
// - an append that was not acknowledged (in flight at the crash, or failed by it) is stored
//   either whole, at consecutive positions, or not at all, and once dropped never comes back;
// - the hash chain verifies over the whole log;
// - the projections agree with the log: the runner, restarted from its latest snapshot and caught
//   up, holds exactly the model a fresh fold of the log gives, as does model_at_position.
// The workload: appenders with exact expectations on their own streams, `any` on shared streams,
// `no_stream` on new ones and atomic appends over 2-3 streams; a thread sending domain commands
// through the command service (sealing personal data with new data keys, and now and then
// erasing a talent, which flushes and compacts); and the projection runner saving snapshots.
// A crash falls at a random change to the file system, sometimes during the reopen itself. Each
// reopen commits another way (commit_policy_for_iteration).
//
// Used by `kakehashi crash-test --power-loss` and by the crash tests in CTest.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/event_store.h"

namespace kakehashi::power_loss {

// How the store commits in a crash test's iteration `i` (from 1): adaptive, batch and overlap in
// turn (engine/commit_mode.h), so that both crash tests crash each way of committing.
inline commit_policy commit_policy_for_iteration(std::uint64_t i) {
  constexpr commit_policy in_turn[] = {commit_policy::adaptive, commit_policy::batch,
                                       commit_policy::overlap};
  return in_turn[(i - 1) % 3];
}

struct config {
  std::uint64_t iterations = 50;  // crash points
  std::uint64_t seed = 1;
  int appenders = 4;
  // Where the store lives; empty: a fresh temporary directory, removed unless something failed
  // or `keep` is set.
  std::string directory;
  bool keep = false;
  // Gets one line per crash point and the failures as they are found; may be null.
  std::function<void(const std::string&)> log;
};

struct summary {
  std::uint64_t iterations = 0;  // crash points simulated
  std::uint64_t passed = 0;      // crash points after which every check held
  std::uint64_t failed = 0;
  std::uint64_t crashes_during_open = 0;
  std::uint64_t acked_appends = 0;       // acknowledged over the whole run
  std::uint64_t acked_events = 0;        // acknowledged or recovered events the last check covered
  std::uint64_t events_checked = 0;      // acknowledged events checked, summed over every reopen
  std::uint64_t failed_appends = 0;      // appends that returned an error (the crash hit them)
  std::uint64_t unacked_survived = 0;    // unacknowledged appends found stored whole
  std::uint64_t retried = 0;             // unacknowledged appends sent again after the reopen
  std::uint64_t retried_duplicates = 0;  // ... answered with the stored original
  // Where the crashes fell: "write wal", "sync manifest", "between changes", ... -> count.
  std::map<std::string, std::uint64_t> crash_points;
  // Reopens refused with `log_gap` (a cut lost an older WAL file's unsynced append and kept a
  // newer one's) and repaired by event_store::repair, and the unacknowledged events it dropped.
  std::uint64_t gaps_repaired = 0;
  std::uint64_t repair_dropped = 0;
  std::uint64_t projection_checks = 0;
  std::uint64_t losses = 0;  // acknowledged events missing or changed: must be 0
  // What the power cuts did to the files.
  std::uint64_t files_cut = 0;
  std::uint64_t files_torn = 0;
  std::uint64_t files_garbled = 0;
  std::uint64_t files_reordered = 0;
  std::uint64_t entries_lost = 0;
  std::uint64_t renames_undone = 0;
  std::uint64_t bytes_lost = 0;
  std::uint64_t wal_files_over_spares = 0;  // in the workloads (engine/wal_spares.h)
  std::uint64_t wal_files_created = 0;
  std::uint64_t head = 0;             // the log's head at the end
  std::string directory;              // kept for inspection, when it was kept
  std::vector<std::string> problems;  // the first few failures

  bool ok() const { return failed == 0 && losses == 0 && iterations > 0; }
};

summary run(const config& options);

// The summary as a few lines of evidence, ending in `N passed, M failed`.
std::string describe(const summary& s);

}  // namespace kakehashi::power_loss
