// Subscriptions: catch-up -> live handover under concurrent appends, bounded buffering for a
// slow subscriber, filters, on_ready.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

std::unique_ptr<subscription> must_subscribe(event_store& store, subscription_options options) {
  auto sub = store.subscribe(std::move(options));
  if (!sub) FAIL("subscribe failed: " << describe(sub.err()));
  return std::move(sub).value();
}

subscription_options all_from(position_t from, std::size_t max_buffered = 1 << 20) {
  subscription_options options;
  options.from_position = from;
  options.max_buffered_bytes = max_buffered;
  return options;
}

// What one $all consumer saw.
struct consumed {
  std::vector<uuid> ids;
  std::vector<std::string> failures;
  bool caught_up = false;
  std::size_t while_writing = 0;      // events delivered before the writers finished
  std::size_t caught_up_writing = 0;  // batches reporting caught_up before the writers finished
};

// Reads an unfiltered subscription until it has delivered `last` (read from `*last_known`, 0
// while unknown) and reports caught_up; every event must come at the next position.
void consume_all(subscription& sub, position_t from, const std::atomic<position_t>* last_known,
                 consumed& out, std::chrono::seconds budget = 90s) {
  position_t expected = from;
  const auto deadline = clock_type::now() + budget;
  while (clock_type::now() < deadline) {
    const position_t last = last_known->load();
    if (last != 0 && expected > last && out.caught_up) return;
    auto batch = sub.next(64, 20ms);
    if (!batch) {
      out.failures.push_back("next failed: " + describe(batch.err()));
      return;
    }
    for (const auto& ev : batch->events) {
      if (ev->position != expected) {
        out.failures.push_back("expected position " + std::to_string(expected) + ", got " +
                               std::to_string(ev->position));
        return;
      }
      out.ids.push_back(ev->id);
      ++expected;
      if (last == 0) ++out.while_writing;
    }
    if (last == 0 && batch->caught_up) ++out.caught_up_writing;
    if (batch->next_position != expected)
      out.failures.push_back("next_position " + std::to_string(batch->next_position) +
                             " after delivering up to " + std::to_string(expected - 1));
    const position_t now_last = last_known->load();
    out.caught_up = batch->caught_up && now_last != 0 && expected > now_last;
  }
  out.failures.push_back("timed out at position " + std::to_string(expected));
}

void check_matches_log(const consumed& got, const std::vector<event_ptr>& log, position_t from) {
  for (const auto& f : got.failures)
    FAIL_CHECK(f);
  CHECK(got.caught_up);
  REQUIRE(got.ids.size() == log.size() - (from - 1));
  for (std::size_t i = 0; i < got.ids.size(); ++i) {
    if (got.ids[i] != log[from - 1 + i]->id) {
      FAIL_CHECK("wrong event at position " << from + i);
      break;
    }
  }
}

void append_batches(event_store& store, const std::string& stream, int appends,
                    std::size_t per_append, std::vector<std::string>& failures, std::mutex& mu,
                    std::size_t payload_bytes = 16) {
  for (int i = 0; i < appends; ++i) {
    auto appended =
        store.append(single(stream + "-" + std::to_string(i % 7), expected_version::any(),
                            make_events(per_append, "Ticked", std::string(payload_bytes, 'p'))));
    if (!appended) {
      std::lock_guard lock(mu);
      failures.push_back("append: " + describe(appended.err()));
      return;
    }
  }
}

TEST_CASE("subscriptions hand over from catch-up to live without gap or duplicate") {
  temp_dir dir;
  auto store = open_store(dir);
  for (int i = 0; i < 30; ++i)
    must_append(*store, single("seed-" + std::to_string(i % 4), expected_version::any(),
                               make_events(10, "Seeded", std::string(64, 's'))));
  const position_t seeded = store->head_position();
  REQUIRE(seeded == 300);

  std::atomic<position_t> final_head{0};
  std::mutex mu;
  std::vector<std::string> writer_failures;

  // Subscribers: three from the start, one from the middle, created before writing resumes.
  const std::vector<position_t> starts = {1, 1, 1, seeded / 2};
  std::vector<std::unique_ptr<subscription>> subs;
  for (auto from : starts)
    subs.push_back(must_subscribe(*store, all_from(from)));
  std::vector<consumed> results(starts.size() + 1);

  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < starts.size(); ++i)
    readers.emplace_back([&, i] { consume_all(*subs[i], starts[i], &final_head, results[i]); });

  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w)
    writers.emplace_back([&, w] {
      append_batches(*store, "live" + std::to_string(w), 400, 1 + w % 2, writer_failures, mu);
    });

  // One more subscriber joins while writers are running, asking only for new events.
  while (store->head_position() < seeded + 60)
    std::this_thread::sleep_for(1ms);
  const position_t late_from = store->head_position() + 1;
  auto late = must_subscribe(*store, all_from(late_from));
  readers.emplace_back([&] { consume_all(*late, late_from, &final_head, results.back()); });

  for (auto& th : writers)
    th.join();
  for (const auto& f : writer_failures)
    FAIL_CHECK(f);
  final_head = store->head_position();
  for (auto& th : readers)
    th.join();

  const auto log = read_everything(*store);
  REQUIRE(log.size() == final_head.load());
  for (std::size_t i = 0; i < starts.size(); ++i) {
    CAPTURE(i);
    check_matches_log(results[i], log, starts[i]);
  }
  for (const auto& r : results)
    MESSAGE("delivered while writing: " << r.while_writing << ", caught-up batches while writing: "
                                        << r.caught_up_writing << " of " << r.ids.size());
  check_matches_log(results.back(), log, late_from);
  CHECK(late_from > seeded);
}

TEST_CASE("a slow subscriber stays within its buffer bound and still receives everything") {
  temp_dir dir;
  auto store = open_store(dir);
  must_append(*store, single("slow-0", expected_version::any(), make_events(3)));
  constexpr std::size_t bound = 4096;
  auto sub = must_subscribe(*store, all_from(1, bound));

  // Catch up, so the subscription is on the live feed.
  position_t expected = 1;
  std::vector<uuid> ids;
  for (int i = 0; i < 500; ++i) {
    auto batch = sub->next(100, 10ms);
    REQUIRE(batch.ok());
    for (const auto& ev : batch->events) {
      REQUIRE(ev->position == expected++);
      ids.push_back(ev->id);
    }
    if (batch->caught_up && expected == 4) break;
  }
  REQUIRE(expected == 4);

  // Now append far more than the bound while the subscriber does not read; sample the buffer.
  std::mutex mu;
  std::vector<std::string> failures;
  std::atomic<bool> writing{true};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w)
    writers.emplace_back([&, w] {
      append_batches(*store, "slow" + std::to_string(w + 1), 150, 1 + w, failures, mu, 200);
    });
  std::thread closer([&] {
    for (auto& th : writers)
      th.join();
    writing = false;
  });
  std::size_t peak = 0;
  std::size_t samples = 0;
  while (writing) {
    auto stats = sub->stats();
    peak = std::max(peak, stats.buffered_bytes);
    CHECK(stats.max_buffered_bytes <= bound);
    ++samples;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  closer.join();
  for (const auto& f : failures)
    FAIL_CHECK(f);
  peak = std::max(peak, sub->stats().buffered_bytes);
  MESSAGE("buffer samples: " << samples << ", peak buffered bytes: " << peak);
  CHECK(peak <= bound);
  const position_t head = store->head_position();
  REQUIRE(head == 3 + 150 + 300);

  // Now it reads: everything, in order, once.
  bool caught_up = false;
  const auto deadline = clock_type::now() + 60s;
  while (clock_type::now() < deadline && !(caught_up && expected > head)) {
    auto batch = sub->next(50, 10ms);
    REQUIRE(batch.ok());
    for (const auto& ev : batch->events) {
      REQUIRE(ev->position == expected++);
      ids.push_back(ev->id);
    }
    caught_up = batch->caught_up;
    CHECK(sub->stats().buffered_bytes <= bound);
  }
  CHECK(expected == head + 1);
  CHECK(caught_up);
  const auto log = read_everything(*store);
  REQUIRE(ids.size() == log.size());
  for (std::size_t i = 0; i < ids.size(); ++i)
    CHECK(ids[i] == log[i]->id);
  CHECK(sub->stats().fell_behind > 0);

  // It is live again: a new event arrives.
  must_append(*store, single("slow-0", expected_version::any(), make_events(1)));
  bool got = false;
  for (int i = 0; i < 200 && !got; ++i) {
    auto batch = sub->next(10, 20ms);
    REQUIRE(batch.ok());
    for (const auto& ev : batch->events) {
      CHECK(ev->position == head + 1);
      got = true;
    }
  }
  CHECK(got);
}

}  // namespace
}  // namespace kakehashi::test
