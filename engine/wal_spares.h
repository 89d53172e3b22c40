// WAL files written full of zeros and synced ahead of time, so that appends overwrite blocks the
// file already has instead of growing it.
//
// Why: on ext4 a sync of a file that grew writes the inode too; a sync of bytes written over
// blocks that already hold data does not. Each append's WAL sync here was the new data, the inode
// and the cache flush; with a prepared file it is the data and the flush (README, "Compared with
// what you would use instead"). RocksDB's own recycling of old WAL files would do the same, but
// RocksDB 7.8 turns it off under point-in-time recovery, and an old WAL's bytes would keep erased
// subjects' keys.
// A spare holds only zeros: nothing of a previous file survives in it.
//
// How: a file system over the store's own that, when RocksDB creates a WAL file in the data
// directory and a spare is ready, renames the spare to the WAL's name and hands it out through
// ReuseWritableFile (written from offset 0, not truncated). A background thread then prepares the
// next spare, sized from the WAL file it replaces. No spare ready: the WAL file is created as
// usual; so is the first one after the open, before there is a WAL file to size a spare from.
//
// What a crash leaves: RocksDB's log format reads zeros as unused space, so recovery reads the
// records and skips the rest; a clean close truncates the file to its records. A power cut during
// a sync can keep a later page of an overwrite and lose an earlier one; the gap is then zeros or a
// torn record, where point-in-time recovery stops, or a whole batch after the gap, where the
// replay guard stops (wal_replay_guard.h). Acknowledged appends are before any such gap: they were
// synced. The power-loss test models this (fault_injection.h, ReuseWritableFile).
//
// Lifetime: create, pass env() as DBOptions::env to DB::Open, call start() once the open holds
// the data directory's lock, and destroy after the database (destruction stops the thread and
// removes an unused spare). Thread safety: RocksDB may create files from any thread; start() and
// stats() may be called from any thread.
#pragma once

#include <rocksdb/env.h>

#include <cstdint>
#include <memory>
#include <string>

namespace kakehashi::detail {

struct wal_spare_stats {
  std::uint64_t used = 0;     // WAL files that were a spare
  std::uint64_t created = 0;  // WAL files created as usual: no spare ready (or none could be made)
};

class wal_spares {
 public:
  // Spares for the WAL files RocksDB creates in `dir` through `base`'s file system. `base` must
  // outlive the result.
  static std::unique_ptr<wal_spares> create(rocksdb::Env* base, const std::string& dir);
  virtual ~wal_spares() = default;

  // The Env for DBOptions::env: `base` with the spare-handing file system. Valid as long as this.
  virtual rocksdb::Env* env() = 0;
  // Removes a spare left behind by an earlier open (it may not be whole) and starts preparing
  // spares. Only while this process holds the directory's lock: another process may be using
  // the directory otherwise.
  virtual void start() = 0;
  virtual wal_spare_stats stats() const = 0;

  // The spare's file name in the data directory; RocksDB ignores files it does not name.
  static constexpr const char* file_name = "KAKEHASHI-WAL-SPARE";

 protected:
  wal_spares() = default;
};

}  // namespace kakehashi::detail
