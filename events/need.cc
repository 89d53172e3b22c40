// need-{id}, the case: consultation, hearings, requirements, sourcing, holds, closing.
#include "events/domain_detail.h"

namespace kakehashi {

using namespace detail;

namespace {

// The open stage a need returns to when resumed or reopened, from what it has gathered.
need_stage derived_open_stage(const need_state& state) {
  if (state.requirements && state.unfilled() == 0 && !state.appointments.empty())
    return need_stage::filled;
  if (state.sourcing_mode) return need_stage::sourcing;
  if (state.requirements) return need_stage::requirements_defined;
  if (!state.hearings.empty()) return need_stage::hearing;
  return need_stage::consulted;
}

}  // namespace

std::uint16_t need_state::unfilled() const {
  if (!requirements) return 0;
  auto taken = static_cast<std::uint16_t>(appointments.size());
  return requirements->openings > taken ? requirements->openings - taken : 0;
}

void evolve(need_state& state, const event_view& event) {
  ++state.events;
  // fold() never evolves a voided event, so a void needs no undoing here.
  if (track_voidable(state.entries, event)) return;
  payload_reader reader(event.payload);
  const auto type = event.type;
  if (type == "NeedOpened") {
    auto p = reader.root<s::NeedOpened>();
    state.stage = need_stage::consulted;
    state.lg_code = str(p.getLgCode());
    state.origin = static_cast<std::uint16_t>(p.getOrigin());
    state.opened_at = event.occurred_at;
  } else if (type == "HearingRecorded") {
    state.hearings[str(reader.root<s::HearingRecorded>().getHearingId())] = std::string(event.id);
    if (state.stage == need_stage::consulted) state.stage = need_stage::hearing;
  } else if (type == "HearingNoteCorrected") {
    state.hearings[str(reader.root<s::HearingNoteCorrected>().getHearingId())] =
        std::string(event.id);
  } else if (type == "RequirementsDefined") {
    auto p = reader.root<s::RequirementsDefined>();
    need_requirements r;
    r.revision = p.getRevision();
    r.role_category = str(p.getRoleCategory());
    r.tier = static_cast<std::uint16_t>(p.getTier());
    r.skills = strings(p.getSkills());
    r.work_forms = ordinals(p.getWorkForms());
    r.hours_per_week = p.getHoursPerWeek();
    r.duration_months = p.getDurationMonths();
    r.openings = p.getOpenings();
    state.requirements = std::move(r);
    if (state.open()) state.stage = derived_open_stage(state);
  } else if (type == "SourcingModeChosen") {
    state.sourcing_mode =
        static_cast<std::uint16_t>(reader.root<s::SourcingModeChosen>().getMode());
    if (state.open()) state.stage = derived_open_stage(state);
  } else if (type == "NeedPutOnHold") {
    state.on_hold = true;
  } else if (type == "NeedResumed") {
    state.on_hold = false;
  } else if (type == "NeedClosed") {
    state.stage = need_stage::closed;
    state.on_hold = false;
    state.close_reason = static_cast<std::uint16_t>(reader.root<s::NeedClosed>().getReason());
  } else if (type == "NeedReopened") {
    state.stage = derived_open_stage(state);
  } else if (type == "CandidateAttached") {
    auto p = reader.root<s::CandidateAttached>();
    state.candidacies[str(p.getCandidacyId())] = str(p.getTalentId());
  } else if (type == "OpeningFilled") {
    state.appointments.insert(str(reader.root<s::OpeningFilled>().getAppointmentId()));
    if (state.open()) state.stage = derived_open_stage(state);
  }
}

decision decide_need(const command& cmd, const need_state& state, std::string_view need_id,
                     const need_context& context) {
  return guarded([&]() -> decision {
    const std::string stream = stream_name("need", need_id);
    const std::string& type = cmd.type;
    auto accept = [&] { return std::vector<decided_event>{primary(cmd, stream, stream)}; };
    if (type == "NeedOpened") {
      if (state.events > 0)
        return rejected("already_exists", "need " + std::string(need_id) + " already exists");
      if (!context.municipality || context.municipality->events == 0)
        return missing("municipality_not_found", "the municipality is not listed");
      return accept();
    }
    if (state.events == 0) return missing("need_not_found", "no need " + std::string(need_id));
    if (type == "EventVoided") return decide_void(cmd, state.entries, stream);
    if (type == "CandidateAttached" || type == "OpeningFilled") return not_allowed(type);
    if (type == "NeedReopened") {
      if (state.stage != need_stage::closed)
        return rejected("need_not_closed", "only a closed need can be reopened");
      return accept();
    }
    if (!state.open()) return rejected("need_closed", "the need is closed; reopen it first");
    if (type == "NeedResumed") {
      if (!state.on_hold) return rejected("need_not_on_hold", "the need is not on hold");
      return accept();
    }
    if (type == "NeedClosed") return accept();
    if (state.on_hold) return rejected("need_on_hold", "the need is on hold; resume it first");
    if (type == "NeedPutOnHold") return accept();
    payload_reader reader(cmd.payload);
    if (type == "HearingRecorded") {
      auto id = text_view(reader.root<s::HearingRecorded>().getHearingId());
      if (state.hearings.count(id))
        return rejected("duplicate_hearing", "hearing " + std::string(id) + " is already recorded");
      return accept();
    }
    if (type == "HearingNoteCorrected") {
      auto p = reader.root<s::HearingNoteCorrected>();
      auto it = state.hearings.find(text_view(p.getHearingId()));
      if (it == state.hearings.end())
        return missing("unknown_hearing", "no hearing " + str(p.getHearingId()) + " on this need");
      if (it->second != text_view(p.getSupersedes()))
        return rejected("supersedes_mismatch",
                        "a correction supersedes the hearing's latest note, event " + it->second);
      return accept();
    }
    if (type == "RequirementsDefined") {
      if (state.hearings.empty())
        return rejected("hearing_required", "requirements come out of at least one hearing");
      auto p = reader.root<s::RequirementsDefined>();
      if (p.getOpenings() < state.appointments.size())
        return rejected("openings_below_filled",
                        "openings cannot be fewer than the appointments already made");
      // The revision is the rules' to number, whatever the client sent.
      capnp::MallocMessageBuilder message;
      message.setRoot(p);
      message.getRoot<s::RequirementsDefined>().setRevision(
          state.requirements ? state.requirements->revision + 1 : 1);
      auto out = accept();
      out.front().payload = message_bytes(message);
      return out;
    }
    if (type == "SourcingModeChosen") {
      if (!state.requirements)
        return rejected("requirements_not_defined",
                        "define the requirements before choosing how to source");
      return accept();
    }
    if (type == "PublicPostingPublished") {
      if (state.sourcing_mode != static_cast<std::uint16_t>(s::SourcingMode::PUBLIC_POSTING))
        return rejected("not_public_posting", "choose public_posting as the sourcing mode first");
      return accept();
    }
    return not_allowed(type);
  });
}

}  // namespace kakehashi
