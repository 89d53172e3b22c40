// Concurrent appends: optimistic concurrency on one stream, gap-free positions across many
// writers mixing append and append_async, and closed-loop writers resubmitting from their
// callbacks; each under both ways of committing (engine/commit_mode.h) and the adaptive choice.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

constexpr std::pair<const char*, commit_policy> commit_policies[] = {
    {"adaptive", commit_policy::adaptive},
    {"batch", commit_policy::batch},
    {"overlap", commit_policy::overlap}};

std::unique_ptr<event_store> open_store(const temp_dir& dir, commit_policy commit) {
  auto options = options_for(dir);
  options.commit = commit;
  return test::open_store(options);
}

void one_winner_per_version(commit_policy commit) {
  temp_dir dir;
  auto store = open_store(dir, commit);
  constexpr int threads = 8;
  constexpr std::uint64_t target = 160;  // events in the stream at the end
  const std::string stream = "race-1";

  std::mutex mu;
  std::map<std::uint64_t, std::vector<uuid>> winners;  // version -> ids that won it
  std::vector<std::string> failures;
  std::atomic<std::uint64_t> conflicts{0};

  auto writer = [&] {
    for (int attempts = 0; attempts < 100000; ++attempts) {
      auto current = store->stream_version(stream);
      if (current && *current + 1 >= target) return;
      auto expected = current ? expected_version::exact(*current) : expected_version::no_stream();
      const std::uint64_t want = current ? *current + 1 : 0;
      const uuid id = new_uuid_v7();
      auto appended = store->append(single(stream, expected, make_event("Raced", "{}", id)));
      std::lock_guard lock(mu);
      if (appended) {
        if (appended->streams.size() != 1 || appended->streams[0].first_version != want ||
            appended->streams[0].last_version != want || appended->duplicate)
          failures.push_back("winner got an unexpected version for expectation " +
                             std::to_string(want));
        winners[want].push_back(id);
      } else if (appended.err().kind == errc::conflict &&
                 appended.err().code == "wrong_expected_version") {
        ++conflicts;
      } else {
        failures.push_back("unexpected error: " + describe(appended.err()));
        return;
      }
    }
    std::lock_guard lock(mu);
    failures.push_back("writer gave up");
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back(writer);
  for (auto& th : pool)
    th.join();

  for (const auto& f : failures)
    FAIL_CHECK(f);
  MESSAGE("conflicts observed: " << conflicts.load());
  REQUIRE(winners.size() == target);
  std::uint64_t expected_version_number = 0;
  for (const auto& [version, ids] : winners) {
    CAPTURE(version);
    CHECK(version == expected_version_number++);
    CHECK(ids.size() == 1);
  }
  CHECK(store->stream_version(stream) == std::optional<std::uint64_t>(target - 1));
  CHECK(store->head_position() == target);
  auto events = read_stream_all(*store, stream);
  REQUIRE(events.size() == target);
  for (std::uint64_t v = 0; v < target; ++v) {
    CAPTURE(v);
    CHECK(events[v]->version == v);
    CHECK(events[v]->id == winners[v].front());
  }
  CHECK_FALSE(store->writes_failed());
}

TEST_CASE("concurrent writers on one stream with exact expectations have one winner per version") {
  for (auto [name, commit] : commit_policies)
    SUBCASE(name) {
      one_winner_per_version(commit);
    }
}

// One append a writer made, with what it asked for.
struct made_append {
  append_result result;
  std::size_t event_count = 0;
};

void gap_free_positions(commit_policy commit) {
  temp_dir dir;
  auto store = open_store(dir, commit);
  constexpr int threads = 8;
  constexpr int ops_per_thread = 60;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<made_append> made;
  std::vector<std::string> failures;
  int async_pending = 0;

  auto build = [](int t, int i) {
    append_request request;
    const std::size_t count = 1 + static_cast<std::size_t>(i % 3);
    const std::string own = "gap" + std::to_string(t) + "-" + std::to_string(i % 4);
    const std::string shared = "shared-" + std::to_string(i % 3);
    if (i % 5 == 0) {
      // An atomic append over two streams.
      request.streams.push_back({own, expected_version::any(), make_events(count, "Both")});
      request.streams.push_back({shared, expected_version::any(), make_events(1, "Both")});
    } else {
      request.streams.push_back(
          {i % 2 ? shared : own, expected_version::any(), make_events(count, "One")});
    }
    return request;
  };
  auto count_events = [](const append_request& request) {
    std::size_t n = 0;
    for (const auto& s : request.streams)
      n += s.events.size();
    return n;
  };

  auto writer = [&](int t) {
    for (int i = 0; i < ops_per_thread; ++i) {
      append_request request = build(t, i);
      const std::size_t n = count_events(request);
      if (i % 2 == 0) {
        auto appended = store->append(std::move(request));
        std::lock_guard lock(mu);
        if (appended)
          made.push_back({std::move(appended).value(), n});
        else
          failures.push_back("append: " + describe(appended.err()));
        continue;
      }
      for (int tries = 0;; ++tries) {
        auto overloaded = std::make_shared<std::atomic<bool>>(false);
        {
          std::lock_guard lock(mu);
          ++async_pending;
        }
        store->append_async(build(t, i), [&, n, overloaded](result<append_result> appended) {
          std::lock_guard lock(mu);
          if (appended)
            made.push_back({std::move(appended).value(), n});
          else if (appended.err().kind == errc::overloaded)
            *overloaded = true;
          else
            failures.push_back("append_async: " + describe(appended.err()));
          --async_pending;
          cv.notify_all();
        });
        // Wait for an overload verdict only; success completes later.
        std::unique_lock lock(mu);
        if (!*overloaded || tries > 1000) break;
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back(writer, t);
  for (auto& th : pool)
    th.join();
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return async_pending == 0; }));
  }

  for (const auto& f : failures)
    FAIL_CHECK(f);
  REQUIRE(made.size() == static_cast<std::size_t>(threads * ops_per_thread));

  std::size_t total = 0;
  std::map<position_t, uuid> by_position;
  for (const auto& m : made) {
    const auto& r = m.result;
    CHECK_FALSE(r.duplicate);
    CHECK(r.first_position >= 1);
    CHECK(r.last_position - r.first_position + 1 == m.event_count);
    REQUIRE(r.event_ids.size() == m.event_count);
    for (std::size_t k = 0; k < m.event_count; ++k) {
      auto [it, inserted] = by_position.emplace(r.first_position + k, r.event_ids[k]);
      CHECK_MESSAGE(inserted, "position " << r.first_position + k << " acknowledged twice");
    }
    total += m.event_count;
  }
  const position_t head = store->head_position();
  CHECK(head == total);
  REQUIRE(by_position.size() == total);
  CHECK(by_position.begin()->first == 1);
  CHECK(by_position.rbegin()->first == total);

  auto all = read_everything(*store);
  REQUIRE(all.size() == head);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CAPTURE(i);
    CHECK(all[i]->position == i + 1);
    CHECK(all[i]->id == by_position[i + 1]);
  }
  // Stream versions are contiguous too.
  std::map<std::string, std::uint64_t> next_version;
  for (const auto& ev : all) {
    CAPTURE(ev->stream);
    CHECK(ev->version == next_version[ev->stream]++);
  }
  for (const auto& [stream, count] : next_version)
    CHECK(store->stream_version(stream) == std::optional<std::uint64_t>(count - 1));
  CHECK_FALSE(store->writes_failed());
}

TEST_CASE("positions stay gap-free under concurrent append and append_async") {
  for (auto [name, commit] : commit_policies)
    SUBCASE(name) {
      gap_free_positions(commit);
    }
}

// Checks, from inside completion callbacks, the store's promise about them: they run one at a
// time and in commit order, whichever thread runs them. Each callback calls enter(), then
// check() with its outcome, then leave().
struct callback_checker {
  std::mutex mu;
  std::vector<std::string> failures;  // guarded by mu
  std::atomic<int> in_callback{0};
  position_t last_completed = 0;  // touched only inside callbacks, which must not overlap

  void fail(std::string failure) {
    std::lock_guard lock(mu);
    failures.push_back(std::move(failure));
  }
  void enter() {
    if (in_callback.fetch_add(1) != 0) fail("two callbacks ran at once");
  }
  void check(const result<append_result>& appended) {
    if (!appended)
      fail(describe(appended.err()));
    else if (appended->first_position <= last_completed)
      fail("callback for position " + std::to_string(appended->first_position) + " after one for " +
           std::to_string(last_completed));
    else
      last_completed = appended->last_position;
  }
  void leave() { in_callback.fetch_sub(1); }
  void report() {
    std::lock_guard lock(mu);
    for (const auto& f : failures)
      FAIL_CHECK(f);
  }
};

// Closed-loop writers, as the append benchmark runs them: each callback submits its writer's
// next append.
void closed_loop(commit_policy commit) {
  temp_dir dir;
  auto store = open_store(dir, commit);
  constexpr std::size_t writers = 64;
  constexpr std::size_t appends_per_writer = 120;

  std::mutex mu;
  std::condition_variable cv;
  std::size_t finished = 0;
  callback_checker checker;
  std::vector<std::size_t> done(writers, 0);  // touched only inside callbacks
  std::function<void(std::size_t)> submit = [&](std::size_t w) {
    const auto expected =
        done[w] == 0 ? expected_version::no_stream() : expected_version::exact(done[w] - 1);
    store->append_async(single("loop-" + std::to_string(w), expected, make_event("Looped")),
                        [&, w](result<append_result> appended) {
                          checker.enter();
                          checker.check(appended);
                          const bool more = appended && ++done[w] < appends_per_writer;
                          checker.leave();
                          if (more) {
                            submit(w);
                          } else {
                            std::lock_guard lock(mu);
                            ++finished;
                            cv.notify_all();
                          }
                        });
  };
  for (std::size_t w = 0; w < writers; ++w)
    submit(w);
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(120), [&] { return finished == writers; }));
  }
  checker.report();
  CHECK(store->head_position() == writers * appends_per_writer);
  auto all = read_everything(*store);
  REQUIRE(all.size() == writers * appends_per_writer);
  for (std::size_t i = 0; i < all.size(); ++i)
    CHECK(all[i]->position == i + 1);
  for (std::size_t w = 0; w < writers; ++w)
    CHECK(store->stream_version("loop-" + std::to_string(w)) ==
          std::optional<std::uint64_t>(appends_per_writer - 1));
  const auto stats = store->commit_statistics();
  if (commit == commit_policy::batch) CHECK(stats.overlapped_syncs == 0);
  if (commit == commit_policy::overlap) CHECK(stats.overlapped_syncs == stats.syncs);
}

TEST_CASE("closed-loop writers resubmitting from their callbacks all complete, in commit order") {
  for (auto [name, commit] : commit_policies)
    SUBCASE(name) {
      closed_loop(commit);
    }
}

// Writers append, each to its own stream, on condition that "flag" is still at version 0, until
// the condition fails; meanwhile the flag is changed once. The store checks a condition when it
// sequences the append, so every append it accepted comes before the flag's change in the log,
// and once a writer saw the condition fail, none of its later appends could be accepted.
void conditions_order_against_writes(commit_policy commit) {
  temp_dir dir;
  auto store = open_store(dir, commit);
  must_append(*store, single("flag", expected_version::no_stream(), make_event("Raised")));
  constexpr int writers = 6;
  std::mutex mu;
  std::vector<position_t> accepted;
  std::vector<std::string> failures;
  std::atomic<int> started{0};
  auto writer = [&](int w) {
    const std::string own = "cond-" + std::to_string(w);
    for (int i = 0; i < 100000; ++i) {
      append_request request = single(own, expected_version::any(), make_event("Decided"));
      request.conditions.push_back({"flag", expected_version::exact(0)});
      auto appended = store->append(std::move(request));
      if (i == 3) ++started;
      std::lock_guard lock(mu);
      if (appended) {
        accepted.push_back(appended->first_position);
      } else {
        if (appended.err().field != "conditions")
          failures.push_back("unexpected error: " + describe(appended.err()));
        return;
      }
    }
    std::lock_guard lock(mu);
    failures.push_back("the condition never failed");
  };
  std::vector<std::thread> pool;
  for (int w = 0; w < writers; ++w)
    pool.emplace_back(writer, w);
  while (started < writers)
    std::this_thread::yield();
  auto lowered =
      must_append(*store, single("flag", expected_version::exact(0), make_event("Lowered")));
  for (auto& th : pool)
    th.join();
  for (const auto& f : failures)
    FAIL_CHECK(f);
  CHECK(accepted.size() >= static_cast<std::size_t>(writers) * 4);
  for (auto at : accepted)
    CHECK(at < lowered.first_position);
  // The flag's two events and every accepted append, nothing else; the change is the last.
  CHECK(store->head_position() == accepted.size() + 2);
  CHECK(lowered.first_position == store->head_position());
}

TEST_CASE("appends conditioned on a stream all come before the write that changes it") {
  for (auto [name, commit] : commit_policies)
    SUBCASE(name) {
      conditions_order_against_writes(commit);
    }
}

TEST_CASE("a slow callback holds the later ones back, and they still run one at a time") {
  // In overlap mode the sequencer runs the callbacks; while one sleeps, the committer goes on
  // staging and syncing what a submitter keeps queueing, and once max_unsynced_groups synced
  // groups wait, it completes them itself: after the slow one, never beside it.
  temp_dir dir;
  auto store = open_store(dir, commit_policy::overlap);
  constexpr std::size_t appends = 3000;
  std::mutex mu;
  std::condition_variable cv;
  std::size_t completed = 0;
  callback_checker checker;
  auto callback = [&](bool slow) {
    return [&, slow](result<append_result> appended) {
      checker.enter();
      if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(300));
      checker.check(appended);
      checker.leave();
      std::lock_guard lock(mu);
      ++completed;
      cv.notify_all();
    };
  };
  store->append_async(single("slow", expected_version::any(), make_event("Slow")), callback(true));
  for (std::size_t i = 1; i < appends; ++i)
    store->append_async(
        single("fast-" + std::to_string(i % 16), expected_version::any(), make_event("Fast")),
        callback(false));
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return completed == appends; }));
  }
  checker.report();
  CHECK(store->head_position() == appends);
}

}  // namespace
}  // namespace kakehashi::test
