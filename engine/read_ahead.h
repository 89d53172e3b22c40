// Read-ahead for long log scans: RocksDB iteration on a helper thread, everything else on the
// caller's. Internal to the engine (RocksDB types appear here).
//
// The helper thread walks the iterator and copies each value into one of a few reused batches
// (bounded: `batches` of about `batch_bytes` each; a single value larger than that gets a batch
// of its size); the calling thread takes full batches in order and calls `each` with every
// value. Values are copied to 8-byte-aligned addresses, so the record decoder reads them in
// place instead of copying a misaligned value once more.
//
// Thread ownership: the helper thread starts and ends within the call; it owns the iterator
// while it runs. Shutdown: when `each` returns false (or throws), the helper is told to stop,
// notices before its next value, and is joined before read_ahead returns.
#pragma once

#include <rocksdb/iterator.h>

#include <cstddef>
#include <functional>
#include <string_view>

namespace kakehashi::detail {

struct read_ahead_options {
  std::size_t batch_bytes = 256 << 10;
  std::size_t batches = 3;  // at least 2, so one fills while the other is read
};

// Calls `each` on the calling thread with every value from the iterator's current entry to its
// end, in order; `each` returns false to stop. Returns the iterator's status: an error the
// iteration ended on (after `each` has seen every value before it), or OK when it reached the end
// or `each` stopped it. Iterates on the calling thread when no helper thread can be started.
rocksdb::Status read_ahead(rocksdb::Iterator& it, const read_ahead_options& options,
                           const std::function<bool(std::string_view)>& each);

}  // namespace kakehashi::detail
