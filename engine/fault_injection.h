// Fault injection for tests: a file system under the event store's RocksDB that knows what a
// power cut would keep, can simulate one, and fails chosen operations (I/O errors, fsync errors,
// a full disk). Made by fault_injector::create and handed to event_store::open through
// store_options::faults; RocksDB itself stays hidden in the engine.
//
// What a power cut keeps (the model):
// - Of a file's bytes, those covered by a successful sync (fsync/fdatasync) of that file. The
//   unsynced tail is cut at the last sync, or a random prefix of it survives (a torn write); in a
//   WAL that prefix may end in garbage, which point-in-time recovery stops at. Other files only
//   tear to a prefix: RocksDB counts on that for its MANIFEST (garbage or zeros in a MANIFEST's
//   tail fail its checksum and the database does not open, as on ext4 with data=writeback, which
//   can show stale blocks). The real fsync is never called: the model decides what survives, so
//   tests run at memory speed.
// - A file reused through ReuseWritableFile (renamed and written over from offset 0, as the WAL
//   spares are) keeps its old length, and its old bytes are taken to be zeros (a spare's are):
//   where the cut drops unsynced bytes inside the old length, zeros show. Writing over blocks is
//   not ordered the way growing a file is, so one page of the dropped part may survive past the
//   lost bytes before it.
// - Of directory entries, those covered by a successful fsync of the directory. Creations and
//   renames since then are journaled in order: a random prefix of them survives and the rest is
//   undone (a created file vanishes, a renamed file gets its old name back and the replaced file
//   its old content). Deletions count as durable at once.
// - After a failed sync, the bytes it should have made durable may never reach the disk (the
//   kernel may drop those dirty pages), even if a later sync succeeds: at a power cut they read as
//   zeros. A store that writes on after a failed fsync is caught by this.
//
// A simulated crash has two steps: crash() (or a crash armed with crash_after) makes every
// further change to a file or directory fail with an I/O error and change nothing, so the open
// store can be abandoned and destroyed without its in-memory state reaching the disk; then,
// with no store open on the injector, lose_power() applies the model to the files on disk and
// the file system works again, everything on disk now counting as durable.
//
// Thread safety: every member may be called from any thread, concurrently with the store's I/O.
// Lifetime: shared; a store opened with the injector keeps it alive until the store is destroyed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/result.h"

namespace kakehashi {

// Which files a fault rule applies to, by RocksDB's file names.
enum class fault_file : std::uint8_t {
  any,
  wal,        // NNNNNN.log: the write-ahead log, where appends go first
  table,      // NNNNNN.sst: flushes and compactions
  manifest,   // MANIFEST-NNNNNN
  directory,  // a directory's own fsync
  snapshot,   // NAME.img and NAME.img.tmp: snapshot images (engine/snapshot_store.h)
  other,      // CURRENT, OPTIONS, IDENTITY, temporary files
};

enum class fault_op : std::uint8_t {
  write,  // an append to a file (a random prefix of the bytes may still be written)
  sync,   // fsync/fdatasync of a file, or fsync of a directory
};

enum class fault_error : std::uint8_t { io_error, no_space };

// Fails matching operations: after `skip` matching ones succeed, the next `times` fail.
struct fault_rule {
  fault_op op = fault_op::write;
  fault_file file = fault_file::any;
  fault_error error = fault_error::io_error;
  std::uint64_t skip = 0;
  std::uint64_t times = ~std::uint64_t{0};
};

struct power_loss_options {
  double tear = 0.5;     // chance a file keeps a random part of its unsynced tail
  double garbage = 0.3;  // chance a torn WAL tail ends in garbage bytes
  double undo = 0.5;     // chance unsynced directory changes are cut at a random point
  double reorder = 0.5;  // chance a reused file keeps one page past the bytes it lost
};

// What a power cut did to the files on disk.
struct power_loss_report {
  std::uint64_t files_with_unsynced_data = 0;
  std::uint64_t files_cut = 0;        // cut back to their last sync
  std::uint64_t files_torn = 0;       // kept a random part of their unsynced tail
  std::uint64_t files_garbled = 0;    // of the torn ones, WALs ending in garbage
  std::uint64_t files_reordered = 0;  // reused files keeping a page past the bytes they lost
  std::uint64_t bytes_lost = 0;       // unsynced bytes dropped or garbled
  std::uint64_t holes = 0;            // files with bytes lost to a failed sync
  std::uint64_t entries_lost = 0;     // created files whose directory entry vanished
  std::uint64_t renames_undone = 0;
  std::vector<std::string> files;  // what happened to each damaged file, for diagnostics
};

struct fault_stats {
  std::uint64_t writes = 0;          // appends seen (including failed ones)
  std::uint64_t syncs = 0;           // file and directory syncs seen
  std::uint64_t changes = 0;         // every operation that changes a file or directory
  std::uint64_t injected = 0;        // operations failed by a rule or by the free-space limit
  std::uint64_t unsynced_bytes = 0;  // appended since the last sync, over all files
  bool crashed = false;
  // Where the crash fell, until lose_power: the change an armed crash failed ("write wal",
  // "sync manifest", "create table", "rename other", ...), or "between changes" for crash().
  std::string crash_point;
};

class fault_injector {
 public:
  // `seed` drives every random choice (torn prefixes, garbage, undo points).
  static std::shared_ptr<fault_injector> create(std::uint64_t seed);
  virtual ~fault_injector() = default;

  // Simulated crash, step 1: from now on every change to a file or directory fails with an I/O
  // error and changes nothing, except that appends to and syncs of a WAL report success and
  // change nothing. The process is dead from the crash on in the model: whatever the store
  // acknowledges after it never reached a client (a test must not count it), and keeping the WAL
  // writers error-free keeps RocksDB 7.8 out of error paths where it asserts. Reads keep working.
  virtual void crash() = 0;
  // Arms the crash at the n-th change from now (1: the very next), counting only changes to `on`
  // files (any: all). An append chosen as the crash point writes a random prefix of its bytes
  // first. 0 disarms.
  virtual void crash_after(std::uint64_t changes, fault_file on = fault_file::any) = 0;
  virtual bool crashed() const = 0;
  // Waits until crashed() or until `timeout` ran out; returns crashed().
  virtual bool wait_for_crash(std::chrono::milliseconds timeout) const = 0;

  // Simulated crash, step 2: drops, tears or garbles every unsynced byte, zeroes what failed
  // syncs lost and undoes unsynced directory changes (the model above). Also right without a
  // crash (a power cut while idle). Then everything works again, as after a reboot; the rules and
  // the free-space limit stay. Error `store_open` while a store uses the injector.
  virtual result<power_loss_report> lose_power(const power_loss_options& options = {}) = 0;

  // Holds the next sync of a `file` file, before the rules judge it, until release_held(): a
  // store thread stopped inside its WAL sync, for tests of what the other threads do meanwhile.
  // Other files' operations go on. A store must not be destroyed while a sync is held.
  virtual void hold_next_sync(fault_file file) = 0;
  // Waits until a sync is held, or `timeout` ran out; returns whether one is.
  virtual bool wait_for_held_sync(std::chrono::milliseconds timeout) const = 0;
  virtual void release_held() = 0;

  virtual void add_rule(const fault_rule& rule) = 0;
  // A full disk: once `bytes` more bytes have been appended, appends fail with ENOSPC (the one
  // that crosses the limit writes what still fits). nullopt: unlimited.
  virtual void set_free_space(std::optional<std::uint64_t> bytes) = 0;
  // Removes every rule and the free-space limit (not a crash: that ends with lose_power).
  virtual void clear_faults() = 0;
  virtual fault_stats stats() const = 0;

 protected:
  fault_injector() = default;
};

}  // namespace kakehashi
