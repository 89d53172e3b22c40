// What the deciders share: voiding, folding and stream names.
#include <algorithm>
#include <iterator>

#include "events/domain_detail.h"

namespace kakehashi {

namespace {

// Entries a person can make in error without later events depending on them.
constexpr std::string_view voidable_types[] = {
    "HearingRecorded",        "HearingNoteCorrected",
    "PublicPostingPublished", "MunicipalityContactAssigned",
    "CheckInScheduled",       "CheckInCompleted",
    "CheckInMissed",          "IssueRaised",
    "IssueResolved",          "AppointmentFlagged",
    "AppointmentAmended",
};

}  // namespace

namespace detail {

std::optional<error> talent_unavailable(const talent_state* talent) {
  if (!talent || talent->events == 0) return missing("talent_not_found", "no such talent");
  if (talent->status != talent_status::active || talent->erased)
    return rejected("talent_not_active", "the talent is paused, withdrawn or erased");
  if (!talent->consent) return rejected("consent_missing", "the talent has no current consent");
  return std::nullopt;
}

}  // namespace detail

const std::vector<std::string>& rule_set_fields(std::string_view type) {
  static const std::vector<std::string> revision{"revision"}, on_behalf{"entered_on_behalf"}, none;
  if (type == "RequirementsDefined") return revision;
  if (type == "MunicipalDecisionRecorded") return on_behalf;
  return none;
}

bool is_voidable(std::string_view type) {
  return std::find(std::begin(voidable_types), std::end(voidable_types), type) !=
         std::end(voidable_types);
}

namespace {

// The UUID of canonical (lowercase) UUID text; nothing for any other text.
std::optional<uuid> canonical_uuid(std::string_view text) {
  for (char c : text)
    if (c >= 'A' && c <= 'Z') return std::nullopt;
  return parse_uuid(text);
}

}  // namespace

bool event_id_set::insert(std::string_view id) {
  if (auto u = canonical_uuid(id)) {
    // Ids are UUIDv7, so they mostly arrive in order: appending is the common case.
    if (uuids_.empty() || uuids_.back() < *u) {
      uuids_.push_back(*u);
      return true;
    }
    auto at = std::lower_bound(uuids_.begin(), uuids_.end(), *u);
    if (at != uuids_.end() && *at == *u) return false;
    uuids_.insert(at, *u);
    return true;
  }
  if (std::find(others_.begin(), others_.end(), id) != others_.end()) return false;
  others_.emplace_back(id);
  return true;
}

bool event_id_set::erase(std::string_view id) {
  if (auto u = canonical_uuid(id)) {
    auto at = std::lower_bound(uuids_.begin(), uuids_.end(), *u);
    if (at == uuids_.end() || *at != *u) return false;
    uuids_.erase(at);
    return true;
  }
  auto at = std::find(others_.begin(), others_.end(), id);
  if (at == others_.end()) return false;
  others_.erase(at);
  return true;
}

std::size_t event_id_set::count(std::string_view id) const {
  if (auto u = canonical_uuid(id)) return std::binary_search(uuids_.begin(), uuids_.end(), *u);
  return std::find(others_.begin(), others_.end(), id) != others_.end();
}

bool event_id_set::assign(std::vector<uuid> uuids, std::vector<std::string> others) {
  uuids_.clear();
  others_.clear();
  for (std::size_t i = 1; i < uuids.size(); ++i)
    if (!(uuids[i - 1] < uuids[i])) return false;
  std::vector<std::string_view> sorted(others.begin(), others.end());
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return false;
  for (const auto& other : others)
    if (canonical_uuid(other)) return false;
  uuids_ = std::move(uuids);
  others_ = std::move(others);
  return true;
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
  for (unsigned char c : id)
    h = (h ^ c) * 1099511628211ULL;
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
    entries.by_id.insert(event.id);
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
  if (entries.by_id.count(target) == 0)
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
    return make_error(
        errc::corruption, "invalid_payload",
        std::string("a stored payload does not decode: ") + ex.getDescription().cStr());
  }
  return state;
}

template result<talent_state> fold<talent_state>(const std::vector<event_view>&);
template result<municipality_state> fold<municipality_state>(const std::vector<event_view>&);
template result<need_state> fold<need_state>(const std::vector<event_view>&);
template result<candidacy_state> fold<candidacy_state>(const std::vector<event_view>&);
template result<appointment_state> fold<appointment_state>(const std::vector<event_view>&);

}  // namespace kakehashi
