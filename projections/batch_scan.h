// Reading the log for a fold, with the reading on a second thread: RocksDB iteration and record
// decoding run on a helper thread while the caller folds, so a long catch-up or rebuild takes
// about as long as the slower of the two instead of their sum.
//
// The reader scans with the store's own read-ahead off (scan_options' default): it is that
// read-ahead already, and a third thread would only compete with these two for the cores.
// Bounded: the reader fills at most a fixed number of batches of decoded events ahead of the
// caller, reusing them (no allocation per event once they have grown). Short scans run inline on
// the caller's thread. Lifetime: the helper thread starts and ends within the call.
#pragma once

#include <functional>
#include <span>

#include "engine/event_store.h"

namespace kakehashi {

struct batch_scan_options {
  std::size_t batch_events = 256;  // events handed over at once
  std::size_t batches = 4;         // batches in flight between the threads
  // Scans of fewer events than this stay on the caller's thread: starting a thread would cost
  // more than it saves.
  std::size_t inline_below = 4096;
};

// Calls `visit` with every committed event from `from` to the head (the head when called), in
// position order, in batches; `visit` returns false to stop early. The events are valid during
// the call only. Returns the store's read error, if any.
status batch_scan(const event_store& store, position_t from,
                  const std::function<bool(std::span<const recorded_event>)>& visit,
                  const batch_scan_options& options = {});

}  // namespace kakehashi
