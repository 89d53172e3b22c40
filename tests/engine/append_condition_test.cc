// Conditions on streams an append reads but does not write (event_store.h, stream_condition):
// checked in the same step as the written streams' expected versions, so a decision is never
// appended after a stream it depended on changed.
#include <string>
#include <vector>

#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

// An append of one event to `stream`, valid only while `condition` holds.
append_request conditioned(const std::string& stream, stream_condition condition, uuid id = {}) {
  append_request request = single(stream, expected_version::any(), make_event("Decided", "{}", id));
  request.conditions.push_back(std::move(condition));
  return request;
}

struct condition_row {
  const char* name;
  expected_version expected;
  bool holds;
};

void check_conditions(event_store& store, std::optional<std::uint64_t> read_version,
                      const std::vector<condition_row>& rows) {
  int i = 0;
  for (const auto& row : rows) {
    CAPTURE(row.name);
    const std::string read = "read-" + std::to_string(i);
    const std::string written = "written-" + std::to_string(i++);
    if (read_version)
      must_append(store, single(read, expected_version::no_stream(),
                                make_events(*read_version + 1, "Created")));
    const position_t head = store.head_position();
    auto appended = store.append(conditioned(written, {read, row.expected}));
    if (row.holds) {
      REQUIRE(appended.ok());
      CHECK(appended->first_position == head + 1);
      REQUIRE(appended->streams.size() == 1);  // the condition's stream is not written
      CHECK(appended->streams[0].stream == written);
      CHECK(store.stream_version(written) == std::optional<std::uint64_t>(0));
    } else {
      CHECK_FAILS_WITH(appended, errc::conflict, "wrong_expected_version");
      CHECK(appended.err().field == "conditions");
      CHECK(appended.err().message.find(read) != std::string::npos);
      CHECK(store.head_position() == head);
      CHECK(read_stream_all(store, written).empty());
    }
    CHECK(store.stream_version(read) == read_version);
  }
  CHECK_FALSE(store.writes_failed());
}

TEST_CASE("a condition on a missing stream: the append is written only while it holds") {
  temp_dir dir;
  auto store = open_store(dir);
  check_conditions(*store, std::nullopt,
                   {{"any", expected_version::any(), true},
                    {"no_stream", expected_version::no_stream(), true},
                    {"stream_exists", expected_version::stream_exists(), false},
                    {"exact 0", expected_version::exact(0), false}});
}

TEST_CASE("a condition on an existing stream: the append is written only while it holds") {
  temp_dir dir;
  auto store = open_store(dir);
  check_conditions(*store, 2,
                   {{"any", expected_version::any(), true},
                    {"no_stream", expected_version::no_stream(), false},
                    {"stream_exists", expected_version::stream_exists(), true},
                    {"exact 2", expected_version::exact(2), true},
                    {"exact 1", expected_version::exact(1), false},
                    {"exact 3", expected_version::exact(3), false}});
}

TEST_CASE("one failed condition fails the whole multi-stream append") {
  temp_dir dir;
  auto store = open_store(dir);
  must_append(*store, single("read-a", expected_version::no_stream(), make_events(1, "Created")));
  must_append(*store, single("read-b", expected_version::no_stream(), make_events(1, "Created")));
  const position_t head = store->head_position();
  append_request request;
  request.streams.push_back({"written-a", expected_version::any(), make_events(2, "Decided")});
  request.streams.push_back({"written-b", expected_version::any(), make_events(1, "Decided")});
  request.conditions.push_back({"read-a", expected_version::exact(0)});
  request.conditions.push_back({"read-b", expected_version::exact(1)});
  auto appended = store->append(std::move(request));
  CHECK_FAILS_WITH(appended, errc::conflict, "wrong_expected_version");
  CHECK(appended.err().message.find("read-b") != std::string::npos);
  CHECK(store->head_position() == head);
  CHECK(read_stream_all(*store, "written-a").empty());
  CHECK(read_stream_all(*store, "written-b").empty());
}

TEST_CASE("a condition that repeats a stream, names an invalid one or is one too many is refused") {
  temp_dir dir;
  auto store = open_store(dir);
  const position_t head = store->head_position();
  SUBCASE("a stream the append writes") {
    auto appended = store->append(conditioned("written", {"written", expected_version::any()}));
    CHECK_FAILS_WITH(appended, errc::invalid_argument, "duplicate_stream");
    CHECK(appended.err().field == "conditions");
  }
  SUBCASE("the same stream twice") {
    auto request = conditioned("written", {"read", expected_version::any()});
    request.conditions.push_back({"read", expected_version::no_stream()});
    CHECK_FAILS_WITH(store->append(std::move(request)), errc::invalid_argument, "duplicate_stream");
  }
  SUBCASE("an invalid stream name") {
    auto appended = store->append(conditioned("written", {"no spaces", expected_version::any()}));
    REQUIRE_FALSE(appended.ok());
    CHECK(appended.err().kind == errc::invalid_argument);
  }
  SUBCASE("more conditions than an append may have events") {
    auto request = conditioned("written", {"read-0", expected_version::any()});
    const auto limit = options_for(dir).limits.max_events_per_append;
    for (std::size_t i = 1; i <= limit; ++i)
      request.conditions.push_back({"read-" + std::to_string(i), expected_version::any()});
    CHECK_FAILS_WITH(store->append(std::move(request)), errc::too_large, "too_many_conditions");
  }
  CHECK(store->head_position() == head);
  CHECK(read_stream_all(*store, "written").empty());
}

TEST_CASE("a retry of an append answers the original even once its condition no longer holds") {
  temp_dir dir;
  auto store = open_store(dir);
  const uuid id = new_uuid_v7();
  auto first =
      must_append(*store, conditioned("written", {"read", expected_version::no_stream()}, id));
  must_append(*store, single("read", expected_version::no_stream(), make_events(1, "Created")));
  auto retry = store->append(conditioned("written", {"read", expected_version::no_stream()}, id));
  REQUIRE(retry.ok());
  CHECK(retry->duplicate);
  CHECK(retry->first_position == first.first_position);
  CHECK(store->stream_version("written") == std::optional<std::uint64_t>(0));
}

}  // namespace
}  // namespace kakehashi::test
