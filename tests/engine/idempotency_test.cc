// Idempotent appends: a retried append with the same event ids is acknowledged with the original
// positions and writes nothing.
#include <future>
#include <string>
#include <vector>

#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

std::vector<new_event> events_with_ids(const std::vector<uuid>& ids, const std::string& payload) {
  std::vector<new_event> events;
  for (std::size_t i = 0; i < ids.size(); ++i)
    events.push_back(make_event("Ordered", payload + std::to_string(i), ids[i]));
  return events;
}

void check_same_positions(const append_result& original, const append_result& retry) {
  CHECK(retry.duplicate);
  CHECK(retry.first_position == original.first_position);
  CHECK(retry.last_position == original.last_position);
  CHECK(retry.event_ids == original.event_ids);
}

TEST_CASE("idempotent retry returns the original positions and writes nothing") {
  temp_dir dir;
  auto store = open_store(dir);
  must_append(*store, single("other-1", expected_version::any(), make_events(2)));
  const std::vector<uuid> ids = {new_uuid_v7(), new_uuid_v7(), new_uuid_v7()};

  auto original = must_append(
      *store, single("order-1", expected_version::any(), events_with_ids(ids, "{\"n\":")));
  CHECK_FALSE(original.duplicate);
  CHECK(original.first_position == 3);
  CHECK(original.last_position == 5);
  CHECK(original.event_ids == ids);
  must_append(*store, single("other-1", expected_version::any(), make_events(1)));
  const position_t head = store->head_position();
  REQUIRE(head == 6);

  SUBCASE("retry with expectation any") {
    auto retry = must_append(
        *store, single("order-1", expected_version::any(), events_with_ids(ids, "{\"n\":")));
    check_same_positions(original, retry);
  }
  SUBCASE("retry through append_async") {
    std::promise<result<append_result>> done;
    auto future = done.get_future();
    store->append_async(single("order-1", expected_version::any(), events_with_ids(ids, "{\"n\":")),
                        [&done](result<append_result> r) { done.set_value(std::move(r)); });
    auto retry = future.get();
    REQUIRE(retry.ok());
    check_same_positions(original, *retry);
  }
  CHECK(store->head_position() == head);
  CHECK(store->stream_version("order-1") == std::optional<std::uint64_t>(2));
  CHECK(read_stream_all(*store, "order-1").size() == 3);
  CHECK(read_everything(*store).size() == head);
}

TEST_CASE("idempotent retry of an append that expected no stream") {
  // The retry of an append made with no_stream must not fail because the first attempt created
  // the stream: idempotency is decided before the expectation.
  temp_dir dir;
  auto store = open_store(dir);
  const std::vector<uuid> ids = {new_uuid_v7(), new_uuid_v7()};
  auto original = must_append(
      *store, single("order-2", expected_version::no_stream(), events_with_ids(ids, "p")));
  auto retry =
      store->append(single("order-2", expected_version::no_stream(), events_with_ids(ids, "p")));
  if (!retry) FAIL("retry rejected: " << describe(retry.err()));
  check_same_positions(original, *retry);
  CHECK(store->head_position() == 2);
}

TEST_CASE("idempotent retry of a multi-stream append") {
  temp_dir dir;
  auto store = open_store(dir);
  const std::vector<uuid> a = {new_uuid_v7(), new_uuid_v7()};
  const std::vector<uuid> b = {new_uuid_v7()};
  auto request = [&] {
    append_request r;
    r.streams.push_back({"ship-a", expected_version::any(), events_with_ids(a, "a")});
    r.streams.push_back({"ship-b", expected_version::any(), events_with_ids(b, "b")});
    return r;
  };
  auto original = must_append(*store, request());
  auto retry = must_append(*store, request());
  check_same_positions(original, retry);
  CHECK(store->head_position() == 3);
  CHECK(store->stream_version("ship-a") == std::optional<std::uint64_t>(1));
  CHECK(store->stream_version("ship-b") == std::optional<std::uint64_t>(0));
}

TEST_CASE("same event id with a different payload is an idempotency conflict") {
  temp_dir dir;
  auto store = open_store(dir);
  const uuid id = new_uuid_v7();
  must_append(*store, single("order-3", expected_version::any(), make_event("Ordered", "one", id)));
  const position_t head = store->head_position();

  auto clash =
      store->append(single("order-3", expected_version::any(), make_event("Ordered", "two", id)));
  CHECK_FAILS_WITH(clash, errc::conflict, "idempotency_conflict");
  CHECK(store->head_position() == head);
  auto events = read_stream_all(*store, "order-3");
  REQUIRE(events.size() == 1);
  CHECK(events[0]->payload == "one");
}

TEST_CASE("idempotency holds across reopen") {
  temp_dir dir;
  const std::vector<uuid> ids = {new_uuid_v7(), new_uuid_v7()};
  append_result original;
  {
    auto store = open_store(dir);
    must_append(*store, single("order-4", expected_version::any(), make_events(1)));
    original =
        must_append(*store, single("order-4", expected_version::any(), events_with_ids(ids, "x")));
  }
  auto store = open_store(dir);
  REQUIRE(store->head_position() == 3);
  auto retry =
      must_append(*store, single("order-4", expected_version::any(), events_with_ids(ids, "x")));
  check_same_positions(original, retry);
  CHECK(store->head_position() == 3);
  auto clash =
      store->append(single("order-4", expected_version::any(), events_with_ids(ids, "changed")));
  CHECK_FAILS_WITH(clash, errc::conflict, "idempotency_conflict");
  CHECK(store->head_position() == 3);
}

TEST_CASE("events without ids get fresh v7 ids and are never deduplicated") {
  temp_dir dir;
  auto store = open_store(dir);
  auto first = must_append(*store, single("note-1", expected_version::any(), make_events(2)));
  auto second = must_append(*store, single("note-1", expected_version::any(), make_events(2)));
  CHECK_FALSE(second.duplicate);
  CHECK(second.first_position == 3);
  CHECK(store->head_position() == 4);
  REQUIRE(first.event_ids.size() == 2);
  REQUIRE(second.event_ids.size() == 2);
  std::vector<uuid> all = first.event_ids;
  all.insert(all.end(), second.event_ids.begin(), second.event_ids.end());
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK_FALSE(all[i].is_nil());
    CHECK((all[i].bytes[6] >> 4) == 7);
    for (std::size_t j = 0; j < i; ++j)
      CHECK(all[i] != all[j]);
  }
  auto stored = read_everything(*store);
  REQUIRE(stored.size() == 4);
  for (std::size_t i = 0; i < 4; ++i)
    CHECK(stored[i]->id == all[i]);

  // As event_store.h says: only caller-supplied ids are indexed. An assigned id is not found by
  // read_event, and an append that sends it is a new event.
  CHECK_FAILS_WITH(store->read_event(all[0]), errc::not_found, "no_event");
  auto reused = must_append(
      *store, single("note-1", expected_version::any(), make_event("Noted", "{}", all[0])));
  CHECK_FALSE(reused.duplicate);
  CHECK(reused.first_position == 5);
  auto found = store->read_event(all[0]);  // now the caller's id, of the event at position 5
  REQUIRE(found.ok());
  CHECK((*found)->position == 5);
}

TEST_CASE("retries queued right behind their originals are answered as duplicates") {
  // The originals may still be staged but unwritten, or written but unsynced, when their
  // retries are staged (in the same group or a later one): each retry must find its original
  // and nothing may be written twice.
  temp_dir dir;
  auto store = open_store(dir);
  constexpr std::size_t appends = 200;
  std::vector<uuid> ids;
  for (std::size_t i = 0; i < appends; ++i)
    ids.push_back(new_uuid_v7());
  std::vector<std::promise<result<append_result>>> done(2 * appends);
  auto submit = [&](std::size_t slot, std::size_t i) {
    store->append_async(
        single("retry-" + std::to_string(i % 7), expected_version::any(),
               make_event("Ordered", "{\"n\":" + std::to_string(i) + "}", ids[i])),
        [&done, slot](result<append_result> r) { done[slot].set_value(std::move(r)); });
  };
  // Each original is followed closely by its retry, interleaved with other originals.
  for (std::size_t i = 0; i < appends; ++i) {
    submit(2 * i, i);
    if (i >= 3) submit(2 * (i - 3) + 1, i - 3);
  }
  for (std::size_t i = appends - 3; i < appends; ++i)
    submit(2 * i + 1, i);

  for (std::size_t i = 0; i < appends; ++i) {
    CAPTURE(i);
    auto original = done[2 * i].get_future().get();
    auto retry = done[2 * i + 1].get_future().get();
    REQUIRE(original.ok());
    REQUIRE(retry.ok());
    CHECK_FALSE(original->duplicate);
    check_same_positions(*original, *retry);
  }
  CHECK(store->head_position() == appends);
  CHECK(read_everything(*store).size() == appends);
}

}  // namespace
}  // namespace kakehashi::test
