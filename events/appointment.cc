// appointment-{id}: 任用 and its retention support (check-ins, issues, amendments, endings).
#include "events/domain_detail.h"

namespace kakehashi {

using namespace detail;

void evolve(appointment_state& state, const event_view& event) {
  ++state.events;
  if (track_voidable(state.entries, event)) return;
  payload_reader reader(event.payload);
  const auto type = event.type;
  if (type == "AppointmentArranged") {
    auto p = reader.root<s::AppointmentArranged>();
    state.status = appointment_status::arranged;
    state.candidacy_id = str(p.getCandidacyId());
    state.talent_id = str(p.getTalentId());
    state.need_id = str(p.getNeedId());
    state.lg_code = str(p.getLgCode());
    state.form = static_cast<std::uint16_t>(p.getForm());
    state.starts_on = str(p.getStartsOn());
    state.ends_on = str(p.getEndsOn());
    state.hours_per_week = p.getHoursPerWeek();
    state.scope = str(p.getScope());
    state.arranged_at = event.occurred_at;
  } else if (type == "AppointmentStarted" || type == "AppointmentResumed") {
    state.status = appointment_status::active;
  } else if (type == "AppointmentSuspended") {
    state.status = appointment_status::suspended;
  } else if (type == "AppointmentAmended") {
    auto changes = reader.root<s::AppointmentAmended>().getChanges();
    if (changes.hasEndsOn()) state.ends_on = str(changes.getEndsOn());
    if (changes.getHoursPerWeek() != 0) state.hours_per_week = changes.getHoursPerWeek();
    if (changes.hasScope()) state.scope = str(changes.getScope());
  } else if (type == "CheckInScheduled") {
    auto p = reader.root<s::CheckInScheduled>();
    auto& c = state.check_ins[p.hasCheckInId() ? str(p.getCheckInId()) : std::string(event.id)];
    c.due_on = str(p.getDueOn());
    c.party = static_cast<std::uint16_t>(p.getParty());
  } else if (type == "CheckInCompleted") {
    auto p = reader.root<s::CheckInCompleted>();
    if (p.hasCheckInId()) {
      auto& c = state.check_ins[str(p.getCheckInId())];
      c.completed = true;
      c.missed = false;
      c.rating = p.getRating();
    }
  } else if (type == "CheckInMissed") {
    auto p = reader.root<s::CheckInMissed>();
    if (p.hasCheckInId()) state.check_ins[str(p.getCheckInId())].missed = true;
  } else if (type == "IssueRaised") {
    state.open_issues.insert(str(reader.root<s::IssueRaised>().getIssueId()));
  } else if (type == "IssueResolved") {
    state.open_issues.erase(str(reader.root<s::IssueResolved>().getIssueId()));
  } else if (type == "AppointmentFlagged") {
    ++state.flags;
  } else if (type == "AppointmentEnded") {
    state.status = appointment_status::ended;
    state.end_kind = static_cast<std::uint16_t>(reader.root<s::AppointmentEnded>().getKind());
    state.ended_at = event.occurred_at;
  }
}

namespace {

decision arrange(const command& cmd, const appointment_state& state, std::string_view id,
                 const appointment_context& context) {
  const std::string stream = stream_name("appointment", id);
  if (state.events > 0)
    return rejected("already_exists", "appointment " + std::string(id) + " already exists");
  payload_reader reader(cmd.payload);
  auto p = reader.root<s::AppointmentArranged>();
  const candidacy_state* candidacy = context.candidacy;
  if (!candidacy || candidacy->events == 0)
    return missing("candidacy_not_found", "no such candidacy");
  // Invariant 5: an accepted candidacy, no other appointment from it, an unfilled opening.
  if (candidacy->stage == candidacy_stage::appointed)
    return rejected("candidacy_already_appointed",
                    "the candidacy already has appointment " + candidacy->appointment_id);
  if (candidacy->stage != candidacy_stage::accepted)
    return rejected("candidacy_not_accepted", "only an accepted candidacy can be appointed");
  if (auto e = talent_unavailable(context.talent)) return *e;
  const need_state* need = context.need;
  if (!need || need->events == 0)
    return missing("need_not_found", "the candidacy's need does not exist");
  if (!need->open()) return rejected("need_closed", "the need is closed");
  if (need->on_hold) return rejected("need_on_hold", "the need is on hold");
  if (need->unfilled() == 0)
    return rejected("no_open_opening", "every opening of the need is filled");
  if (text_view(p.getEndsOn()) <= text_view(p.getStartsOn()))
    return make_error(errc::invalid_argument, "invalid_dates", "ends_on must be after starts_on",
                      "ends_on");
  auto mismatch = [](capnp::Text::Reader given, const std::string& actual) {
    return given.size() != 0 && text_view(given) != actual;
  };
  if (mismatch(p.getTalentId(), candidacy->talent_id) ||
      mismatch(p.getNeedId(), candidacy->need_id) || mismatch(p.getLgCode(), candidacy->lg_code))
    return make_error(errc::invalid_argument, "invalid_value",
                      "talent_id, need_id and lg_code are the candidacy's");
  capnp::MallocMessageBuilder message;
  message.setRoot(p);
  auto filled = message.getRoot<s::AppointmentArranged>();
  filled.setTalentId(candidacy->talent_id);
  filled.setNeedId(candidacy->need_id);
  filled.setLgCode(candidacy->lg_code);
  std::vector<decided_event> out{primary(cmd, stream)};
  out.front().payload = message_bytes(message);
  const std::string appointment_id(id);
  out.push_back(
      {stream_name("candidacy", p.getCandidacyId().cStr()), "CandidacyAppointed",
       build_payload<s::CandidacyAppointed>([&](auto b) { b.setAppointmentId(appointment_id); }),
       "", ""});
  out.push_back({stream_name("need", candidacy->need_id), "OpeningFilled",
                 build_payload<s::OpeningFilled>([&](auto b) {
                   b.setAppointmentId(appointment_id);
                   b.setCandidacyId(p.getCandidacyId());
                   b.setTalentId(candidacy->talent_id);
                 }),
                 "", ""});
  return out;
}

// A completion or a miss that names a scheduled check-in closes it: the check-in must exist, be
// still open (a miss entered in error is voided, not overwritten) and be with the same party.
// One without an id records a check-in that was never scheduled.
template <class Reader>
std::optional<error> check_in_closes(const appointment_state& state, Reader p) {
  if (!p.hasCheckInId()) return std::nullopt;
  auto id = text_view(p.getCheckInId());
  auto it = state.check_ins.find(id);
  if (it == state.check_ins.end())
    return missing("unknown_check_in", "no check-in " + std::string(id) + " was scheduled");
  if (it->second.completed || it->second.missed)
    return rejected("check_in_closed", "check-in " + std::string(id) + " was already " +
                                           (it->second.completed ? "completed" : "missed"));
  if (static_cast<std::uint16_t>(p.getParty()) != it->second.party)
    return make_error(errc::invalid_argument, "invalid_value",
                      "party differs from the scheduled check-in's", "party");
  return std::nullopt;
}

}  // namespace

decision decide_appointment(const command& cmd, const appointment_state& state,
                            std::string_view appointment_id, const appointment_context& context) {
  return guarded([&]() -> decision {
    const std::string& type = cmd.type;
    if (type == "AppointmentArranged") return arrange(cmd, state, appointment_id, context);
    const std::string stream = stream_name("appointment", appointment_id);
    if (state.events == 0)
      return missing("appointment_not_found", "no appointment " + std::string(appointment_id));
    if (type == "EventVoided") return decide_void(cmd, state.entries, stream);
    // Invariant 6: nothing more once ended.
    if (state.status == appointment_status::ended)
      return rejected("appointment_ended",
                      "the appointment has ended; nothing more can be recorded on it");
    auto accept = [&](std::string subject = {}) {
      return std::vector<decided_event>{primary(cmd, stream, std::move(subject))};
    };
    // Free text about the placement is the talent's personal data, like check-in notes.
    auto sealed_under = [&](bool has_text) {
      return text_subject(has_text, state.talent_id, state.lg_code);
    };
    if (type == "AppointmentStarted") {
      if (state.status != appointment_status::arranged)
        return rejected("appointment_not_arranged", "only an arranged appointment starts");
      return accept();
    }
    if (type == "AppointmentSuspended") {
      if (state.status != appointment_status::active)
        return rejected("appointment_not_active", "only an active appointment is suspended");
      return accept(sealed_under(
          payload_reader(cmd.personal).root<s::AppointmentSuspendedPersonal>().hasReason()));
    }
    if (type == "AppointmentResumed") {
      if (state.status != appointment_status::suspended)
        return rejected("appointment_not_suspended", "the appointment is not suspended");
      return accept(sealed_under(
          payload_reader(cmd.personal).root<s::AppointmentResumedPersonal>().hasReason()));
    }
    payload_reader reader(cmd.payload);
    if (type == "AppointmentAmended") {
      auto changes = reader.root<s::AppointmentAmended>().getChanges();
      if (changes.hasEndsOn() &&
          text_view(changes.getEndsOn()) <= std::string_view(state.starts_on))
        return make_error(errc::invalid_argument, "invalid_dates",
                          "ends_on must be after starts_on", "changes.ends_on");
      return accept(stream_name("municipality", state.lg_code));
    }
    if (type == "CheckInCompleted" || type == "CheckInMissed") {
      bool completed = type == "CheckInCompleted";
      auto closed = completed ? check_in_closes(state, reader.root<s::CheckInCompleted>())
                              : check_in_closes(state, reader.root<s::CheckInMissed>());
      if (closed) return *closed;
      if (!completed) return accept();
      return accept(sealed_under(
          payload_reader(cmd.personal).root<s::CheckInCompletedPersonal>().hasNotes()));
    }
    if (type == "CheckInScheduled" || type == "AppointmentFlagged") return accept();
    if (type == "AppointmentEnded")
      return accept(sealed_under(
          payload_reader(cmd.personal).root<s::AppointmentEndedPersonal>().hasReason()));
    if (type == "IssueRaised") {
      auto issue = text_view(reader.root<s::IssueRaised>().getIssueId());
      if (state.open_issues.count(issue))
        return rejected("duplicate_issue", "issue " + std::string(issue) + " is already open");
      return accept(
          sealed_under(payload_reader(cmd.personal).root<s::IssueRaisedPersonal>().hasSummary()));
    }
    if (type == "IssueResolved") {
      auto issue = text_view(reader.root<s::IssueResolved>().getIssueId());
      if (!state.open_issues.count(issue))
        return missing("unknown_issue", "no open issue " + std::string(issue));
      return accept(sealed_under(
          payload_reader(cmd.personal).root<s::IssueResolvedPersonal>().hasResolution()));
    }
    return not_allowed(type);
  });
}

}  // namespace kakehashi
