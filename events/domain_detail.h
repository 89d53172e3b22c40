// Internal to the events layer: what the deciders share. Pure helpers.
#pragma once

#include <capnp/list.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/domain.capnp.h"
#include "events/domain.h"
#include "events/payload_io.h"

namespace kakehashi::detail {

namespace s = kakehashi::schema;

inline std::string str(capnp::Text::Reader text) {
  return std::string(text.cStr(), text.size());
}

template <class List>
std::vector<std::string> strings(List list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (auto item : list)
    out.push_back(str(item));
  return out;
}

template <class List>
std::vector<std::uint16_t> ordinals(List list) {
  std::vector<std::uint16_t> out;
  out.reserve(list.size());
  for (auto item : list)
    out.push_back(static_cast<std::uint16_t>(item));
  return out;
}

inline error rejected(std::string code, std::string message) {
  return make_error(errc::conflict, std::move(code), std::move(message));
}
inline error missing(std::string code, std::string message) {
  return make_error(errc::not_found, std::move(code), std::move(message));
}
inline error not_allowed(std::string_view type) {
  return rejected("command_not_allowed",
                  std::string(type) + " is appended by the engine, not asked for directly");
}

// The command's own event on `stream`, with its personal bytes to seal under `subject`.
inline decided_event primary(const command& cmd, std::string stream, std::string subject = {}) {
  return {std::move(stream), cmd.type, cmd.payload, cmd.personal,
          cmd.personal.empty() ? std::string() : std::move(subject)};
}

// Whose key seals a step's personal part: free text about the talent (a reason, a summary,
// check-in notes) is the talent's; a personal part without its text holds nothing personal and
// is sealed with the municipality's key, so the step can still be recorded once the talent is
// erased.
inline std::string text_subject(bool has_text, std::string_view talent_id,
                                std::string_view lg_code) {
  return has_text ? stream_name("talent", talent_id) : stream_name("municipality", lg_code);
}

// Invariant 1: only an active talent with current consent is identified, contacted, proposed or
// appointed. talent_not_found, talent_not_active or consent_missing; nothing when available.
std::optional<error> talent_unavailable(const talent_state* talent);

// Records voidable events and applies EventVoided; true when `event` was one of those.
bool track_voidable(voidable_entries& entries, const event_view& event);
// Checks an EventVoided command against the entries and returns it as the decision.
decision decide_void(const command& cmd, const voidable_entries& entries, std::string stream);

// Runs a decider, turning a Cap'n Proto exception from a malformed payload into an error.
template <class F>
decision guarded(F&& run) {
  try {
    return run();
  } catch (const kj::Exception& e) {
    return make_error(errc::invalid_argument, "invalid_payload",
                      std::string("command payload does not decode: ") + e.getDescription().cStr());
  }
}

}  // namespace kakehashi::detail
