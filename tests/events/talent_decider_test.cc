// talent-{id}: active <-> paused -> withdrawn -> erased, consent, and the talent side of
// withdrawal (DOMAIN.md invariant 8).
#include <doctest/doctest.h>

#include <string>

#include "tests/events/domain_test_support.h"

namespace kakehashi {
namespace {

using test::make_command;

const std::string T = test::id(1);

TEST_CASE("registering a talent: one event sealed under the talent's own key") {
  test::scenario s;
  auto registered =
      s.on_talent(T, make_command("TalentRegistered", R"({"display_name":"a","email":"a@b.jp",)"
                                                      R"("consent_version":"2024-04"})"));
  REQUIRE(registered.ok());
  REQUIRE(registered->size() == 1);
  const auto& e = registered->front();
  CHECK(e.stream == "talent-" + T);
  CHECK(e.type == "TalentRegistered");
  CHECK(e.subject == "talent-" + T);
  CHECK_FALSE(e.personal.empty());
  s.apply(registered);

  auto state = s.talent(T);
  CHECK(state.events == 1);
  CHECK(state.status == talent_status::active);
  CHECK(state.consent);
  CHECK(state.consent_version == "2024-04");

  CHECK_REJECTED(
      s.on_talent(T, make_command("TalentRegistered", R"({"display_name":"b","email":"b@b.jp",)"
                                                      R"("consent_version":"2024-04"})")),
      errc::conflict, "already_exists");
}

TEST_CASE("commands on a talent that was never registered are talent_not_found") {
  test::scenario s;
  for (auto [type, json] : {std::pair<const char*, const char*>{"TalentPaused", "{}"},
                            {"TalentResumed", "{}"},
                            {"TalentWithdrew", "{}"},
                            {"TalentConsentRevoked", "{}"},
                            {"TalentPersonalDataErased", R"({"reason":"request"})"},
                            {"TalentProfileUpdated", R"({"skills":["user_research"]})"}}) {
    CAPTURE(type);
    CHECK_REJECTED(s.on_talent(T, make_command(type, json)), errc::not_found, "talent_not_found");
  }
}

TEST_CASE("pause and resume: talent_not_active, talent_not_paused") {
  test::scenario s;
  s.register_talent(T);
  CHECK_REJECTED(s.on_talent(T, make_command("TalentResumed", "{}")), errc::conflict,
                 "talent_not_paused");
  s.apply(s.on_talent(T, make_command("TalentPaused", R"({"reason":"busy at work"})")));
  CHECK(s.talent(T).status == talent_status::paused);
  CHECK_REJECTED(s.on_talent(T, make_command("TalentPaused", "{}")), errc::conflict,
                 "talent_not_active");
  s.apply(s.on_talent(T, make_command("TalentResumed", "{}")));
  CHECK(s.talent(T).status == talent_status::active);
}

TEST_CASE("consent: revoke once, grant a version once") {
  test::scenario s;
  s.register_talent(T);
  CHECK_REJECTED(
      s.on_talent(T, make_command("TalentConsentGranted", R"({"consent_version":"2024-04"})")),
      errc::conflict, "consent_already_granted");
  // A new policy version is granted over the current one.
  s.apply(s.on_talent(T, make_command("TalentConsentGranted", R"({"consent_version":"2025-04"})")));
  CHECK(s.talent(T).consent_version == "2025-04");

  s.apply(s.on_talent(T, make_command("TalentConsentRevoked", R"({"reason":"asked"})")));
  CHECK_FALSE(s.talent(T).consent);
  CHECK_REJECTED(s.on_talent(T, make_command("TalentConsentRevoked", "{}")), errc::conflict,
                 "consent_not_granted");
  s.apply(s.on_talent(T, make_command("TalentConsentGranted", R"({"consent_version":"2025-04"})")));
  auto state = s.talent(T);
  CHECK(state.consent);
  CHECK(state.consent_version == "2025-04");
}

TEST_CASE("profile and availability updates replace what they carry") {
  test::scenario s;
  s.register_talent(T);
  s.apply(s.on_talent(
      T, make_command("TalentProfileUpdated",
                      R"({"skills":["user_research","figma"],"display_name":"新しい名前"})")));
  auto state = s.talent(T);
  CHECK(state.skills == std::vector<std::string>{"user_research", "figma"});
  CHECK(state.role_categories == std::vector<std::string>{"rpa_specialist", "trainer"});  // kept
  CHECK(state.residence_area == "131164");                                                // kept

  s.apply(s.on_talent(T, make_command("TalentAvailabilityChanged",
                                      R"({"availability":{"hours_per_week":16,)"
                                      R"("work_forms":["onsite"],"areas":["131164"]}})")));
  state = s.talent(T);
  CHECK(state.hours_per_week == 16);
  CHECK(state.work_forms == std::vector<std::uint16_t>{0});
  CHECK(state.areas == std::vector<std::string>{"131164"});
}

TEST_CASE("a withdrawn talent takes no more changes but can still be erased") {
  test::scenario s;
  s.register_talent(T);
  s.apply(s.on_talent(T, make_command("TalentWithdrew", R"({"reason":"moved abroad"})")));
  CHECK(s.talent(T).status == talent_status::withdrawn);
  for (auto [type, json] :
       {std::pair<const char*, const char*>{"TalentPaused", "{}"},
        {"TalentResumed", "{}"},
        {"TalentWithdrew", "{}"},
        {"TalentProfileUpdated", R"({"skills":["user_research"]})"},
        {"TalentAvailabilityChanged", R"({"availability":{"hours_per_week":1}})"},
        {"TalentConsentGranted", R"({"consent_version":"2026-04"})"}}) {
    CAPTURE(type);
    CHECK_REJECTED(s.on_talent(T, make_command(type, json)), errc::conflict, "talent_withdrawn");
  }
  // Already withdrawn: the erasure is the only event.
  auto erased = s.on_talent(T, make_command("TalentPersonalDataErased", R"({"reason":"request"})"));
  REQUIRE(erased.ok());
  REQUIRE(erased->size() == 1);
  CHECK(erased->front().type == "TalentPersonalDataErased");
}

TEST_CASE("invariant 8: erasing an active talent withdraws them first, in the same decision") {
  test::scenario s;
  s.register_talent(T);
  auto erased = s.on_talent(T, make_command("TalentPersonalDataErased", R"({"reason":"request"})"));
  REQUIRE(erased.ok());
  REQUIRE(erased->size() == 2);
  CHECK(erased->at(0).type == "TalentWithdrew");
  CHECK(erased->at(0).stream == "talent-" + T);
  // Its reason is sealed with the talent's key like any withdrawal's: "[erased]" once erased.
  CHECK(erased->at(0).subject == "talent-" + T);
  CHECK(test::public_json(erased->at(0)) == "{}");
  auto reason = decode_payload_json("TalentWithdrew", erased->at(0).payload, erased->at(0).personal,
                                    personal_view::full);
  REQUIRE(reason.ok());
  CHECK(*reason == R"({"reason":"personal data erased on request"})");
  CHECK(erased->at(1).type == "TalentPersonalDataErased");
  CHECK(erased->at(1).stream == "talent-" + T);
  CHECK(test::public_json(erased->at(1)) == R"({"reason":"request"})");
  s.apply(erased);

  auto state = s.talent(T);
  CHECK(state.status == talent_status::withdrawn);
  CHECK(state.erased);
  CHECK(state.events == 3);
  // Nothing more, not even a second erasure.
  CHECK_REJECTED(s.on_talent(T, make_command("TalentPersonalDataErased", R"({"reason":"again"})")),
                 errc::conflict, "talent_erased");
  CHECK_REJECTED(s.on_talent(T, make_command("TalentResumed", "{}")), errc::conflict,
                 "talent_erased");
}

TEST_CASE("invariant 8: a paused talent is withdrawn too when erased") {
  test::scenario s;
  s.register_talent(T);
  s.apply(s.on_talent(T, make_command("TalentPaused", "{}")));
  auto erased = s.on_talent(T, make_command("TalentPersonalDataErased", R"({"reason":"request"})"));
  REQUIRE(erased.ok());
  REQUIRE(erased->size() == 2);
  CHECK(erased->at(0).type == "TalentWithdrew");
}

TEST_CASE(
    "invariant 8: after withdrawal open candidacies can be archived, not advanced, and "
    "appointments are flagged, not ended") {
  // What the process manager appends on TalentWithdrew, checked against the deciders.
  test::scenario s;
  const std::string N = test::id(2), C = test::id(3), C2 = test::id(4), A = test::id(5);
  s.register_talent(T);
  s.ready_need(N, 2);
  s.arrange(A, C, T, N);
  s.apply(s.on_appointment(A, make_command("AppointmentStarted", "{}")));
  s.identify(C2, T, N);  // C is appointed, no longer open: a second candidacy is allowed
  s.apply(s.on_talent(T, make_command("TalentWithdrew", "{}")));

  CHECK_REJECTED(s.on_candidacy(C2, make_command("TalentContacted", "{}")), errc::conflict,
                 "talent_not_active");
  s.apply(s.on_candidacy(C2, make_command("CandidacyArchived", R"({"reason":"talent withdrew"})")));
  CHECK(s.candidacy(C2).stage == candidacy_stage::archived);

  s.apply(s.on_appointment(A, make_command("AppointmentFlagged", R"({"reason":"talent withdrew"})",
                                           test::system_actor)));
  auto appointment = s.appointment(A);
  CHECK(appointment.flags == 1);
  CHECK(appointment.status == appointment_status::active);
}

TEST_CASE("a talent stream takes only talent commands") {
  test::scenario s;
  s.register_talent(T);
  CHECK_REJECTED(s.on_talent(T, make_command("NeedPutOnHold", "{}")), errc::conflict,
                 "command_not_allowed");
  CHECK_REJECTED(s.on_talent(T, make_command("AppointmentStarted", "{}")), errc::conflict,
                 "command_not_allowed");
}

}  // namespace
}  // namespace kakehashi
