// The key vault: sealing and opening, rejection of hostile blobs, erasure semantics, persistence
// across reopen, read-only stores, the key cache and concurrent first use of a subject.
#include <algorithm>
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

std::string must_seal(key_vault& vault, std::string_view subject, std::string_view plaintext) {
  auto sealed = vault.seal(subject, plaintext);
  if (!sealed) FAIL("seal failed: " << describe(sealed.err()));
  return std::move(sealed).value();
}

std::string must_open(const key_vault& vault, std::string_view sealed) {
  auto opened = vault.open(sealed);
  if (!opened) FAIL("open failed: " << describe(opened.err()));
  return std::move(opened).value();
}

TEST_CASE("seal and open round trip, with the documented blob layout") {
  temp_dir dir;
  auto store = open_store(dir);
  auto& vault = store->keys();
  const std::string subject = "talent-0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
  for (std::string plaintext : {std::string(), std::string("hanako.test@example.jp"),
                                std::string("\0binary\xff\x01", 9), std::string(100000, 'x')}) {
    CAPTURE(plaintext.size());
    auto sealed = must_seal(vault, subject, plaintext);
    REQUIRE(sealed.size() ==
            2 + subject.size() + key_vault::nonce_bytes + plaintext.size() + key_vault::tag_bytes);
    CHECK(static_cast<std::uint8_t>(sealed[0]) == key_vault::format_v1);
    CHECK(static_cast<std::uint8_t>(sealed[1]) == subject.size());
    CHECK(sealed.substr(2, subject.size()) == subject);
    if (!plaintext.empty()) CHECK(sealed.find(plaintext) == std::string::npos);
    CHECK(must_open(vault, sealed) == plaintext);
    auto named = key_vault::subject_of(sealed);
    REQUIRE(named.ok());
    CHECK(*named == subject);
  }
  // Fresh nonces: sealing the same plaintext twice gives different blobs.
  CHECK(must_seal(vault, subject, "same") != must_seal(vault, subject, "same"));
  CHECK(vault.stats().keys_created == 1);
  CHECK_FALSE(vault.is_erased(subject));
}

TEST_CASE("a subject's key opens only that subject's blobs") {
  temp_dir dir;
  auto store = open_store(dir);
  auto& vault = store->keys();
  // Same length, so a re-labelled blob keeps a well-formed layout.
  auto sealed_a = must_seal(vault, "subject-a", "alpha's phone 090-1234-5678");
  auto sealed_b = must_seal(vault, "subject-b", "beta");
  CHECK(vault.stats().keys_created == 2);

  // A's blob re-labelled as B's: B's key and the bound subject both reject it.
  std::string relabelled = sealed_a;
  relabelled.replace(2, 9, "subject-b");
  REQUIRE(*key_vault::subject_of(relabelled) == "subject-b");
  CHECK_FAILS_WITH(vault.open(relabelled), errc::invalid_argument, "invalid_sealed_data");

  // B's header on A's nonce and ciphertext: the same.
  std::string spliced = sealed_b.substr(0, 2 + 9) + sealed_a.substr(2 + 9);
  CHECK_FAILS_WITH(vault.open(spliced), errc::invalid_argument, "invalid_sealed_data");

  // A subject that never had a key.
  std::string unknown = sealed_a;
  unknown.replace(2, 9, "subject-z");
  CHECK_FAILS_WITH(vault.open(unknown), errc::invalid_argument, "invalid_sealed_data");
  CHECK(vault.stats().keys_created == 2);  // open never creates a key
  CHECK(must_open(vault, sealed_a) == "alpha's phone 090-1234-5678");
}

TEST_CASE("every tampered byte, truncation and malformed blob is rejected") {
  temp_dir dir;
  auto store = open_store(dir);
  auto& vault = store->keys();
  const std::string plaintext = "hanako.test@example.jp / 090-1234-5678";
  auto sealed = must_seal(vault, "talent-1", plaintext);

  for (std::size_t i = 0; i < sealed.size(); ++i) {
    for (std::uint8_t bit : {0x01, 0x80}) {
      CAPTURE(i);
      std::string tampered = sealed;
      tampered[i] = static_cast<char>(tampered[i] ^ bit);
      auto opened = vault.open(tampered);
      REQUIRE_FALSE(opened.ok());
      CHECK(opened.err().code == "invalid_sealed_data");
    }
  }
  for (std::size_t length = 0; length < sealed.size(); ++length) {
    CAPTURE(length);
    CHECK_FAILS_WITH(vault.open(sealed.substr(0, length)), errc::invalid_argument,
                     "invalid_sealed_data");
  }
  std::string extended = sealed + "x";
  CHECK_FAILS_WITH(vault.open(extended), errc::invalid_argument, "invalid_sealed_data");

  std::string wrong_format = sealed;
  wrong_format[0] = 0x02;
  CHECK_FAILS_WITH(vault.open(wrong_format), errc::invalid_argument, "invalid_sealed_data");
  CHECK_FAILS_WITH(key_vault::subject_of(wrong_format), errc::invalid_argument,
                   "invalid_sealed_data");
  for (std::uint8_t length : {0, 9, 129, 255}) {
    CAPTURE(int(length));
    std::string bad_length = sealed;
    bad_length[1] = static_cast<char>(length);
    CHECK_FAILS_WITH(vault.open(bad_length), errc::invalid_argument, "invalid_sealed_data");
  }
  std::string control_char_subject = sealed;
  control_char_subject[3] = '\n';
  CHECK_FAILS_WITH(key_vault::subject_of(control_char_subject), errc::invalid_argument,
                   "invalid_sealed_data");

  std::string oversized(key_vault::max_sealed_bytes + 1, 'a');
  oversized[0] = static_cast<char>(key_vault::format_v1);
  oversized[1] = 1;
  CHECK_FAILS_WITH(vault.open(oversized), errc::invalid_argument, "invalid_sealed_data");

  // Random bytes, some with a plausible header, never crash and never open.
  std::mt19937_64 rng(20251201);
  for (int round = 0; round < 2000; ++round) {
    std::string junk(rng() % 300, '\0');
    for (auto& c : junk)
      c = static_cast<char>(rng());
    if (round % 2 == 0 && junk.size() > 12) {
      junk[0] = static_cast<char>(key_vault::format_v1);
      junk[1] = 8;
      junk.replace(2, 8, "talent-1");
    }
    CHECK_FALSE(vault.open(junk).ok());
  }
  CHECK(must_open(vault, sealed) == plaintext);
}

TEST_CASE("subjects and plaintexts are validated before anything is stored") {
  temp_dir dir;
  auto store = open_store(dir);
  auto& vault = store->keys();
  for (std::string subject :
       {std::string(), std::string("has space"), std::string("tab\there"), std::string("nul\0x", 5),
        std::string("ünïcode"), std::string(key_vault::max_subject_bytes + 1, 's')}) {
    CAPTURE(subject);
    CHECK_FAILS_WITH(vault.seal(subject, "x"), errc::invalid_argument, "invalid_subject");
    CHECK_FAILS_WITH(vault.erase(subject), errc::invalid_argument, "invalid_subject");
    CHECK_FALSE(vault.is_erased(subject));
  }
  CHECK(must_open(vault, must_seal(vault, std::string(key_vault::max_subject_bytes, 's'), "x")) ==
        "x");
  CHECK_FAILS_WITH(vault.seal("talent-1", std::string(key_vault::max_plaintext_bytes + 1, 'p')),
                   errc::too_large, "plaintext_too_large");
  CHECK(vault.stats().keys_created == 1);
  auto biggest = must_seal(vault, "talent-1", std::string(key_vault::max_plaintext_bytes, 'p'));
  CHECK(biggest.size() <= key_vault::max_sealed_bytes);
  CHECK(must_open(vault, biggest).size() == key_vault::max_plaintext_bytes);
}

TEST_CASE("erase: old blobs read as erased, nothing new is sealed, other subjects unaffected") {
  temp_dir dir;
  auto store = open_store(dir);
  auto& vault = store->keys();
  auto gone = must_seal(vault, "talent-gone", "hanako.test@example.jp");
  auto kept = must_seal(vault, "talent-kept", "taro.test@example.jp");
  REQUIRE(must_open(vault, gone) == "hanako.test@example.jp");  // the key is now cached

  REQUIRE(vault.erase("talent-gone").ok());
  CHECK(vault.is_erased("talent-gone"));
  CHECK_FALSE(vault.is_erased("talent-kept"));
  CHECK_FALSE(vault.is_erased("talent-never-seen"));
  CHECK_FAILS_WITH(vault.open(gone), errc::not_found, "erased");
  CHECK_FAILS_WITH(vault.seal("talent-gone", "again"), errc::conflict, "subject_erased");
  CHECK(must_open(vault, kept) == "taro.test@example.jp");
  CHECK(vault.stats().erasures == 1);

  // Idempotent, and a subject erased before it ever had a key never gets one.
  REQUIRE(vault.erase("talent-gone").ok());
  CHECK(vault.stats().erasures == 1);
  REQUIRE(vault.erase("talent-never-seen").ok());
  CHECK(vault.is_erased("talent-never-seen"));
  CHECK_FAILS_WITH(vault.seal("talent-never-seen", "x"), errc::conflict, "subject_erased");
  CHECK(vault.stats().keys_created == 2);
}

TEST_CASE("keys and erasures survive reopen, a read-only store opens but cannot seal or erase") {
  temp_dir dir;
  std::string kept_blob, gone_blob;
  {
    auto store = open_store(dir);
    kept_blob = must_seal(store->keys(), "talent-kept", "kept secret");
    gone_blob = must_seal(store->keys(), "talent-gone", "gone secret");
    REQUIRE(store->keys().erase("talent-gone").ok());
  }
  {
    auto store = open_store(dir);
    auto& vault = store->keys();
    CHECK(must_open(vault, kept_blob) == "kept secret");
    CHECK(vault.is_erased("talent-gone"));
    CHECK_FAILS_WITH(vault.open(gone_blob), errc::not_found, "erased");
    CHECK_FAILS_WITH(vault.seal("talent-gone", "x"), errc::conflict, "subject_erased");
    // The stored key is reused, not replaced.
    CHECK(must_open(vault, must_seal(vault, "talent-kept", "more")) == "more");
    CHECK(vault.stats().keys_created == 0);
  }
  {
    auto options = options_for(dir);
    options.read_only = true;
    auto store = open_store(options);
    auto& vault = store->keys();
    CHECK(must_open(vault, kept_blob) == "kept secret");
    CHECK(vault.is_erased("talent-gone"));
    CHECK_FAILS_WITH(vault.open(gone_blob), errc::not_found, "erased");
    CHECK_FAILS_WITH(vault.seal("talent-kept", "x"), errc::unavailable, "read_only");
    CHECK_FAILS_WITH(vault.seal("talent-new", "x"), errc::unavailable, "read_only");
    CHECK_FAILS_WITH(vault.erase("talent-kept"), errc::unavailable, "read_only");
  }
}

TEST_CASE("the key cache stays within its bound and serves reads correctly") {
  temp_dir dir;
  for (std::size_t capacity : {0, 1, 4}) {
    CAPTURE(capacity);
    auto options = options_for(dir);
    options.key_cache_entries = capacity;
    auto store = open_store(options);
    auto& vault = store->keys();
    std::vector<std::string> blobs;
    for (int i = 0; i < 10; ++i)
      blobs.push_back(must_seal(vault, "cap" + std::to_string(capacity) + "-" + std::to_string(i),
                                "secret " + std::to_string(i)));
    CHECK(vault.stats().cached_entries <= capacity);
    CHECK(vault.stats().cache_capacity == capacity);
    for (int round = 0; round < 2; ++round)
      for (int i = 0; i < 10; ++i)
        CHECK(must_open(vault, blobs[i]) == "secret " + std::to_string(i));
    CHECK(vault.stats().cached_entries <= capacity);
    auto before = vault.stats();
    REQUIRE(must_open(vault, blobs[9]) == "secret 9");
    auto after = vault.stats();
    if (capacity > 0)
      CHECK(after.cache_hits == before.cache_hits + 1);  // the last one read is still cached
    else
      CHECK(after.cache_misses == before.cache_misses + 1);
    // Erasure overrides a cached key.
    const std::string subject = "cap" + std::to_string(capacity) + "-9";
    REQUIRE(vault.erase(subject).ok());
    CHECK_FAILS_WITH(vault.open(blobs[9]), errc::not_found, "erased");
    CHECK(must_open(vault, blobs[8]) == "secret 8");
  }
}

TEST_CASE("concurrent first seals of one subject create exactly one key") {
  temp_dir dir;
  auto options = options_for(dir);
  options.key_cache_entries = 0;  // every seal goes to the keys family
  auto store = open_store(options);
  auto& vault = store->keys();
  constexpr int threads = 8;
  std::vector<std::string> blobs(threads);
  std::atomic<int> ready{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < threads)
        std::this_thread::yield();
      auto sealed = vault.seal("talent-race", "from " + std::to_string(t));
      if (sealed) blobs[t] = std::move(sealed).value();
    });
  for (auto& w : workers)
    w.join();
  CHECK(vault.stats().keys_created == 1);
  for (int t = 0; t < threads; ++t) {
    CAPTURE(t);
    REQUIRE_FALSE(blobs[t].empty());
    CHECK(must_open(vault, blobs[t]) == "from " + std::to_string(t));
  }
}

}  // namespace
}  // namespace kakehashi::test
