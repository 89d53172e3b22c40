// decode_record reads the layout record_encoder writes with a reader of its own and leaves
// everything else to Cap'n Proto: on every record, well-formed or damaged, it must give exactly
// what Cap'n Proto's reader gives (decode_record_capnp), including the traversal limit.
#include "engine/record_codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstring>
#include <string>
#include <vector>

#include "events/envelope.capnp.h"
#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

using detail::decode_record;
using detail::decode_record_capnp;

// Decodes `stored` both ways, at an aligned and at a misaligned address, and requires the same
// outcome. Returns whether it decoded.
bool decodes_alike(std::string_view stored) {
  bool decoded = false;
  for (std::size_t shift : {0, 1, 3}) {
    CAPTURE(shift);
    std::string storage(shift, '\0');
    storage.append(stored);
    std::string_view bytes = std::string_view(storage).substr(shift);
    recorded_event fast, reference;
    fast.payload = "left over from an earlier record";  // decoding reuses the event
    auto a = decode_record(bytes, fast);
    auto b = decode_record_capnp(bytes, reference);
    REQUIRE(a.ok() == b.ok());
    if (a.ok()) {
      check_same_event(fast, reference);
    } else {
      CHECK(a.err().kind == errc::corruption);
      CHECK(a.err().code == b.err().code);
    }
    decoded = a.ok();
  }
  return decoded;
}

new_event sample_event(std::size_t payload_bytes, bool full) {
  new_event e;
  e.type = "Sampled";
  e.schema_version = full ? 7 : 1;
  e.occurred_at = full ? 1700000000123456 : 0;
  e.who = full ? actor{"user-1", "coordinator", "municipality-131130"} : actor{};
  if (full) {
    e.correlation_id = new_uuid_v7();
    e.causation_id = new_uuid_v7();
  }
  e.payload.resize(payload_bytes);
  for (std::size_t i = 0; i < payload_bytes; ++i)
    e.payload[i] = static_cast<char>(i * 31 + 7);  // every byte value, NULs included
  return e;
}

std::string encode(const new_event& e, position_t position, hash256& hash) {
  detail::record_header header;
  header.id = new_uuid_v7();
  header.stream = "sample-stream";
  header.version = position - 1;
  header.position = position;
  header.recorded_at = 1700000000999999;
  hash256 prev{};
  prev[0] = static_cast<std::uint8_t>(position);
  return detail::encode_record(e, header, prev, hash);
}

TEST_CASE("decode_record gives what was encoded, as Cap'n Proto's reader does") {
  for (bool full : {false, true}) {
    for (std::size_t payload : {0, 1, 7, 8, 9, 300, 5000}) {
      CAPTURE(full);
      CAPTURE(payload);
      auto e = sample_event(payload, full);
      hash256 hash;
      auto stored = encode(e, 42, hash);
      REQUIRE(decodes_alike(stored));
      recorded_event out;
      REQUIRE(decode_record(stored, out).ok());
      CHECK(out.position == 42);
      CHECK(out.version == 41);
      CHECK(out.stream == "sample-stream");
      CHECK(out.type == e.type);
      CHECK(out.schema_version == e.schema_version);
      CHECK(out.occurred_at == (full ? e.occurred_at : 1700000000999999));
      CHECK(out.recorded_at == 1700000000999999);
      CHECK(out.who.id == e.who.id);
      CHECK(out.who.role == e.who.role);
      CHECK(out.who.on_behalf_of == e.who.on_behalf_of);
      CHECK(out.correlation_id == e.correlation_id);
      CHECK(out.causation_id == e.causation_id);
      CHECK(out.prev_hash[0] == 42);
      CHECK(out.hash == hash);
      CHECK(out.payload == e.payload);
      CHECK(out.stored_bytes == stored.size());
    }
  }
}

TEST_CASE("verify_record checks the claimed position, the link and the hash in one reading") {
  hash256 hash;
  const std::string stored = encode(sample_event(300, true), 42, hash);
  hash256 prev{};
  prev[0] = 42;  // what encode() links to
  hash256 verified{};
  REQUIRE(detail::verify_record(stored, 42, prev, verified).ok());
  CHECK(verified == hash);

  auto moved = detail::verify_record(stored, 43, prev, verified);
  REQUIRE_FALSE(moved.ok());
  CHECK(moved.err().code == "wrong_position");
  CHECK(moved.err().message == "record claims position 42 but is stored at 43");

  hash256 other_prev = prev;
  other_prev[31] ^= 1;
  auto unlinked = detail::verify_record(stored, 42, other_prev, verified);
  REQUIRE_FALSE(unlinked.ok());
  CHECK(unlinked.err().code == "chain_broken");

  std::string flipped = stored;
  flipped[flipped.size() - 8] ^= 1;  // in the payload, the last field (4 bytes of padding follow)
  recorded_event decoded;
  REQUIRE(decode_record(flipped, decoded).ok());
  CHECK(decoded.payload != sample_event(300, true).payload);
  auto changed = detail::verify_record(flipped, 42, prev, verified);
  REQUIRE_FALSE(changed.ok());
  CHECK(changed.err().code == "hash_mismatch");
}

TEST_CASE("decode_record agrees with Cap'n Proto on every truncation and every flipped bit") {
  auto e = sample_event(100, true);
  hash256 hash;
  auto stored = encode(e, 3, hash);
  std::size_t decoded = 0, refused = 0;
  for (std::size_t size = 0; size < stored.size(); size += 8) {
    CAPTURE(size);
    decodes_alike(stored.substr(0, size)) ? ++decoded : ++refused;
  }
  for (std::size_t bit = 0; bit < stored.size() * 8; ++bit) {
    CAPTURE(bit);
    std::string damaged = stored;
    damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
    decodes_alike(damaged) ? ++decoded : ++refused;
  }
  // Both outcomes occur: flips in the payload decode, flips in pointers mostly do not.
  CHECK(decoded > 100);
  CHECK(refused > 100);
}

// Records Cap'n Proto writes another way than record_encoder (several segments, far pointers,
// other section sizes) still decode, through Cap'n Proto.
TEST_CASE("decode_record reads records of another layout through Cap'n Proto") {
  capnp::MallocMessageBuilder message(4, capnp::AllocationStrategy::FIXED_SIZE);  // 4-word segments
  auto record = message.initRoot<schema::EventRecord>();
  record.setStream("far-stream");
  record.setPosition(9);
  record.setType("Far");
  auto who = record.initActor();
  who.setId("someone");
  std::string payload(100, 'f');
  record.setPayload(
      kj::arrayPtr(reinterpret_cast<const kj::byte*>(payload.data()), payload.size()));
  REQUIRE(message.getSegmentsForOutput().size() > 1);
  auto words = capnp::messageToFlatArray(message);
  std::string stored(reinterpret_cast<const char*>(words.begin()), words.asBytes().size());
  REQUIRE(decodes_alike(stored));
  recorded_event out;
  REQUIRE(decode_record(stored, out).ok());
  CHECK(out.stream == "far-stream");
  CHECK(out.position == 9);
  CHECK(out.who.id == "someone");
  CHECK(out.payload == payload);

  capnp::MallocMessageBuilder empty;  // a null root: every field its default
  empty.initRoot<capnp::AnyPointer>();
  auto none = capnp::messageToFlatArray(empty);
  CHECK(decodes_alike(
      std::string(reinterpret_cast<const char*>(none.begin()), none.asBytes().size())));
}

std::uint64_t word_at(const std::string& s, std::size_t index) {
  std::uint64_t v;
  std::memcpy(&v, s.data() + index * 8, 8);
  return v;
}
void set_word(std::string& s, std::size_t index, std::uint64_t v) {
  std::memcpy(s.data() + index * 8, &v, 8);
}

// Points several blob fields at the payload: each read counts again, past the traversal limit
// (twice the record's words and a little), which both readers must refuse; fewer stay within.
TEST_CASE("decode_record keeps Cap'n Proto's traversal limit") {
  auto e = sample_event(4000, false);
  hash256 hash;
  const auto stored = encode(e, 5, hash);
  // The record: segment table (1 word), then the segment; its root pointer points at the struct.
  const std::size_t segment = 1;
  const std::uint64_t root = word_at(stored, segment);
  const std::size_t record = 1 + static_cast<std::size_t>(static_cast<std::int32_t>(root) >> 2);
  const std::size_t pointers = record + 5;  // after the 5 data words
  const std::size_t payload_at = pointers + 8;
  const std::uint64_t payload_pointer = word_at(stored, segment + payload_at);
  REQUIRE((payload_pointer & 3) == 1);
  const std::size_t target =
      payload_at + 1 + static_cast<std::size_t>(static_cast<std::int32_t>(payload_pointer) >> 2);
  // The same list, as seen from pointer slot `at`.
  auto aimed_from = [&](std::size_t at) {
    const std::uint64_t offset = static_cast<std::uint64_t>(target - at - 1);
    return (payload_pointer & ~std::uint64_t{0xffffffff}) | (offset << 2 | 1);
  };
  std::size_t refused_at = 0;
  std::string damaged = stored;
  for (std::size_t slot : {0, 4, 5, 6, 7}) {  // the Data fields besides the payload
    set_word(damaged, segment + pointers + slot, aimed_from(pointers + slot));
    const bool ok = decodes_alike(damaged);
    if (!ok && refused_at == 0) refused_at = slot;
    if (ok) {
      recorded_event out;
      REQUIRE(decode_record(damaged, out).ok());
      CHECK(out.payload == e.payload);  // the payload is still the payload
    }
  }
  // The record is ~530 words, so the limit ~1120: the payload's 500 words read twice stay within
  // it, three times do not.
  CHECK(refused_at == 4);
}

}  // namespace
}  // namespace kakehashi::test
