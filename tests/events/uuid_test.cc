// Identifiers: UUID text round trip and rejection, UUIDv7 layout and ordering, now_micros.
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>

#include "events/ids.h"

namespace kakehashi {
namespace {

TEST_CASE("uuid parses and formats the canonical form") {
  const std::string text = "0192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b";
  auto parsed = parse_uuid(text);
  REQUIRE(parsed.has_value());
  const std::uint8_t expected[16] = {0x01, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0x7e, 0x8f,
                                     0x9a, 0x0b, 0x1c, 0x2d, 0x3e, 0x4f, 0x5a, 0x6b};
  for (int i = 0; i < 16; ++i)
    CHECK(parsed->bytes[static_cast<std::size_t>(i)] == expected[i]);
  CHECK(parsed->to_string() == text);
  CHECK_FALSE(parsed->is_nil());

  // Upper case is accepted and formats back in lower case.
  auto upper = parse_uuid("0192A3B4-C5D6-7E8F-9A0B-1C2D3E4F5A6B");
  REQUIRE(upper.has_value());
  CHECK(*upper == *parsed);
  CHECK(upper->to_string() == text);

  auto nil = parse_uuid("00000000-0000-0000-0000-000000000000");
  REQUIRE(nil.has_value());
  CHECK(nil->is_nil());
  CHECK(uuid{}.is_nil());
  CHECK(uuid{}.to_string() == "00000000-0000-0000-0000-000000000000");
}

TEST_CASE("uuid round trips through text and raw bytes") {
  for (int i = 0; i < 200; ++i) {
    const uuid id = new_uuid_v7();
    const std::string text = id.to_string();
    CHECK(text.size() == 36);
    auto back = parse_uuid(text);
    REQUIRE(back.has_value());
    CHECK(*back == id);
    auto raw = uuid_from_bytes(id.as_bytes());
    REQUIRE(raw.has_value());
    CHECK(*raw == id);
    CHECK(uuid_hash{}(*raw) == uuid_hash{}(id));
  }
  CHECK_FALSE(uuid_from_bytes("short").has_value());
  CHECK_FALSE(uuid_from_bytes(std::string(17, 'x')).has_value());
  CHECK_FALSE(uuid_from_bytes("").has_value());
}

TEST_CASE("uuid rejects malformed text") {
  const char* bad[] = {
      "",
      "0192a3b4c5d67e8f9a0b1c2d3e4f5a6b",       // no dashes
      "0192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6",    // one short
      "0192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b0",  // one long
      "0192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6g",   // not hex
      "0192a3b-4c5d6-7e8f-9a0b-1c2d3e4f5a6b",   // dash misplaced
      "0192a3b4-c5d6-7e8f-9a0b_1c2d3e4f5a6b",   // wrong separator
      "{192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b}",  // braces
      " 0192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b",  // leading space
      "0192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6 ",   // trailing space inside length
      "0192a3b4--5d6-7e8f-9a0b-1c2d3e4f5a6b",   // dash in a hex slot
      "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
  };
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(parse_uuid(text).has_value());
  }
  // An embedded NUL is not hex either.
  std::string with_nul = "0192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b";
  with_nul[3] = '\0';
  CHECK_FALSE(parse_uuid(with_nul).has_value());
}

TEST_CASE("uuid v7 carries version, variant and the current time") {
  for (int i = 0; i < 500; ++i) {
    const std::int64_t before_ms = now_micros() / 1000;
    const uuid id = new_uuid_v7();
    const std::int64_t after_ms = now_micros() / 1000;
    CHECK((id.bytes[6] >> 4) == 0x7);
    CHECK((id.bytes[8] & 0xc0) == 0x80);
    std::int64_t ms = 0;
    for (int b = 0; b < 6; ++b)
      ms = ms << 8 | id.bytes[static_cast<std::size_t>(b)];
    CHECK(ms >= before_ms);
    CHECK(ms <= after_ms);
    CHECK(id.to_string()[14] == '7');
  }
}

TEST_CASE("uuid v7 values are unique and ordered by time") {
  std::unordered_set<uuid, uuid_hash> seen;
  for (int i = 0; i < 20000; ++i)
    CHECK(seen.insert(new_uuid_v7()).second);

  uuid previous = new_uuid_v7();
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const uuid next = new_uuid_v7();
    CHECK(previous < next);
    CHECK(previous.to_string() < next.to_string());  // text sorts the same way
    previous = next;
  }
}

TEST_CASE("uuid v7 random bits differ within one millisecond") {
  // Ids made back to back share the timestamp but not the random part.
  std::set<std::string> tails;
  for (int i = 0; i < 100; ++i)
    tails.insert(new_uuid_v7().to_string().substr(14));
  CHECK(tails.size() == 100);
}

TEST_CASE("now_micros is wall-clock microseconds") {
  using namespace std::chrono;
  const auto system = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  const auto ours = now_micros();
  CHECK(ours > 1'600'000'000'000'000);  // after September 2020, in microseconds
  CHECK(ours - system < 1'000'000);
  CHECK(system - ours < 1'000'000);
  const auto later = now_micros();
  CHECK(later >= ours);
}

}  // namespace
}  // namespace kakehashi
