// Filtered subscriptions, subscriptions that start at the head, and on_ready notification.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "events/names.h"
#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

using namespace std::chrono_literals;

struct entry {
  std::string stream;
  std::string type;
};

void write_entries(event_store& store, const std::vector<entry>& entries) {
  for (const auto& e : entries)
    must_append(store, single(e.stream, expected_version::any(), make_event(e.type)));
}

struct filter_case {
  const char* selector;
  std::vector<std::string> types;
};

bool wanted(const filter_case& c, const entry& e) {
  std::string_view sel = c.selector;
  bool scope_ok = true;
  if (sel.rfind("$ce-", 0) == 0)
    scope_ok = category_of(e.stream) == sel.substr(4);
  else if (sel != "$all")
    scope_ok = e.stream == sel;
  bool type_ok =
      c.types.empty() || std::find(c.types.begin(), c.types.end(), e.type) != c.types.end();
  return scope_ok && type_ok;
}

// Reads until caught up with at least `until` examined; returns delivered positions and the last
// next_position.
std::vector<position_t> drain(subscription& sub, position_t until, position_t& next_position) {
  std::vector<position_t> out;
  for (int i = 0; i < 2000; ++i) {
    auto batch = sub.next(7, 10ms);
    REQUIRE(batch.ok());
    for (const auto& ev : batch->events)
      out.push_back(ev->position);
    if (!batch->events.empty()) CHECK(batch->next_position > batch->events.back()->position);
    CHECK(batch->next_position >= next_position);  // never goes back
    next_position = batch->next_position;
    if (batch->caught_up && next_position > until) break;
  }
  return out;
}

TEST_CASE("filtered subscriptions deliver only matching events and skip the rest") {
  const std::vector<entry> history = {
      {"x-1", "A"}, {"y-1", "A"}, {"x-2", "B"}, {"xx-1", "A"}, {"x-1", "B"},
      {"y-1", "B"}, {"x-3", "A"}, {"x-2", "C"}, {"y-2", "B"},  {"z-9", "Z"},
      {"z-9", "Z"}, {"z-9", "Z"},  // the log ends with events no filter below wants
  };
  const std::vector<filter_case> cases = {
      {"$ce-x", {}},    {"x-1", {}},           {"$all", {"B"}},
      {"$ce-x", {"A"}}, {"$ce-y", {"A", "B"}}, {"y-2", {"B"}},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.selector));
    CAPTURE(c.types.size());
    // A fresh store per filter: the live part of each case appends more events.
    temp_dir dir;
    auto store = open_store(dir);
    write_entries(*store, history);
    const position_t head = store->head_position();
    auto filter = event_filter::parse(c.selector, c.types);
    REQUIRE(filter.ok());
    subscription_options options;
    options.filter = *filter;
    options.from_position = 1;
    auto sub = store->subscribe(options);
    REQUIRE(sub.ok());

    std::vector<position_t> want;
    for (std::size_t i = 0; i < history.size(); ++i)
      if (wanted(c, history[i])) want.push_back(i + 1);
    REQUIRE_FALSE(want.empty());

    position_t next_position = 0;
    auto got = drain(**sub, head, next_position);
    CHECK(got == want);
    // Caught up past the trailing non-matching events.
    CHECK(next_position == head + 1);

    // Live: a non-matching and then a matching event; only the matching one arrives.
    entry miss{"w-1", "Q"};
    entry hit = history[want.back() - 1];
    write_entries(*store, {miss, hit});
    const position_t hit_position = store->head_position();
    auto live = drain(**sub, hit_position, next_position);
    CHECK(live == std::vector<position_t>{hit_position});
    CHECK(next_position == hit_position + 1);

    // Then only non-matching events: next_position still moves past them.
    write_entries(*store, {miss, miss});
    const position_t after_miss = store->head_position();
    auto none = drain(**sub, after_miss, next_position);
    CHECK(none.empty());
    CHECK(next_position == after_miss + 1);
  }
}

TEST_CASE("a subscription from head plus one receives only new events") {
  temp_dir dir;
  auto store = open_store(dir);
  must_append(*store, single("old-1", expected_version::any(), make_events(5)));
  subscription_options options;
  options.from_position = store->head_position() + 1;
  auto sub = store->subscribe(options);
  REQUIRE(sub.ok());

  auto first = (*sub)->next(10, 10ms);
  REQUIRE(first.ok());
  CHECK(first->events.empty());

  auto appended = must_append(*store, single("new-1", expected_version::any(), make_events(2)));
  std::vector<position_t> got;
  for (int i = 0; i < 500 && got.size() < 2; ++i) {
    auto batch = (*sub)->next(10, 20ms);
    REQUIRE(batch.ok());
    for (const auto& ev : batch->events)
      got.push_back(ev->position);
  }
  CHECK(got == std::vector<position_t>{6, 7});
  CHECK(appended.first_position == 6);
}

TEST_CASE("on_ready fires when a live subscription has something new") {
  temp_dir dir;
  auto store = open_store(dir);
  must_append(*store, single("ready-1", expected_version::any(), make_events(2)));

  std::mutex mu;
  std::condition_variable cv;
  int ready_calls = 0;
  subscription_options options;
  options.from_position = 1;
  options.on_ready = [&] {
    std::lock_guard lock(mu);
    ++ready_calls;
    cv.notify_all();
  };
  auto sub = store->subscribe(options);
  REQUIRE(sub.ok());

  // Drain until next() returns nothing.
  std::size_t delivered = 0;
  for (int i = 0; i < 500; ++i) {
    auto batch = (*sub)->next(10, 0ms);
    REQUIRE(batch.ok());
    delivered += batch->events.size();
    if (batch->events.empty() && batch->caught_up) break;
  }
  REQUIRE(delivered == 2);
  int before;
  {
    std::lock_guard lock(mu);
    before = ready_calls;
  }

  must_append(*store, single("ready-1", expected_version::any(), make_events(1)));
  {
    std::unique_lock lock(mu);
    CHECK(cv.wait_for(lock, 10s, [&] { return ready_calls > before; }));
  }
  auto batch = (*sub)->next(10, 0ms);
  REQUIRE(batch.ok());
  REQUIRE(batch->events.size() == 1);
  CHECK(batch->events[0]->position == 3);
}

}  // namespace
}  // namespace kakehashi::test
