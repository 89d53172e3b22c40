// Closing and reopening the store keeps everything; appends continue where they stopped.
#include <map>
#include <string>
#include <vector>

#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

void write_history(event_store& store) {
  for (int round = 0; round < 5; ++round) {
    for (const char* stream : {"case-1", "case-2", "ledger"}) {
      std::vector<new_event> events;
      for (int k = 0; k <= round % 3; ++k) {
        new_event ev = make_event("Recorded", std::string(stream) + ":" + std::to_string(round));
        ev.schema_version = static_cast<std::uint16_t>(1 + k);
        ev.occurred_at = 1'700'000'000'000'000 + round * 1000 + k;
        ev.who = actor{"user-" + std::to_string(round), "coordinator", k ? "someone" : ""};
        ev.correlation_id = new_uuid_v7();
        if (k) ev.causation_id = new_uuid_v7();
        ev.payload.push_back('\0');  // payloads are binary-safe
        ev.payload += std::string(static_cast<std::size_t>(round) * 50, 'x');
        events.push_back(std::move(ev));
      }
      must_append(store, single(stream, expected_version::any(), std::move(events)));
    }
  }
}

TEST_CASE("reopen preserves head, versions, events, payloads and hashes") {
  temp_dir dir;
  std::vector<event_ptr> before;
  position_t head = 0;
  std::map<std::string, std::optional<std::uint64_t>> versions;
  {
    auto store = open_store(dir);
    write_history(*store);
    before = read_everything(*store);
    head = store->head_position();
    for (const char* s : {"case-1", "case-2", "ledger", "never"})
      versions[s] = store->stream_version(s);
    REQUIRE(head == before.size());
    REQUIRE(head > 20);
  }  // the store closes here

  auto store = open_store(dir);
  CHECK(store->head_position() == head);
  for (const auto& [stream, version] : versions) {
    CAPTURE(stream);
    CHECK(store->stream_version(stream) == version);
  }
  auto after = read_everything(*store);
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < after.size(); ++i)
    check_same_event(*before[i], *after[i]);

  auto stream_events = read_stream_all(*store, "ledger");
  REQUIRE(stream_events.size() == *versions["ledger"] + 1);
  for (std::size_t v = 0; v < stream_events.size(); ++v)
    CHECK(stream_events[v]->version == v);

  // Appends continue with the next position and the next version.
  auto appended = must_append(
      *store, single("ledger", expected_version::exact(*versions["ledger"]), make_events(2)));
  CHECK(appended.first_position == head + 1);
  CHECK(appended.last_position == head + 2);
  CHECK(appended.streams[0].first_version == *versions["ledger"] + 1);
  auto fresh = must_append(*store, single("never", expected_version::no_stream(), make_events(1)));
  CHECK(fresh.first_position == head + 3);
  CHECK(fresh.streams[0].first_version == 0);
  // The chain continues across the reopen.
  auto tail = read_everything(*store);
  REQUIRE(tail.size() == head + 3);
  CHECK(tail[head]->prev_hash == before.back()->hash);
  auto report = store->verify();
  CHECK(report.ok);
  CHECK(report.checked == head + 3);
  CHECK_FALSE(store->writes_failed());
}

TEST_CASE("an empty store reopens empty and starts at position 1") {
  temp_dir dir;
  {
    auto store = open_store(dir);
    CHECK(store->head_position() == 0);
  }
  auto store = open_store(dir);
  CHECK(store->head_position() == 0);
  CHECK_FALSE(store->stream_version("any-1").has_value());
  auto appended =
      must_append(*store, single("any-1", expected_version::no_stream(), make_events(1)));
  CHECK(appended.first_position == 1);
  auto events = read_everything(*store);
  REQUIRE(events.size() == 1);
  CHECK(events[0]->prev_hash == hash256{});
}

TEST_CASE("several reopen cycles keep positions gap-free") {
  temp_dir dir;
  position_t expected_head = 0;
  for (int cycle = 0; cycle < 4; ++cycle) {
    auto store = open_store(dir);
    REQUIRE(store->head_position() == expected_head);
    auto appended =
        must_append(*store, single("cycle-" + std::to_string(cycle % 2), expected_version::any(),
                                   make_events(static_cast<std::size_t>(cycle) + 1)));
    CHECK(appended.first_position == expected_head + 1);
    expected_head += static_cast<std::size_t>(cycle) + 1;
    CHECK(store->head_position() == expected_head);
  }
  auto store = open_store(dir);
  auto all = read_everything(*store);
  REQUIRE(all.size() == expected_head);
  for (std::size_t i = 0; i < all.size(); ++i)
    CHECK(all[i]->position == i + 1);
  CHECK(store->stream_version("cycle-0") == std::optional<std::uint64_t>(1 + 3 - 1));
  CHECK(store->stream_version("cycle-1") == std::optional<std::uint64_t>(2 + 4 - 1));
}

TEST_CASE("writes_failed stays false in normal operation") {
  temp_dir dir;
  auto store = open_store(dir);
  CHECK_FALSE(store->writes_failed());
  must_append(*store, single("ok-1", expected_version::any(), make_events(3)));
  CHECK_FALSE(store->writes_failed());
  // Rejected appends are not write failures, and the store keeps accepting appends.
  auto rejected = store->append(single("ok-1", expected_version::no_stream(), make_events(1)));
  CHECK_FALSE(rejected.ok());
  auto invalid = store->append(single("bad name", expected_version::any(), make_events(1)));
  CHECK_FALSE(invalid.ok());
  CHECK_FALSE(store->writes_failed());
  must_append(*store, single("ok-1", expected_version::exact(2), make_events(1)));
  CHECK_FALSE(store->writes_failed());
}

TEST_CASE("a read-only store reads what the writer committed") {
  temp_dir dir;
  {
    auto store = open_store(dir);
    must_append(*store, single("ro-1", expected_version::any(), make_events(4)));
  }
  store_options options = options_for(dir);
  options.read_only = true;
  options.create_if_missing = false;
  auto store = open_store(options);
  CHECK(store->head_position() == 4);
  CHECK(read_everything(*store).size() == 4);
  CHECK(store->stream_version("ro-1") == std::optional<std::uint64_t>(3));
  CHECK(store->verify().ok);
  // It never writes.
  auto appended = store->append(single("ro-1", expected_version::any(), make_events(1)));
  CHECK_FALSE(appended.ok());
  CHECK(store->head_position() == 4);
}

TEST_CASE("opening a missing directory without create_if_missing fails") {
  temp_dir dir;
  store_options options = options_for(dir);
  options.create_if_missing = false;
  auto opened = event_store::open(options);
  CHECK_FALSE(opened.ok());
}

}  // namespace
}  // namespace kakehashi::test
