#include "engine/event_json.h"

#include <kj/exception.h>

#include "events/domain.capnp.h"
#include "events/domain.h"
#include "events/event_codec.h"
#include "events/names.h"
#include "events/payload_io.h"

namespace kakehashi {

namespace {

// The talent an appointment or a candidacy is about, as its first event (AppointmentArranged,
// CandidateIdentified) names it; empty when it does not. Errors: the store's.
result<std::string> talent_of_stream(const event_store& store, const std::string& stream) {
  auto first = store.read_stream(stream, 0, read_direction::forward, 1);
  if (!first) return first.take_err();
  if (first->empty()) return std::string();
  const recorded_event& e = *first->front();
  try {
    if (!check_payload_length(e.payload)) return std::string();
    payload_reader reader(e.payload);
    std::string talent;
    if (e.type == "AppointmentArranged")
      talent = reader.root<schema::AppointmentArranged>().getTalentId().cStr();
    else if (e.type == "CandidateIdentified")
      talent = reader.root<schema::CandidateIdentified>().getTalentId().cStr();
    return talent.empty() ? std::string() : stream_name("talent", talent);
  } catch (const kj::Exception&) {
    return std::string();  // a first event that does not decode names nobody
  }
}

// Whose personal data the moved fields of a record written before they were personal are: the
// talent's. A talent stream's record names the talent; an appointment's or a candidacy's names it
// in the stream's first event, read from `store` when there is one. Empty when nothing says.
result<std::string> legacy_subject(const recorded_event& event, const event_store* store) {
  auto category = category_of(event.stream);
  if (category == "talent") return event.stream;
  if (store && (category == "appointment" || category == "candidacy"))
    return talent_of_stream(*store, event.stream);
  return std::string();
}

result<std::string> payload_json_impl(const recorded_event& event, const key_vault& keys,
                                      const event_store* store, personal_access access) {
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
    auto subject = legacy_subject(event, store);
    if (!subject) return subject.take_err();
    if (!subject->empty() && keys.is_erased(*subject))
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

}  // namespace

result<std::string> payload_json(const recorded_event& event, const key_vault& keys,
                                 personal_access access) {
  return payload_json_impl(event, keys, nullptr, access);
}

result<std::string> payload_json(const recorded_event& event, event_store& store,
                                 personal_access access) {
  return payload_json_impl(event, store.keys(), &store, access);
}

}  // namespace kakehashi
