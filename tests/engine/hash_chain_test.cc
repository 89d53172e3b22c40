// The hash chain: verify() on an intact log, and tampering found by verify() and by open.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "engine/record_codec.h"
#include "tests/engine/disk_support.h"

namespace kakehashi::test {
namespace {

TEST_CASE("verify passes on an empty and on a fresh log and hashes link") {
  temp_dir dir;
  auto store = open_store(dir);
  auto empty = store->verify();
  CHECK(empty.ok);
  CHECK(empty.checked == 0);
  CHECK(empty.first_bad_position == 0);

  for (int i = 0; i < 10; ++i)
    must_append(*store, single("chain-" + std::to_string(i % 3), expected_version::any(),
                               make_events(static_cast<std::size_t>(1 + i % 4), "Linked",
                                           "payload " + std::to_string(i))));
  const position_t head = store->head_position();
  auto report = store->verify();
  CHECK(report.ok);
  CHECK(report.checked == head);
  CHECK(report.first_bad_position == 0);

  auto all = read_everything(*store);
  REQUIRE(all.size() == head);
  CHECK(all[0]->prev_hash == hash256{});
  std::set<hash256> distinct;
  for (std::size_t i = 0; i < all.size(); ++i) {
    CAPTURE(i);
    CHECK(all[i]->hash != hash256{});
    if (i > 0) CHECK(all[i]->prev_hash == all[i - 1]->hash);
    distinct.insert(all[i]->hash);
  }
  CHECK(distinct.size() == all.size());
}

constexpr const char* marker = "TAMPER-ME-0123456789";

// Flips one byte of the payload stored at `position`, opening RocksDB directly.
void flip_payload_byte(const std::string& db_path, position_t position) {
  raw_db raw(db_path);
  for (const char* cf : {"default", "log", "streams", "dedupe", "keys", "proj", "meta"}) {
    CAPTURE(cf);
    CHECK(std::find(raw.names.begin(), raw.names.end(), cf) != raw.names.end());
  }
  auto value = raw.get("log", big_endian(position));
  REQUIRE(value);
  const auto at = value->find(marker);
  REQUIRE_MESSAGE(at != std::string::npos, "payload marker not found in the stored record");
  CHECK(value->find(marker, at + 1) == std::string::npos);
  (*value)[at + 12] = static_cast<char>((*value)[at + 12] ^ 0x01);  // a digit in the middle
  raw.put("log", big_endian(position), *value);
}

// Writes `total` events, the one at `target` carrying the marker, then tampers with it.
void write_and_tamper(const temp_dir& dir, position_t total, position_t target) {
  {
    auto store = open_store(dir);
    for (position_t p = 1; p <= total; ++p) {
      std::string payload = p == target ? std::string("{\"note\":\"") + marker + "\"}"
                                        : "{\"n\":" + std::to_string(p) + "}";
      must_append(*store, single("audit-" + std::to_string(p % 3), expected_version::any(),
                                 make_event("Audited", payload)));
    }
    REQUIRE(store->head_position() == total);
    REQUIRE(store->verify().ok);
  }
  flip_payload_byte(dir.db_path(), target);
}

void check_tamper_found(const temp_dir& dir, position_t total, position_t target) {
  // Open without verifying the tail: open succeeds, verify names the record.
  {
    store_options options = options_for(dir);
    options.verify_tail_on_open = 0;
    auto store = open_store(options);
    CHECK(store->head_position() == total);
    auto report = store->verify();
    CHECK_FALSE(report.ok);
    CHECK(report.first_bad_position == target);
    CHECK(report.checked == target - 1);
    CHECK_FALSE(report.problem.empty());
  }
  // The default open verifies the last 1024 records, which include the target: it refuses.
  {
    auto opened = event_store::open(options_for(dir));
    REQUIRE_FALSE(opened.ok());
    INFO("error: " << describe(opened.err()));
    CHECK(opened.err().kind == errc::corruption);
  }
}

TEST_CASE("a tampered record in the middle is found by verify and refused on open") {
  temp_dir dir;
  write_and_tamper(dir, 40, 17);
  check_tamper_found(dir, 40, 17);
}

TEST_CASE("a tampered last record is found by verify and refused on open") {
  temp_dir dir;
  write_and_tamper(dir, 25, 25);
  check_tamper_found(dir, 25, 25);
}

TEST_CASE("a tampered first record is found by verify and refused on open") {
  temp_dir dir;
  write_and_tamper(dir, 12, 1);
  check_tamper_found(dir, 12, 1);
}

TEST_CASE("a record that links and hashes but claims another position is found at its own") {
  temp_dir dir;
  std::vector<event_ptr> events;
  {
    auto store = open_store(dir);
    for (int i = 0; i < 5; ++i)
      must_append(*store, single("moved-" + std::to_string(i), expected_version::any(),
                                 make_event("Moved", "{\"n\":" + std::to_string(i) + "}")));
    events = read_everything(*store);
    REQUIRE(events.size() == 5);
  }
  // Position 3 rewritten as a record of position 9 that links to position 2 with a true hash:
  // only the position it claims gives it away.
  const recorded_event& original = *events[2];
  new_event e;
  e.id = original.id;
  e.type = original.type;
  e.payload = original.payload;
  detail::record_header header{original.id, original.stream, original.version, 9,
                               original.recorded_at};
  hash256 hash;
  const std::string forged = detail::encode_record(e, header, events[1]->hash, hash);
  {
    raw_db raw(dir.db_path());
    raw.put("log", big_endian(3), forged);
  }
  store_options options = options_for(dir);
  options.verify_tail_on_open = 0;
  auto store = open_store(options);
  auto report = store->verify();
  CHECK_FALSE(report.ok);
  CHECK(report.first_bad_position == 3);
  CHECK(report.checked == 2);
  CHECK(report.problem == "record claims position 9 but is stored at 3");
}

}  // namespace
}  // namespace kakehashi::test
