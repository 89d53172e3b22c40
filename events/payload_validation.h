// Internal to the events layer (used by event_codec.cc and its tests): checks a parsed JSON
// payload against an event's Cap'n Proto schemas and splits it into its public and personal
// halves. A generic walk over the dynamic schema, so a new event type needs no code here; the
// per-field rules come from domain.capnp's annotations ($required, $format, $min, $max,
// $maxLength, $maxItems, $Json.name). Pure functions, thread-safe.
#pragma once

#include <capnp/compat/json.capnp.h>
#include <capnp/schema.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.h"
#include "events/schema_annotations.h"

namespace kakehashi::detail {

// The JSON paths of fields of `schema` (nested structs included) that would take input of any
// size: a Text with neither $maxLength nor a $format that fixes its shape, a List without
// $maxItems. The tests require it to be empty for every registered type.
std::vector<std::string> unbounded_fields(capnp::StructSchema schema);

// Checks `input` against the union of both schemas' fields and copies each accepted field into
// `public_out` or `personal_out` (each becomes a JSON object; explicit nulls are dropped, so an
// optional field may be sent as null). Errors: invalid_json, duplicate_field, unknown_field,
// invalid_type, invalid_value, missing_field, each naming the offending field path
// ("availability.work_forms[1]").
status validate_and_split(capnp::json::Value::Reader input, capnp::StructSchema public_schema,
                          std::optional<capnp::StructSchema> personal_schema,
                          capnp::json::Value::Builder public_out,
                          capnp::json::Value::Builder personal_out);

}  // namespace kakehashi::detail
