// The append queue: appends refused at once (a full queue, stopped writes) and callers of the
// blocking append() waiting for room.
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/fault_injection.h"
#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

// Runs `submit` on a thread of its own and waits for it, bounded: a refusal completed under the
// store's queue lock deadlocks a callback that resubmits. On a timeout the stuck thread and the
// store are abandoned (the store's destructor would wait for that lock too), so the test fails
// instead of hanging.
void require_finishes(std::unique_ptr<event_store>& store, std::function<void()> submit) {
  std::promise<void> finished;
  auto done = finished.get_future();
  std::thread submitter([&finished, submit = std::move(submit)] {
    submit();
    finished.set_value();
  });
  if (done.wait_for(std::chrono::seconds(30)) == std::future_status::ready) {
    submitter.join();
    return;
  }
  submitter.detach();
  (void)store.release();
  FAIL("an append resubmitted from the callback of a refused one never returned (deadlock)");
}

// Appends until one is refused with `code` and the append its callback resubmits is refused at
// once too; returns that resubmitted append's outcome. A resubmission is accepted instead when the
// sequencer made room meanwhile (it still drains the queue until the commit queue is full), so
// the first refusal alone says nothing about the second.
result<append_result> resubmit_refused(event_store& store, const std::string& code) {
  struct state {
    std::mutex mutex;
    std::optional<result<append_result>> again;
  };
  auto shared = std::make_shared<state>();
  auto resubmitted = [shared] {
    std::lock_guard lock(shared->mutex);
    return shared->again.has_value();
  };
  for (int attempt = 0; attempt < 100000 && !resubmitted(); ++attempt)
    store.append_async(
        single("queue-1", expected_version::any(), make_event("Queued")),
        [&store, code, shared](result<append_result> r) {
          if (r || r.err().code != code) return;
          // The obvious reaction to `overloaded`: try again.
          auto promise = std::make_shared<std::promise<result<append_result>>>();
          auto outcome = promise->get_future();
          store.append_async(
              single("queue-1", expected_version::any(), make_event("Queued")),
              [promise](result<append_result> r2) { promise->set_value(std::move(r2)); });
          if (outcome.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
          std::lock_guard lock(shared->mutex);
          if (!shared->again) shared->again = outcome.get();
        });
  REQUIRE_MESSAGE(resubmitted(), "no append resubmitted on " << code << " was refused at once");
  std::lock_guard lock(shared->mutex);
  return std::move(*shared->again);
}

TEST_CASE("a callback of an append refused at once may resubmit from it") {
  temp_dir dir;
  auto faults = fault_injector::create(5);
  auto options = options_for(dir);
  options.faults = faults;
  options.max_queued_appends = 1;
  auto store = open_store(options);
  must_append(*store, single("queue-1", expected_version::any(), make_event("Queued")));

  SUBCASE("overloaded") {
    // With the committer held in a sync, the sequencer fills the commit queue and stops taking
    // appends, and the one-place append queue stays full.
    faults->hold_next_sync(fault_file::wal);
    store->append_async(single("queue-1", expected_version::any(), make_event("Queued")),
                        [](result<append_result>) {});
    REQUIRE(faults->wait_for_held_sync(std::chrono::seconds(60)));
    require_finishes(store, [&] {
      auto again = resubmit_refused(*store, "overloaded");
      CHECK_FAILS_WITH(again, errc::overloaded, "overloaded");
    });
    faults->release_held();
  }
  SUBCASE("writes_stopped") {
    faults->add_rule({fault_op::write, fault_file::wal, fault_error::io_error, 0, 1});
    CHECK_FALSE(
        store->append(single("queue-1", expected_version::any(), make_event("Queued"))).ok());
    require_finishes(store, [&] {
      auto again = resubmit_refused(*store, "writes_stopped");
      CHECK_FAILS_WITH(again, errc::unavailable, "writes_stopped");
    });
  }
}

TEST_CASE("blocking appends wait for room in a full queue and are never refused as overloaded") {
  temp_dir dir;
  auto options = options_for(dir);
  options.max_queued_appends = 1;  // full most of the time under many writers
  auto store = open_store(options);
  std::atomic<int> acknowledged{0}, overloaded{0}, other{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 16; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto r = store->append(
            single("queue-" + std::to_string(t), expected_version::any(), make_event("Queued")));
        ++(r ? acknowledged : r.err().code == "overloaded" ? overloaded : other);
      }
    });
  for (auto& w : writers)
    w.join();
  CHECK(overloaded == 0);
  CHECK(other == 0);
  CHECK(acknowledged == 16 * 200);
  CHECK(store->head_position() == 16 * 200);
}

}  // namespace
}  // namespace kakehashi::test
