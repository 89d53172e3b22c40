// WAL spares (engine/wal_spares.h) under the store: WAL files are written over zero-filled spares
// once the first one has been sized, nothing is left behind on close, power cuts while appending
// into a spare keep every acknowledged append, and a spare that cannot be written leaves the WAL
// to files created as usual.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/fault_injection.h"
#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

constexpr const char* spare_name = "KAKEHASHI-WAL-SPARE";

store_options small_memtables(const temp_dir& dir) {
  auto options = options_for(dir);
  options.memtable_bytes = 64 << 10;  // the WAL rolls every few dozen appends
  return options;
}

// Appends single events to stream `stream` until `spares` WAL files of this open were spares
// (or a bound, which fails the test); returns the ids in the order acknowledged.
std::vector<uuid> append_until_spares_used(event_store& store, std::uint64_t spares,
                                           const std::string& stream = "spare-1") {
  std::vector<uuid> ids;
  for (int i = 0; i < 20000 && store.commit_statistics().wal_files_over_spares < spares; ++i) {
    auto e = make_event("Noted", std::string(400, 'x'), new_uuid_v7());
    ids.push_back(e.id);
    must_append(store, single(stream, expected_version::any(), std::move(e)));
  }
  REQUIRE(store.commit_statistics().wal_files_over_spares >= spares);
  return ids;
}

TEST_CASE("WAL spares: WAL files are written over spares and everything reads back after reopen") {
  temp_dir dir;
  const auto options = small_memtables(dir);
  std::vector<uuid> ids;
  {
    auto store = open_store(options);
    ids = append_until_spares_used(*store, 3);
    CHECK(store->commit_statistics().wal_files_created >= 1);  // the first, before any sizing
  }
  CHECK_FALSE(std::filesystem::exists(options.path + "/" + spare_name));  // removed on close
  auto store = open_store(options);
  auto events = read_everything(*store);
  REQUIRE(events.size() == ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i)
    CHECK(events[i]->id == ids[i]);
  CHECK(store->verify().ok);
}

TEST_CASE("WAL spares: turned off, every WAL file is created as usual") {
  temp_dir dir;
  auto options = small_memtables(dir);
  options.wal_spares = false;
  auto store = open_store(options);
  for (int i = 0; i < 300; ++i)
    must_append(*store, single("plain", expected_version::any(),
                               make_event("Noted", std::string(400, 'x'))));
  CHECK(store->commit_statistics().wal_files_over_spares == 0);
  CHECK_FALSE(std::filesystem::exists(options.path + "/" + spare_name));
}

TEST_CASE("WAL spares: power cuts while appending into spares keep every acknowledged append") {
  temp_dir dir;
  auto faults = fault_injector::create(4242);
  auto options = small_memtables(dir);
  options.faults = faults;
  std::map<uuid, position_t> acked_at;
  std::uint64_t reordered = 0;
  for (int round = 0; round < 12; ++round) {
    CAPTURE(round);
    auto store = open_store(options);
    auto events = read_everything(*store);
    std::map<uuid, position_t> found;
    for (const auto& e : events)
      found[e->id] = e->position;
    for (const auto& [id, position] : acked_at) {
      auto it = found.find(id);
      REQUIRE_MESSAGE(it != found.end(), "an acknowledged append was lost");
      CHECK(it->second == position);
    }
    CHECK(store->verify().ok);
    // Concurrent appenders keep unsynced bytes in the WAL; the cut comes once spares are in use.
    std::mutex mu;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w)
      writers.emplace_back([&, w] {
        while (!stop) {
          auto e = make_event("Noted", std::string(300, static_cast<char>('a' + w)), new_uuid_v7());
          const uuid id = e.id;
          auto done = store->append(
              single("cut-" + std::to_string(w), expected_version::any(), std::move(e)));
          // After the crash the model drops everything: what is acknowledged then never counts.
          if (!done || faults->crashed()) continue;
          std::lock_guard lock(mu);
          acked_at[id] = done->first_position;
        }
      });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (store->commit_statistics().wal_files_over_spares < 2 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(store->commit_statistics().wal_files_over_spares >= 2);
    // At a WAL write or sync, so that the WAL holds unsynced bytes when the power goes.
    faults->crash_after(1 + static_cast<std::uint64_t>(round % 5), fault_file::wal);
    if (!faults->wait_for_crash(std::chrono::seconds(10))) faults->crash();
    stop = true;
    for (auto& t : writers)
      t.join();
    store.reset();
    power_loss_options cut;
    cut.tear = 0.5;
    cut.reorder = 1;
    auto report = faults->lose_power(cut);
    REQUIRE(report.ok());
    reordered += report->files_reordered;
  }
  CHECK(acked_at.size() > 1000);
  CHECK(reordered > 0);  // some cuts did keep a page past lost bytes in a spare
}

TEST_CASE("WAL spares: a spare that cannot be written leaves the WAL to files created as usual") {
  temp_dir dir;
  auto faults = fault_injector::create(77);
  auto options = small_memtables(dir);
  options.faults = faults;
  auto store = open_store(options);
  // A full disk for every file but the store's own kinds: only the spare is written then.
  fault_rule full;
  full.op = fault_op::write;
  full.file = fault_file::other;
  full.error = fault_error::no_space;
  faults->add_rule(full);
  std::vector<uuid> ids;
  for (int i = 0; i < 600; ++i) {
    auto e = make_event("Noted", std::string(400, 'x'), new_uuid_v7());
    ids.push_back(e.id);
    must_append(*store, single("full", expected_version::any(), std::move(e)));
  }
  const auto stats = store->commit_statistics();
  CHECK(stats.wal_files_over_spares == 0);
  CHECK(stats.wal_files_created >= 3);
  CHECK_FALSE(store->writes_failed());
  faults->clear_faults();
  store.reset();
  store = open_store(options);
  auto events = read_everything(*store);
  REQUIRE(events.size() == ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i)
    CHECK(events[i]->id == ids[i]);
}

}  // namespace
}  // namespace kakehashi::test
