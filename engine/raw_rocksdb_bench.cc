// Raw RocksDB baselines (see raw_rocksdb_bench.h).
#include "engine/raw_rocksdb_bench.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace kakehashi {
namespace {

using clock_type = std::chrono::steady_clock;

error from_rocksdb(const rocksdb::Status& s, const std::string& what) {
  return make_error(s.IsCorruption() ? errc::corruption : errc::io_error, "rocksdb_error",
                    what + ": " + s.ToString());
}

void put_be64(char* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

std::uint64_t get_be64(const rocksdb::Slice& s) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < s.size(); ++i)
    v = (v << 8) | static_cast<unsigned char>(s.data()[i]);
  return v;
}

// The q-quantile (0..1) of `ns`, in milliseconds; reorders `ns`.
double quantile_ms(std::vector<std::uint64_t>& ns, double q) {
  if (ns.empty()) return 0;
  auto k = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1));
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(k), ns.end());
  return static_cast<double>(ns[k]) / 1e6;
}

}  // namespace

result<raw_bench_report> run_raw_rocksdb_append(const raw_bench_options& options) {
  if (options.path.empty() || options.writers == 0 || options.puts_per_batch == 0)
    return make_error(errc::invalid_argument, "bad_options",
                      "raw bench needs a path, writers and puts per batch");

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, &raw_db);
  if (!s.ok()) return from_rocksdb(s, "open " + options.path);
  std::unique_ptr<rocksdb::DB> db(raw_db);

  // Continue after the largest existing key so a reused directory keeps appending.
  std::uint64_t base = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToLast();
    if (it->Valid()) base = get_be64(it->key());
  }

  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  rocksdb::Status first_failure;
  std::atomic_flag failure_taken = ATOMIC_FLAG_INIT;
  std::vector<std::vector<std::uint64_t>> latencies(options.writers);

  auto writer = [&](std::size_t w) {
    std::mt19937_64 rng(0x9e3779b97f4a7c15ULL * (w + 1));
    std::string value(options.value_bytes, '\0');
    for (auto& c : value)
      c = static_cast<char>('a' + rng() % 26);  // incompressible enough
    auto& lat = latencies[w];
    lat.reserve(options.events / options.writers / options.puts_per_batch + 1);
    rocksdb::WriteOptions write_options;
    write_options.sync = options.sync;
    char key[8];
    for (;;) {
      std::uint64_t n = next.fetch_add(options.puts_per_batch, std::memory_order_relaxed);
      if (n >= options.events || failed.load(std::memory_order_relaxed)) break;
      std::uint64_t end = std::min<std::uint64_t>(n + options.puts_per_batch, options.events);
      rocksdb::WriteBatch batch;
      for (; n < end; ++n) {
        put_be64(key, base + n + 1);
        if (value.size() >= 8) put_be64(value.data(), n);
        batch.Put(rocksdb::Slice(key, 8), value);
      }
      auto start = clock_type::now();
      rocksdb::Status ws = db->Write(write_options, &batch);
      auto took = clock_type::now() - start;
      if (!ws.ok()) {
        if (!failure_taken.test_and_set()) first_failure = ws;
        failed = true;
        break;
      }
      lat.push_back(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()));
    }
  };

  auto start = clock_type::now();
  std::vector<std::thread> threads;
  threads.reserve(options.writers);
  for (std::size_t w = 0; w < options.writers; ++w)
    threads.emplace_back(writer, w);
  for (auto& t : threads)
    t.join();
  double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  if (failed) return from_rocksdb(first_failure, "write");

  std::vector<std::uint64_t> all;
  for (auto& lat : latencies)
    all.insert(all.end(), lat.begin(), lat.end());
  raw_bench_report report;
  report.events = std::min<std::uint64_t>(next.load(), options.events);
  report.seconds = seconds;
  report.events_per_sec = seconds > 0 ? static_cast<double>(report.events) / seconds : 0;
  report.max_ms =
      all.empty() ? 0 : static_cast<double>(*std::max_element(all.begin(), all.end())) / 1e6;
  report.p99_ms = quantile_ms(all, 0.99);
  report.p50_ms = quantile_ms(all, 0.50);
  s = db->Close();
  if (!s.ok()) return from_rocksdb(s, "close");
  return report;
}

result<raw_scan_report> run_raw_rocksdb_scan(const std::string& path,
                                             const std::string& column_family) {
  rocksdb::DBOptions db_options;
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, path, &names);
  if (!s.ok()) return from_rocksdb(s, "list column families of " + path);
  if (std::find(names.begin(), names.end(), column_family) == names.end())
    return make_error(errc::not_found, "no_column_family",
                      "no column family '" + column_family + "' in " + path);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names)
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw_db);
  if (!s.ok()) return from_rocksdb(s, "open read-only " + path);
  std::unique_ptr<rocksdb::DB> db(raw_db);

  rocksdb::ColumnFamilyHandle* target = nullptr;
  for (auto* h : handles)
    if (h->GetName() == column_family) target = h;

  raw_scan_report report;
  auto start = clock_type::now();
  {
    rocksdb::ReadOptions read_options;
    read_options.fill_cache = false;  // as event_store::scan reads, so only decoding differs
    read_options.readahead_size = 4 << 20;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read_options, target));
    std::uint64_t checksum = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rocksdb::Slice k = it->key();
      rocksdb::Slice v = it->value();
      report.bytes += k.size() + v.size();
      // Touch the value's bytes so the scan cannot skip loading them.
      if (!v.empty()) checksum += static_cast<unsigned char>(v.data()[v.size() - 1]);
      ++report.entries;
    }
    s = it->status();
    if (checksum == 0xffffffffffffffffULL) report.bytes += 1;  // keep `checksum` observable
  }
  report.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  report.entries_per_sec =
      report.seconds > 0 ? static_cast<double>(report.entries) / report.seconds : 0;
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h);
  if (!s.ok()) return from_rocksdb(s, "scan " + column_family);
  return report;
}

}  // namespace kakehashi
