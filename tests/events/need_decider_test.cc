// need-{id}, the case: consulted -> hearing -> requirements_defined -> sourcing -> filled |
// closed, holds, reopening, hearing notes and their corrections; and municipality-{lg_code}.
#include <doctest/doctest.h>

#include <string>

#include "events/domain.capnp.h"
#include "events/payload_io.h"
#include "tests/events/domain_test_support.h"

namespace kakehashi {
namespace {

using test::make_command;

const std::string N = test::id(10);
const std::string H1 = test::id(11), H2 = test::id(12);

command hearing(const std::string& hearing_id) {
  return make_command("HearingRecorded", R"({"hearing_id":")" + hearing_id +
                                             R"(","held_on":"2025-05-12","notes":"メモ"})");
}
command correction(const std::string& hearing_id, const std::string& supersedes) {
  return make_command("HearingNoteCorrected", R"({"hearing_id":")" + hearing_id +
                                                  R"(","supersedes":")" + supersedes +
                                                  R"(","notes":"訂正","reason":"typo"})");
}
command requirements(unsigned openings, unsigned revision = 0) {
  return make_command("RequirementsDefined",
                      R"({"role_category":"engineer","tier":"cio_advisor","openings":)" +
                          std::to_string(openings) + R"(,"revision":)" + std::to_string(revision) +
                          "}");
}
std::uint32_t revision_of(const decided_event& e) {
  payload_reader reader(e.payload);
  return reader.root<schema::RequirementsDefined>().getRevision();
}

// ---- municipality ----

TEST_CASE("municipalities are listed once, under their own lg_code") {
  test::scenario s;
  const std::string listed = R"({"lg_code":"131016","name_ja":"千代田区","name_en":"Chiyoda",)"
                             R"("kind":"ward","region":"23区"})";
  CHECK_REJECTED(s.on_municipality(test::chiyoda, make_command("MunicipalityContactAssigned",
                                                               R"({"contact":{"name":"a"}})")),
                 errc::not_found, "municipality_not_found");
  // The payload's code must be the stream's.
  CHECK_REJECTED(s.on_municipality(test::toshima, make_command("MunicipalityListed", listed)),
                 errc::invalid_argument, "invalid_value");
  auto d = s.on_municipality(test::chiyoda, make_command("MunicipalityListed", listed));
  REQUIRE(d.ok());
  CHECK(d->front().stream == "municipality-131016");
  s.apply(d);
  auto state = s.municipality(test::chiyoda);
  CHECK(state.lg_code == "131016");
  CHECK(state.name_ja == "千代田区");
  CHECK(state.name_en == "Chiyoda");
  CHECK(state.region == "23区");
  CHECK_REJECTED(s.on_municipality(test::chiyoda, make_command("MunicipalityListed", listed)),
                 errc::conflict, "already_exists");

  auto contact = s.on_municipality(
      test::chiyoda, make_command("MunicipalityContactAssigned", R"({"contact":{"name":"佐藤"}})"));
  REQUIRE(contact.ok());
  CHECK(contact->front().subject == "municipality-131016");
  CHECK_FALSE(contact->front().personal.empty());
  CHECK_REJECTED(s.on_municipality(test::chiyoda, make_command("NeedPutOnHold", "{}")),
                 errc::conflict, "command_not_allowed");
}

// ---- opening ----

TEST_CASE("a need opens only at a listed municipality, once") {
  test::scenario s;
  auto open = make_command("NeedOpened", R"({"lg_code":"131016","origin":"talent_driven",)"
                                         R"("problem":"website does not reach residents"})");
  CHECK_REJECTED(s.on_need(N, open), errc::not_found, "municipality_not_found");
  s.list_municipality(test::chiyoda);
  auto d = s.on_need(N, open);
  REQUIRE(d.ok());
  REQUIRE(d->size() == 1);
  CHECK(d->front().stream == "need-" + N);
  s.apply(d, 42);
  auto state = s.need(N);
  CHECK(state.stage == need_stage::consulted);
  CHECK(state.lg_code == "131016");
  CHECK(state.origin == 1);
  CHECK(state.opened_at == 42);
  CHECK(state.open());
  CHECK_REJECTED(s.on_need(N, open), errc::conflict, "already_exists");
}

TEST_CASE("commands on a need that was never opened are need_not_found") {
  test::scenario s;
  s.list_municipality(test::chiyoda);
  CHECK_REJECTED(s.on_need(N, hearing(H1)), errc::not_found, "need_not_found");
  CHECK_REJECTED(s.on_need(N, make_command("NeedClosed", R"({"reason":"cancelled"})")),
                 errc::not_found, "need_not_found");
}

// ---- the stages ----

TEST_CASE("stages: consulted -> hearing -> requirements_defined -> sourcing -> filled") {
  test::scenario s;
  const std::string T = test::id(1), C = test::id(2), A = test::id(3);
  s.register_talent(T);
  s.open_need(N);
  CHECK(s.need(N).stage == need_stage::consulted);
  // Requirements come out of a hearing; sourcing needs requirements.
  CHECK_REJECTED(s.on_need(N, requirements(1)), errc::conflict, "hearing_required");
  CHECK_REJECTED(s.on_need(N, make_command("SourcingModeChosen", R"({"mode":"scout"})")),
                 errc::conflict, "requirements_not_defined");

  s.apply(s.on_need(N, hearing(H1)));
  CHECK(s.need(N).stage == need_stage::hearing);
  s.apply(s.on_need(N, hearing(H2)));  // several hearings are normal
  CHECK(s.need(N).stage == need_stage::hearing);
  CHECK(s.need(N).hearings.size() == 2);

  s.apply(s.on_need(N, requirements(1)));
  auto state = s.need(N);
  CHECK(state.stage == need_stage::requirements_defined);
  REQUIRE(state.requirements.has_value());
  CHECK(state.requirements->role_category == "engineer");
  CHECK(state.requirements->tier == 1);
  CHECK(state.unfilled() == 1);

  s.apply(s.on_need(N, make_command("SourcingModeChosen", R"({"mode":"scout"})")));
  CHECK(s.need(N).stage == need_stage::sourcing);
  CHECK(s.need(N).sourcing_mode == std::optional<std::uint16_t>(0));

  s.arrange(A, C, T, N);
  state = s.need(N);
  CHECK(state.stage == need_stage::filled);
  CHECK(state.unfilled() == 0);
  CHECK(state.appointments.count(A) == 1);
  CHECK(state.candidacies.at(C) == T);
}

TEST_CASE("RequirementsDefined is numbered by the decider: 1, then 2, whatever the client sends") {
  test::scenario s;
  s.open_need(N);
  s.record_hearing(N, H1);
  auto first = s.on_need(N, requirements(2, 7));
  REQUIRE(first.ok());
  CHECK(revision_of(first->front()) == 1);
  s.apply(first);
  CHECK(s.need(N).requirements->revision == 1);

  auto second = s.on_need(N, requirements(3, 1));
  REQUIRE(second.ok());
  CHECK(revision_of(second->front()) == 2);
  s.apply(second);
  auto state = s.need(N);
  CHECK(state.requirements->revision == 2);
  CHECK(state.requirements->openings == 3);
  // Everything but the revision is the client's.
  CHECK(test::public_json(second->front()) ==
        R"({"revision":2,"role_category":"engineer","tier":"cio_advisor","hours_per_week":0,)"
        R"("duration_months":0,"openings":3})");
}

TEST_CASE("openings cannot drop below the appointments already made") {
  test::scenario s;
  const std::string T1 = test::id(1), T2 = test::id(2);
  s.register_talent(T1);
  s.register_talent(T2);
  s.ready_need(N, 2);
  s.arrange(test::id(5), test::id(3), T1, N);
  CHECK(s.need(N).stage == need_stage::sourcing);  // one of two openings filled
  s.arrange(test::id(6), test::id(4), T2, N);
  CHECK(s.need(N).stage == need_stage::filled);
  CHECK_REJECTED(s.on_need(N, requirements(1)), errc::conflict, "openings_below_filled");
  // Another opening reopens sourcing.
  s.apply(s.on_need(N, requirements(3)));
  CHECK(s.need(N).stage == need_stage::sourcing);
  CHECK(s.need(N).unfilled() == 1);
}

TEST_CASE("holds: need_on_hold, need_not_on_hold, the stage is kept") {
  test::scenario s;
  s.open_need(N);
  s.record_hearing(N, H1);
  CHECK_REJECTED(s.on_need(N, make_command("NeedResumed", "{}")), errc::conflict,
                 "need_not_on_hold");
  s.apply(s.on_need(N, make_command("NeedPutOnHold", R"({"reason":"budget review"})")));
  auto state = s.need(N);
  CHECK(state.on_hold);
  CHECK(state.stage == need_stage::hearing);
  CHECK(state.open());
  CHECK_REJECTED(s.on_need(N, make_command("NeedPutOnHold", "{}")), errc::conflict, "need_on_hold");
  CHECK_REJECTED(s.on_need(N, hearing(H2)), errc::conflict, "need_on_hold");
  CHECK_REJECTED(s.on_need(N, requirements(1)), errc::conflict, "need_on_hold");
  s.apply(s.on_need(N, make_command("NeedResumed", "{}")));
  CHECK_FALSE(s.need(N).on_hold);
  CHECK(s.need(N).stage == need_stage::hearing);
  s.apply(s.on_need(N, hearing(H2)));
}

TEST_CASE("a need on hold can be closed, and closing ends the hold") {
  test::scenario s;
  s.open_need(N);
  s.apply(s.on_need(N, make_command("NeedPutOnHold", "{}")));
  s.apply(s.on_need(N, make_command("NeedClosed", R"({"reason":"cancelled"})")));
  auto state = s.need(N);
  CHECK(state.stage == need_stage::closed);
  CHECK_FALSE(state.on_hold);
  CHECK(state.close_reason == 1);
}

TEST_CASE("close and reopen: need_closed, need_not_closed, reopening restores the stage") {
  test::scenario s;
  s.ready_need(N);
  CHECK_REJECTED(s.on_need(N, make_command("NeedReopened", "{}")), errc::conflict,
                 "need_not_closed");
  s.apply(s.on_need(N, make_command("NeedClosed", R"({"reason":"no_match","detail":"none"})")));
  auto state = s.need(N);
  CHECK(state.stage == need_stage::closed);
  CHECK_FALSE(state.open());
  CHECK(state.close_reason == 3);
  for (const auto& cmd :
       {hearing(H2), requirements(1), make_command("NeedPutOnHold", "{}"),
        make_command("NeedResumed", "{}"), make_command("NeedClosed", R"({"reason":"cancelled"})"),
        make_command("SourcingModeChosen", R"({"mode":"scout"})")}) {
    CAPTURE(cmd.type);
    CHECK_REJECTED(s.on_need(N, cmd), errc::conflict, "need_closed");
  }
  s.apply(s.on_need(N, make_command("NeedReopened", R"({"reason":"new budget"})")));
  CHECK(s.need(N).stage == need_stage::sourcing);
  CHECK(s.need(N).open());
}

TEST_CASE("reopening a need with only a hearing goes back to the hearing stage") {
  test::scenario s;
  s.open_need(N);
  s.record_hearing(N, H1);
  s.apply(s.on_need(N, make_command("NeedClosed", R"({"reason":"self_hired"})")));
  s.apply(s.on_need(N, make_command("NeedReopened", "{}")));
  CHECK(s.need(N).stage == need_stage::hearing);
}

// ---- hearings ----

TEST_CASE("a hearing id is recorded once: duplicate_hearing") {
  test::scenario s;
  s.open_need(N);
  auto d = s.on_need(N, hearing(H1));
  REQUIRE(d.ok());
  // Hearing notes are personal data sealed under the need's key.
  CHECK(d->front().subject == "need-" + N);
  CHECK_FALSE(d->front().personal.empty());
  s.apply(d);
  CHECK_REJECTED(s.on_need(N, hearing(H1)), errc::conflict, "duplicate_hearing");
}

TEST_CASE("HearingNoteCorrected supersedes the latest note: unknown_hearing, supersedes_mismatch") {
  test::scenario s;
  s.open_need(N);
  const std::string recorded = s.record_hearing(N, H1);
  CHECK_REJECTED(s.on_need(N, correction(H2, recorded)), errc::not_found, "unknown_hearing");
  CHECK_REJECTED(s.on_need(N, correction(H1, test::id(99))), errc::conflict, "supersedes_mismatch");

  const std::string first = s.apply(s.on_need(N, correction(H1, recorded))).front();
  CHECK(s.need(N).hearings.at(H1) == first);
  // The original is no longer the latest note.
  CHECK_REJECTED(s.on_need(N, correction(H1, recorded)), errc::conflict, "supersedes_mismatch");
  const std::string second = s.apply(s.on_need(N, correction(H1, first))).front();
  CHECK(s.need(N).hearings.at(H1) == second);
}

// ---- sourcing ----

TEST_CASE("a public posting needs public_posting as the sourcing mode: not_public_posting") {
  test::scenario s;
  s.ready_need(N);  // sourcing by scout
  auto posting = make_command("PublicPostingPublished",
                              R"({"url":"https://example.jp/koubo/1","closes_on":"2025-07-31"})");
  CHECK_REJECTED(s.on_need(N, posting), errc::conflict, "not_public_posting");
  s.apply(s.on_need(N, make_command("SourcingModeChosen", R"({"mode":"public_posting"})")));
  CHECK(s.on_need(N, posting).ok());
}

TEST_CASE("events the engine appends are not commands: command_not_allowed") {
  test::scenario s;
  s.ready_need(N);
  CHECK_REJECTED(s.on_need(N, make_command("CandidateAttached",
                                           R"({"candidacy_id":")" + test::id(1) +
                                               R"(","talent_id":")" + test::id(2) + R"("})")),
                 errc::conflict, "command_not_allowed");
  CHECK_REJECTED(
      s.on_need(N, make_command("OpeningFilled", R"({"appointment_id":")" + test::id(1) +
                                                     R"(","candidacy_id":")" + test::id(2) +
                                                     R"(","talent_id":")" + test::id(3) + R"("})")),
      errc::conflict, "command_not_allowed");
  CHECK_REJECTED(s.on_need(N, make_command("TalentPaused", "{}")), errc::conflict,
                 "command_not_allowed");
}

}  // namespace
}  // namespace kakehashi
