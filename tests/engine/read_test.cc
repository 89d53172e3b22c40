// Reads: read_stream forward/backward, read_all with filters and limits, scan, and the fields of a
// recorded event.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <future>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/fault_injection.h"
#include "events/names.h"
#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

std::vector<std::uint64_t> versions_of(const std::vector<event_ptr>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& ev : events)
    out.push_back(ev->version);
  return out;
}

std::vector<position_t> positions_of(const std::vector<event_ptr>& events) {
  std::vector<position_t> out;
  for (const auto& ev : events)
    out.push_back(ev->position);
  return out;
}

TEST_CASE("read_stream forward and backward with from_version and limit") {
  temp_dir dir;
  auto store = open_store(dir);
  for (int v = 0; v < 10; ++v) {
    must_append(*store, single("long-1", expected_version::any(),
                               make_event("Step", "step " + std::to_string(v))));
    must_append(*store, single("noise-1", expected_version::any(), make_event("Noise")));
  }
  using V = std::vector<std::uint64_t>;
  auto read = [&](std::uint64_t from, read_direction dir_, std::size_t limit) {
    auto r = store->read_stream("long-1", from, dir_, limit);
    if (!r) FAIL("read_stream: " << describe(r.err()));
    for (const auto& ev : *r)
      CHECK(ev->stream == "long-1");
    return std::move(r).value();
  };
  const auto fwd = read_direction::forward;
  const auto bwd = read_direction::backward;
  const auto last = std::numeric_limits<std::uint64_t>::max();

  auto all = read(0, fwd, 100);
  CHECK(versions_of(all) == V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  for (std::size_t v = 0; v < all.size(); ++v) {
    CHECK(all[v]->payload == "step " + std::to_string(v));
    CHECK(all[v]->position == 2 * v + 1);
  }
  CHECK(versions_of(read(3, fwd, 4)) == V{3, 4, 5, 6});
  CHECK(versions_of(read(8, fwd, 100)) == V{8, 9});
  CHECK(read(10, fwd, 100).empty());
  CHECK(versions_of(read(0, fwd, 1)) == V{0});
  CHECK(versions_of(read(last, bwd, 3)) == V{9, 8, 7});
  CHECK(versions_of(read(last, bwd, 100)) == V{9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  CHECK(versions_of(read(5, bwd, 100)) == V{5, 4, 3, 2, 1, 0});
  CHECK(versions_of(read(5, bwd, 2)) == V{5, 4});
  CHECK(versions_of(read(0, bwd, 10)) == V{0});
}

TEST_CASE("read_stream skips a stream's written but unacknowledged tail, backward as forward") {
  temp_dir dir;
  auto faults = fault_injector::create(3);
  auto options = options_for(dir);
  options.faults = faults;
  auto store = open_store(options);
  for (int v = 0; v < 3; ++v)
    must_append(*store, single("tail-1", expected_version::any(), make_event("Step")));
  const position_t head = store->head_position();
  using V = std::vector<std::uint64_t>;
  auto check_committed_only = [&] {
    CHECK(store->head_position() == head);
    const auto last = std::numeric_limits<std::uint64_t>::max();
    for (auto [from, direction, limit, expected] :
         {std::tuple{last, read_direction::backward, std::size_t{2}, V{2, 1}},
          std::tuple{last, read_direction::backward, std::size_t{100}, V{2, 1, 0}},
          std::tuple{std::uint64_t{4}, read_direction::backward, std::size_t{100}, V{2, 1, 0}},
          std::tuple{std::uint64_t{0}, read_direction::forward, std::size_t{100}, V{0, 1, 2}},
          std::tuple{std::uint64_t{1}, read_direction::forward, std::size_t{3}, V{1, 2}}}) {
      CAPTURE(from);
      CAPTURE(limit);
      auto read = store->read_stream("tail-1", from, direction, limit);
      REQUIRE(read.ok());
      CHECK(versions_of(*read) == expected);
    }
  };
  std::promise<result<append_result>> tail;
  auto tail_done = tail.get_future();
  auto append_tail = [&] {
    store->append_async(single("tail-1", expected_version::any(), make_events(3)),
                        [&](result<append_result> r) { tail.set_value(std::move(r)); });
  };

  SUBCASE("written, its sync not yet returned") {
    faults->hold_next_sync(fault_file::wal);
    append_tail();
    REQUIRE(faults->wait_for_held_sync(std::chrono::seconds(60)));
    check_committed_only();
    faults->release_held();
    REQUIRE(tail_done.get().ok());
    CHECK(versions_of(read_stream_all(*store, "tail-1")) == V{0, 1, 2, 3, 4, 5});
    auto backward = store->read_stream("tail-1", std::numeric_limits<std::uint64_t>::max(),
                                       read_direction::backward, 2);
    REQUIRE(backward.ok());
    CHECK(versions_of(*backward) == V{5, 4});
  }
  SUBCASE("written, its sync failed") {
    faults->add_rule({fault_op::sync, fault_file::wal, fault_error::io_error, 0, 1});
    append_tail();
    CHECK_FALSE(tail_done.get().ok());
    faults->clear_faults();
    check_committed_only();
  }
}

TEST_CASE("read_stream of a missing stream returns nothing") {
  temp_dir dir;
  auto store = open_store(dir);
  must_append(*store, single("here-1", expected_version::any(), make_events(2)));
  auto r = store->read_stream("absent-1", 0, read_direction::forward, 10);
  if (r) {
    CHECK(r->empty());
  } else {
    CHECK(r.err().kind == errc::not_found);
  }
  // A stream whose name is a prefix of another does not see the other's events.
  must_append(*store, single("here-10", expected_version::any(), make_events(3)));
  CHECK(read_stream_all(*store, "here-1").size() == 2);
  CHECK(read_stream_all(*store, "here-10").size() == 3);
}

// (stream, type) in position order; "xx-1" shares a prefix with category "x" but is not in it.
// (A stream named exactly like its category is covered by its own test below.)
const std::vector<std::pair<std::string, std::string>> mixed_log = {
    {"x-1", "A"},  {"x-1", "B"}, {"y-1", "A"}, {"x-2", "A"}, {"y-1", "B"}, {"x-2", "B"},
    {"xx-1", "A"}, {"x-3", "B"}, {"y-2", "A"}, {"y-2", "A"}, {"x-1", "C"}, {"y-1", "C"},
};

void write_mixed(event_store& store) {
  for (const auto& [stream, type] : mixed_log)
    must_append(store, single(stream, expected_version::any(), make_event(type, stream + type)));
}

std::vector<position_t> expected_positions(const std::string& category, const std::string& stream,
                                           const std::vector<std::string>& types) {
  std::vector<position_t> out;
  for (std::size_t i = 0; i < mixed_log.size(); ++i) {
    const auto& [s, t] = mixed_log[i];
    if (!category.empty() && category_of(s) != category) continue;
    if (!stream.empty() && s != stream) continue;
    if (!types.empty() && std::find(types.begin(), types.end(), t) == types.end()) continue;
    out.push_back(i + 1);
  }
  return out;
}

event_filter parse_filter(std::string_view selector, std::vector<std::string> types = {}) {
  auto parsed = event_filter::parse(selector, std::move(types));
  if (!parsed) FAIL("parse(" << std::string(selector) << "): " << describe(parsed.err()));
  return std::move(parsed).value();
}

TEST_CASE("read_all with category, stream and type filters") {
  temp_dir dir;
  auto store = open_store(dir);
  write_mixed(*store);
  REQUIRE(store->head_position() == mixed_log.size());

  struct row {
    const char* selector;
    std::vector<std::string> types;
    std::string category, stream;
  };
  const std::vector<row> rows = {
      {"$all", {}, "", ""},      {"$ce-x", {}, "x", ""},       {"$ce-y", {}, "y", ""},
      {"$ce-xx", {}, "xx", ""},  {"$ce-z", {}, "z", ""},       {"x-1", {}, "", "x-1"},
      {"$all", {"B"}, "", ""},   {"$all", {"B", "C"}, "", ""}, {"$ce-x", {"A"}, "x", ""},
      {"y-1", {"C"}, "", "y-1"},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.selector));
    CAPTURE(r.types.size());
    auto filter = parse_filter(r.selector, r.types);
    auto want = expected_positions(r.category, r.stream, r.types);
    // One big page and pages of two must both see exactly the matching events.
    auto page = store->read_all(1, 1000, filter);
    REQUIRE(page.ok());
    CHECK(positions_of(page->events) == want);
    CHECK(page->end_of_log);
    CHECK(page->next_position == store->head_position() + 1);
    CHECK(positions_of(read_everything(*store, filter, 2)) == want);
  }
}

TEST_CASE("read_all limits, paging and max_scan") {
  temp_dir dir;
  auto store = open_store(dir);
  write_mixed(*store);
  const position_t head = store->head_position();
  const event_filter all;
  using P = std::vector<position_t>;

  auto first = store->read_all(1, 3, all);
  REQUIRE(first.ok());
  CHECK(positions_of(first->events) == P{1, 2, 3});
  CHECK(first->next_position == 4);
  CHECK_FALSE(first->end_of_log);

  auto middle = store->read_all(5, 2, all);
  REQUIRE(middle.ok());
  CHECK(positions_of(middle->events) == P{5, 6});
  CHECK(middle->next_position == 7);

  auto tail = store->read_all(head - 1, 10, all);
  REQUIRE(tail.ok());
  CHECK(positions_of(tail->events) == P{head - 1, head});
  CHECK(tail->end_of_log);
  CHECK(tail->next_position == head + 1);

  auto beyond = store->read_all(head + 1, 10, all);
  REQUIRE(beyond.ok());
  CHECK(beyond->events.empty());
  CHECK(beyond->end_of_log);

  // A filtered page stops at the limit; continuing from next_position loses nothing.
  auto ce_x = parse_filter("$ce-x");
  auto want = expected_positions("x", "", {});
  auto part = store->read_all(1, 2, ce_x);
  REQUIRE(part.ok());
  CHECK(positions_of(part->events) == P{want[0], want[1]});
  CHECK(part->next_position > want[1]);
  CHECK(part->next_position <= want[2]);
  CHECK_FALSE(part->end_of_log);
  auto rest = store->read_all(part->next_position, 100, ce_x);
  REQUIRE(rest.ok());
  CHECK(positions_of(rest->events) == P(want.begin() + 2, want.end()));

  // A filter matching nothing examines at most max_scan positions per call, yet progresses.
  auto none = parse_filter("$all", {"Nothing"});
  auto sparse = store->read_all(1, 10, none, 4);
  REQUIRE(sparse.ok());
  CHECK(sparse->events.empty());
  CHECK(sparse->next_position > 1);
  CHECK(sparse->next_position <= 5);
  CHECK_FALSE(sparse->end_of_log);
  position_t from = 1;
  int calls = 0;
  for (; calls < 100; ++calls) {
    auto step = store->read_all(from, 10, none, 4);
    REQUIRE(step.ok());
    CHECK(step->events.empty());
    if (step->end_of_log) break;
    REQUIRE(step->next_position > from);
    from = step->next_position;
  }
  CHECK(calls >= 2);  // 12 positions need at least three calls of 4
  CHECK(calls < 100);
}

TEST_CASE("event_filter parse and matches") {
  auto all = parse_filter("$all");
  CHECK(all.kind == event_filter::scope::all);
  CHECK(all.matches("anything-1", "Any"));

  auto ce = parse_filter("$ce-need");
  CHECK(ce.kind == event_filter::scope::category);
  CHECK(ce.name == "need");
  CHECK(ce.matches("need-1", "Created"));
  CHECK(ce.matches("need-a-b", "Created"));
  CHECK_FALSE(ce.matches("needle-1", "Created"));
  CHECK_FALSE(ce.matches("other-need-1", "Created"));

  auto stream = parse_filter("need-1");
  CHECK(stream.kind == event_filter::scope::stream);
  CHECK(stream.name == "need-1");
  CHECK(stream.matches("need-1", "Created"));
  CHECK_FALSE(stream.matches("need-10", "Created"));
  CHECK_FALSE(stream.matches("need-2", "Created"));

  auto typed = parse_filter("$ce-need", {"Created", "Closed"});
  CHECK(typed.types.size() == 2);
  CHECK(typed.matches("need-1", "Created"));
  CHECK(typed.matches("need-1", "Closed"));
  CHECK_FALSE(typed.matches("need-1", "Updated"));
  CHECK_FALSE(typed.matches("talent-1", "Created"));

  for (const char* bad : {"", "bad name", "$ce-", "$other", "$", "stream/1", "$ce-bad name"}) {
    CAPTURE(bad);
    CHECK_FALSE(event_filter::parse(bad).ok());
  }
  CHECK_FALSE(event_filter::parse("$all", {"1bad"}).ok());
  CHECK_FALSE(event_filter::parse("$all", {""}).ok());
}

// names.h: a stream's category is "the whole name when it has no '-'", and $ce-need subscribes
// to every stream of category "need"; so the stream "need" itself belongs to $ce-need.
TEST_CASE("a category filter includes the stream named exactly like the category") {
  CHECK(category_of("need") == "need");
  auto ce = parse_filter("$ce-need");
  CHECK(ce.matches("need", "Created"));
}

TEST_CASE("recorded events carry what was appended") {
  temp_dir dir;
  auto store = open_store(dir);
  new_event given = make_event("Detailed", std::string("bin\0ary", 7));
  given.schema_version = 3;
  given.occurred_at = 1'600'000'000'123'456;
  given.who = actor{"user-7", "coordinator", "user-1"};
  given.correlation_id = new_uuid_v7();
  given.causation_id = new_uuid_v7();
  new_event untimed = make_event("Plain");

  const std::int64_t before = now_micros();
  std::vector<new_event> events;
  events.push_back(given);
  events.push_back(untimed);
  auto appended = must_append(*store, single("detail-1", expected_version::any(), events));
  const std::int64_t after = now_micros();

  auto stored = read_stream_all(*store, "detail-1");
  REQUIRE(stored.size() == 2);
  const auto& a = *stored[0];
  CHECK(a.id == appended.event_ids[0]);
  CHECK(a.stream == "detail-1");
  CHECK(a.version == 0);
  CHECK(a.position == 1);
  CHECK(a.type == "Detailed");
  CHECK(a.schema_version == 3);
  CHECK(a.occurred_at == given.occurred_at);
  CHECK(a.recorded_at >= before);
  CHECK(a.recorded_at <= after);
  CHECK(a.who.id == "user-7");
  CHECK(a.who.role == "coordinator");
  CHECK(a.who.on_behalf_of == "user-1");
  CHECK(a.correlation_id == given.correlation_id);
  CHECK(a.causation_id == given.causation_id);
  CHECK(a.payload == std::string("bin\0ary", 7));
  CHECK(a.stored_bytes > a.payload.size());

  const auto& b = *stored[1];
  CHECK(b.position == 2);
  CHECK(b.schema_version == 1);
  CHECK(b.occurred_at >= before);  // 0 means the time of recording
  CHECK(b.occurred_at <= after);
  CHECK(b.correlation_id.is_nil());
  CHECK(b.causation_id.is_nil());
}

TEST_CASE("scan visits committed events in order and stops on request") {
  temp_dir dir;
  auto store = open_store(dir);
  write_mixed(*store);
  const position_t head = store->head_position();

  std::vector<position_t> seen;
  auto st = store->scan(1, [&](const recorded_event& ev) {
    seen.push_back(ev.position);
    return true;
  });
  REQUIRE(st.ok());
  REQUIRE(seen.size() == head);
  for (std::size_t i = 0; i < seen.size(); ++i)
    CHECK(seen[i] == i + 1);

  seen.clear();
  st = store->scan(5, [&](const recorded_event& ev) {
    seen.push_back(ev.position);
    CHECK(ev.stream == mixed_log[ev.position - 1].first);
    CHECK(ev.type == mixed_log[ev.position - 1].second);
    return seen.size() < 3;
  });
  REQUIRE(st.ok());
  CHECK(seen == std::vector<position_t>{5, 6, 7});
}

}  // namespace
}  // namespace kakehashi::test
