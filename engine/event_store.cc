// The RocksDB event store: layout, open/recovery and reads. The write path (validation and the
// group-commit sequencer) is in sequencer.cc.
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/rate_limiter.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "engine/fault_injection_impl.h"
#include "engine/read_ahead.h"
#include "engine/record_codec.h"
#include "engine/store_impl.h"

namespace kakehashi {
namespace detail {

std::string position_key(position_t position) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i)
    key[i] = static_cast<char>(position >> (56 - 8 * i));
  return key;
}

position_t decode_position(std::string_view bytes) {
  position_t value = 0;
  for (std::size_t i = 0; i < 8 && i < bytes.size(); ++i)
    value = value << 8 | static_cast<std::uint8_t>(bytes[i]);
  return value;
}

std::string stream_key(std::string_view stream, std::uint64_t version) {
  std::string key;
  key.reserve(stream.size() + 9);
  key.append(stream);
  key.push_back('\0');
  key.append(position_key(version));
  return key;
}

std::string chain_head_value(position_t position, const hash256& hash) {
  std::string value = position_key(position);
  value.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  return value;
}

error io_failure(const rocksdb::Status& s, std::string_view what) {
  if (s.IsCorruption())
    return make_error(errc::corruption, "corruption", std::string(what) + ": " + s.ToString());
  // A full disk is the operator's to fix, not a fault of the disk: say so.
  return make_error(errc::io_error, s.IsNoSpace() ? "disk_full" : "io_error",
                    std::string(what) + ": " + s.ToString());
}

namespace {

constexpr const char* format_version_key = "format_version";
constexpr const char* current_format = "1";
// Not rocksdb::kDefaultColumnFamilyName: that is a global std::string in RocksDB's static
// library, and copying it during our own static initialisation may read it before it exists
// (the store then failed to open with "Default column family not specified").
constexpr const char* column_family_names[] = {"default", "log",  "streams", "dedupe",
                                               "keys",    "proj", "meta"};

// The streams family's keys are `stream \0 version`: a stream's versions arrive in order, but
// interleaved with other streams', so RocksDB's own hint for sequential inserts misses and every
// insert searched the skiplist from the top (a fifth of the sequencer's time in the append
// benchmark). With the stream as the hint prefix, each insert starts where that stream's last
// one went. A hint costs a splice of about 230 bytes in the memtable's arena (counted in its
// size, so a memtable of many small streams flushes sooner) and a map entry per stream it holds.
class stream_prefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "kakehashi.stream_prefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* end = std::memchr(key.data(), '\0', key.size());
    return {key.data(), end ? static_cast<const char*>(end) - key.data() : key.size()};
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

rocksdb::Options base_options(const store_options& options) {
  rocksdb::Options db;
  db.create_if_missing = options.create_if_missing;
  db.create_missing_column_families = true;
  db.IncreaseParallelism(2);
  db.max_background_jobs = 2;
  // Recovery stops at the first bad record, and at the first missing batch (replay_guard_), so
  // a crash keeps a prefix of what was written, also in WAL files written over zero-filled
  // spares (spares_). RocksDB's own recycling of old WAL files stays off (configure_for_erasure).
  db.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db.keep_log_file_num = 4;
  // One thread (the sequencer) writes, so concurrent memtable inserts never help; without them
  // RocksDB uses the insert hints configured below.
  db.allow_concurrent_memtable_write = false;
  // Flushes and compactions write in bursts of megabytes, and a WAL sync issued meanwhile waits
  // behind them. In 10-second runs at 40,000 appends/s, 22-35 syncs took 5-10 ms and 2-6 took
  // 10-20 ms, and the appends waiting on them made the 99th percentile 7.6-9.6 ms. Metered in
  // 10 ms slices, the bursts stay short: 4-13 and 0-4 such syncs, p99 3.3-6.8 ms. The rate
  // adapts to demand up to a ceiling well above what sustained peak appends need flushed and
  // compacted (with 100 MB/s and two memtables, a 40-second peak run once held appends for 1 s).
  db.rate_limiter.reset(rocksdb::NewGenericRateLimiter(200 << 20, /*refill_period_us=*/10'000,
                                                       /*fairness=*/10,
                                                       rocksdb::RateLimiter::Mode::kWritesOnly,
                                                       /*auto_tuned=*/true));
  return db;
}

rocksdb::ColumnFamilyOptions family_options(const std::string& name, const store_options& options) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  if (name == "log") {
    // Appended in key order and mostly scanned: no point lookups to speed up. 16 MiB rather
    // than 64: inserting into a memtable that spans fresh memory costs a page fault every few
    // records, and a smaller one is flushed and its memory reused sooner (the sequencer's
    // write took a quarter less time in the append benchmark). Sequential keys make the extra
    // L0 files cheap to compact.
    cf.write_buffer_size = 16 << 20;
    // Up to three memtables waiting for their flush, so appends do not stop while a metered
    // flush (see base_options) is still writing the one before.
    cf.max_write_buffer_number = 4;
    table.block_size = 32 * 1024;
  } else {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  }
  if (name == "streams")
    cf.memtable_insert_with_hint_prefix_extractor = std::make_shared<stream_prefix>();
  if (options.memtable_bytes > 0) cf.write_buffer_size = options.memtable_bytes;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

}  // namespace

result<std::unique_ptr<store_impl>> store_impl::open_database(const store_options& options) {
  if (sodium_init() < 0)
    return make_error(errc::internal, "crypto_unavailable", "libsodium failed to initialise");
  if (options.path.empty())
    return make_error(errc::invalid_argument, "missing_path", "the data directory is required",
                      "data");
  auto store = std::unique_ptr<store_impl>(new store_impl(options));
  if (auto opened = store->open_db(); !opened) return opened.take_err();
  return store;
}

result<std::unique_ptr<event_store>> store_impl::open(const store_options& options) {
  if (auto limits = check_record_limits(options.limits); !limits) return limits.take_err();
  auto opened = open_database(options);
  if (!opened) return opened.take_err();
  auto store = std::move(opened).value();
  if (auto recovered = store->recover(); !recovered) return recovered.take_err();
  if (!options.read_only) {
    if (store->spares_) store->spares_->start();
    store->written_through_.store(store->written_position_, std::memory_order_release);
    store->sequencer_ = std::thread([s = store.get()] { s->run_sequencer(); });
    store->committer_ = std::thread([s = store.get()] { s->run_committer(); });
  }
  return std::unique_ptr<event_store>(std::move(store));
}

store_impl::store_impl(const store_options& options) : options_(options), mode_(options.commit) {}

store_impl::~store_impl() {
  if (sequencer_.joinable()) {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    sequencer_wake_.notify_all();
    queue_not_full_.notify_all();
    sequencer_.join();
    // The sequencer has handed over every group it wrote; the committer syncs them and stops.
    {
      std::lock_guard lock(commit_mutex_);
      sequencer_done_ = true;
    }
    commit_ready_.notify_all();
    committer_.join();
  }
  vault_.reset();  // borrows the database and its handles
  for (auto* handle : handles_)
    db_->DestroyColumnFamilyHandle(handle);
  handles_.clear();
  if (db_) db_->Close();
}

status store_impl::open_db() {
  auto db_options = base_options(options_);
  configure_for_erasure(db_options);
  if (options_.faults) db_options.env = fault_env(*options_.faults);
  if (!options_.read_only && options_.wal_spares) {
    spares_ = wal_spares::create(db_options.env, options_.path);
    db_options.env = spares_->env();
  }
  db_options.wal_filter = &replay_guard_;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& name : column_family_names)
    families.emplace_back(name, family_options(name, options_));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if ((options_.read_only || !options_.create_if_missing) &&
      !std::filesystem::exists(std::filesystem::path(options_.path) / "CURRENT"))
    return make_error(errc::not_found, "no_store", "no event store at " + options_.path);
  if (options_.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, options_.path, families, &handles_, &raw);
  } else {
    std::error_code ec;
    std::filesystem::create_directories(options_.path, ec);
    s = rocksdb::DB::Open(db_options, options_.path, families, &handles_, &raw);
  }
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)
      return make_error(errc::unavailable, "store_locked",
                        "the data directory is in use by another process: " + s.ToString());
    return io_failure(s, "cannot open the event store at " + options_.path);
  }
  db_.reset(raw);
  if (const auto& stop = replay_guard_.stopped())
    rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, db_->GetDBOptions().info_log,
                 "kakehashi: recovery stopped in WAL %llu at a missing batch (sequence %llu, "
                 "next found %llu); the later unsynced writes were dropped",
                 static_cast<unsigned long long>(stop->wal_number),
                 static_cast<unsigned long long>(stop->expected),
                 static_cast<unsigned long long>(stop->found));
  log_ = handles_[1];
  streams_ = handles_[2];
  dedupe_ = handles_[3];
  meta_ = handles_[6];
  projections_ = std::make_unique<projection_store_impl>(db_.get(), handles_[5], options_.read_only,
                                                         writes_failed_);
  vault_ = std::make_unique<key_vault_impl>(db_.get(), handles_, handles_[4], options_.read_only,
                                            options_.key_cache_entries, writes_failed_);
  // The images share the database's file system (the fault injector's in tests), not its WAL.
  auto snapshots = snapshot_store_impl::open(
      (options_.faults ? fault_env(*options_.faults) : rocksdb::Env::Default())->GetFileSystem(),
      (std::filesystem::path(options_.path) / "snapshots").lexically_normal().string(),
      options_.read_only, options_.max_snapshot_bytes);
  if (!snapshots) return snapshots.take_err();
  snapshots_ = std::move(*snapshots);
  return {};
}

status store_impl::check_format() {
  std::string format;
  auto s = db_->Get(rocksdb::ReadOptions(), meta_, format_version_key, &format);
  if (s.IsNotFound()) {
    if (!options_.read_only) {
      rocksdb::WriteOptions sync;
      sync.sync = true;
      s = db_->Put(sync, meta_, format_version_key, current_format);
      if (!s.ok()) return io_failure(s, "cannot write the format version");
    }
  } else if (!s.ok()) {
    return io_failure(s, "cannot read the format version");
  } else if (format != current_format) {
    return make_error(
        errc::corruption, "unknown_format",
        "data directory has format version " + format + ", this build reads " + current_format);
  }
  return {};
}

status store_impl::recover() {
  if (auto format = check_format(); !format) return format;
  if (auto head = load_chain_head(); !head) return head;
  // The head of the log is its last key; the chain head is that record's hash.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_));
  it->SeekToLast();
  if (!it->status().ok()) return io_failure(it->status(), "cannot read the log");
  position_t last = 0;
  recorded_event tail;
  if (it->Valid()) {
    last = decode_position(it->key().ToStringView());
    if (auto decoded = decode_record(it->value().ToStringView(), tail); !decoded)
      return make_error(errc::corruption, "chain_broken",
                        "the last record (position " + std::to_string(last) +
                            ") does not decode: " + decoded.err().message);
    if (tail.position != last)
      return make_error(errc::corruption, "chain_broken",
                        "the last record claims position " + std::to_string(tail.position) +
                            " but is stored at " + std::to_string(last));
  }
  if (options_.verify_tail_on_open > 0) {
    position_t from =
        last > options_.verify_tail_on_open ? last - options_.verify_tail_on_open + 1 : 1;
    auto report = last > 0 ? verify_range(from, last) : verify_report{};
    if (report.missing)
      return make_error(errc::corruption, "log_gap",
                        "the tail of the log has a gap: " + report.problem +
                            ". A power cut can leave this among appends that were never "
                            "acknowledged; `kakehashi repair --data " +
                            options_.path + "` removes the events after the gap");
    if (!report.ok)
      return make_error(errc::corruption, "chain_broken",
                        "the tail of the log does not verify at position " +
                            std::to_string(report.first_bad_position) + ": " + report.problem);
    if (auto mismatch = chain_head_mismatch(last))
      return make_error(errc::corruption,
                        mismatch->first_bad_position > last ? "chain_truncated" : "chain_broken",
                        mismatch->problem +
                            ". A power cut loses a group's chain head with its records, so "
                            "these were removed or lost with the disk: restore the data "
                            "directory from a backup");
  }
  chain_head_ = tail.hash;
  written_position_ = last;
  last_position_.store(last, std::memory_order_release);
  return {};
}

status store_impl::load_chain_head() {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), meta_, chain_head_key, &value);
  head_at_open_ = {};
  if (s.IsNotFound()) return {};
  if (!s.ok()) return io_failure(s, "cannot read the chain head");
  if (value.size() != 8 + head_at_open_.hash.size())
    return make_error(errc::corruption, "chain_broken",
                      "the stored chain head is " + std::to_string(value.size()) + " bytes long");
  head_at_open_.position = decode_position(value);
  std::memcpy(head_at_open_.hash.data(), value.data() + 8, head_at_open_.hash.size());
  return {};
}

std::optional<verify_report> store_impl::chain_head_mismatch(position_t last) const {
  verify_report report;
  report.ok = false;
  const auto& head = head_at_open_;
  if (head.position > last) {
    report.first_bad_position = last + 1;
    report.problem = "position " + std::to_string(last + 1) + " is missing: the log ends at " +
                     std::to_string(last) + " but its chain head names position " +
                     std::to_string(head.position) + ", so its last " +
                     std::to_string(head.position - last) + " records are gone";
  } else if (head.position == last && last > 0) {
    auto record = read_record(last);
    if (record && (*record)->hash == head.hash) return std::nullopt;
    report.first_bad_position = last;
    report.problem = record ? "the record at position " + std::to_string(last) +
                                  " is not the one the chain head names (its hash differs)"
                            : record.err().message;
  } else {
    return std::nullopt;  // no chain head stored, or appended since the open
  }
  report.checked = report.first_bad_position - 1;
  return report;
}

result<std::shared_ptr<const recorded_event>> store_impl::read_record(position_t position) const {
  rocksdb::PinnableSlice value;
  auto s = db_->Get(rocksdb::ReadOptions(), log_, position_key(position), &value);
  if (s.IsNotFound())
    return make_error(errc::not_found, "no_event",
                      "no event at position " + std::to_string(position));
  if (!s.ok()) return io_failure(s, "cannot read the log");
  auto event = std::make_shared<recorded_event>();
  if (auto decoded = decode_record(value.ToStringView(), *event); !decoded)
    return decoded.take_err();
  return std::shared_ptr<const recorded_event>(std::move(event));
}

result<event_ptr> store_impl::read_event(const uuid& id) const {
  std::string position;
  auto s = db_->Get(rocksdb::ReadOptions(), dedupe_, id.as_bytes(), &position);
  if (!s.ok() && !s.IsNotFound()) return io_failure(s, "cannot read the idempotency index");
  // An id written but not yet synced is not committed: readers never see past the head.
  if (s.IsNotFound() || decode_position(position) > head_position())
    return make_error(errc::not_found, "no_event", "no event with id " + id.to_string());
  return read_record(decode_position(position));
}

verify_report store_impl::verify_range(position_t from, position_t to) const {
  verify_report report;
  // `missing`: the position holds no record at all, the one defect repair() may remove.
  auto fail = [&](position_t at, std::string problem, bool missing = false) {
    report.ok = false;
    report.first_bad_position = at;
    report.problem = std::move(problem);
    report.missing = missing;
    return report;
  };
  hash256 prev{};
  if (from > 1) {
    auto before = read_record(from - 1);
    if (!before) return fail(from - 1, before.err().message, before.err().code == "no_event");
    prev = (*before)->hash;
  }
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  read.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, log_));
  position_t expected = from;
  for (it->Seek(position_key(from)); it->Valid() && expected <= to; it->Next(), ++expected) {
    position_t at = decode_position(it->key().ToStringView());
    if (at != expected)
      return fail(expected,
                  "position " + std::to_string(expected) + " is missing (next stored is " +
                      std::to_string(at) + ")",
                  true);
    hash256 hash;
    if (auto ok = verify_record(it->value().ToStringView(), at, prev, hash); !ok)
      return fail(expected, ok.err().message);
    prev = hash;
    ++report.checked;
  }
  if (!it->status().ok()) return fail(expected, it->status().ToString());
  if (expected <= to)
    return fail(expected, "position " + std::to_string(expected) + " is missing", true);
  return report;
}

verify_report store_impl::verify() const {
  position_t head = head_position();
  if (options_.read_only) {
    // A read-only open may predate the newest records; walk to whatever is stored.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_));
    it->SeekToLast();
    if (it->Valid()) head = decode_position(it->key().ToStringView());
  }
  auto report = head == 0 ? verify_report{} : verify_range(1, head);
  if (!report.ok) return report;
  return chain_head_mismatch(head).value_or(report);
}

result<std::vector<event_ptr>> store_impl::read_stream(std::string_view stream,
                                                       std::uint64_t from_version,
                                                       read_direction direction,
                                                       std::size_t limit) const {
  if (auto valid = validate_stream_name(stream); !valid) return valid.take_err();
  position_t head = head_position();
  std::vector<std::string> keys;
  std::string prefix(stream);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), streams_));
  auto in_stream = [&] { return it->Valid() && it->key().starts_with(rocksdb::Slice(prefix)); };
  // Entries above the head are written but not acknowledged (not yet synced, or their sync
  // failed). A stream's positions grow with its versions, so they are its newest entries: forward
  // stops at the first, backward passes them without counting them against the limit.
  if (direction == read_direction::forward) {
    for (it->Seek(stream_key(stream, from_version)); in_stream() && keys.size() < limit;
         it->Next()) {
      position_t at = decode_position(it->value().ToStringView());
      if (at > head) break;
      keys.push_back(position_key(at));
    }
  } else {
    for (it->SeekForPrev(stream_key(stream, from_version)); in_stream() && keys.size() < limit;
         it->Prev()) {
      position_t at = decode_position(it->value().ToStringView());
      if (at <= head) keys.push_back(position_key(at));
    }
  }
  if (!it->status().ok()) return io_failure(it->status(), "cannot read the stream index");

  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), log_, keys.size(), slices.data(), values.data(),
                statuses.data());
  std::vector<event_ptr> events;
  events.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!statuses[i].ok()) return io_failure(statuses[i], "cannot read the log");
    auto event = std::make_shared<recorded_event>();
    if (auto decoded = decode_record(values[i].ToStringView(), *event); !decoded)
      return decoded.take_err();
    events.push_back(std::move(event));
  }
  return events;
}

result<log_page> store_impl::read_all(position_t from, std::size_t limit,
                                      const event_filter& filter, std::size_t max_scan) const {
  log_page page;
  from = std::max<position_t>(from, 1);
  position_t head = head_position();
  page.next_position = from;
  if (from > head || limit == 0) {
    page.end_of_log = from > head;
    return page;
  }
  std::string upper = position_key(head + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, log_));
  std::size_t scanned = 0;
  recorded_event scratch;
  for (it->Seek(position_key(from)); it->Valid(); it->Next()) {
    if (page.events.size() >= limit || scanned >= max_scan) break;
    ++scanned;
    if (auto decoded = decode_record(it->value().ToStringView(), scratch); !decoded)
      return decoded.take_err();
    page.next_position = scratch.position + 1;
    if (filter.matches(scratch.stream, scratch.type))
      page.events.push_back(std::make_shared<recorded_event>(scratch));
  }
  if (!it->status().ok()) return io_failure(it->status(), "cannot read the log");
  page.end_of_log = page.next_position > head;
  return page;
}

status store_impl::scan(position_t from, const std::function<bool(const recorded_event&)>& visit,
                        const scan_options& options) const {
  const bool ahead_allowed = options.read_ahead_from != 0;
  if (ahead_allowed &&
      (options.batch_bytes == 0 || options.batch_bytes > scan_options::max_batch_bytes ||
       options.batches < scan_options::min_batches || options.batches > scan_options::max_batches))
    return make_error(errc::invalid_argument, "invalid_scan_options",
                      "scan read-ahead needs 1.." + std::to_string(scan_options::max_batch_bytes) +
                          " bytes per batch and " + std::to_string(scan_options::min_batches) +
                          ".." + std::to_string(scan_options::max_batches) + " batches");
  from = std::max<position_t>(from, 1);
  const position_t head = head_position();
  if (from > head) return {};
  std::string upper = position_key(head + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper_slice;
  read.readahead_size = 4 << 20;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, log_));
  it->Seek(position_key(from));

  recorded_event event;
  status decode_failed;
  auto each = [&](std::string_view stored) {
    if (auto decoded = decode_record(stored, event); !decoded) {
      decode_failed = std::move(decoded);
      return false;
    }
    return visit(event);
  };
  rocksdb::Status read_status;
  if (ahead_allowed && head - from + 1 >= options.read_ahead_from) {
    read_status = read_ahead(*it, {options.batch_bytes, options.batches}, each);
  } else {
    for (; it->Valid(); it->Next())
      if (!each(it->value().ToStringView())) break;
    read_status = it->status();
  }
  if (!decode_failed) return decode_failed;
  if (!read_status.ok()) return io_failure(read_status, "cannot read the log");
  return {};
}

std::optional<std::uint64_t> store_impl::stream_version(std::string_view stream) const {
  if (!validate_stream_name(stream)) return std::nullopt;
  return lookup_stream_version(stream, head_position());
}

std::optional<std::uint64_t> store_impl::lookup_stream_version(std::string_view stream,
                                                               position_t bound) const {
  std::string prefix(stream);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), streams_));
  // Skip versions still waiting for their sync: they are not acknowledged yet.
  for (it->SeekForPrev(stream_key(stream, ~std::uint64_t{0}));
       it->Valid() && it->key().starts_with(rocksdb::Slice(prefix)); it->Prev()) {
    if (decode_position(it->value().ToStringView()) <= bound)
      return decode_position(it->key().ToStringView().substr(prefix.size()));
  }
  return std::nullopt;
}

result<std::unique_ptr<subscription>> store_impl::subscribe(subscription_options options) {
  if (options.max_buffered_bytes == 0)
    return make_error(errc::invalid_argument, "invalid_buffer", "max_buffered_bytes must be > 0");
  return hub_.subscribe(*this, std::move(options));
}

}  // namespace detail

result<std::unique_ptr<event_store>> event_store::open(const store_options& options) {
  return detail::store_impl::open(options);
}

result<repair_report> event_store::repair(const store_options& options, bool dry_run) {
  return detail::store_impl::repair(options, dry_run);
}

namespace {

constexpr std::pair<commit_policy, std::string_view> commit_policy_names[] = {
    {commit_policy::adaptive, "adaptive"},
    {commit_policy::batch, "batch"},
    {commit_policy::overlap, "overlap"}};

}  // namespace

std::string_view commit_policy_name(commit_policy policy) {
  for (auto [known, name] : commit_policy_names)
    if (known == policy) return name;
  return {};
}

std::optional<commit_policy> parse_commit_policy(std::string_view name) {
  for (auto [known, known_name] : commit_policy_names)
    if (known_name == name) return known;
  return std::nullopt;
}

}  // namespace kakehashi
