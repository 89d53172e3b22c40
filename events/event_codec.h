// Domain event payloads: the registry of event types and the JSON <-> Cap'n Proto codec.
//
// Every event type in events/domain.capnp has one registry entry. A payload travels as JSON at
// the edges (API bodies, CloudEvents `data`) and as Cap'n Proto bytes in the store. Personal data
// (DOMAIN.md's `*` fields) is split off into separate bytes, the encoded `<Event>Personal` struct,
// which the engine seals with the data subject's key and stores in the public struct's `sealed`
// field (set_sealed / get_sealed); the public bytes never contain personal fields.
//
// Pure functions, no IO; all are thread-safe. Nothing here throws: hostile or corrupt bytes give
// an error (`invalid_payload`), never a crash. Decoding reads with small Cap'n Proto traversal and
// nesting limits.
#pragma once

#include <capnp/schema.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.h"

namespace kakehashi {

// Largest JSON payload encode_payload accepts (the API's body limit).
inline constexpr std::size_t max_payload_json_bytes = 64 * 1024;
// Largest payload bytes decode accepts; also the Cap'n Proto traversal limit. Generous next to
// what 64 KiB of JSON can encode to, small enough that a hostile record cannot make a reader
// walk megabytes.
inline constexpr std::size_t max_payload_bytes = 1024 * 1024;

struct event_type_info {
  std::string_view type;  // "NeedOpened"; also the name of its struct in domain.capnp
  std::uint16_t
      schema_version;         // stored in EventRecord.schemaVersion; bumped only with an upcaster
  std::string_view category;  // stream category it is appended to ("need"); "" = any stream
  capnp::StructSchema public_schema;
  std::optional<capnp::StructSchema> personal_schema;  // "<Event>Personal" when it has * fields
};

// All registered event types, in catalog order.
std::span<const event_type_info> event_types();
// nullptr for a type that is not registered.
const event_type_info* find_event_type(std::string_view type);
// Whether events of this type may be appended to streams of `category` (see category_of()).
bool allowed_in_category(const event_type_info& info, std::string_view category);

struct encoded_payload {
  std::string public_bytes;    // Cap'n Proto message of the event struct, `sealed` still empty
  std::string personal_bytes;  // Cap'n Proto message of <Event>Personal (unsealed); empty when
                               // the type has no personal fields
};

// Validates a JSON object against the event's schema and encodes it. Errors (kind
// invalid_argument unless noted; `field` names the offending path where there is one):
// unknown_event_type, payload_too_large (too_large), invalid_json (not UTF-8, not JSON, not an
// object), duplicate_field, unknown_field, invalid_type, missing_field, invalid_value (bad enum
// value, out of range, bad date/uuid/lg_code).
// An event type with personal fields always yields personal bytes, even if none was supplied,
// so every such record has something to seal.
result<encoded_payload> encode_payload(std::string_view type, std::string_view json_object);

// A stored payload in the shape of its type's current schema_version (SCHEMA.md rule 3).
struct upcast_payload_result {
  std::string public_bytes;
  // Only for a record written before some of its fields moved to the personal struct: the
  // encoded <Event>Personal holding them. In the clear, as they were stored: the caller uses it
  // in place of the opened `sealed`, which such a record does not have.
  std::optional<std::string> personal_bytes;
};

// Reads a record of `schema_version` as its type's current version. A field marked
// $personalSince(v) in a record older than v is copied into the personal bytes (same JSON name)
// and left out of the public ones; the stored record is never touched. Every type that moved
// fields got its personal struct with the move, so such a record has nothing sealed. A current
// or newer record comes back unchanged without personal bytes. Errors: unknown_event_type,
// invalid_payload.
result<upcast_payload_result> upcast_payload(std::string_view type, std::uint16_t schema_version,
                                             std::string_view public_bytes);

enum class personal_view : std::uint8_t {
  full,      // personal fields decoded from the personal bytes, which must be given
  redacted,  // personal fields omitted: for roles without the right to personal data
  erased,    // every personal field reads "[erased]": the subject's key has been destroyed
};

// The payload as a JSON object. Primitive fields are always present (defaults included, so
// a field added after a record was written reads as its default); Text, List and struct fields
// are present only when set. Personal fields follow the public ones, as `view` says; the
// `sealed` field never appears. Errors: unknown_event_type, invalid_payload (corruption),
// missing_personal_data / unexpected_personal_data (invalid_argument).
result<std::string> decode_payload_json(std::string_view type, std::string_view public_bytes,
                                        std::optional<std::string_view> personal_bytes,
                                        personal_view view);

// Returns the public bytes with `sealed` set to `ciphertext`, every other field (including
// fields unknown to this schema) kept. Errors: unknown_event_type, no_personal_data (the type
// has no `sealed` field), already_sealed, invalid_payload.
result<std::string> set_sealed(std::string_view type, std::string_view public_bytes,
                               std::string_view ciphertext);
// The `sealed` ciphertext (empty if never set). Same errors as set_sealed but already_sealed.
result<std::string> get_sealed(std::string_view type, std::string_view public_bytes);

// Whether `first` and `again`, two payloads of `type` (their public bytes, or with `personal`
// their personal bytes), hold the same value in every field but `sealed`, the fields named in
// `ignored` (JSON names) and the Text, Data, list and struct fields `again` leaves out: what a
// retried command must share with the first one's event. Compared in canonical form, so two
// encodings of the same values are equal. Errors: unknown_event_type, no_personal_data,
// invalid_payload.
result<bool> same_fields(std::string_view type, bool personal, std::string_view first,
                         std::string_view again, const std::vector<std::string>& ignored);

}  // namespace kakehashi
