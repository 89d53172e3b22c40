// The table of event types: one line per type. Adding an event = a struct in domain.capnp plus a
// line here; the codec is generic over the schema.
#include <unordered_map>
#include <vector>

#include "events/domain.capnp.h"
#include "events/event_codec.h"

namespace kakehashi {
namespace {

namespace s = schema;

template <class Public>
event_type_info entry(std::string_view type, std::string_view category) {
  return {type, 1, category, capnp::Schema::from<Public>(), std::nullopt};
}

// `version` goes up with an upcaster only (SCHEMA.md rule 3): 2 for the types whose free text
// moved to their personal struct ($personalSince(2)), which upcast_payload moves for version 1.
template <class Public, class Personal>
event_type_info entry(std::string_view type, std::string_view category, std::uint16_t version = 1) {
  return {type, version, category, capnp::Schema::from<Public>(), capnp::Schema::from<Personal>()};
}

std::vector<event_type_info> make_table() {
  return {
      // talent-{id}
      entry<s::TalentRegistered, s::TalentRegisteredPersonal>("TalentRegistered", "talent"),
      entry<s::TalentProfileUpdated, s::TalentProfileUpdatedPersonal>("TalentProfileUpdated",
                                                                      "talent"),
      entry<s::TalentAvailabilityChanged>("TalentAvailabilityChanged", "talent"),
      entry<s::TalentConsentGranted>("TalentConsentGranted", "talent"),
      entry<s::TalentConsentRevoked, s::TalentConsentRevokedPersonal>("TalentConsentRevoked",
                                                                      "talent", 2),
      entry<s::TalentPaused, s::TalentPausedPersonal>("TalentPaused", "talent", 2),
      entry<s::TalentResumed, s::TalentResumedPersonal>("TalentResumed", "talent", 2),
      entry<s::TalentWithdrew, s::TalentWithdrewPersonal>("TalentWithdrew", "talent", 2),
      entry<s::TalentPersonalDataErased>("TalentPersonalDataErased", "talent"),
      // municipality-{lg_code}
      entry<s::MunicipalityListed>("MunicipalityListed", "municipality"),
      entry<s::MunicipalityContactAssigned, s::MunicipalityContactAssignedPersonal>(
          "MunicipalityContactAssigned", "municipality"),
      // need-{id}
      entry<s::NeedOpened>("NeedOpened", "need"),
      entry<s::HearingRecorded, s::HearingRecordedPersonal>("HearingRecorded", "need"),
      entry<s::HearingNoteCorrected, s::HearingNoteCorrectedPersonal>("HearingNoteCorrected",
                                                                      "need"),
      entry<s::RequirementsDefined>("RequirementsDefined", "need"),
      entry<s::SourcingModeChosen>("SourcingModeChosen", "need"),
      entry<s::PublicPostingPublished>("PublicPostingPublished", "need"),
      entry<s::NeedPutOnHold>("NeedPutOnHold", "need"),
      entry<s::NeedResumed>("NeedResumed", "need"),
      entry<s::NeedClosed>("NeedClosed", "need"),
      entry<s::NeedReopened>("NeedReopened", "need"),
      entry<s::CandidateAttached>("CandidateAttached", "need"),
      entry<s::OpeningFilled>("OpeningFilled", "need"),
      // candidacy-{id}
      entry<s::CandidateIdentified>("CandidateIdentified", "candidacy"),
      entry<s::TalentContacted>("TalentContacted", "candidacy"),
      entry<s::InterestConfirmed>("InterestConfirmed", "candidacy"),
      entry<s::InterestDeclined, s::InterestDeclinedPersonal>("InterestDeclined", "candidacy", 2),
      entry<s::ProposalSubmitted>("ProposalSubmitted", "candidacy"),
      entry<s::MunicipalDecisionRecorded, s::MunicipalDecisionRecordedPersonal>(
          "MunicipalDecisionRecorded", "candidacy"),
      entry<s::CandidacyArchived>("CandidacyArchived", "candidacy"),
      entry<s::CandidacyAppointed>("CandidacyAppointed", "candidacy"),
      entry<s::CandidacyAttachedToNeed>("CandidacyAttachedToNeed", "candidacy"),
      // appointment-{id}
      entry<s::AppointmentArranged>("AppointmentArranged", "appointment"),
      entry<s::AppointmentStarted>("AppointmentStarted", "appointment"),
      entry<s::AppointmentAmended, s::AppointmentAmendedPersonal>("AppointmentAmended",
                                                                  "appointment"),
      entry<s::AppointmentSuspended, s::AppointmentSuspendedPersonal>("AppointmentSuspended",
                                                                      "appointment", 2),
      entry<s::AppointmentResumed, s::AppointmentResumedPersonal>("AppointmentResumed",
                                                                  "appointment", 2),
      entry<s::CheckInScheduled>("CheckInScheduled", "appointment"),
      entry<s::CheckInCompleted, s::CheckInCompletedPersonal>("CheckInCompleted", "appointment"),
      entry<s::CheckInMissed>("CheckInMissed", "appointment"),
      entry<s::IssueRaised, s::IssueRaisedPersonal>("IssueRaised", "appointment", 2),
      entry<s::IssueResolved, s::IssueResolvedPersonal>("IssueResolved", "appointment", 2),
      entry<s::AppointmentEnded, s::AppointmentEndedPersonal>("AppointmentEnded", "appointment", 2),
      entry<s::AppointmentFlagged>("AppointmentFlagged", "appointment"),
      // audit-{yyyymmdd}
      entry<s::PersonalDataRead>("PersonalDataRead", "audit"),
      // any stream
      entry<s::EventVoided>("EventVoided", ""),
  };
}

// Immutable after first use (built under the static-init guard), like a constant table.
struct registry {
  std::vector<event_type_info> table = make_table();
  std::unordered_map<std::string_view, const event_type_info*> by_type = [this] {
    std::unordered_map<std::string_view, const event_type_info*> map;
    for (const auto& info : table)
      map.emplace(info.type, &info);
    return map;
  }();
};

const registry& the_registry() {
  static const registry instance;
  return instance;
}

}  // namespace

std::span<const event_type_info> event_types() {
  return the_registry().table;
}

const event_type_info* find_event_type(std::string_view type) {
  const auto& map = the_registry().by_type;
  auto it = map.find(type);
  return it == map.end() ? nullptr : it->second;
}

bool allowed_in_category(const event_type_info& info, std::string_view category) {
  return info.category.empty() || info.category == category;
}

}  // namespace kakehashi
