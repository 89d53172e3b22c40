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
      const need_state* need = context.need;
      if (!need || need->events == 0) return missing("need_not_found", "no such need");
      if (!need->open()) return rejected("need_closed", "the need is closed");
      if (p.hasLgCode() && text_view(p.getLgCode()) != need->lg_code)
        return make_error(errc::invalid_argument, "invalid_value",
                          "lg_code differs from the need's", "lg_code");
      if (context.other_open_for_talent_and_need > 0)
        return rejected("duplicate_open_candidacy",
                        "the talent already has an open candidacy for this need");
      // The candidacy carries its municipality, so isolation never has to look the need up.
      capnp::MallocMessageBuilder message;
      message.setRoot(p);
      message.getRoot<s::CandidateIdentified>().setLgCode(need->lg_code);
      auto out = accept();
      out.front().payload = message_bytes(message);
      out.push_back({stream_name("need", text_view(p.getNeedId())), "CandidateAttached",
                     build_payload<s::CandidateAttached>([&](auto b) {
                       b.setCandidacyId(std::string(candidacy_id));
                       b.setTalentId(p.getTalentId());
                     }),
                     "", ""});
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
      return accept();
    }
    if (type == "ProposalSubmitted") {
      if (state.stage != candidacy_stage::interested) return wrong_stage(state, type, "interested");
      if (auto e = talent_unavailable(context.talent)) return *e;
      if (state.need_id.empty())
        return rejected(
            "need_required",
            "a talent-driven idea is proposed once the municipality opens a need for it");
      if (!context.need || context.need->events == 0)
        return missing("need_not_found", "no such need");
      if (!context.need->open()) return rejected("need_closed", "the need is closed");
      if (!context.need->requirements)
        return rejected("requirements_not_defined",
                        "the need's requirements must be defined before a proposal");
      return accept();
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
