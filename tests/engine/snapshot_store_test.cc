// Snapshot images as files (engine/snapshot_store.h): saved and loaded back, the newest at or
// before a position, damaged files skipped for older ones, the size limit, temporary files
// cleaned, a power cut during a save, appends going on while an image is written, and read-only
// stores that never write; the latest business time each header keeps, and format 1 files.
#include <sodium.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <iterator>
#include <thread>

#include "engine/fault_injection.h"
#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kind = "model";

std::string snapshots_dir(const temp_dir& dir) {
  return dir.db_path() + "/snapshots";
}
std::string image_path(const temp_dir& dir, std::uint64_t position) {
  char name[64];
  std::snprintf(name, sizeof name, "/model-%020llu.img", static_cast<unsigned long long>(position));
  return snapshots_dir(dir) + name;
}
std::string payload_for(std::uint64_t position, std::size_t bytes = 1000) {
  std::string out(bytes, '\0');
  for (std::size_t i = 0; i < bytes; ++i)
    out[i] = static_cast<char>((position * 131 + i * 7) & 0xff);
  return out;
}
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}
// The position load() finds at or before `at`, 0 for none; checks the payload is that position's.
std::uint64_t loaded_at(const event_store& store, std::uint64_t at) {
  auto loaded = store.snapshots().load(kind, at);
  REQUIRE(loaded.ok());
  if (!*loaded) return 0;
  CHECK((*loaded)->bytes == payload_for((*loaded)->position, (*loaded)->bytes.size()));
  return (*loaded)->position;
}

TEST_CASE("snapshot images: saved and loaded back, the newest at or before a position") {
  temp_dir dir;
  auto store = open_store(dir);
  CHECK(loaded_at(*store, ~0ull) == 0);
  for (std::uint64_t p : {10, 5, 20})
    REQUIRE(store->snapshots().save(kind, p, 0, payload_for(p)).ok());
  CHECK(loaded_at(*store, 4) == 0);
  CHECK(loaded_at(*store, 5) == 5);
  CHECK(loaded_at(*store, 9) == 5);
  CHECK(loaded_at(*store, 10) == 10);
  CHECK(loaded_at(*store, 19) == 10);
  CHECK(loaded_at(*store, ~0ull) == 20);
  auto listed = store->snapshots().list(kind);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 3);
  CHECK((*listed)[0].position == 5);
  CHECK((*listed)[2].position == 20);
  CHECK((*listed)[2].bytes == 1000);
  // Other kinds are apart; an empty image is an image.
  REQUIRE(store->snapshots().save("other", 7, 0, "").ok());
  auto other = store->snapshots().load("other", 100);
  REQUIRE(other.ok());
  REQUIRE(other->has_value());
  CHECK((*other)->bytes.empty());
  CHECK(loaded_at(*store, 7) == 5);
  // Bad arguments write nothing.
  CHECK(store->snapshots().save("Bad-Kind", 1, 0, "x").err().code == "invalid_snapshot_kind");
  CHECK(store->snapshots().save("../x", 1, 0, "x").err().code == "invalid_snapshot_kind");
  CHECK(store->snapshots().save(kind, 0, 0, "x").err().code == "invalid_snapshot_position");
  // Across a reopen, and gone after remove_all (other kinds kept).
  store.reset();
  store = open_store(dir);
  CHECK(loaded_at(*store, 12) == 10);
  REQUIRE(store->snapshots().remove_all(kind).ok());
  CHECK(loaded_at(*store, ~0ull) == 0);
  CHECK(store->snapshots().list(kind)->empty());
  CHECK(names_in(snapshots_dir(dir)).size() == 1);  // the other kind's
}

TEST_CASE("a damaged snapshot file is skipped and the next older one used") {
  temp_dir dir;
  auto store = open_store(dir);
  for (std::uint64_t p : {10, 20})
    REQUIRE(store->snapshots().save(kind, p, 0, payload_for(p)).ok());
  const auto good = read_file(image_path(dir, 20));
  SUBCASE("a flipped payload byte") {
    auto bad = good;
    bad[bad.size() - 3] ^= 0x10;
    write_file(image_path(dir, 20), bad);
  }
  SUBCASE("a flipped header byte") {
    auto bad = good;
    bad[20] ^= 0x01;  // in the position
    write_file(image_path(dir, 20), bad);
  }
  SUBCASE("a flipped byte in the latest business time") {
    auto bad = good;
    bad[35] ^= 0x01;
    write_file(image_path(dir, 20), bad);
  }
  SUBCASE("a truncated file") {
    write_file(image_path(dir, 20), good.substr(0, good.size() - 1));
  }
  SUBCASE("a truncated header") {
    write_file(image_path(dir, 20), good.substr(0, 30));
  }
  SUBCASE("bytes appended") {
    write_file(image_path(dir, 20), good + "x");
  }
  SUBCASE("not an image") {
    write_file(image_path(dir, 20), std::string(2000, 'a'));
  }
  SUBCASE("an image under another position's name") {
    fs::rename(image_path(dir, 20), image_path(dir, 15));
    CHECK(loaded_at(*store, ~0ull) == 10);
    CHECK(loaded_at(*store, 15) == 10);
    return;
  }
  CHECK(loaded_at(*store, ~0ull) == 10);
  // With no older one left: none.
  fs::remove(image_path(dir, 10));
  CHECK(loaded_at(*store, ~0ull) == 0);
}

TEST_CASE("an image keeps the latest business time it folds and list() reads it from its header") {
  temp_dir dir;
  auto store = open_store(dir);
  const std::int64_t before_1970 = -1'000'000;
  REQUIRE(store->snapshots().save(kind, 10, before_1970, payload_for(10)).ok());
  REQUIRE(store->snapshots().save(kind, 20, 1'750'000'000'000'000, payload_for(20)).ok());
  store.reset();
  store = open_store(dir);
  auto listed = store->snapshots().list(kind);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].last_occurred_at == before_1970);
  CHECK((*listed)[1].last_occurred_at == 1'750'000'000'000'000);
  CHECK((*listed)[1].bytes == 1000);
  auto loaded = store->snapshots().load(kind, 15);
  REQUIRE(loaded.ok());
  REQUIRE(loaded->has_value());
  CHECK((*loaded)->last_occurred_at == before_1970);
  // A header that cannot be read lists the file without a time; load() skips it.
  write_file(image_path(dir, 20), read_file(image_path(dir, 20)).substr(0, 50));
  listed = store->snapshots().list(kind);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK_FALSE((*listed)[1].last_occurred_at.has_value());
  CHECK(loaded_at(*store, ~0ull) == 10);
}

// A file as a build before format 2 wrote it: a 64-byte header without the business time.
std::string format_1_image(std::uint64_t position, const std::string& payload,
                           std::uint32_t version = 1) {
  std::string header(64, '\0');
  std::memcpy(header.data(), "KKHSNAP\n", 8);
  auto put = [&](std::size_t at, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
      header[at + i] = static_cast<char>(v >> (8 * i));
  };
  put(8, version, 4);
  put(16, position, 8);
  put(24, payload.size(), 8);
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(header.data()), 32);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(payload.data()),
                            payload.size());
  crypto_generichash_final(&state, reinterpret_cast<unsigned char*>(header.data() + 32), 32);
  return header + payload;
}

TEST_CASE("a format 1 image is still read without a business time and an unknown format is not") {
  temp_dir dir;
  auto store = open_store(dir);
  REQUIRE(store->snapshots().save(kind, 10, 7, payload_for(10)).ok());
  write_file(image_path(dir, 20), format_1_image(20, payload_for(20)));
  CHECK(loaded_at(*store, ~0ull) == 20);
  auto loaded = store->snapshots().load(kind, 20);
  REQUIRE(loaded.ok());
  REQUIRE(loaded->has_value());
  CHECK_FALSE((*loaded)->last_occurred_at.has_value());
  auto listed = store->snapshots().list(kind);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].last_occurred_at == 7);
  CHECK_FALSE((*listed)[1].last_occurred_at.has_value());
  CHECK((*listed)[1].bytes == 1000);
  SUBCASE("damaged, it is skipped like any other") {
    auto bad = format_1_image(20, payload_for(20));
    bad[bad.size() - 1] ^= 0x01;
    write_file(image_path(dir, 20), bad);
    CHECK(loaded_at(*store, ~0ull) == 10);
  }
  SUBCASE("a format this build does not know is skipped") {
    write_file(image_path(dir, 20), format_1_image(20, payload_for(20), 3));
    CHECK(loaded_at(*store, ~0ull) == 10);
  }
}

TEST_CASE("snapshot images over the size limit are neither written nor read") {
  temp_dir dir;
  auto options = options_for(dir);
  {
    auto store = open_store(options);
    REQUIRE(store->snapshots().save(kind, 10, 0, payload_for(10, 100)).ok());
    REQUIRE(store->snapshots().save(kind, 20, 0, payload_for(20, 101)).ok());
  }
  options.max_snapshot_bytes = 100;
  auto store = open_store(options);
  CHECK(store->snapshots().max_image_bytes() == 100);
  CHECK(loaded_at(*store, ~0ull) == 10);  // the one at 20 is too large now
  auto refused = store->snapshots().save(kind, 30, 0, payload_for(30, 101));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err().code == "snapshot_too_large");
  CHECK_FALSE(fs::exists(image_path(dir, 30)));
  CHECK_FALSE(fs::exists(image_path(dir, 30) + ".tmp"));
  CHECK(store->snapshots().save(kind, 30, 0, payload_for(30, 100)).ok());
}

TEST_CASE(
    "a writable open removes stray temporary snapshot files, a read-only open writes nothing") {
  temp_dir dir;
  {
    auto store = open_store(dir);
    REQUIRE(store->snapshots().save(kind, 10, 0, payload_for(10)).ok());
    must_append(*store, single("s-1", expected_version::any(), make_event("Noted")));
  }
  const auto stray = image_path(dir, 20) + ".tmp";
  write_file(stray, "half an image");
  const auto before = names_in(snapshots_dir(dir));
  REQUIRE(before.size() == 2);
  {
    auto options = options_for(dir);
    options.read_only = true;
    auto store = open_store(options);
    CHECK(loaded_at(*store, ~0ull) == 10);
    auto saved = store->snapshots().save(kind, 30, 0, payload_for(30));
    REQUIRE_FALSE(saved.ok());
    CHECK(saved.err().code == "read_only");
    auto removed = store->snapshots().remove_all(kind);
    REQUIRE_FALSE(removed.ok());
    CHECK(removed.err().code == "read_only");
  }
  CHECK(names_in(snapshots_dir(dir)) == before);
  CHECK(fs::exists(stray));
  {
    auto store = open_store(dir);
    CHECK_FALSE(fs::exists(stray));
    CHECK(loaded_at(*store, ~0ull) == 10);
  }
}

TEST_CASE("a read-only open of a data directory without snapshots creates none") {
  temp_dir dir;
  {
    auto store = open_store(dir);
    must_append(*store, single("s-1", expected_version::any(), make_event("Noted")));
  }
  fs::remove_all(snapshots_dir(dir));  // as an earlier version left it
  auto options = options_for(dir);
  options.read_only = true;
  auto store = open_store(options);
  CHECK(loaded_at(*store, ~0ull) == 0);
  CHECK(store->snapshots().list(kind)->empty());
  CHECK_FALSE(fs::exists(snapshots_dir(dir)));
}

TEST_CASE("a failed snapshot write leaves no file under its name and the log writable") {
  temp_dir dir;
  auto faults = fault_injector::create(3);
  auto options = options_for(dir);
  options.faults = faults;
  auto store = open_store(options);
  REQUIRE(store->snapshots().save(kind, 10, 0, payload_for(10)).ok());
  SUBCASE("write") {
    faults->add_rule({fault_op::write, fault_file::snapshot});
  }
  SUBCASE("sync") {
    faults->add_rule({fault_op::sync, fault_file::snapshot});
  }
  SUBCASE("full disk") {
    faults->set_free_space(500);
  }
  auto saved = store->snapshots().save(kind, 20, 0, payload_for(20));
  REQUIRE_FALSE(saved.ok());
  CHECK_FALSE(fs::exists(image_path(dir, 20)));
  CHECK_FALSE(fs::exists(image_path(dir, 20) + ".tmp"));
  CHECK(loaded_at(*store, ~0ull) == 10);
  faults->clear_faults();
  // The event log is not fenced by an image's failure.
  CHECK_FALSE(store->writes_failed());
  must_append(*store, single("s-1", expected_version::any(), make_event("Noted")));
}

TEST_CASE("a power cut during a snapshot write leaves the old images or the new one complete") {
  for (std::uint64_t crash_at = 1; crash_at <= 12; ++crash_at) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      CAPTURE(crash_at);
      CAPTURE(seed);
      temp_dir dir;
      auto faults = fault_injector::create(seed * 100 + crash_at);
      auto options = options_for(dir);
      options.faults = faults;
      auto store = open_store(options);
      REQUIRE(store->snapshots().save(kind, 10, 0, payload_for(10, 5000)).ok());
      faults->crash_after(crash_at, fault_file::any);
      const bool saved = store->snapshots().save(kind, 20, 0, payload_for(20, 5000)).ok();
      faults->crash();  // if the save got through before the armed crash
      store.reset();
      REQUIRE(faults->lose_power().ok());
      store = open_store(options);
      const auto newest = loaded_at(*store, ~0ull);
      if (saved) CHECK(newest == 20);  // acknowledged: durable
      CHECK((newest == 10 || newest == 20));
      CHECK(loaded_at(*store, 19) == 10);
      // Every image file left is whole, and no temporary file survives a writable open.
      auto listed = store->snapshots().list(kind);
      REQUIRE(listed.ok());
      for (const auto& image : *listed)
        CHECK(loaded_at(*store, image.position) == image.position);
      for (const auto& name : names_in(snapshots_dir(dir)))
        CHECK_FALSE(std::string_view(name).ends_with(".tmp"));
    }
  }
}

TEST_CASE("an append completes while a snapshot image is being written") {
  temp_dir dir;
  auto faults = fault_injector::create(9);
  auto options = options_for(dir);
  options.faults = faults;
  auto store = open_store(options);
  must_append(*store, single("s-1", expected_version::any(), make_event("Noted")));
  // The image's sync is held: the save is stopped in the middle of its write.
  faults->hold_next_sync(fault_file::snapshot);
  std::promise<status> save_outcome;
  std::thread saver([&] {
    save_outcome.set_value(store->snapshots().save(kind, 1, 0, payload_for(1, 1 << 20)));
  });
  REQUIRE(faults->wait_for_held_sync(std::chrono::seconds(60)));
  // A bound for a hang, not a timing threshold: an append waiting on the image never completes.
  std::promise<result<append_result>> appended;
  auto done = appended.get_future();
  store->append_async(single("s-1", expected_version::any(), make_event("Noted")),
                      [&](result<append_result> r) { appended.set_value(std::move(r)); });
  const bool completed = done.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  CHECK(completed);
  if (completed) CHECK(done.get().ok());
  CHECK(store->head_position() == 2);
  faults->release_held();
  saver.join();
  CHECK(save_outcome.get_future().get().ok());
  CHECK(loaded_at(*store, ~0ull) == 1);
}

}  // namespace
}  // namespace kakehashi::test
