#include "engine/event_json.h"

#include "events/event_codec.h"
#include "events/names.h"

namespace kakehashi {

namespace {

// Whose personal data the moved fields of a record written before they were personal are: the
// talent's, and only a talent stream's record names the talent. Empty when the record does not
// say (an InterestDeclined on a candidacy stream).
std::string_view legacy_subject(const recorded_event& event) {
  return category_of(event.stream) == "talent" ? std::string_view(event.stream)
                                               : std::string_view();
}

}  // namespace

result<std::string> payload_json(const recorded_event& event, const key_vault& keys,
                                 personal_access access) {
  const auto* info = find_event_type(event.type);
  if (!info)
    return make_error(errc::invalid_argument, "unknown_event_type",
                      "no schema for event type " + event.type);
  auto current = upcast_payload(event.type, event.schema_version, event.payload);
  if (!current) return current.take_err();
  const std::string& payload = current->public_bytes;
  if (!info->personal_schema || access == personal_access::hidden)
    return decode_payload_json(
        event.type, payload, std::nullopt,
        info->personal_schema ? personal_view::redacted : personal_view::full);
  if (current->personal_bytes) {
    // Stored in the clear before the fields became personal: erasure cannot take them out of
    // the immutable log, but they read "[erased]" like the subject's sealed fields once the
    // subject the record names is erased.
    auto subject = legacy_subject(event);
    if (!subject.empty() && keys.is_erased(subject))
      return decode_payload_json(event.type, payload, std::nullopt, personal_view::erased);
    return decode_payload_json(event.type, payload, std::string_view(*current->personal_bytes),
                               personal_view::full);
  }
  auto sealed = get_sealed(event.type, payload);
  if (!sealed) return sealed.take_err();
  auto personal = keys.open(*sealed);
  if (!personal) {
    if (personal.err().code == "erased")
      return decode_payload_json(event.type, payload, std::nullopt, personal_view::erased);
    return personal.take_err();
  }
  return decode_payload_json(event.type, payload, std::string_view(*personal), personal_view::full);
}

}  // namespace kakehashi
