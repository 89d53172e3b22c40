// appointment-{id}: arranged -> active <-> suspended -> ended; DOMAIN.md invariants 5, 6 and 7,
// check-ins and issues.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/events/domain_test_support.h"

namespace kakehashi {
namespace {

using test::make_command;

const std::string T = test::id(1), N = test::id(2), C = test::id(3), A = test::id(4);
const std::string T2 = test::id(5), C2 = test::id(6), A2 = test::id(7);
const std::string I1 = test::id(8);

// A registered talent, a ready need with `openings`, and candidacy C accepted.
test::scenario accepted(unsigned openings = 1) {
  test::scenario s;
  s.register_talent(T);
  s.ready_need(N, openings);
  s.accept_candidacy(C, T, N);
  return s;
}

// Appointment A arranged from C.
test::scenario arranged() {
  auto s = accepted();
  s.apply(s.on_appointment(A, s.arrange_command(C), C));
  return s;
}

command amendment(const std::string& changes) {
  return make_command("AppointmentAmended",
                      R"({"kind":"scope_expansion","effective_on":"2025-10-01","changes":)" +
                          changes + R"(,"approved_by":"多摩市 DX推進課長"})");
}

// Commands that invariant 6 allows only before the end.
std::vector<command> retention_commands() {
  return {
      make_command("CheckInScheduled", R"({"due_on":"2025-07-01","party":"talent"})"),
      make_command("CheckInCompleted", R"({"party":"municipality","rating":4,"notes":"順調"})"),
      make_command("CheckInMissed", R"({"due_on":"2025-07-01","party":"talent"})"),
      make_command("IssueRaised", R"({"issue_id":")" + I1 + R"(","summary":"VPNに入れない"})"),
      amendment(R"({"ends_on":"2026-09-30"})"),
  };
}

// ---- invariant 5: arranging ----

TEST_CASE("invariant 5: arranging returns the appointment, the candidacy's and the need's events") {
  auto s = accepted();
  // The client leaves talent_id, need_id and lg_code out; the decider fills in the candidacy's.
  auto d = s.on_appointment(A, s.arrange_command(C), C);
  REQUIRE(d.ok());
  REQUIRE(d->size() == 3);
  CHECK(d->at(0).stream == "appointment-" + A);
  CHECK(d->at(0).type == "AppointmentArranged");
  CHECK(test::public_json(d->at(0)) ==
        R"({"candidacy_id":")" + C + R"(","talent_id":")" + T + R"(","need_id":")" + N +
            R"(","lg_code":"131016","form":"hybrid","starts_on":"2025-04-01",)"
            R"("ends_on":"2026-03-31","hours_per_week":8,"scope":"RPA training for staff"})");
  CHECK(d->at(1).stream == "candidacy-" + C);
  CHECK(d->at(1).type == "CandidacyAppointed");
  CHECK(test::public_json(d->at(1)) == R"({"appointment_id":")" + A + R"("})");
  CHECK(d->at(2).stream == "need-" + N);
  CHECK(d->at(2).type == "OpeningFilled");
  CHECK(test::public_json(d->at(2)) == R"({"appointment_id":")" + A + R"(","candidacy_id":")" + C +
                                           R"(","talent_id":")" + T + R"("})");
  s.apply(d, 500);

  auto appointment = s.appointment(A);
  CHECK(appointment.status == appointment_status::arranged);
  CHECK(appointment.candidacy_id == C);
  CHECK(appointment.talent_id == T);
  CHECK(appointment.need_id == N);
  CHECK(appointment.lg_code == "131016");
  CHECK(appointment.form == 2);
  CHECK(appointment.starts_on == "2025-04-01");
  CHECK(appointment.arranged_at == 500);
  auto candidacy = s.candidacy(C);
  CHECK(candidacy.stage == candidacy_stage::appointed);
  CHECK(candidacy.appointment_id == A);
  CHECK_FALSE(candidacy.open());
  CHECK(s.need(N).appointments.count(A) == 1);
}

TEST_CASE("invariant 5: only an accepted candidacy: candidacy_not_accepted") {
  test::scenario s;
  s.register_talent(T);
  s.ready_need(N);
  s.propose(C, T, N);
  CHECK_REJECTED(s.on_appointment(A, s.arrange_command(C), C), errc::conflict,
                 "candidacy_not_accepted");
  s.apply(
      s.on_candidacy(C, make_command("MunicipalDecisionRecorded",
                                     R"({"accepted":false,"decided_by":"課長"})", test::officer)));
  CHECK_REJECTED(s.on_appointment(A, s.arrange_command(C), C), errc::conflict,
                 "candidacy_not_accepted");
  CHECK_REJECTED(s.on_appointment(A, s.arrange_command(test::id(60)), test::id(60)),
                 errc::not_found, "candidacy_not_found");
}

TEST_CASE("only an active talent with consent is appointed: talent_not_active, consent_missing") {
  auto s = accepted();
  s.apply(s.on_talent(T, make_command("TalentPaused", "{}")));
  CHECK_REJECTED(s.on_appointment(A, s.arrange_command(C), C), errc::conflict, "talent_not_active");
  s.apply(s.on_talent(T, make_command("TalentResumed", "{}")));
  s.apply(s.on_talent(T, make_command("TalentConsentRevoked", R"({"reason":"policy"})")));
  CHECK_REJECTED(s.on_appointment(A, s.arrange_command(C), C), errc::conflict, "consent_missing");
  s.apply(s.on_talent(T, make_command("TalentConsentGranted", R"({"consent_version":"2025-04"})")));
  CHECK(s.on_appointment(A, s.arrange_command(C), C).ok());
  s.apply(s.on_talent(T, make_command("TalentWithdrew", R"({"reason":"本業が多忙"})")));
  CHECK_REJECTED(s.on_appointment(A, s.arrange_command(C), C), errc::conflict, "talent_not_active");
}

TEST_CASE("invariant 5: one appointment per candidacy: candidacy_already_appointed") {
  auto s = accepted(2);
  s.apply(s.on_appointment(A, s.arrange_command(C), C));
  CHECK_REJECTED(s.on_appointment(A2, s.arrange_command(C), C), errc::conflict,
                 "candidacy_already_appointed");
  CHECK_REJECTED(s.on_appointment(A, s.arrange_command(C), C), errc::conflict, "already_exists");
}

TEST_CASE("invariant 5: an unfilled opening: no_open_opening") {
  auto s = accepted(1);
  s.register_talent(T2);
  s.accept_candidacy(C2, T2, N);
  s.apply(s.on_appointment(A, s.arrange_command(C), C));
  CHECK_REJECTED(s.on_appointment(A2, s.arrange_command(C2), C2), errc::conflict,
                 "no_open_opening");
  // One more opening and the second candidacy is appointed too.
  s.apply(s.on_need(N, make_command("RequirementsDefined",
                                    R"({"role_category":"rpa_specialist","tier":"hands_on",)"
                                    R"("openings":2})")));
  s.apply(s.on_appointment(A2, s.arrange_command(C2), C2));
  CHECK(s.need(N).stage == need_stage::filled);
}

TEST_CASE("arranging needs the need open and not on hold, and sane dates and ids") {
  auto s = accepted();
  CHECK_REJECTED(
      s.on_appointment(A,
                       make_command("AppointmentArranged",
                                    R"({"candidacy_id":")" + C +
                                        R"(","form":"remote",)"
                                        R"("starts_on":"2025-04-01","ends_on":"2025-04-01",)"
                                        R"("hours_per_week":8,"scope":"s"})"),
                       C),
      errc::invalid_argument, "invalid_dates");
  CHECK_REJECTED(s.on_appointment(
                     A,
                     make_command("AppointmentArranged",
                                  R"({"candidacy_id":")" + C + R"(","talent_id":")" + T2 +
                                      R"(","form":"remote","starts_on":"2025-04-01",)"
                                      R"("ends_on":"2026-03-31","hours_per_week":8,"scope":"s"})"),
                     C),
                 errc::invalid_argument, "invalid_value");
  // The candidacy's own ids may be repeated.
  CHECK(s.on_appointment(
             A,
             make_command("AppointmentArranged",
                          R"({"candidacy_id":")" + C + R"(","talent_id":")" + T +
                              R"(","need_id":")" + N +
                              R"(","lg_code":"131016",)"
                              R"("form":"remote","starts_on":"2025-04-01",)"
                              R"("ends_on":"2026-03-31","hours_per_week":8,"scope":"s"})"),
             C)
            .ok());

  s.apply(s.on_need(N, make_command("NeedPutOnHold", "{}")));
  CHECK_REJECTED(s.on_appointment(A, s.arrange_command(C), C), errc::conflict, "need_on_hold");
  s.apply(s.on_need(N, make_command("NeedClosed", R"({"reason":"cancelled"})")));
  CHECK_REJECTED(s.on_appointment(A, s.arrange_command(C), C), errc::conflict, "need_closed");
}

// ---- status ----

TEST_CASE("start, suspend, resume: appointment_not_arranged / _active / _suspended") {
  auto s = arranged();
  CHECK_REJECTED(s.on_appointment(A, make_command("AppointmentSuspended", "{}")), errc::conflict,
                 "appointment_not_active");
  CHECK_REJECTED(s.on_appointment(A, make_command("AppointmentResumed", "{}")), errc::conflict,
                 "appointment_not_suspended");
  s.apply(s.on_appointment(A, make_command("AppointmentStarted", "{}")));
  CHECK(s.appointment(A).status == appointment_status::active);
  CHECK_REJECTED(s.on_appointment(A, make_command("AppointmentStarted", "{}")), errc::conflict,
                 "appointment_not_arranged");
  CHECK_REJECTED(s.on_appointment(A, make_command("AppointmentResumed", "{}")), errc::conflict,
                 "appointment_not_suspended");
  s.apply(s.on_appointment(A, make_command("AppointmentSuspended", R"({"reason":"leave"})")));
  CHECK(s.appointment(A).status == appointment_status::suspended);
  CHECK_REJECTED(s.on_appointment(A, make_command("AppointmentSuspended", "{}")), errc::conflict,
                 "appointment_not_active");
  CHECK_REJECTED(s.on_appointment(A, make_command("AppointmentStarted", "{}")), errc::conflict,
                 "appointment_not_arranged");
  s.apply(s.on_appointment(A, make_command("AppointmentResumed", "{}")));
  CHECK(s.appointment(A).status == appointment_status::active);
  s.apply(s.on_appointment(A, make_command("AppointmentEnded", R"({"kind":"renewed"})")), 900);
  auto state = s.appointment(A);
  CHECK(state.status == appointment_status::ended);
  CHECK(state.end_kind == 2);
  CHECK(state.ended_at == 900);
}

TEST_CASE("appointment_not_found and events only other commands append") {
  auto s = arranged();
  CHECK_REJECTED(s.on_appointment(A2, make_command("AppointmentStarted", "{}"), C), errc::not_found,
                 "appointment_not_found");
  CHECK_REJECTED(
      s.on_appointment(
          A, make_command("OpeningFilled", R"({"appointment_id":")" + A + R"(","candidacy_id":")" +
                                               C + R"(","talent_id":")" + T + R"("})")),
      errc::conflict, "command_not_allowed");
  CHECK_REJECTED(s.on_appointment(A, make_command("TalentPaused", "{}")), errc::conflict,
                 "command_not_allowed");
}

// ---- invariant 6: nothing after the end ----

TEST_CASE("invariant 6: check-ins, issues and amendments while arranged, active or suspended") {
  auto s = arranged();
  auto accepted_now = [&] {
    for (const auto& cmd : retention_commands()) {
      CAPTURE(cmd.type);
      CHECK(s.on_appointment(A, cmd).ok());
    }
  };
  accepted_now();
  s.apply(s.on_appointment(A, make_command("AppointmentStarted", "{}")));
  accepted_now();
  s.apply(s.on_appointment(A, make_command("AppointmentSuspended", "{}")));
  accepted_now();
}

TEST_CASE("invariant 6: after AppointmentEnded every change is appointment_ended") {
  auto s = arranged();
  s.apply(s.on_appointment(A, make_command("AppointmentStarted", "{}")));
  s.apply(s.on_appointment(
      A, make_command("IssueRaised", R"({"issue_id":")" + I1 + R"(","summary":"s"})")));
  s.apply(s.on_appointment(
      A, make_command("AppointmentEnded", R"({"kind":"early","reason":"本業の異動"})")));
  auto after = retention_commands();
  after.push_back(make_command("IssueResolved", R"({"issue_id":")" + I1 + R"("})"));
  after.push_back(make_command("AppointmentSuspended", "{}"));
  after.push_back(make_command("AppointmentResumed", "{}"));
  after.push_back(make_command("AppointmentStarted", "{}"));
  after.push_back(make_command("AppointmentEnded", R"({"kind":"completed"})"));
  after.push_back(make_command("AppointmentFlagged", R"({"reason":"talent withdrew"})"));
  for (const auto& cmd : after) {
    CAPTURE(cmd.type);
    CHECK_REJECTED(s.on_appointment(A, cmd), errc::conflict, "appointment_ended");
  }
}

// ---- invariant 7: terms change only through amendments ----

TEST_CASE("invariant 7: an amendment changes the terms it names, its void restores them") {
  auto s = arranged();
  s.apply(s.on_appointment(A, make_command("AppointmentStarted", "{}")));
  auto d = s.on_appointment(
      A, amendment(R"({"ends_on":"2026-09-30","hours_per_week":12,"scope":"研修とツール保守"})"));
  REQUIRE(d.ok());
  REQUIRE(d->size() == 1);
  CHECK(d->front().subject == "municipality-131016");  // approved_by is the officer's name
  const std::string amended_id = s.apply(d).front();
  auto state = s.appointment(A);
  CHECK(state.ends_on == "2026-09-30");
  CHECK(state.hours_per_week == 12);
  CHECK(state.scope == "研修とツール保守");
  CHECK(state.starts_on == "2025-04-01");
  CHECK(state.status == appointment_status::active);

  // Only what the amendment names changes.
  s.apply(s.on_appointment(A, amendment(R"({"hours_per_week":4})")));
  state = s.appointment(A);
  CHECK(state.hours_per_week == 4);
  CHECK(state.ends_on == "2026-09-30");
  CHECK(state.scope == "研修とツール保守");

  s.apply(
      s.on_appointment(A, make_command("EventVoided", R"({"voided_event_id":")" + amended_id +
                                                          R"(","reason":"wrong appointment"})")));
  state = s.appointment(A);
  CHECK(state.ends_on == "2026-03-31");
  CHECK(state.scope == "RPA training for staff");
  CHECK(state.hours_per_week == 4);  // the later amendment stands
}

TEST_CASE("invariant 7: nothing but an amendment changes the terms") {
  auto s = arranged();
  auto before = s.appointment(A);
  for (const auto& cmd :
       {make_command("AppointmentStarted", "{}"), make_command("AppointmentSuspended", "{}"),
        make_command("AppointmentResumed", "{}"),
        make_command("CheckInScheduled", R"({"due_on":"2025-07-01","party":"talent"})"),
        make_command("CheckInCompleted", R"({"party":"talent","rating":3})"),
        make_command("IssueRaised", R"({"issue_id":")" + I1 + R"(","summary":"s"})"),
        make_command("IssueResolved", R"({"issue_id":")" + I1 + R"("})"),
        make_command("AppointmentFlagged", R"({"reason":"talent withdrew"})")}) {
    CAPTURE(cmd.type);
    s.apply(s.on_appointment(A, cmd));
    auto state = s.appointment(A);
    CHECK(state.starts_on == before.starts_on);
    CHECK(state.ends_on == before.ends_on);
    CHECK(state.hours_per_week == before.hours_per_week);
    CHECK(state.scope == before.scope);
    CHECK(state.form == before.form);
  }
  // Arranging again is not a way to change terms.
  CHECK_REJECTED(s.on_appointment(A, s.arrange_command(C), C), errc::conflict, "already_exists");
}

TEST_CASE("an amendment cannot end an appointment before it starts: invalid_dates") {
  auto s = arranged();
  CHECK_REJECTED(s.on_appointment(A, amendment(R"({"ends_on":"2025-04-01"})")),
                 errc::invalid_argument, "invalid_dates");
  CHECK_REJECTED(s.on_appointment(A, amendment(R"({"ends_on":"2024-12-31"})")),
                 errc::invalid_argument, "invalid_dates");
  CHECK(s.on_appointment(A, amendment(R"({"ends_on":"2025-04-02"})")).ok());
}

// ---- retention support ----

TEST_CASE("issues: duplicate_issue while open, unknown_issue unless open") {
  auto s = arranged();
  auto raise = make_command("IssueRaised", R"({"issue_id":")" + I1 + R"(","summary":"s"})");
  auto resolve = make_command("IssueResolved", R"({"issue_id":")" + I1 + R"(","resolution":"r"})");
  CHECK_REJECTED(s.on_appointment(A, resolve), errc::not_found, "unknown_issue");
  s.apply(s.on_appointment(A, raise));
  CHECK(s.appointment(A).open_issues.count(I1) == 1);
  CHECK_REJECTED(s.on_appointment(A, raise), errc::conflict, "duplicate_issue");
  s.apply(s.on_appointment(A, resolve));
  CHECK(s.appointment(A).open_issues.empty());
  CHECK_REJECTED(s.on_appointment(A, resolve), errc::not_found, "unknown_issue");
  // The same id may come back later.
  CHECK(s.on_appointment(A, raise).ok());
}

TEST_CASE("check-ins: unknown_check_in, check_in_closed once completed or missed, same party") {
  auto s = arranged();
  const std::string K1 = test::id(20), K2 = test::id(21);
  auto schedule = [&](const std::string& k, const char* party) {
    s.apply(s.on_appointment(
        A, make_command("CheckInScheduled", R"({"check_in_id":")" + k +
                                                R"(","due_on":"2025-07-01","party":")" + party +
                                                R"("})")));
  };
  auto complete = [](const std::string& k, const char* party) {
    return make_command("CheckInCompleted",
                        R"({"check_in_id":")" + k + R"(","party":")" + party + R"(","rating":4})");
  };
  auto miss = [](const std::string& k, const char* party) {
    return make_command(
        "CheckInMissed",
        R"({"check_in_id":")" + k + R"(","due_on":"2025-07-01","party":")" + party + R"("})");
  };
  // Never scheduled: no phantom check-in.
  CHECK_REJECTED(s.on_appointment(A, complete(K1, "talent")), errc::not_found, "unknown_check_in");
  CHECK_REJECTED(s.on_appointment(A, miss(K1, "talent")), errc::not_found, "unknown_check_in");
  CHECK(s.appointment(A).check_ins.empty());

  schedule(K1, "talent");
  schedule(K2, "municipality");
  CHECK_REJECTED(s.on_appointment(A, complete(K1, "municipality")), errc::invalid_argument,
                 "invalid_value");
  CHECK_REJECTED(s.on_appointment(A, miss(K2, "talent")), errc::invalid_argument, "invalid_value");
  s.apply(s.on_appointment(A, complete(K1, "talent")));
  CHECK_REJECTED(s.on_appointment(A, miss(K1, "talent")), errc::conflict, "check_in_closed");
  CHECK_REJECTED(s.on_appointment(A, complete(K1, "talent")), errc::conflict, "check_in_closed");
  const std::string missed = s.apply(s.on_appointment(A, miss(K2, "municipality"))).front();
  CHECK_REJECTED(s.on_appointment(A, complete(K2, "municipality")), errc::conflict,
                 "check_in_closed");
  // A miss entered in error is voided, and the check-in is open again.
  s.apply(s.on_appointment(A, make_command("EventVoided", R"({"voided_event_id":")" + missed +
                                                              R"(","reason":"held after all"})")));
  CHECK(s.on_appointment(A, complete(K2, "municipality")).ok());
  // A check-in that was never scheduled is recorded without an id.
  CHECK(s.on_appointment(A, make_command("CheckInCompleted", R"({"party":"talent","rating":3})"))
            .ok());
}

TEST_CASE("check-in notes are sealed with the talent's key, no notes with the municipality's") {
  auto s = arranged();
  auto d = s.on_appointment(
      A, make_command("CheckInCompleted", R"({"party":"talent","rating":5,"notes":"満足"})"));
  REQUIRE(d.ok());
  CHECK(d->front().subject == "talent-" + T);
  CHECK_FALSE(d->front().personal.empty());
  // Without notes nothing in it is the talent's: sealed like an amendment, under the
  // municipality's key, which outlives the talent's erasure.
  d = s.on_appointment(A,
                       make_command("CheckInCompleted", R"({"party":"municipality","rating":4})"));
  REQUIRE(d.ok());
  CHECK(d->front().subject == "municipality-131016");
}

TEST_CASE("placement texts are sealed with the talent's key, without one with the municipality's") {
  // Why work stopped, restarted or ended, and what went wrong: the talent's employment facts,
  // sealed as check-in notes are. Without a text the step carries nothing personal, so it can
  // still be recorded once the talent is erased.
  auto s = arranged();
  const std::string talent = "talent-" + T, municipality = "municipality-131016";
  auto subject_of = [&](const command& cmd) {
    auto d = s.on_appointment(A, cmd);
    REQUIRE(d.ok());
    REQUIRE(d->size() == 1);
    CHECK_FALSE(d->front().personal.empty());
    auto subject = d->front().subject;
    s.apply(d);
    return subject;
  };
  s.apply(s.on_appointment(A, make_command("AppointmentStarted", "{}")));
  CHECK(subject_of(make_command("AppointmentSuspended", R"({"reason":"体調不良のため休職"})")) ==
        talent);
  CHECK(subject_of(make_command("AppointmentResumed", R"({"reason":"復職"})")) == talent);
  CHECK(subject_of(make_command("AppointmentSuspended", "{}")) == municipality);
  CHECK(subject_of(make_command("AppointmentResumed", "{}")) == municipality);
  CHECK(subject_of(make_command("IssueRaised",
                                R"({"issue_id":")" + I1 + R"(","summary":"通院で欠勤が続く"})")) ==
        talent);
  CHECK(subject_of(make_command("IssueResolved",
                                R"({"issue_id":")" + I1 + R"(","resolution":"勤務日を変更"})")) ==
        talent);
  CHECK(subject_of(make_command("IssueRaised", R"({"issue_id":")" + I1 + R"(","summary":"s"})")) ==
        talent);
  CHECK(subject_of(make_command("IssueResolved", R"({"issue_id":")" + I1 + R"("})")) ==
        municipality);
  auto with_reason = s.on_appointment(
      A,
      make_command("AppointmentEnded", R"({"kind":"early","reason":"本業の異動により継続困難"})"));
  REQUIRE(with_reason.ok());
  CHECK(with_reason->front().subject == talent);
  CHECK(subject_of(make_command("AppointmentEnded", R"({"kind":"completed"})")) == municipality);
}

}  // namespace
}  // namespace kakehashi
