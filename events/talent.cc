// talent-{id}: registration, profile, consent, pause/resume, withdrawal and erasure.
#include "events/domain_detail.h"

namespace kakehashi {

using namespace detail;

void evolve(talent_state& state, const event_view& event) {
  ++state.events;
  if (track_voidable(state.entries, event)) return;
  payload_reader reader(event.payload);
  const auto type = event.type;
  if (type == "TalentRegistered") {
    auto p = reader.root<s::TalentRegistered>();
    state.status = talent_status::active;
    state.consent = true;
    state.consent_version = str(p.getConsentVersion());
    state.residence_area = str(p.getResidenceArea());
    state.skills = strings(p.getSkills());
    state.role_categories = strings(p.getRoleCategories());
    state.tiers = ordinals(p.getTiers());
    auto availability = p.getAvailability();
    state.hours_per_week = availability.getHoursPerWeek();
    state.work_forms = ordinals(availability.getWorkForms());
    state.areas = strings(availability.getAreas());
    state.registered_at = event.occurred_at;
  } else if (type == "TalentProfileUpdated") {
    auto p = reader.root<s::TalentProfileUpdated>();
    if (p.hasResidenceArea()) state.residence_area = str(p.getResidenceArea());
    if (p.hasSkills()) state.skills = strings(p.getSkills());
    if (p.hasRoleCategories()) state.role_categories = strings(p.getRoleCategories());
    if (p.hasTiers()) state.tiers = ordinals(p.getTiers());
  } else if (type == "TalentAvailabilityChanged") {
    auto availability = reader.root<s::TalentAvailabilityChanged>().getAvailability();
    state.hours_per_week = availability.getHoursPerWeek();
    state.work_forms = ordinals(availability.getWorkForms());
    state.areas = strings(availability.getAreas());
  } else if (type == "TalentConsentGranted") {
    state.consent = true;
    state.consent_version = str(reader.root<s::TalentConsentGranted>().getConsentVersion());
  } else if (type == "TalentConsentRevoked") {
    state.consent = false;
  } else if (type == "TalentPaused") {
    state.status = talent_status::paused;
  } else if (type == "TalentResumed") {
    state.status = talent_status::active;
  } else if (type == "TalentWithdrew") {
    state.status = talent_status::withdrawn;
  } else if (type == "TalentPersonalDataErased") {
    state.erased = true;
  }
}

decision decide_talent(const command& cmd, const talent_state& state, std::string_view talent_id) {
  return guarded([&]() -> decision {
    const std::string stream = stream_name("talent", talent_id);
    const std::string& type = cmd.type;
    auto accept = [&] { return std::vector<decided_event>{primary(cmd, stream, stream)}; };
    if (type == "TalentRegistered") {
      if (state.events > 0)
        return rejected("already_exists",
                        "talent " + std::string(talent_id) + " is already registered");
      return accept();
    }
    if (state.events == 0)
      return missing("talent_not_found", "no talent " + std::string(talent_id));
    if (type == "EventVoided") return decide_void(cmd, state.entries, stream);
    if (state.erased)
      return rejected("talent_erased",
                      "the talent's personal data was erased; nothing more can be recorded");
    if (type == "TalentPersonalDataErased") {
      std::vector<decided_event> out;
      // Erasure ends the relationship too: the withdrawal lets the process manager archive
      // open candidacies before the data becomes unreadable. Its reason is sealed with the
      // talent's key like any withdrawal's, so it reads "[erased]" with the rest; the erasure's
      // own reason stays readable.
      if (state.status != talent_status::withdrawn)
        out.push_back({stream, "TalentWithdrew", build_payload<s::TalentWithdrew>([](auto) {}),
                       build_payload<s::TalentWithdrewPersonal>(
                           [](auto b) { b.setReason("personal data erased on request"); }),
                       stream});
      out.push_back(primary(cmd, stream, stream));
      return out;
    }
    if (state.status == talent_status::withdrawn)
      return rejected("talent_withdrawn", "the talent has withdrawn");
    if (type == "TalentProfileUpdated" || type == "TalentAvailabilityChanged" ||
        type == "TalentWithdrew")
      return accept();
    if (type == "TalentConsentGranted") {
      // A new policy version may be granted over a current one; the same version is a repeat.
      payload_reader reader(cmd.payload);
      auto version = text_view(reader.root<s::TalentConsentGranted>().getConsentVersion());
      if (state.consent && version == state.consent_version)
        return rejected("consent_already_granted",
                        "the talent already consents to version " + state.consent_version);
      return accept();
    }
    if (type == "TalentConsentRevoked") {
      if (!state.consent)
        return rejected("consent_not_granted", "the talent has no current consent to revoke");
      return accept();
    }
    if (type == "TalentPaused") {
      if (state.status != talent_status::active)
        return rejected("talent_not_active", "only an active talent can be paused");
      return accept();
    }
    if (type == "TalentResumed") {
      if (state.status != talent_status::paused)
        return rejected("talent_not_paused", "only a paused talent can be resumed");
      return accept();
    }
    return not_allowed(type);
  });
}

void evolve(municipality_state& state, const event_view& event) {
  ++state.events;
  if (track_voidable(state.entries, event)) return;
  if (event.type == "MunicipalityListed") {
    payload_reader reader(event.payload);
    auto p = reader.root<s::MunicipalityListed>();
    state.lg_code = str(p.getLgCode());
    state.name_ja = str(p.getNameJa());
    state.name_en = str(p.getNameEn());
    state.region = str(p.getRegion());
  }
}

decision decide_municipality(const command& cmd, const municipality_state& state,
                             std::string_view lg_code) {
  return guarded([&]() -> decision {
    const std::string stream = stream_name("municipality", lg_code);
    if (cmd.type == "MunicipalityListed") {
      if (state.events > 0)
        return rejected("already_exists",
                        "municipality " + std::string(lg_code) + " is already listed");
      payload_reader reader(cmd.payload);
      if (text_view(reader.root<s::MunicipalityListed>().getLgCode()) != lg_code)
        return make_error(errc::invalid_argument, "invalid_value", "lg_code must match the stream",
                          "lg_code");
      return std::vector<decided_event>{primary(cmd, stream)};
    }
    if (state.events == 0)
      return missing("municipality_not_found",
                     "municipality " + std::string(lg_code) + " is not listed");
    if (cmd.type == "EventVoided") return decide_void(cmd, state.entries, stream);
    if (cmd.type == "MunicipalityContactAssigned")
      return std::vector<decided_event>{primary(cmd, stream, stream)};
    return not_allowed(cmd.type);
  });
}

}  // namespace kakehashi
