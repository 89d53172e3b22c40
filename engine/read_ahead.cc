#include "engine/read_ahead.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include "engine/batch_handoff.h"

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
  batch_handoff<batch> handoff(batches);
  rocksdb::Status read_status;  // written by the helper before it finishes the handoff

  auto read = [&] {
    batch* filling = nullptr;
    for (; it.Valid(); it.Next()) {
      if (handoff.stopped()) break;
      const rocksdb::Slice value = it.value();
      // At least one word, so a batch's entries are bounded as well, even for empty values.
      const std::size_t words_needed =
          std::max<std::size_t>(1, (value.size() + sizeof(word) - 1) / sizeof(word));
      if (filling && !filling->fits(words_needed)) {
        handoff.hand_over(filling);
        filling = nullptr;
      }
      if (!filling) {
        filling = handoff.take_empty();
        if (!filling) break;
        filling->reserve(std::max(batch_words, words_needed));
      }
      filling->add(value, words_needed);
    }
    read_status = it.status();
    handoff.finish(filling && !filling->entries.empty() ? filling : nullptr);
  };

  // Stops and joins the helper on every way out of this function, a throwing `each` included.
  struct joiner {
    std::thread thread;
    batch_handoff<batch>& handoff;
    ~joiner() {
      if (!thread.joinable()) return;
      handoff.stop();
      thread.join();
    }
  } helper{{}, handoff};
  try {
    helper.thread = std::thread(read);
  } catch (const std::system_error&) {
    return iterate_inline(it, each);  // no thread to be had: read on this one
  }

  while (batch* ready = handoff.take_full()) {
    for (const auto& e : ready->entries)
      if (!each(ready->value(e))) return rocksdb::Status::OK();  // the joiner stops the helper
    ready->clear();
    handoff.give_back(ready);
  }
  helper.thread.join();
  return read_status;
}

}  // namespace kakehashi::detail
