// Fuzz target: stored bytes as the engine reads them back, with its Cap'n Proto traversal and
// nesting limits.
//
// Input: byte 0 holds flags. Bit 0 clear: the rest is a stored EventRecord (a `log` value), read
// by decode_record (checked against decode_record_capnp, Cap'n Proto's reader alone) and
// verify_record (engine/record_codec.h); its payload then goes on as below
// under the record's own type. Bit 0 set: byte 1 picks an event type and the rest is a payload.
// Bit 1 places the bytes at an odd address (RocksDB values carry no alignment promise: the
// Cap'n Proto paths copy, decode_record's own reader reads in place). A payload is decoded to JSON
// in every personal_view (the bytes doubling as the personal bytes), upcast from its version and
// from version 1, its `sealed` field read, and folded into its aggregate's state, alone and after
// an EventVoided naming it.
//
// Findings are what ASan/UBSan report, uncaught exceptions, an error without a code, a decoded
// payload that is not a JSON object, and decode_record disagreeing with Cap'n Proto.
#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/record_codec.h"
#include "events/domain.h"
#include "events/event_codec.h"
#include "fuzz_support.h"

namespace kakehashi::fuzz {
namespace {

void check(const status& s) {
  if (!s && s.err().code.empty()) fail("an error without a code: " + s.err().message);
}
template <class T>
void check(const result<T>& r) {
  if (!r && r.err().code.empty()) fail("an error without a code: " + r.err().message);
}

template <class State>
void fold_one(const std::string& type, std::string_view payload) {
  const std::string id = "01920000-0000-7000-8000-00000000f001";
  std::vector<event_view> events{{id, type, payload, 1700000000000000, 0}};
  check(fold<State>(events));
  std::string voided =
      encode_payload("EventVoided", R"({"voided_event_id":")" + id + R"(","reason":"fuzz"})")
          ->public_bytes;
  events.push_back(
      {"01920000-0000-7000-8000-00000000f002", "EventVoided", voided, 1700000000000001, 1});
  check(fold<State>(events));
}

// What decodes goes out to clients as JSON: it must be a JSON object (and valid UTF-8).
void check_json(const result<std::string>& decoded) {
  check(decoded);
  if (!decoded) return;
  boost::system::error_code ec;
  auto parsed = boost::json::parse(*decoded, ec);
  if (ec || !parsed.is_object()) fail("a decoded payload is not a JSON object: " + *decoded);
}

bool same_event(const recorded_event& a, const recorded_event& b) {
  return a.id == b.id && a.stream == b.stream && a.version == b.version &&
         a.position == b.position && a.type == b.type && a.schema_version == b.schema_version &&
         a.occurred_at == b.occurred_at && a.recorded_at == b.recorded_at && a.who.id == b.who.id &&
         a.who.role == b.who.role && a.who.on_behalf_of == b.who.on_behalf_of &&
         a.correlation_id == b.correlation_id && a.causation_id == b.causation_id &&
         a.prev_hash == b.prev_hash && a.hash == b.hash && a.payload == b.payload &&
         a.stored_bytes == b.stored_bytes;
}

void payload_paths(const std::string& type, std::string_view payload,
                   std::uint16_t schema_version) {
  const event_type_info* info = find_event_type(type);
  // Through the upcaster as readers go, also as version 1: a record written before a field moved.
  for (std::uint16_t version : {schema_version, std::uint16_t{1}}) {
    auto current = upcast_payload(type, version, payload);
    check(current);
    if (current && current->personal_bytes)
      check_json(decode_payload_json(type, current->public_bytes, *current->personal_bytes,
                                     personal_view::full));
  }
  check_json(decode_payload_json(type, payload, std::nullopt, personal_view::redacted));
  check_json(decode_payload_json(type, payload, std::nullopt, personal_view::erased));
  check_json(decode_payload_json(type, payload, payload, personal_view::full));
  check(get_sealed(type, payload));
  if (!info) return;
  std::string_view category = info->category;
  if (category == "talent")
    fold_one<talent_state>(type, payload);
  else if (category == "municipality")
    fold_one<municipality_state>(type, payload);
  else if (category == "need")
    fold_one<need_state>(type, payload);
  else if (category == "candidacy")
    fold_one<candidacy_state>(type, payload);
  else if (category == "appointment")
    fold_one<appointment_state>(type, payload);
  else {  // any stream (EventVoided) or audit: every aggregate may meet it
    fold_one<talent_state>(type, payload);
    fold_one<need_state>(type, payload);
    fold_one<candidacy_state>(type, payload);
    fold_one<appointment_state>(type, payload);
  }
}

}  // namespace
}  // namespace kakehashi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kakehashi;
  using namespace kakehashi::fuzz;
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  const bool raw_payload = flags & 1;
  const bool misaligned = flags & 2;
  const std::size_t skip = raw_payload ? 2 : 1;
  if (size < skip) return 0;
  // Heap storage is 16-byte aligned; one byte in is not word-aligned.
  std::string storage(size - skip + 1, '\0');
  std::memcpy(storage.data() + 1, data + skip, size - skip);
  std::string_view bytes = std::string_view(storage).substr(1);
  std::string aligned;
  if (!misaligned) {
    aligned.assign(bytes);
    bytes = aligned;
  }

  if (raw_payload) {
    const auto types = event_types();
    const auto& info = types[data[1] % types.size()];
    payload_paths(std::string(info.type), bytes, info.schema_version);
    return 0;
  }
  recorded_event event;
  auto decoded = detail::decode_record(bytes, event);
  check(decoded);
  // decode_record reads the usual layout itself: it must agree with Cap'n Proto's reader on
  // every input, in the outcome and in every field.
  recorded_event reference;
  auto by_capnp = detail::decode_record_capnp(bytes, reference);
  if (decoded.ok() != by_capnp.ok()) fail("decode_record and Cap'n Proto disagree on success");
  if (decoded.ok() && !same_event(event, reference))
    fail("decode_record and Cap'n Proto decode different fields");
  hash256 hash;
  check(detail::verify_record(bytes, event.position, event.prev_hash, hash));
  if (!decoded) return 0;
  if (event.stored_bytes != bytes.size()) fail("stored_bytes is not the record's size");
  payload_paths(event.type, event.payload, event.schema_version);
  return 0;
}
