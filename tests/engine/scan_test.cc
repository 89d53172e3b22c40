// scan with read-ahead (RocksDB iterated on a helper thread, records decoded on the caller's):
// it must visit exactly what the single-threaded scan visits, in order, on the calling thread,
// stop when asked, stop at the head it saw when called, and end on the same read or decode
// error after the same events.
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/engine/disk_support.h"

namespace kakehashi::test {
namespace {

scan_options inline_only() {
  scan_options options;
  options.read_ahead_from = 0;
  return options;
}

// Read-ahead from the first event on, in batches of `batch_bytes`.
scan_options ahead(std::size_t batch_bytes, std::size_t batches = 2) {
  scan_options options;
  options.read_ahead_from = 1;
  options.batch_bytes = batch_bytes;
  options.batches = batches;
  return options;
}

std::string random_payload(std::mt19937_64& rng, std::size_t bytes) {
  std::string out(bytes, '\0');
  for (auto& c : out)
    c = static_cast<char>('a' + rng() % 26);
  return out;
}

// Events with payloads from 0 to ~6 KiB, so some records are larger than a small batch.
void fill(event_store& store, int appends) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < appends; ++i) {
    std::vector<new_event> events;
    for (int k = 0; k < 1 + i % 5; ++k)
      events.push_back(make_event("Noted" + std::to_string(i % 4),
                                  random_payload(rng, i % 17 == 0 ? 6000 : rng() % 400)));
    must_append(
        store, single("scan-" + std::to_string(i % 6), expected_version::any(), std::move(events)));
  }
}

struct outcome {
  std::vector<recorded_event> events;
  status result;
};

outcome scan_all(const event_store& store, position_t from, const scan_options& options,
                 std::size_t stop_after = ~std::size_t{0}) {
  outcome out;
  const auto caller = std::this_thread::get_id();
  out.result = store.scan(
      from,
      [&](const recorded_event& e) {
        CHECK(std::this_thread::get_id() == caller);
        out.events.push_back(e);
        return out.events.size() < stop_after;
      },
      options);
  return out;
}

void check_same(const std::vector<recorded_event>& got, const std::vector<recorded_event>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    check_same_event(got[i], want[i]);
  }
}

TEST_CASE("scan with read-ahead visits what a single-threaded scan visits, in order") {
  temp_dir dir;
  auto store = open_store(dir);
  fill(*store, 300);
  const position_t head = store->head_position();
  REQUIRE(head > 800);

  for (position_t from : {position_t{0}, position_t{1}, position_t{17}, head - 1, head}) {
    auto want = scan_all(*store, from, inline_only());
    REQUIRE(want.result.ok());
    REQUIRE(want.events.size() == head - std::max<position_t>(from, 1) + 1);
    for (std::size_t i = 0; i < want.events.size(); ++i)
      REQUIRE(want.events[i].position == std::max<position_t>(from, 1) + i);
    // One record per batch (smaller than any record), a few per batch, all in one, and the
    // defaults (which read ahead from 16384 events on, so inline here).
    for (auto options : {ahead(8), ahead(1024), ahead(4096, 5), ahead(64 << 20), scan_options{}}) {
      INFO("from " << from << ", batch " << options.batch_bytes << " x " << options.batches);
      auto got = scan_all(*store, from, options);
      REQUIRE(got.result.ok());
      check_same(got.events, want.events);
    }
  }
  // Past the head: nothing, in either mode.
  CHECK(scan_all(*store, head + 1, ahead(1024)).events.empty());
  CHECK(scan_all(*store, head + 1, inline_only()).events.empty());
}

TEST_CASE("scan with read-ahead stops when visit says so, and the store scans on afterwards") {
  temp_dir dir;
  auto store = open_store(dir);
  fill(*store, 200);
  const position_t head = store->head_position();
  for (std::size_t stop_after : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{50},
                                 static_cast<std::size_t>(head - 1)}) {
    for (auto options : {ahead(8), ahead(1024), ahead(1 << 20, 3)}) {
      INFO("stop after " << stop_after << ", batch " << options.batch_bytes);
      auto got = scan_all(*store, 1, options, stop_after);
      REQUIRE(got.result.ok());
      REQUIRE(got.events.size() == stop_after);
      CHECK(got.events.back().position == stop_after);
    }
  }
  CHECK(scan_all(*store, 1, ahead(1024)).events.size() == head);
}

TEST_CASE("scan with read-ahead ends at the head it saw when called") {
  temp_dir dir;
  auto store = open_store(dir);
  fill(*store, 100);
  const position_t head = store->head_position();
  std::size_t seen = 0;
  bool appended = false;
  auto scanned = store->scan(
      1,
      [&](const recorded_event&) {
        if (!appended) {  // durable and visible before the scan has read much
          must_append(*store, single("late", expected_version::any(), make_events(50)));
          appended = true;
        }
        ++seen;
        return true;
      },
      ahead(1024));
  REQUIRE(scanned.ok());
  CHECK(store->head_position() == head + 50);
  CHECK(seen == head);
}

TEST_CASE("scan refuses read-ahead options out of their limits") {
  temp_dir dir;
  auto store = open_store(dir);
  fill(*store, 3);
  auto bad = [](std::size_t batch_bytes, std::size_t batches) {
    return ahead(batch_bytes, batches);
  };
  for (auto options : {bad(0, 2), bad(scan_options::max_batch_bytes + 1, 2), bad(1024, 1),
                       bad(1024, 0), bad(1024, scan_options::max_batches + 1)}) {
    std::size_t visited = 0;
    auto scanned = store->scan(
        1, [&](const recorded_event&) { return ++visited, true; }, options);
    CHECK_FAILS_WITH(scanned, errc::invalid_argument, "invalid_scan_options");
    CHECK(visited == 0);
    // The same sizes mean nothing without read-ahead.
    options.read_ahead_from = 0;
    CHECK(store
              ->scan(
                  1, [](const recorded_event&) { return true; }, options)
              .ok());
  }
  CHECK(store
            ->scan(
                1, [](const recorded_event&) { return true; }, bad(1, 2))
            .ok());
  CHECK(store
            ->scan(
                1, [](const recorded_event&) { return true; },
                bad(scan_options::max_batch_bytes, scan_options::max_batches))
            .ok());
}

void check_same_failure(const event_store& store, errc kind, const std::string& code,
                        position_t last_good) {
  auto want = scan_all(store, 1, inline_only());
  REQUIRE_FALSE(want.result.ok());
  INFO("inline: " << describe(want.result.err()));
  CHECK(want.result.err().kind == kind);
  CHECK(want.result.err().code == code);
  REQUIRE(want.events.size() == last_good);
  for (auto options : {ahead(8), ahead(1024), ahead(64 << 10, 4)}) {
    INFO("batch " << options.batch_bytes);
    auto got = scan_all(store, 1, options);
    REQUIRE_FALSE(got.result.ok());
    CHECK(got.result.err().kind == want.result.err().kind);
    CHECK(got.result.err().code == want.result.err().code);
    check_same(got.events, want.events);
  }
}

TEST_CASE("scan with read-ahead ends on a record that does not decode as the inline scan does") {
  temp_dir dir;
  {
    auto store = open_store(dir);
    fill(*store, 100);
  }
  const position_t bad = 123;
  {
    raw_db raw(dir.db_path());
    raw.put("log", big_endian(bad), std::string(24, '\x7f'));
  }
  store_options options = options_for(dir);
  options.verify_tail_on_open = 0;
  auto store = open_store(options);
  check_same_failure(*store, errc::corruption, "bad_record", bad - 1);
}

TEST_CASE("scan with read-ahead ends on a read error as the inline scan does") {
  temp_dir dir;
  {
    auto store = open_store(dir);
    fill(*store, 400);  // about 500 KiB of records: many 32 KiB blocks in the log's table
  }
  // Move the log into a table file and damage a byte in the middle of its data blocks, so
  // reading that block fails its checksum.
  std::string table;
  std::uint64_t table_bytes = 0;
  {
    raw_db raw(dir.db_path());
    REQUIRE(raw.db->Flush(rocksdb::FlushOptions(), raw.family("log")).ok());
    REQUIRE(
        raw.db->CompactRange(rocksdb::CompactRangeOptions(), raw.family("log"), nullptr, nullptr)
            .ok());
    std::vector<rocksdb::LiveFileMetaData> files;
    raw.db->GetLiveFilesMetaData(&files);
    for (const auto& f : files)
      if (f.column_family_name == "log") {
        REQUIRE(table.empty());  // compacted into one
        table = f.db_path + f.name;
        table_bytes = f.size;
      }
  }
  REQUIRE_FALSE(table.empty());
  REQUIRE(table_bytes > 200 * 1024);
  {
    std::fstream file(table, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(file.good());
    file.seekg(static_cast<std::streamoff>(table_bytes / 3));
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x5a);
    file.seekp(static_cast<std::streamoff>(table_bytes / 3));
    file.write(&byte, 1);
    REQUIRE(file.good());
  }
  store_options options = options_for(dir);
  options.verify_tail_on_open = 0;
  auto store = open_store(options);
  auto inline_scan = scan_all(*store, 1, inline_only());
  REQUIRE_FALSE(inline_scan.result.ok());
  // Some events come before the damaged block, and not all of them.
  CHECK(inline_scan.events.size() > 10);
  CHECK(inline_scan.events.size() < store->head_position() - 10);
  check_same_failure(*store, inline_scan.result.err().kind, inline_scan.result.err().code,
                     inline_scan.events.size());
}

}  // namespace
}  // namespace kakehashi::test
