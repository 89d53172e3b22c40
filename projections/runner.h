// The projection runner: keeps the live read model following the log. On start it loads the
// latest snapshot image (engine/snapshot_store.h: a file holding the model and its position, so
// a crash never leaves them apart; a damaged file is skipped for the next older one) and catches
// up from there; then it follows the live feed. A snapshot of another read_model::version is
// discarded and the model rebuilt from position 1. Snapshots that earlier versions stored in the
// projection store (read_model_snapshot_prefix) are deleted at start, unread. An image is written
// outside the store's append path: appends never wait for it. One that cannot be written is
// logged (position and error, never content) and the runner goes on; only the next restart is
// longer.
// Snapshots are kept, all of them, so a model as of any past position is the nearest snapshot at
// or before it plus a fold of the events after it (projections/read_model.h). The image grows
// with the model (some 35 MB at a million events of `kakehashi bench rebuild`), so a snapshot
// every `snapshot_every` events would store events x model size: quadratic in the log. A snapshot
// is therefore taken only once both `snapshot_every` events and, counting their stored records, at
// least as many log bytes as the previous snapshot's image have been applied since it: the
// snapshots together then take at most about as much space as the log (plus the newest image). An
// as-of query folds at most the events between two snapshots: fewer than max(snapshot_every, the
// events whose records add up to the earlier snapshot's image) plus one batch of the live feed
// (batch_events): under a tenth of the position in that benchmark's log (some 80,000 events at a
// million, a fraction of a second's fold). A catch-up straight from the store (start-up, rebuild)
// keeps only the snapshot at its end.
//
// Thread safety: read() and wait_for() may be called from any thread while run() follows the
// log on its own thread; stop() from any thread. Lifetime: borrows the store.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <shared_mutex>

#include "engine/event_store.h"
#include "projections/read_model.h"

namespace kakehashi {

struct runner_options {
  std::size_t snapshot_every = 10000;  // events between stored snapshots, at least (see above)
  std::size_t batch_events = 4096;
  // Catch-ups and snapshots allocate from transparent huge pages where the allocator and kernel
  // allow it (projections/huge_pages.h).
  bool huge_pages = true;
};

class projection_runner {
 public:
  explicit projection_runner(event_store& store, runner_options options = {});
  ~projection_runner();

  // Loads the checkpoint; call once before run() or catch_up().
  status start();
  // Applies everything committed so far, read straight from the store rather than through the
  // live feed, and snapshots it; for tools, tests and rebuilds.
  status catch_up();
  // Catches up from the store, then follows the live feed until stop(); errors are retried
  // after a pause.
  void run();
  void stop();

  // Calls `view` with the live model under a shared lock; keep it short.
  template <class F>
  auto read(F&& view) const {
    std::shared_lock lock(model_mutex_);
    return view(model_);
  }
  // Waits until the model has applied position `p`; false when `timeout` ran out first.
  bool wait_for(position_t p, std::chrono::milliseconds timeout) const;
  position_t position() const { return applied_.load(std::memory_order_acquire); }
  // Head of the log minus the model's position.
  std::uint64_t lag() const;

  // Deletes every stored snapshot and rebuilds the model from position 1.
  status rebuild();

 private:
  // Folds the stored log from the model's position to the head, without the live feed.
  status scan_to_head();
  status apply_batch(std::chrono::milliseconds wait);
  void advance_to(position_t p);
  // Whether a snapshot is due, at least `min_events` after the last one (see above).
  bool snapshot_due(std::size_t min_events) const;
  // Stores the model's image; an error is logged here and returned.
  status save_snapshot();
  // Deletes the snapshots earlier versions stored in the projection store, if any are left.
  status clear_legacy_snapshots();

  event_store& store_;
  runner_options options_;
  mutable std::shared_mutex model_mutex_;
  read_model model_;
  std::unique_ptr<subscription> feed_;
  std::atomic<position_t> applied_{0};
  position_t last_snapshot_ = 0;
  // Since the last snapshot: the stored bytes of the events applied, and that snapshot's size.
  // The runner's thread only.
  std::uint64_t logged_since_snapshot_ = 0;
  std::size_t last_image_bytes_ = 0;
  mutable std::mutex wait_mutex_;
  mutable std::condition_variable advanced_;
  std::atomic<bool> stopping_{false};
};

}  // namespace kakehashi
