// Ids of the annotations events/domain.capnp (and /capnp/compat/json.capnp) put on payload fields,
// and what they say about a field, for the code that reads them from the dynamic schema: the
// codec's validation (payload_validation.cc, which defines the functions) and the API's OpenAPI
// document (api/openapi.cc). Ids are part of a schema's identity and never change, so they are
// constants here; the codec's tests prove each is found. Pure; thread-safe.
#pragma once

#include <capnp/schema.h>

#include <cstdint>

namespace kakehashi::annotation_id {

inline constexpr std::uint64_t json_name = 0xfa5b1fd61c2e7c3dull;
inline constexpr std::uint64_t required = 0x9c47a079040dda74ull;
inline constexpr std::uint64_t format = 0x94ed087f2f9450fbull;
inline constexpr std::uint64_t min = 0x9c065ad49a4fdc8dull;
inline constexpr std::uint64_t max = 0xa403e3cb7ff5becaull;
inline constexpr std::uint64_t max_length = 0xaf1ad1165f44174full;
inline constexpr std::uint64_t max_items = 0xc790909202783e8eull;
inline constexpr std::uint64_t not_blank = 0xdbf99820fd20bb00ull;
inline constexpr std::uint64_t multiline = 0x9cf6f87c7a05d0e6ull;
inline constexpr std::uint64_t personal_since = 0xc8882c0a0413c677ull;

}  // namespace kakehashi::annotation_id

namespace kakehashi {

// Ordinals of domain.capnp's TextFormat (the value of a $format annotation).
enum class text_format : std::uint16_t {
  date = 0,
  uuid = 1,
  lg_code = 2,
  email = 3,
  phone = 4,
  role_category = 5,
  skill = 6
};

}  // namespace kakehashi

namespace kakehashi::detail {

// The name a field or enumerant has in JSON: its $Json.name, else its Cap'n Proto name.
kj::StringPtr json_name(capnp::StructSchema::Field field);
kj::StringPtr json_name(capnp::EnumSchema::Enumerant enumerant);

// The schema_version from which a field of an event struct lives in its personal struct
// ($personalSince), or 0 for a field that never moved.
std::uint16_t personal_since(capnp::StructSchema::Field field);

// Codec-internal fields, never accepted from JSON, never written to it: those of type Data (the
// `sealed` ciphertext) and those that moved to the personal struct (only the upcaster reads them).
bool is_internal_field(capnp::StructSchema::Field field);

}  // namespace kakehashi::detail
