// The store's write fence: the first failed write or sync to the database, whoever made it (the
// appenders' sequencer and committer, the projection store, the key vault), stops every later
// write until the store is reopened. After a failed fsync the kernel may have dropped pages that
// never reached the disk, and a later fsync of the same file may well succeed: a write synced
// then would sit behind the lost pages in the WAL and be lost with them at the next crash, after
// it was acknowledged.
//
// Every write that syncs the WAL holds sync_mutex() from its check of stopped() to the end of its
// sync, so a sync that fails is always seen by the next one. RocksDB serialises WAL syncs anyway,
// so the mutex costs no parallelism.
//
// RocksDB 7.8 also refuses writes after a failed WAL write or sync (its background error), but
// it resumes by itself after errors it deems retryable; the fence makes "no write after a
// failure until reopen" the store's own rule, with one error code (`writes_stopped`), rather than
// a consequence of RocksDB's error policy.
//
// Known limit (RocksDB 7.8 as Debian builds it, with assertions on): RocksDB asserts when it
// syncs a WAL writer that failed an append or a plain sync before. The committer syncs the WAL
// while the sequencer writes the next group (the pipeline of store_impl.h), and RocksDB's
// background flushes sync closed WALs on their own; if such an append or background sync fails
// after the committer checked stopped() and before its SyncWAL starts, the process aborts
// instead of reporting an error. An abort is a crash: nothing acknowledged is lost and the store
// recovers (the power-loss test covers crashes), but the error is not reported cleanly. A RocksDB
// built without assertions returns an error there. Closing the window without giving up the
// pipeline would take a file-system hook at the start of the WAL sync, holding writes until
// then, and a listener stopping the fence on RocksDB's background errors.
//
// Internal to the engine; thread-safe.
#pragma once

#include <atomic>
#include <mutex>
#include <shared_mutex>

#include "events/result.h"

#if defined(__SANITIZE_THREAD__)
#define KAKEHASHI_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KAKEHASHI_TSAN 1
#endif
#endif

namespace kakehashi::detail {

class write_fence {
 public:
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }
  void stop() { stopped_.store(true, std::memory_order_release); }
  std::mutex& sync_mutex() { return sync_mutex_; }
  // Held shared by every write into RocksDB, from its check of stopped() until it has stopped
  // the fence on failure, and exclusively by a manual flush around its memtable switch. A switch
  // flushes the current WAL writer's buffer, and RocksDB 7.8 asserts (aborts the process, as
  // Debian builds it) when that writer has failed an append before: with the gate, a flush either
  // runs before the failing append or sees the fence stopped and does not switch.
  std::shared_mutex& switch_mutex() { return switch_mutex_; }

  // Held around every write into RocksDB (DB::Write, DB::Put), innermost, in ThreadSanitizer
  // builds only; elsewhere it locks nothing. Debian's RocksDB is not built with TSan, and it
  // orders concurrent writers through atomics TSan cannot see: a write-group leader copies the
  // other writers' batches into its own and appends to the WAL buffer the previous leader used,
  // and its flush scheduler is a lock-free list. TSan reported each as a race (the copy against
  // the sequencer's filling of the batch, the WAL buffer, the scheduler's nodes), and the copy
  // cannot be suppressed by name: it runs in libstdc++ under RocksDB's uninstrumented frames, so
  // the report shows only our callers. One writer at a time gives TSan a mutex to see where
  // RocksDB's write queue orders writers anyway; the sync of the WAL stays outside it, so the
  // sequencer still writes while the committer syncs.
#ifdef KAKEHASHI_TSAN
  std::unique_lock<std::mutex> rocksdb_write_lock() {
    return std::unique_lock<std::mutex>(tsan_write_mutex_);
  }
#else
  struct no_lock {
    ~no_lock() {}  // user-provided: a guard variable that is never read draws no warning
  };
  no_lock rocksdb_write_lock() {
    return {};
  }
#endif

 private:
  std::atomic<bool> stopped_{false};
  std::mutex sync_mutex_;
  std::shared_mutex switch_mutex_;
#ifdef KAKEHASHI_TSAN
  std::mutex tsan_write_mutex_;
#endif
};

inline error writes_stopped_error() {
  return make_error(errc::unavailable, "writes_stopped",
                    "the store refuses writes after a write failure; reopen it");
}

}  // namespace kakehashi::detail
