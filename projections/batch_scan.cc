#include "projections/batch_scan.h"

#include <system_error>
#include <thread>
#include <vector>

#include "engine/batch_handoff.h"

namespace kakehashi {
namespace {

status scan_inline(const event_store& store, position_t from,
                   const std::function<bool(std::span<const recorded_event>)>& visit) {
  return store.scan(from, [&](const recorded_event& e) { return visit({&e, 1}); });
}

}  // namespace

status batch_scan(const event_store& store, position_t from,
                  const std::function<bool(std::span<const recorded_event>)>& visit,
                  const batch_scan_options& options) {
  from = std::max<position_t>(from, 1);
  const position_t head = store.head_position();
  if (from > head) return {};
  if (head - from + 1 < options.inline_below || options.batch_events == 0 || options.batches < 2)
    return scan_inline(store, from, visit);

  struct batch {
    std::vector<recorded_event> events;
    std::size_t size = 0;
  };
  std::vector<batch> batches(options.batches);
  for (auto& b : batches)
    b.events.resize(options.batch_events);
  batch_handoff<batch> handoff(batches);
  status read_status;  // written by the reader before it finishes the handoff

  // This thread is the read-ahead already (the store's own is off by default): a third thread
  // would only compete for the cores with this one and the fold.
  auto read = [&] {
    batch* filling = nullptr;
    auto scanned = store.scan(from, [&](const recorded_event& e) {
      if (!filling && !(filling = handoff.take_empty())) return false;  // the fold stopped
      filling->events[filling->size++] = e;  // copy-assign: reuses the strings' buffers
      if (filling->size == filling->events.size()) {
        handoff.hand_over(filling);
        filling = nullptr;
      }
      return true;
    });
    read_status = std::move(scanned);
    handoff.finish(filling && filling->size > 0 ? filling : nullptr);
  };
  std::thread reader;
  try {
    reader = std::thread(read);
  } catch (const std::system_error&) {
    return scan_inline(store, from, visit);  // no thread to be had: read on this one
  }

  while (batch* ready = handoff.take_full()) {
    const bool go = visit({ready->events.data(), ready->size});
    ready->size = 0;
    if (!go) {
      handoff.stop();
      break;
    }
    handoff.give_back(ready);
  }
  reader.join();
  return read_status;
}

}  // namespace kakehashi
