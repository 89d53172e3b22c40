// The placement domain's rules as pure functions, one decider per aggregate (DOMAIN.md):
//   evolve(state, event) -> state     folds one stored event into an aggregate's state;
//   fold(events) -> state             evolves over a whole stream, honouring EventVoided;
//   decide_x(command, state, context) -> events to append | error.
// No IO: the command service (engine/command_service.h) loads the states, calls a decider and
// appends what it returns with an expected version per stream.
//
// A command asks for one event type (the API's routes each map to one) and carries that event's
// payload already validated and encoded by encode_payload (events/event_codec.h). A decider
// checks the invariants, may rewrite fields that only the rules may set (a requirement's
// revision, a decision's entered_on_behalf) and may add events on other streams that must be
// appended atomically with it (arranging an appointment fills an opening on the need and marks
// the candidacy appointed).
//
// Every rejection is a conflict (409) or not_found (404) error with a precise code, listed with
// each decider below. Thread-safe: everything here is a pure function of its arguments.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "events/actor.h"
#include "events/ids.h"
#include "events/result.h"

namespace kakehashi {

// A stored event as the folds see it.
struct event_view {
  std::string_view id;  // canonical UUID text
  std::string_view type;
  std::string_view payload;  // public Cap'n Proto bytes (personal fields sealed inside)
  std::int64_t occurred_at = 0;
  std::uint64_t version = 0;
};

struct command {
  std::string type;      // the event asked for, e.g. "ProposalSubmitted"
  std::string payload;   // its public bytes, from encode_payload
  std::string personal;  // its personal bytes (unsealed), "" when the type has none
  actor who;
  std::int64_t occurred_at = 0;
};

// An event a decider wants appended. The engine seals `personal` with `subject`'s key.
struct decided_event {
  std::string stream;
  std::string type;
  std::string payload;
  std::string personal;
  std::string subject;  // the data subject whose key seals `personal`: "talent-<id>", ...
};
using decision = result<std::vector<decided_event>>;

// Events a later EventVoided may take back: entries that can be made in error without other
// events depending on them. Voiding anything else is rejected (`event_not_voidable`).
bool is_voidable(std::string_view type);

// A set of event ids. Event ids are canonical (lowercase) UUID text, kept as their 16 bytes in a
// sorted vector: an aggregate with many entries (check-ins, notes, issues) stays small, where a
// tree of strings took some 170 bytes an id. Any other text is kept as it is, so the set holds
// exactly what was inserted. A plain value.
class event_id_set {
 public:
  bool insert(std::string_view id);  // false when already there
  bool erase(std::string_view id);   // false when not there
  std::size_t count(std::string_view id) const;
  std::size_t size() const { return uuids_.size() + others_.size(); }
  bool empty() const { return size() == 0; }

  const std::vector<uuid>& uuids() const { return uuids_; }           // ascending
  const std::vector<std::string>& others() const { return others_; }  // as inserted
  // Restores a set from those two parts (snapshots). False, leaving the set empty, unless
  // `uuids` is strictly ascending and `others` holds distinct texts that are not canonical UUIDs.
  bool assign(std::vector<uuid> uuids, std::vector<std::string> others);

  friend bool operator==(const event_id_set&, const event_id_set&) = default;

 private:
  std::vector<uuid> uuids_;
  std::vector<std::string> others_;  // rare: ids that are not canonical UUIDs
};

// What every aggregate remembers for EventVoided.
struct voidable_entries {
  event_id_set by_id;  // ids of the voidable events not yet voided
  std::set<std::string, std::less<>> voided;
  // 64-bit hashes of the stream's other event ids: enough to tell "not voidable" from "no such
  // event" in an error message, at 8 bytes an event instead of a string in a tree.
  std::vector<std::uint64_t> not_voidable;
};

// ---- talent-{id}: active <-> paused -> withdrawn -> erased ----
enum class talent_status : std::uint8_t { none, active, paused, withdrawn };
struct talent_state {
  std::uint64_t events = 0;  // 0: the stream does not exist
  talent_status status = talent_status::none;
  bool erased = false;
  bool consent = false;  // current consent to the privacy policy
  std::string consent_version;
  std::string residence_area;
  std::vector<std::string> skills, role_categories;
  std::vector<std::uint16_t> tiers, work_forms;  // enum ordinals of domain.capnp
  std::vector<std::string> areas;
  std::uint16_t hours_per_week = 0;
  std::int64_t registered_at = 0;
  voidable_entries entries;
};
void evolve(talent_state& state, const event_view& event);
// Errors: talent_not_found, already_exists, talent_not_active, talent_not_paused,
// talent_withdrawn, talent_erased, consent_already_granted, consent_not_granted.
decision decide_talent(const command& cmd, const talent_state& state, std::string_view talent_id);

// ---- municipality-{lg_code}: listed ----
struct municipality_state {
  std::uint64_t events = 0;
  std::string lg_code, name_ja, name_en, region;
  voidable_entries entries;
};
void evolve(municipality_state& state, const event_view& event);
// Errors: municipality_not_found, already_exists.
decision decide_municipality(const command& cmd, const municipality_state& state,
                             std::string_view lg_code);

// ---- need-{id}: consulted -> hearing -> requirements_defined -> sourcing -> filled | closed ----
enum class need_stage : std::uint8_t {
  none,
  consulted,
  hearing,
  requirements_defined,
  sourcing,
  filled,
  closed
};
struct need_requirements {
  std::uint32_t revision = 0;
  std::string role_category;
  std::uint16_t tier = 0;
  std::vector<std::string> skills;
  std::vector<std::uint16_t> work_forms;
  std::uint16_t hours_per_week = 0, duration_months = 0, openings = 0;
};
struct need_state {
  std::uint64_t events = 0;
  need_stage stage = need_stage::none;
  bool on_hold = false;
  std::string lg_code;
  std::uint16_t origin = 0;
  std::optional<need_requirements> requirements;
  std::optional<std::uint16_t> sourcing_mode;
  std::uint16_t close_reason = 0;
  // hearing id -> the event id of its latest note (HearingRecorded or a correction)
  std::map<std::string, std::string, std::less<>> hearings;
  std::map<std::string, std::string, std::less<>> candidacies;  // candidacy id -> talent id
  std::set<std::string, std::less<>> appointments;              // from OpeningFilled
  std::int64_t opened_at = 0;
  voidable_entries entries;

  bool open() const { return stage != need_stage::none && stage != need_stage::closed; }
  std::uint16_t unfilled() const;
};
void evolve(need_state& state, const event_view& event);

// What deciding on a need may need besides the need itself.
struct need_context {
  const municipality_state* municipality = nullptr;  // for NeedOpened
};
// Errors: need_not_found, already_exists, municipality_not_found, need_closed, need_on_hold,
// need_not_on_hold, need_not_closed, hearing_required, duplicate_hearing, unknown_hearing,
// supersedes_mismatch, requirements_not_defined, openings_below_filled, not_public_posting,
// command_not_allowed (an event only other commands append).
decision decide_need(const command& cmd, const need_state& state, std::string_view need_id,
                     const need_context& context);

// ---- candidacy-{id}: identified -> contacted -> interested | declined -> proposed ->
//      accepted | rejected; archived from any open stage; appointed once arranged ----
enum class candidacy_stage : std::uint8_t {
  none,
  identified,
  contacted,
  interested,
  declined,
  proposed,
  accepted,
  rejected,
  archived,
  appointed
};
struct candidacy_state {
  std::uint64_t events = 0;
  candidacy_stage stage = candidacy_stage::none;
  std::string talent_id, need_id, lg_code, appointment_id;
  std::uint16_t direction = 0;
  std::string source;
  std::int64_t stage_since = 0;  // occurred_at of the event that entered the stage
  // occurred_at of the first entry into each stage (index: candidacy_stage), 0 = never: the
  // funnel and time-in-stage metrics.
  std::array<std::int64_t, 10> entered_at{};
  voidable_entries entries;

  bool open() const;  // may still move towards an appointment
};
void evolve(candidacy_state& state, const event_view& event);

struct candidacy_context {
  const talent_state* talent = nullptr;  // the candidacy's talent (for identify: the payload's)
  const need_state* need = nullptr;      // its need, when it has one (to attach: the payload's)
  // Open candidacies of the same talent on the same need, other than this one (invariant 3).
  std::size_t other_open_for_talent_and_need = 0;
};
// Errors: candidacy_not_found, already_exists, talent_not_found, talent_not_active,
// consent_missing, need_not_found, need_required, lg_code_required, need_closed,
// duplicate_open_candidacy, requirements_not_defined, invalid_stage (with the stage in the
// message), on_behalf_of_required, candidacy_closed, command_not_allowed; for an attachment also
// not_talent_driven, already_attached, need_not_talent_driven, municipality_mismatch.
decision decide_candidacy(const command& cmd, const candidacy_state& state,
                          std::string_view candidacy_id, const candidacy_context& context);

// ---- appointment-{id}: arranged -> active <-> suspended -> ended ----
enum class appointment_status : std::uint8_t { none, arranged, active, suspended, ended };
struct check_in {
  std::string due_on;  // YYYY-MM-DD
  std::uint16_t party = 0;
  bool completed = false, missed = false;
  std::uint8_t rating = 0;
};
struct appointment_state {
  std::uint64_t events = 0;
  appointment_status status = appointment_status::none;
  std::string candidacy_id, talent_id, need_id, lg_code;
  std::uint16_t form = 0;
  std::string starts_on, ends_on, scope;
  std::uint16_t hours_per_week = 0;
  std::uint16_t end_kind = 0;
  std::int64_t arranged_at = 0, ended_at = 0;
  std::set<std::string, std::less<>> open_issues;
  std::map<std::string, check_in, std::less<>> check_ins;  // by check_in_id
  std::uint32_t flags = 0;  // AppointmentFlagged events, e.g. the talent withdrew
  voidable_entries entries;
};
void evolve(appointment_state& state, const event_view& event);

struct appointment_context {
  const candidacy_state* candidacy = nullptr;  // for AppointmentArranged
  const need_state* need = nullptr;
  const talent_state* talent = nullptr;  // the candidacy's talent, for AppointmentArranged
};
// Errors: appointment_not_found, already_exists, candidacy_not_found, candidacy_not_accepted,
// candidacy_already_appointed, talent_not_found, talent_not_active, consent_missing,
// need_not_found, no_open_opening, need_on_hold, invalid_dates, appointment_ended,
// appointment_not_arranged, appointment_not_active, appointment_not_suspended, unknown_issue,
// duplicate_issue, unknown_check_in, check_in_closed, invalid_value (a check-in's party),
// command_not_allowed.
decision decide_appointment(const command& cmd, const appointment_state& state,
                            std::string_view appointment_id, const appointment_context& context);

// Fields of `type` a decider sets whatever the command said (a requirement's revision, whether a
// decision was entered on the officer's behalf): a retried command is not compared on them.
const std::vector<std::string>& rule_set_fields(std::string_view type);

// Folds a whole stream (in version order) into a state, skipping events later voided.
// Returns invalid_payload when a stored payload does not decode.
template <class State>
result<State> fold(const std::vector<event_view>& events);

// The stream of an aggregate: "talent-<id>" and so on.
std::string stream_name(std::string_view category, std::string_view id);

}  // namespace kakehashi
