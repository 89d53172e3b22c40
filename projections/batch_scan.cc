#include "projections/batch_scan.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

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
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<batch*> empty;  // guarded by mutex, as everything below
  std::deque<batch*> full;
  bool reader_done = false, stop = false;
  status read_status;
  for (auto& b : batches) {
    b.events.resize(options.batch_events);
    empty.push_back(&b);
  }

  // This thread is the read-ahead already: the store's own would only add a third thread
  // competing for the cores with this one and the fold.
  scan_options on_this_thread;
  on_this_thread.read_ahead_from = 0;
  auto read = [&] {
    batch* filling = nullptr;
    auto scanned = store.scan(
        from,
        [&](const recorded_event& e) {
          if (!filling) {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return !empty.empty() || stop; });
            if (stop) return false;
            filling = empty.back();
            empty.pop_back();
          }
          filling->events[filling->size++] = e;  // copy-assign: reuses the strings' buffers
          if (filling->size == filling->events.size()) {
            {
              std::lock_guard lock(mutex);
              full.push_back(filling);
            }
            changed.notify_all();
            filling = nullptr;
          }
          return true;
        },
        on_this_thread);
    {
      std::lock_guard lock(mutex);
      if (filling && filling->size > 0) full.push_back(filling);
      read_status = std::move(scanned);
      reader_done = true;
    }
    changed.notify_all();
  };
  std::thread reader;
  try {
    reader = std::thread(read);
  } catch (const std::system_error&) {
    return scan_inline(store, from, visit);  // no thread to be had: read on this one
  }

  for (;;) {
    batch* ready = nullptr;
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return !full.empty() || reader_done; });
      if (full.empty()) break;
      ready = full.front();
      full.pop_front();
    }
    const bool go = visit({ready->events.data(), ready->size});
    {
      std::lock_guard lock(mutex);
      ready->size = 0;
      empty.push_back(ready);
      stop = !go;
    }
    changed.notify_all();
    if (!go) break;
  }
  reader.join();
  return read_status;
}

}  // namespace kakehashi
