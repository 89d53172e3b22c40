#include "engine/read_ahead.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace kakehashi::detail {
namespace {

using word = std::uint64_t;  // the unit of alignment in a batch

struct batch {
  std::unique_ptr<word[]> words;  // left uninitialised: only copied bytes are read
  std::size_t capacity = 0;       // words allocated
  std::size_t used = 0;           // words filled
  struct entry {
    std::size_t offset;  // in words
    std::size_t bytes;
  };
  std::vector<entry> entries;

  bool fits(std::size_t words_needed) const { return used + words_needed <= capacity; }
  void reserve(std::size_t words_needed) {
    if (words_needed <= capacity) return;
    words = std::make_unique_for_overwrite<word[]>(words_needed);
    capacity = words_needed;
  }
  void add(const rocksdb::Slice& value, std::size_t words_needed) {
    std::memcpy(words.get() + used, value.data(), value.size());
    entries.push_back({used, value.size()});
    used += words_needed;
  }
  std::string_view value(const entry& e) const {
    return {reinterpret_cast<const char*>(words.get() + e.offset), e.bytes};
  }
  void clear() {
    used = 0;
    entries.clear();
  }
};

rocksdb::Status iterate_inline(rocksdb::Iterator& it,
                               const std::function<bool(std::string_view)>& each) {
  for (; it.Valid(); it.Next())
    if (!each(it.value().ToStringView())) return rocksdb::Status::OK();
  return it.status();
}

}  // namespace

rocksdb::Status read_ahead(rocksdb::Iterator& it, const read_ahead_options& options,
                           const std::function<bool(std::string_view)>& each) {
  if (!it.Valid() || options.batches < 2 || options.batch_bytes == 0)
    return iterate_inline(it, each);
  const std::size_t batch_words = (options.batch_bytes + sizeof(word) - 1) / sizeof(word);

  std::vector<batch> batches(options.batches);
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<batch*> empty;  // guarded by mutex, as everything down to `read_status`
  std::deque<batch*> full;
  bool reader_done = false;
  rocksdb::Status read_status;
  // Also read without the mutex by the helper, between values, to stop soon after being told.
  std::atomic<bool> stop{false};
  for (auto& b : batches)
    empty.push_back(&b);

  auto read = [&] {
    batch* filling = nullptr;
    auto hand_over = [&] {
      {
        std::lock_guard lock(mutex);
        full.push_back(filling);
      }
      changed.notify_all();
      filling = nullptr;
    };
    for (; it.Valid(); it.Next()) {
      if (stop.load(std::memory_order_relaxed)) break;
      const rocksdb::Slice value = it.value();
      // At least one word, so a batch's entries are bounded as well, even for empty values.
      const std::size_t words_needed =
          std::max<std::size_t>(1, (value.size() + sizeof(word) - 1) / sizeof(word));
      if (filling && !filling->fits(words_needed)) hand_over();
      if (!filling) {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return !empty.empty() || stop.load(); });
        if (stop.load()) break;
        filling = empty.back();
        empty.pop_back();
        lock.unlock();
        filling->reserve(std::max(batch_words, words_needed));
      }
      filling->add(value, words_needed);
    }
    {
      std::lock_guard lock(mutex);
      if (filling && !filling->entries.empty()) full.push_back(filling);
      read_status = it.status();
      reader_done = true;
    }
    changed.notify_all();
  };

  // Joins the helper on every way out of this function, a throwing `each` included.
  struct joiner {
    std::thread thread;
    std::atomic<bool>& stop;
    std::mutex& mutex;
    std::condition_variable& changed;
    ~joiner() {
      if (!thread.joinable()) return;
      {
        std::lock_guard lock(mutex);
        stop = true;
      }
      changed.notify_all();
      thread.join();
    }
  } helper{{}, stop, mutex, changed};
  try {
    helper.thread = std::thread(read);
  } catch (const std::system_error&) {
    return iterate_inline(it, each);  // no thread to be had: read on this one
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
    bool go = true;
    for (const auto& e : ready->entries)
      if (!(go = each(ready->value(e)))) break;
    if (!go) return rocksdb::Status::OK();  // the joiner stops the helper
    ready->clear();
    {
      std::lock_guard lock(mutex);
      empty.push_back(ready);
    }
    changed.notify_all();
  }
  helper.thread.join();
  return read_status;
}

}  // namespace kakehashi::detail
