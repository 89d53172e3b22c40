// event_store::commit_statistics(): the WAL syncs that made appends durable, the events they
// carried and the time they took, as /metrics and `bench append` report them.
#include <thread>
#include <vector>

#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

TEST_CASE("commit statistics count each durable event once and the syncs that carried it") {
  temp_dir dir;
  auto store = open_store(dir);
  auto fresh = store->commit_statistics();
  CHECK(fresh.syncs == 0);
  CHECK(fresh.events == 0);
  CHECK(fresh.sync_time.count() == 0);
  CHECK(fresh.slowest_sync.count() == 0);

  // A blocking append returns after its own sync: one sync each.
  auto first = must_append(*store, single("case-1", expected_version::no_stream(), make_events(3)));
  // Durable after it was staged, and stamped before the caller was told.
  auto stored = store->read_stream("case-1", 0, read_direction::forward, 10);
  REQUIRE(stored.ok());
  REQUIRE(stored->size() == 3);
  CHECK(first.committed_at >= stored->back()->recorded_at);
  CHECK(first.committed_at <= now_micros());
  must_append(*store, single("case-2", expected_version::no_stream(), make_event("Noted")));
  auto two = store->commit_statistics();
  CHECK(two.syncs == 2);
  CHECK(two.events == 4);
  CHECK(two.sync_time.count() > 0);
  CHECK(two.slowest_sync.count() > 0);
  CHECK(two.slowest_sync <= two.sync_time);

  SUBCASE("rejected appends and idempotent retries make nothing durable") {
    auto wrong = store->append(single("case-1", expected_version::no_stream(), make_event("X")));
    CHECK_FALSE(wrong.ok());
    auto id = new_uuid_v7();
    must_append(*store, single("case-3", expected_version::any(), make_event("Noted", "{}", id)));
    auto before_retry = store->commit_statistics();
    CHECK(before_retry.events == 5);
    auto retried = must_append(
        *store, single("case-3", expected_version::any(), make_event("Noted", "{}", id)));
    CHECK(retried.duplicate);
    CHECK(store->commit_statistics().events == 5);
  }

  SUBCASE("concurrent appenders: every event counted once, syncs shared") {
    constexpr int threads = 8;
    constexpr int per_thread = 50;
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t)
      writers.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i)
          must_append(*store, single("writer-" + std::to_string(t), expected_version::any(),
                                     make_event("Noted")));
      });
    for (auto& w : writers)
      w.join();
    auto after = store->commit_statistics();
    CHECK(after.events == two.events + threads * per_thread);
    CHECK(after.syncs > two.syncs);
    CHECK(after.syncs <= two.syncs + threads * per_thread);
    CHECK(after.events == store->head_position());
  }
}

}  // namespace
}  // namespace kakehashi::test
