// What the deciders share: voiding, folding and stream names.
#include <algorithm>
#include <iterator>

#include "events/domain_detail.h"

namespace kakehashi {

namespace {

// Entries a person can make in error without later events depending on them.
constexpr std::string_view voidable_types[] = {
    "HearingRecorded",  "HearingNoteCorrected", "PublicPostingPublished", "MunicipalityContactAssigned",
    "CheckInScheduled", "CheckInCompleted",     "CheckInMissed",          "IssueRaised",
    "IssueResolved",    "AppointmentFlagged",   "AppointmentAmended",
};

}  // namespace

bool is_voidable(std::string_view type) {
  return std::find(std::begin(voidable_types), std::end(voidable_types), type) != std::end(voidable_types);
}

std::string stream_name(std::string_view category, std::string_view id) {
  std::string out(category);
  out += '-';
  out += id;
  return out;
}

namespace detail {

namespace {

std::uint64_t id_hash(std::string_view id) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace

bool track_voidable(voidable_entries& entries, const event_view& event) {
  if (event.type == "EventVoided") {
    payload_reader reader(event.payload);
    auto voided = str(reader.root<s::EventVoided>().getVoidedEventId());
    entries.by_id.erase(voided);
    entries.voided.insert(voided);
    entries.not_voidable.push_back(id_hash(event.id));
    return true;
  }
  if (is_voidable(event.type))
    entries.by_id.emplace(std::string(event.id), event.type);
  else
    entries.not_voidable.push_back(id_hash(event.id));
  return false;
}

decision decide_void(const command& cmd, const voidable_entries& entries, std::string stream) {
  payload_reader reader(cmd.payload);
  auto target = str(reader.root<s::EventVoided>().getVoidedEventId());
  if (entries.voided.count(target))
    return rejected("already_voided", "event " + target + " is already voided");
  if (std::find(entries.not_voidable.begin(), entries.not_voidable.end(), id_hash(target)) !=
      entries.not_voidable.end())
    return rejected("event_not_voidable",
                    "event " + target + " cannot be voided; correct it with a new event");
  auto it = entries.by_id.find(target);
  if (it == entries.by_id.end())
    return missing("unknown_event", "no voidable event " + target + " in " + stream +
                                        " (only entries such as hearing notes, check-ins and "
                                        "issues can be voided; correct the rest with new events)");
  return std::vector<decided_event>{primary(cmd, std::move(stream))};
}

}  // namespace detail

template <class State>
result<State> fold(const std::vector<event_view>& events) {
  // A void takes back an earlier event, so voided ids are gathered before anything is evolved.
  std::set<std::string, std::less<>> voided;
  State state;
  try {
    for (const auto& e : events) {
      if (e.type != "EventVoided") continue;
      if (auto s = check_payload_length(e.payload); !s) return s.take_err();
      payload_reader reader(e.payload);
      voided.insert(detail::str(reader.root<schema::EventVoided>().getVoidedEventId()));
    }
    for (const auto& e : events) {
      if (voided.count(e.id) != 0) {
        // Still counted: the stream's version does not go back.
        ++state.events;
        continue;
      }
      if (auto s = check_payload_length(e.payload); !s) return s.take_err();
      evolve(state, e);
    }
  } catch (const kj::Exception& ex) {
    return make_error(errc::corruption, "invalid_payload",
                      std::string("a stored payload does not decode: ") +
                          ex.getDescription().cStr());
  }
  return state;
}

template result<talent_state> fold<talent_state>(const std::vector<event_view>&);
template result<municipality_state> fold<municipality_state>(const std::vector<event_view>&);
template result<need_state> fold<need_state>(const std::vector<event_view>&);
template result<candidacy_state> fold<candidacy_state>(const std::vector<event_view>&);
template result<appointment_state> fold<appointment_state>(const std::vector<event_view>&);

}  // namespace kakehashi
