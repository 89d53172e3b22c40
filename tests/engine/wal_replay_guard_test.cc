// The WAL replay guard (engine/wal_replay_guard.h), on RocksDB directly: a WAL whose older file
// lost its unsynced tail while the next file kept a record. RocksDB's point-in-time recovery
// replays the kept record past the lost one; with the guard the recovered database is a prefix.
#include "engine/wal_replay_guard.h"

#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/engine/test_support.h"

namespace kakehashi {
namespace {

namespace stdfs = std::filesystem;
using detail::wal_replay_guard;

const std::vector<std::string> family_names = {"default", "x", "y"};
// Indices into family_names: x keeps its memtable (and so the first WAL file) in every test; y
// is flushed to roll the WAL.
constexpr int x = 1;
constexpr int y = 2;

// A database with the families above, closed (without a flush) when it goes.
class raw_db {
 public:
  raw_db(const std::string& path, wal_replay_guard* guard) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
    options.wal_filter = guard;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& name : family_names)
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* db = nullptr;
    auto s = rocksdb::DB::Open(options, path, families, &handles_, &db);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    db_.reset(db);
  }
  ~raw_db() {
    for (auto* handle : handles_)
      db_->DestroyColumnFamilyHandle(handle);
    db_->Close();
  }
  void put(int family, const std::string& key, bool sync = true) {
    rocksdb::WriteOptions write;
    write.sync = sync;
    auto s = db_->Put(write, handles_[family], key, "value");
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  bool has(int family, const std::string& key) {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), handles_[family], key, &value);
    REQUIRE_MESSAGE((s.ok() || s.IsNotFound()), s.ToString());
    return s.ok();
  }
  // Switches every family to a new WAL file by flushing family y (which must hold a write),
  // leaving family x's memtable, and so the old WAL file, in place.
  void roll_wal() {
    auto s = db_->Flush(rocksdb::FlushOptions(), handles_[y]);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  std::uint64_t sequence() const { return db_->GetLatestSequenceNumber(); }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

std::vector<stdfs::path> wal_files(const std::string& dir) {
  std::vector<stdfs::path> found;
  for (const auto& entry : stdfs::directory_iterator(dir))
    if (entry.path().extension() == ".log") found.push_back(entry.path());
  std::sort(found.begin(), found.end());
  return found;
}

// What a power cut can leave: the first WAL file ends after "a" and "e" (synced), its unsynced
// "b" cut at the record boundary; the second file, begun when family y was flushed, holds "c".
// Returns the sequence numbers of "b" and "c".
std::pair<std::uint64_t, std::uint64_t> leave_a_hole(const std::string& dir) {
  std::uint64_t b = 0, c = 0;
  std::uintmax_t cut = 0;
  {
    raw_db db(dir, nullptr);
    db.put(x, "a");
    db.put(y, "e");
    REQUIRE(wal_files(dir).size() == 1);
    cut = stdfs::file_size(wal_files(dir).front());
    db.put(x, "b", false);
    b = db.sequence();
    db.roll_wal();
    db.put(x, "c");
    c = db.sequence();
  }
  auto wals = wal_files(dir);
  REQUIRE(wals.size() == 2);
  stdfs::resize_file(wals.front(), cut);
  return {b, c};
}

TEST_CASE("without the guard, RocksDB's point-in-time recovery replays a write past a lost one") {
  // The premise of the guard: if this starts failing, RocksDB no longer leaves such a hole.
  test::temp_dir dir;
  leave_a_hole(dir.path());
  raw_db db(dir.path(), nullptr);
  CHECK(db.has(x, "a"));
  CHECK_FALSE(db.has(x, "b"));
  CHECK(db.has(x, "c"));
}

TEST_CASE("the WAL replay guard stops recovery at the first missing batch") {
  test::temp_dir dir;
  auto [b, c] = leave_a_hole(dir.path());
  const auto second_wal = wal_files(dir.path()).back().stem().string();
  wal_replay_guard guard;
  {
    raw_db db(dir.path(), &guard);
    CHECK(db.has(x, "a"));
    CHECK(db.has(y, "e"));
    CHECK_FALSE(db.has(x, "b"));
    CHECK_FALSE(db.has(x, "c"));  // the write after the hole is dropped with it
    db.put(x, "d");
  }
  REQUIRE(guard.stopped().has_value());
  CHECK(guard.stopped()->wal_number == std::stoull(second_wal));
  CHECK(guard.stopped()->expected == b);
  CHECK(guard.stopped()->found == c);

  SUBCASE("and the dropped write never comes back") {
    wal_replay_guard again;
    raw_db db(dir.path(), &again);
    CHECK_FALSE(again.stopped().has_value());
    CHECK(db.has(x, "a"));
    CHECK(db.has(x, "d"));
    CHECK_FALSE(db.has(x, "c"));
  }
}

TEST_CASE("the WAL replay guard replays a WAL without holes whole") {
  test::temp_dir dir;
  {
    raw_db db(dir.path(), nullptr);
    db.put(x, "a");
    db.put(x, "b", false);
    db.put(y, "e");
    db.roll_wal();
    db.put(x, "c");
  }
  REQUIRE(wal_files(dir.path()).size() == 2);  // replayed across two files
  wal_replay_guard guard;
  raw_db db(dir.path(), &guard);
  CHECK_FALSE(guard.stopped().has_value());
  CHECK(db.has(x, "a"));
  CHECK(db.has(x, "b"));
  CHECK(db.has(x, "c"));
}

}  // namespace
}  // namespace kakehashi
