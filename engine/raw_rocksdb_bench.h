// Raw RocksDB baselines for the benchmarks: what the same disk does for synced batched puts and
// for a sequential scan without the event store in between. Bench-only code; no RocksDB types
// leak through this header (RocksDB is linked PRIVATE to the engine).
//
// Thread safety: each function runs on its own database and is safe to call from any thread, but
// two calls must not use the same path at once (RocksDB's LOCK file would refuse the second).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "events/result.h"

namespace kakehashi {

struct raw_bench_options {
  std::string path;                // created if missing; an existing database is appended to
  std::size_t writers = 1;         // real threads, each doing synced WriteBatches
  std::size_t puts_per_batch = 1;  // puts in each writer's WriteBatch
  std::uint64_t events = 100000;   // total puts across all writers
  std::size_t value_bytes = 400;   // size of each value; the key is an 8-byte big-endian counter
  bool sync = true;                // WriteOptions::sync, as the event store writes
};

struct raw_bench_report {
  std::uint64_t events = 0;  // puts acknowledged
  double seconds = 0;
  double events_per_sec = 0;
  double p50_ms = 0;  // per-batch latency (Write call), over all writers
  double p99_ms = 0;
  double max_ms = 0;
};

// Writes `events` puts from `writers` threads, each in synced WriteBatches of `puts_per_batch`
// puts (RocksDB groups concurrent writers into one WAL write and sync), and reports throughput
// and latency. Keys continue after the largest key already in the database.
result<raw_bench_report> run_raw_rocksdb_append(const raw_bench_options& options);

struct raw_scan_report {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // keys + values visited
  double seconds = 0;
  double entries_per_sec = 0;
};

// Opens the database at `path` read-only (every column family) and iterates `column_family`
// front to back, touching every key and value. For the replay baseline on the event store's
// own `log` column family.
result<raw_scan_report> run_raw_rocksdb_scan(const std::string& path,
                                             const std::string& column_family = "log");

}  // namespace kakehashi
