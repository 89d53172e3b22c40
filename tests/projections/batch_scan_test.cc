// batch_scan hands over exactly the events a plain scan visits, in order, through its reader
// thread as inline, and stops when asked.
#include "projections/batch_scan.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "test_support.h"

using namespace kakehashi;
using namespace kakehashi::test;

namespace {

struct seen {
  position_t position;
  std::string stream, type, payload, id;
};

std::vector<seen> plain(const event_store& store, position_t from) {
  std::vector<seen> out;
  REQUIRE(store
              .scan(from,
                    [&](const recorded_event& e) {
                      out.push_back({e.position, e.stream, e.type, e.payload, e.id.to_string()});
                      return true;
                    })
              .ok());
  return out;
}

}  // namespace

TEST_CASE(
    "batch_scan visits what scan visits, in order, threaded or inline, and stops on request") {
  temp_dir dir;
  auto store = open_store(dir);
  for (int i = 0; i < 20; ++i)  // payloads of different sizes, so reused buffers must resize
    must_append(*store, single("s-" + std::to_string(i % 3), expected_version::any(),
                               make_events(1 + i % 7, "Noted" + std::to_string(i),
                                           std::string(1 + (i * 37) % 300, 'p'))));
  const auto head = store->head_position();
  REQUIRE(head > 50);

  for (batch_scan_options options : {batch_scan_options{7, 2, 0}, batch_scan_options{1, 3, 0},
                                     batch_scan_options{1000, 4, 0}, batch_scan_options{}}) {
    for (position_t from : {position_t{0}, position_t{1}, position_t{13}, head, head + 1}) {
      INFO("batch " << options.batch_events << " x " << options.batches << ", from " << from);
      std::vector<seen> got;
      std::size_t calls = 0;
      auto scanned = batch_scan(
          *store, from,
          [&](std::span<const recorded_event> events) {
            ++calls;
            CHECK_FALSE(events.empty());
            CHECK(events.size() <= options.batch_events);
            for (const auto& e : events)
              got.push_back({e.position, e.stream, e.type, e.payload, e.id.to_string()});
            return true;
          },
          options);
      REQUIRE(scanned.ok());
      auto want = plain(*store, from);
      REQUIRE(got.size() == want.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].position == want[i].position);
        CHECK(got[i].stream == want[i].stream);
        CHECK(got[i].type == want[i].type);
        CHECK(got[i].payload == want[i].payload);
        CHECK(got[i].id == want[i].id);
      }
    }
  }

  // Stopping early: no batch after the one that said stop, and the reader thread winds down.
  for (std::size_t stop_after : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
    std::size_t calls = 0;
    position_t last = 0;
    auto scanned = batch_scan(
        *store, 1,
        [&](std::span<const recorded_event> events) {
          last = events.back().position;
          return ++calls < stop_after;
        },
        batch_scan_options{4, 2, 0});
    REQUIRE(scanned.ok());
    CHECK(calls == stop_after);
    CHECK(last == 4 * stop_after);
  }
}
