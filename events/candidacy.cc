// candidacy-{id}: a talent considered for a need (or, talent-driven, for a municipality).
#include "events/domain_detail.h"

namespace kakehashi {

using namespace detail;

namespace {

const char* stage_name(candidacy_stage stage) {
  switch (stage) {
    case candidacy_stage::none:
      return "none";
    case candidacy_stage::identified:
      return "identified";
    case candidacy_stage::contacted:
      return "contacted";
    case candidacy_stage::interested:
      return "interested";
    case candidacy_stage::declined:
      return "declined";
    case candidacy_stage::proposed:
      return "proposed";
    case candidacy_stage::accepted:
      return "accepted";
    case candidacy_stage::rejected:
      return "rejected";
    case candidacy_stage::archived:
      return "archived";
    case candidacy_stage::appointed:
      return "appointed";
  }
  return "unknown";
}

error wrong_stage(const candidacy_state& state, const std::string& type, const char* wanted) {
  if (!state.open())
    return rejected("candidacy_closed", std::string("the candidacy is ") + stage_name(state.stage) +
                                            "; " + type + " needs an open one");
  return rejected("invalid_stage", type + " needs a candidacy that is " + wanted + ", not " +
                                       stage_name(state.stage));
}

// The need a command names or the candidacy has, while candidates may still join it.
std::optional<error> need_unavailable(const need_state* need) {
  if (!need || need->events == 0) return missing("need_not_found", "no such need");
  if (!need->open()) return rejected("need_closed", "the need is closed");
  return std::nullopt;
}

// Invariant 3, when a candidacy joins a need.
error duplicate_open_candidacy() {
  return rejected("duplicate_open_candidacy",
                  "the talent already has an open candidacy for this need");
}

// The need's side of a candidacy joining it, appended atomically with the candidacy's event.
decided_event attachment(std::string_view need_id, std::string_view candidacy_id,
                         std::string_view talent_id) {
  return {stream_name("need", need_id), "CandidateAttached",
          build_payload<s::CandidateAttached>([&](auto b) {
            b.setCandidacyId(std::string(candidacy_id));
            b.setTalentId(std::string(talent_id));
          }),
          "", ""};
}

}  // namespace

bool candidacy_state::open() const {
  switch (stage) {
    case candidacy_stage::identified:
    case candidacy_stage::contacted:
    case candidacy_stage::interested:
    case candidacy_stage::proposed:
    case candidacy_stage::accepted:
      return true;
    default:
      return false;
  }
}

void evolve(candidacy_state& state, const event_view& event) {
  ++state.events;
  if (track_voidable(state.entries, event)) return;
  payload_reader reader(event.payload);
  const auto type = event.type;
  auto enter = [&](candidacy_stage stage) {
    state.stage = stage;
    state.stage_since = event.occurred_at;
    auto& first = state.entered_at[static_cast<std::size_t>(stage)];
    if (first == 0) first = event.occurred_at;
  };
  if (type == "CandidateIdentified") {
    auto p = reader.root<s::CandidateIdentified>();
    state.talent_id = str(p.getTalentId());
    state.need_id = str(p.getNeedId());
    state.lg_code = str(p.getLgCode());
    state.direction = static_cast<std::uint16_t>(p.getDirection());
    state.source = str(p.getSource());
    enter(candidacy_stage::identified);
  } else if (type == "CandidacyAttachedToNeed") {
    // The idea now belongs to the need; its stage is unchanged.
    state.need_id = str(reader.root<s::CandidacyAttachedToNeed>().getNeedId());
  } else if (type == "TalentContacted") {
    enter(candidacy_stage::contacted);
  } else if (type == "InterestConfirmed") {
    enter(candidacy_stage::interested);
  } else if (type == "InterestDeclined") {
    enter(candidacy_stage::declined);
  } else if (type == "ProposalSubmitted") {
    enter(candidacy_stage::proposed);
  } else if (type == "MunicipalDecisionRecorded") {
    enter(reader.root<s::MunicipalDecisionRecorded>().getAccepted() ? candidacy_stage::accepted
                                                                    : candidacy_stage::rejected);
  } else if (type == "CandidacyArchived") {
    enter(candidacy_stage::archived);
  } else if (type == "CandidacyAppointed") {
    state.appointment_id = str(reader.root<s::CandidacyAppointed>().getAppointmentId());
    enter(candidacy_stage::appointed);
  }
}

decision decide_candidacy(const command& cmd, const candidacy_state& state,
                          std::string_view candidacy_id, const candidacy_context& context) {
  return guarded([&]() -> decision {
    const std::string stream = stream_name("candidacy", candidacy_id);
    const std::string& type = cmd.type;
    auto accept = [&] { return std::vector<decided_event>{primary(cmd, stream)}; };
    payload_reader reader(cmd.payload);
    if (type == "CandidateIdentified") {
      if (state.events > 0)
        return rejected("already_exists",
                        "candidacy " + std::string(candidacy_id) + " already exists");
      if (auto e = talent_unavailable(context.talent)) return *e;
      auto p = reader.root<s::CandidateIdentified>();
      if (!p.hasNeedId()) {
        if (p.getDirection() == s::Direction::NEED_DRIVEN)
          return make_error(errc::invalid_argument, "need_required",
                            "a need-driven candidacy names its need", "need_id");
        if (!p.hasLgCode())
          return make_error(errc::invalid_argument, "lg_code_required",
                            "a talent-driven idea names the municipality it is for", "lg_code");
        return accept();
      }
      if (auto e = need_unavailable(context.need)) return *e;
      const need_state* need = context.need;
      if (p.hasLgCode() && text_view(p.getLgCode()) != need->lg_code)
        return make_error(errc::invalid_argument, "invalid_value",
                          "lg_code differs from the need's", "lg_code");
      if (context.other_open_for_talent_and_need > 0) return duplicate_open_candidacy();
      // The candidacy carries its municipality, so isolation never has to look the need up.
      capnp::MallocMessageBuilder message;
      message.setRoot(p);
      message.getRoot<s::CandidateIdentified>().setLgCode(need->lg_code);
      auto out = accept();
      out.front().payload = message_bytes(message);
      out.push_back(attachment(text_view(p.getNeedId()), candidacy_id, text_view(p.getTalentId())));
      return out;
    }
    if (state.events == 0)
      return missing("candidacy_not_found", "no candidacy " + std::string(candidacy_id));
    if (type == "EventVoided") return decide_void(cmd, state.entries, stream);
    if (type == "TalentContacted") {
      if (state.stage != candidacy_stage::identified) return wrong_stage(state, type, "identified");
      if (auto e = talent_unavailable(context.talent)) return *e;
      return accept();
    }
    if (type == "InterestConfirmed") {
      if (state.stage != candidacy_stage::identified && state.stage != candidacy_stage::contacted)
        return wrong_stage(state, type, "identified or contacted");
      return accept();
    }
    if (type == "InterestDeclined") {
      if (state.stage != candidacy_stage::identified && state.stage != candidacy_stage::contacted &&
          state.stage != candidacy_stage::interested)
        return wrong_stage(state, type, "identified, contacted or interested");
      // The reason is the talent's personal data.
      bool reason = payload_reader(cmd.personal).root<s::InterestDeclinedPersonal>().hasReason();
      return std::vector<decided_event>{
          primary(cmd, stream, text_subject(reason, state.talent_id, state.lg_code))};
    }
    if (type == "ProposalSubmitted") {
      if (state.stage != candidacy_stage::interested) return wrong_stage(state, type, "interested");
      if (auto e = talent_unavailable(context.talent)) return *e;
      if (state.need_id.empty())
        return rejected(
            "need_required",
            "a talent-driven idea is proposed once the municipality opens a need for it");
      if (auto e = need_unavailable(context.need)) return *e;
      if (!context.need->requirements)
        return rejected("requirements_not_defined",
                        "the need's requirements must be defined before a proposal");
      return accept();
    }
    if (type == "CandidacyAttachedToNeed") {
      // DOMAIN.md: a talent-driven idea has no need at first; once the municipality takes it up
      // a need opens for it and the idea is attached. A need-driven candidacy names its need when
      // identified, and a candidacy that has a need keeps it.
      if (state.direction != static_cast<std::uint16_t>(s::Direction::TALENT_DRIVEN))
        return rejected("not_talent_driven",
                        "only a talent-driven idea is attached to a need; a need-driven "
                        "candidacy names its need when identified");
      if (!state.need_id.empty())
        return rejected("already_attached",
                        "the idea is already attached to need " + state.need_id);
      // Attached before its proposal, which needs the need: an idea the talent declined, or one
      // archived, is not taken up (a new identification is).
      if (state.stage != candidacy_stage::identified && state.stage != candidacy_stage::contacted &&
          state.stage != candidacy_stage::interested)
        return wrong_stage(state, type, "identified, contacted or interested");
      if (auto e = need_unavailable(context.need)) return *e;
      // Only a need opened for an idea (origin talent_driven) takes one: a municipality's own
      // request gets its candidates by identification, need-driven. So a need's origin and the
      // funnel's split by direction keep telling the same story of where the match came from.
      if (context.need->origin != static_cast<std::uint16_t>(s::Origin::TALENT_DRIVEN))
        return rejected("need_not_talent_driven",
                        "an idea is attached only to a need opened for it (origin talent_driven)");
      if (context.need->lg_code != state.lg_code)
        return rejected("municipality_mismatch",
                        "the need is for another municipality than the idea");
      if (auto e = talent_unavailable(context.talent)) return *e;
      if (context.other_open_for_talent_and_need > 0) return duplicate_open_candidacy();
      auto out = accept();
      out.push_back(attachment(text_view(reader.root<s::CandidacyAttachedToNeed>().getNeedId()),
                               candidacy_id, state.talent_id));
      return out;
    }
    if (type == "MunicipalDecisionRecorded") {
      if (state.stage != candidacy_stage::proposed) return wrong_stage(state, type, "proposed");
      // Invariant 4: the officer decides; anyone else only enters it on the officer's behalf.
      bool by_officer = cmd.who.role == "municipality";
      if (!by_officer && cmd.who.on_behalf_of.empty())
        return rejected("on_behalf_of_required",
                        "only the municipality decides: a coordinator records the decision on the "
                        "officer's behalf and names them");
      capnp::MallocMessageBuilder message;
      message.setRoot(reader.root<s::MunicipalDecisionRecorded>());
      message.getRoot<s::MunicipalDecisionRecorded>().setEnteredOnBehalf(!by_officer);
      auto subject = stream_name("municipality", state.lg_code);
      std::vector<decided_event> out{primary(cmd, stream, subject)};
      out.front().payload = message_bytes(message);
      return out;
    }
    if (type == "CandidacyArchived") {
      if (!state.open()) return wrong_stage(state, type, "open");
      return accept();
    }
    return not_allowed(type);
  });
}

}  // namespace kakehashi
