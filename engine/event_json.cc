#include "engine/event_json.h"

#include "events/event_codec.h"

namespace kakehashi {

result<std::string> payload_json(const recorded_event& event, const key_vault& keys,
                                 personal_access access) {
  const auto* info = find_event_type(event.type);
  if (!info)
    return make_error(errc::invalid_argument, "unknown_event_type",
                      "no schema for event type " + event.type);
  if (!info->personal_schema || access == personal_access::hidden)
    return decode_payload_json(
        event.type, event.payload, std::nullopt,
        info->personal_schema ? personal_view::redacted : personal_view::full);
  auto sealed = get_sealed(event.type, event.payload);
  if (!sealed) return sealed.take_err();
  auto personal = keys.open(*sealed);
  if (!personal) {
    if (personal.err().code == "erased")
      return decode_payload_json(event.type, event.payload, std::nullopt, personal_view::erased);
    return personal.take_err();
  }
  return decode_payload_json(event.type, event.payload, std::string_view(*personal),
                             personal_view::full);
}

}  // namespace kakehashi
