// Expected-version checks on append and the atomicity of multi-stream appends.
#include <string>
#include <vector>

#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

struct matrix_row {
  const char* name;
  expected_version expected;
  bool accepted;
};

TEST_CASE("expected version matrix against a missing stream") {
  temp_dir dir;
  auto store = open_store(dir);
  const std::vector<matrix_row> rows = {
      {"any", expected_version::any(), true},
      {"no_stream", expected_version::no_stream(), true},
      {"stream_exists", expected_version::stream_exists(), false},
      {"exact 0", expected_version::exact(0), false},
      {"exact 1", expected_version::exact(1), false},
  };
  int i = 0;
  for (const auto& row : rows) {
    CAPTURE(row.name);
    const std::string stream = "missing-" + std::to_string(i++);
    const position_t head = store->head_position();
    const uuid id = new_uuid_v7();
    auto appended = store->append(single(stream, row.expected, make_event("Created", "{}", id)));
    if (row.accepted) {
      REQUIRE(appended.ok());
      CHECK(appended->first_position == head + 1);
      CHECK(appended->last_position == head + 1);
      REQUIRE(appended->streams.size() == 1);
      CHECK(appended->streams[0].stream == stream);
      CHECK(appended->streams[0].first_version == 0);
      CHECK(appended->streams[0].last_version == 0);
      CHECK_FALSE(appended->duplicate);
      CHECK(store->stream_version(stream) == std::optional<std::uint64_t>(0));
      CHECK(store->head_position() == head + 1);
    } else {
      CHECK_FAILS_WITH(appended, errc::conflict, "wrong_expected_version");
      CHECK(store->head_position() == head);
      CHECK_FALSE(store->stream_version(stream).has_value());
      CHECK(read_stream_all(*store, stream).empty());
      // The rejected event id was not recorded: appending it properly writes a new event.
      auto retry =
          store->append(single(stream, expected_version::any(), make_event("Created", "{}", id)));
      REQUIRE(retry.ok());
      CHECK_FALSE(retry->duplicate);
      CHECK(retry->first_position == head + 1);
    }
  }
  CHECK_FALSE(store->writes_failed());
}

TEST_CASE("expected version matrix against an existing stream") {
  temp_dir dir;
  auto store = open_store(dir);
  // Each row gets its own stream holding three events (last version 2).
  const std::vector<matrix_row> rows = {
      {"any", expected_version::any(), true},
      {"no_stream", expected_version::no_stream(), false},
      {"stream_exists", expected_version::stream_exists(), true},
      {"exact 2", expected_version::exact(2), true},
      {"exact 0", expected_version::exact(0), false},
      {"exact 1", expected_version::exact(1), false},
      {"exact 3", expected_version::exact(3), false},
  };
  int i = 0;
  for (const auto& row : rows) {
    CAPTURE(row.name);
    const std::string stream = "existing-" + std::to_string(i++);
    must_append(*store, single(stream, expected_version::no_stream(), make_events(3, "Created")));
    REQUIRE(store->stream_version(stream) == std::optional<std::uint64_t>(2));
    const position_t head = store->head_position();
    const auto before = read_stream_all(*store, stream);
    REQUIRE(before.size() == 3);

    auto appended = store->append(single(stream, row.expected, make_events(2, "Updated")));
    if (row.accepted) {
      REQUIRE(appended.ok());
      CHECK(appended->first_position == head + 1);
      CHECK(appended->last_position == head + 2);
      REQUIRE(appended->streams.size() == 1);
      CHECK(appended->streams[0].first_version == 3);
      CHECK(appended->streams[0].last_version == 4);
      CHECK(store->stream_version(stream) == std::optional<std::uint64_t>(4));
      CHECK(store->head_position() == head + 2);
      auto after = read_stream_all(*store, stream);
      REQUIRE(after.size() == 5);
      CHECK(after[3]->type == "Updated");
      CHECK(after[4]->version == 4);
    } else {
      CHECK_FAILS_WITH(appended, errc::conflict, "wrong_expected_version");
      CHECK(store->head_position() == head);
      CHECK(store->stream_version(stream) == std::optional<std::uint64_t>(2));
      auto after = read_stream_all(*store, stream);
      REQUIRE(after.size() == 3);
      for (std::size_t k = 0; k < 3; ++k)
        CHECK(after[k]->id == before[k]->id);
    }
  }
  CHECK_FALSE(store->writes_failed());
}

TEST_CASE("expected version exact after several appends tracks the stream head") {
  temp_dir dir;
  auto store = open_store(dir);
  for (std::uint64_t v = 0; v < 10; ++v) {
    auto expected = v == 0 ? expected_version::no_stream() : expected_version::exact(v - 1);
    auto appended = must_append(*store, single("seq-1", expected, make_event("Ticked")));
    CHECK(appended.streams[0].first_version == v);
    // A stale expectation is rejected.
    if (v > 0) {
      auto stale = store->append(single("seq-1", expected, make_event("Ticked")));
      CHECK_FAILS_WITH(stale, errc::conflict, "wrong_expected_version");
    }
  }
  CHECK(store->stream_version("seq-1") == std::optional<std::uint64_t>(9));
  CHECK(store->head_position() == 10);
}

// b holds one event (last version 0), c holds two (last version 1).
void seed_accounts(event_store& store) {
  must_append(store, single("acct-b", expected_version::no_stream(), make_events(1, "Opened")));
  must_append(store, single("acct-c", expected_version::no_stream(), make_events(2, "Opened")));
}

void check_accounts_unchanged(const event_store& store, position_t head) {
  CHECK(store.head_position() == head);
  CHECK_FALSE(store.stream_version("acct-a").has_value());
  CHECK(store.stream_version("acct-b") == std::optional<std::uint64_t>(0));
  CHECK(store.stream_version("acct-c") == std::optional<std::uint64_t>(1));
  CHECK(read_stream_all(store, "acct-a").empty());
  CHECK(read_stream_all(store, "acct-b").size() == 1);
  CHECK(read_stream_all(store, "acct-c").size() == 2);
  CHECK(read_everything(store).size() == head);
}

TEST_CASE("multi-stream append fails as a whole when one expectation fails") {
  temp_dir dir;
  auto store = open_store(dir);
  seed_accounts(*store);
  const position_t head = store->head_position();
  REQUIRE(head == 3);

  SUBCASE("last stream fails") {
    append_request request;
    request.streams.push_back({"acct-a", expected_version::no_stream(), make_events(2, "Moved")});
    request.streams.push_back({"acct-b", expected_version::exact(0), make_events(1, "Moved")});
    request.streams.push_back({"acct-c", expected_version::exact(5), make_events(1, "Moved")});
    CHECK_FAILS_WITH(store->append(std::move(request)), errc::conflict, "wrong_expected_version");
    check_accounts_unchanged(*store, head);
  }
  SUBCASE("first stream fails") {
    append_request request;
    request.streams.push_back(
        {"acct-a", expected_version::stream_exists(), make_events(1, "Moved")});
    request.streams.push_back({"acct-b", expected_version::any(), make_events(1, "Moved")});
    CHECK_FAILS_WITH(store->append(std::move(request)), errc::conflict, "wrong_expected_version");
    check_accounts_unchanged(*store, head);
  }
  SUBCASE("middle stream fails with no_stream on an existing stream") {
    append_request request;
    request.streams.push_back({"acct-a", expected_version::any(), make_events(1, "Moved")});
    request.streams.push_back({"acct-b", expected_version::no_stream(), make_events(1, "Moved")});
    request.streams.push_back({"acct-c", expected_version::exact(1), make_events(1, "Moved")});
    CHECK_FAILS_WITH(store->append(std::move(request)), errc::conflict, "wrong_expected_version");
    check_accounts_unchanged(*store, head);
  }
  CHECK_FALSE(store->writes_failed());
}

TEST_CASE("multi-stream append writes every stream at consecutive positions") {
  temp_dir dir;
  auto store = open_store(dir);
  seed_accounts(*store);
  const position_t head = store->head_position();

  append_request request;
  request.streams.push_back({"acct-a", expected_version::no_stream(), make_events(2, "Moved")});
  request.streams.push_back({"acct-b", expected_version::exact(0), make_events(1, "Moved")});
  request.streams.push_back({"acct-c", expected_version::exact(1), make_events(3, "Moved")});
  auto appended = must_append(*store, std::move(request));

  CHECK(appended.first_position == head + 1);
  CHECK(appended.last_position == head + 6);
  CHECK_FALSE(appended.duplicate);
  REQUIRE(appended.streams.size() == 3);
  CHECK(appended.streams[0].stream == "acct-a");
  CHECK(appended.streams[0].first_version == 0);
  CHECK(appended.streams[0].last_version == 1);
  CHECK(appended.streams[1].stream == "acct-b");
  CHECK(appended.streams[1].first_version == 1);
  CHECK(appended.streams[1].last_version == 1);
  CHECK(appended.streams[2].stream == "acct-c");
  CHECK(appended.streams[2].first_version == 2);
  CHECK(appended.streams[2].last_version == 4);
  REQUIRE(appended.event_ids.size() == 6);

  CHECK(store->head_position() == head + 6);
  CHECK(store->stream_version("acct-a") == std::optional<std::uint64_t>(1));
  CHECK(store->stream_version("acct-b") == std::optional<std::uint64_t>(1));
  CHECK(store->stream_version("acct-c") == std::optional<std::uint64_t>(4));

  // Events are laid out in request order, each id at its position.
  auto all = read_everything(*store);
  REQUIRE(all.size() == head + 6);
  const char* streams[] = {"acct-a", "acct-a", "acct-b", "acct-c", "acct-c", "acct-c"};
  const std::uint64_t versions[] = {0, 1, 1, 2, 3, 4};
  for (std::size_t i = 0; i < 6; ++i) {
    const auto& ev = all[head + i];
    CAPTURE(i);
    CHECK(ev->position == head + 1 + i);
    CHECK(ev->id == appended.event_ids[i]);
    CHECK(ev->stream == streams[i]);
    CHECK(ev->version == versions[i]);
  }
}

TEST_CASE("multi-stream append naming the same stream twice is rejected") {
  temp_dir dir;
  auto store = open_store(dir);
  seed_accounts(*store);
  const position_t head = store->head_position();

  SUBCASE("adjacent") {
    append_request request;
    request.streams.push_back({"acct-a", expected_version::any(), make_events(1, "Moved")});
    request.streams.push_back({"acct-a", expected_version::any(), make_events(1, "Moved")});
    auto appended = store->append(std::move(request));
    REQUIRE_FALSE(appended.ok());
    CHECK(appended.err().kind == errc::invalid_argument);
  }
  SUBCASE("separated, existing stream") {
    append_request request;
    request.streams.push_back({"acct-b", expected_version::exact(0), make_events(1, "Moved")});
    request.streams.push_back({"acct-a", expected_version::any(), make_events(1, "Moved")});
    request.streams.push_back({"acct-b", expected_version::exact(1), make_events(1, "Moved")});
    auto appended = store->append(std::move(request));
    REQUIRE_FALSE(appended.ok());
    CHECK(appended.err().kind == errc::invalid_argument);
  }
  check_accounts_unchanged(*store, head);
}

}  // namespace
}  // namespace kakehashi::test
