// Crypto-shredding end to end (issue 3): personal data sealed into event payloads never reaches
// a file of the data directory in plaintext, and after erasure the subject's key bytes are in no
// file at all (WAL, SST, MANIFEST, LOG), while the hash chain over the ciphertext still verifies.
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "events/event_codec.h"
#include "tests/engine/disk_support.h"
#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

constexpr const char* email = "hanako.test@example.jp";
constexpr const char* phone = "090-1234-5678";

// A TalentRegistered payload as the command layer builds it: public bytes with the personal
// bytes sealed under the talent's key.
std::string sealed_registration(key_vault& vault, const std::string& subject, int n) {
  std::string json = std::string(R"({"display_name":"Hanako Test )") + std::to_string(n) +
                     R"(","email":")" + email + R"(","phone":")" + phone +
                     R"(","employer":"Example KK","consent_version":"2025-04"})";
  auto encoded = encode_payload("TalentRegistered", json);
  if (!encoded) FAIL("encode_payload: " << describe(encoded.err()));
  REQUIRE(encoded->personal_bytes.find(email) != std::string::npos);  // the test is meaningful
  REQUIRE(encoded->public_bytes.find(email) == std::string::npos);
  auto sealed = vault.seal(subject, encoded->personal_bytes);
  if (!sealed) FAIL("seal: " << describe(sealed.err()));
  auto payload = set_sealed("TalentRegistered", encoded->public_bytes, *sealed);
  if (!payload) FAIL("set_sealed: " << describe(payload.err()));
  return std::move(payload).value();
}

// The event's personal fields as JSON, or the error of opening its sealed bytes.
result<std::string> personal_json(key_vault& vault, const recorded_event& event) {
  auto sealed = get_sealed(event.type, event.payload);
  if (!sealed) return sealed.take_err();
  auto personal = vault.open(*sealed);
  if (!personal) return personal.take_err();
  return decode_payload_json(event.type, event.payload, *personal, personal_view::full);
}

void append_registrations(event_store& store, const std::string& subject, int count) {
  for (int i = 0; i < count; ++i) {
    new_event ev = make_event("TalentRegistered", sealed_registration(store.keys(), subject, i));
    must_append(store, single(subject, expected_version::any(), std::move(ev)));
  }
}

TEST_CASE("personal data is never on disk in plaintext and its key is gone after erasure") {
  temp_dir dir;
  const std::string subject = "talent-0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
  const std::string other = "talent-0190a1b2-c3d4-7e5f-8a9b-ffffffffffff";
  std::vector<hash256> hashes;
  {
    auto store = open_store(dir);
    append_registrations(*store, subject, 20);
    append_registrations(*store, other, 3);
    for (int i = 0; i < 50; ++i)  // unrelated traffic, so the log has more than these records
      must_append(*store, single("ledger", expected_version::any(), make_event("Noted", "n")));
    auto all = read_everything(*store);
    REQUIRE(all.size() == 73);
    auto first = personal_json(store->keys(), *all[0]);
    REQUIRE_MESSAGE(first.ok(), describe(first.err()));
    CHECK(first->find(email) != std::string::npos);
    CHECK(first->find(phone) != std::string::npos);
    for (const auto& ev : all)
      hashes.push_back(ev->hash);
  }
  REQUIRE(file_count(dir.db_path()) > 0);
  CHECK(files_containing(dir.db_path(), email).empty());
  CHECK(files_containing(dir.db_path(), phone).empty());

  const std::string key = raw_key(dir.db_path(), subject);
  const std::string other_key = raw_key(dir.db_path(), other);
  // Where the keys are now (WAL or SST): the search below would find them if they were left.
  REQUIRE_FALSE(files_containing(dir.db_path(), key).empty());
  REQUIRE_FALSE(files_containing(dir.db_path(), other_key).empty());

  {
    auto store = open_store(dir);
    REQUIRE(store->keys().erase(subject).ok());
    // Gone at once, while the store is open, not only after a restart.
    auto holding = files_containing(dir.db_path(), key);
    CHECK_MESSAGE(holding.empty(), "key bytes still in " << joined(holding));
    auto all = read_everything(*store);
    REQUIRE(all.size() == 73);
    CHECK_FAILS_WITH(personal_json(store->keys(), *all[0]), errc::not_found, "erased");
    auto kept = personal_json(store->keys(), *all[20]);
    REQUIRE_MESSAGE(kept.ok(), describe(kept.err()));
    CHECK(kept->find(email) != std::string::npos);
  }
  {
    auto store = open_store(dir);
    auto holding = files_containing(dir.db_path(), key);
    CHECK_MESSAGE(holding.empty(), "key bytes still in " << joined(holding));
    CHECK(files_containing(dir.db_path(), email).empty());
    CHECK(files_containing(dir.db_path(), phone).empty());
    CHECK_FALSE(files_containing(dir.db_path(), other_key).empty());  // others' keys are kept

    // The log is untouched: same records, same hashes, and the chain verifies.
    auto report = store->verify();
    CHECK(report.ok);
    CHECK(report.checked == 73);
    auto all = read_everything(*store);
    REQUIRE(all.size() == hashes.size());
    for (std::size_t i = 0; i < all.size(); ++i)
      CHECK(all[i]->hash == hashes[i]);
    CHECK(store->keys().is_erased(subject));
    CHECK_FAILS_WITH(personal_json(store->keys(), *all[5]), errc::not_found, "erased");
    // The public part still reads, with the personal fields shown as erased.
    auto shown =
        decode_payload_json(all[5]->type, all[5]->payload, std::nullopt, personal_view::erased);
    REQUIRE_MESSAGE(shown.ok(), describe(shown.err()));
    CHECK(shown->find("2025-04") != std::string::npos);
    CHECK(shown->find(email) == std::string::npos);
    CHECK_FAILS_WITH(store->keys().seal(subject, "new"), errc::conflict, "subject_erased");
  }
}

TEST_CASE("erasure completes while appends run concurrently") {
  temp_dir dir;
  auto store = open_store(dir);
  const std::string victim = "talent-victim";
  append_registrations(*store, victim, 5);
  // Read next to the running store: the key is only in the live WAL (and memtable), so the
  // erase must retire that WAL while the writers keep appending to the store.
  const std::string key = raw_key(dir.db_path(), victim);
  REQUIRE_FALSE(files_containing(dir.db_path(), key).empty());

  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t)
    writers.emplace_back([&, t] {
      const std::string subject = "talent-writer-" + std::to_string(t);
      // Each writer appends at least a few events before and after the erase.
      for (int i = 0; !stop.load() || i < 20; ++i) {
        new_event ev =
            make_event("TalentRegistered", sealed_registration(store->keys(), subject, i));
        if (store->append(single(subject, expected_version::any(), std::move(ev))).ok())
          appended.fetch_add(1);
        else
          failures.fetch_add(1);
      }
    });
  while (appended.load() < 10)
    std::this_thread::yield();
  auto erased = store->keys().erase(victim);
  stop.store(true);
  for (auto& w : writers)
    w.join();
  REQUIRE_MESSAGE(erased.ok(), describe(erased.err()));
  CHECK(failures.load() == 0);
  CHECK(files_containing(dir.db_path(), key).empty());

  auto all = read_everything(*store);
  CHECK(all.size() == 5 + static_cast<std::size_t>(appended.load()));
  for (const auto& ev : all) {
    auto personal = personal_json(store->keys(), *ev);
    if (ev->stream == victim) {
      CHECK_FAILS_WITH(personal, errc::not_found, "erased");
    } else {
      REQUIRE_MESSAGE(personal.ok(), describe(personal.err()));
      CHECK(personal->find(email) != std::string::npos);
    }
  }
  CHECK(store->verify().ok);
}

}  // namespace
}  // namespace kakehashi::test
