// Recovery replays the WAL only up to its first missing write batch.
//
// Every write the store makes goes through the WAL (none disables it, nothing is ingested), and
// RocksDB numbers the batches in it consecutively: each one's sequence number is the previous
// one's plus its count of entries. A power cut can still keep a later unsynced batch and lose an
// earlier one: an older WAL file's unsynced tail is cut at a record boundary while the next
// file's first records survive, and RocksDB 7.8's point-in-time recovery, seeing a clean end to
// the older file, replays the newer one. Nothing acknowledged is in the gap (an append is
// acknowledged only after a sync covering every WAL file), but the store then holds a batch
// without the one before it: for the log, a missing position, which open refused (`log_gap`);
// for the projection store or the key vault, state applied without its predecessor, which no
// check would see. This guard stops the replay at the first batch whose sequence number does not
// follow, so a recovered store is a prefix of what was written whatever the cut kept. RocksDB
// discards the WAL from there: the later batches were never acknowledged.
//
// Use: point DBOptions::wal_filter at a guard that outlives DB::Open. RocksDB calls it from the
// opening thread, one record at a time; stopped() is for that thread after the open returns.
#pragma once

#include <rocksdb/wal_filter.h>

#include <cstdint>
#include <optional>
#include <string>

namespace kakehashi::detail {

class wal_replay_guard final : public rocksdb::WalFilter {
 public:
  // Where a replay stopped: in WAL file `wal_number`, a batch numbered `found` where `expected`
  // should have come next.
  struct stop {
    std::uint64_t wal_number = 0;
    std::uint64_t expected = 0;
    std::uint64_t found = 0;
  };

  WalProcessingOption LogRecordFound(unsigned long long log_number,
                                     const std::string& log_file_name,
                                     const rocksdb::WriteBatch& batch,
                                     rocksdb::WriteBatch* new_batch, bool* batch_changed) override;
  const char* Name() const override { return "kakehashi.wal_replay_guard"; }

  // The stop of the last replay through this guard, if it stopped early.
  const std::optional<stop>& stopped() const { return stopped_; }

 private:
  std::optional<std::uint64_t> next_;  // the sequence number the next batch must have
  std::optional<stop> stopped_;
};

}  // namespace kakehashi::detail
