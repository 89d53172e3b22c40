// candidacy-{id}: identified -> contacted -> interested | declined -> proposed -> accepted |
// rejected, archived from any open stage; DOMAIN.md invariants 1 to 4 and 9.
#include <doctest/doctest.h>

#include <string>

#include "events/domain.capnp.h"
#include "events/payload_io.h"
#include "tests/events/domain_test_support.h"

namespace kakehashi {
namespace {

using test::make_command;

const std::string T = test::id(1), N = test::id(2), C = test::id(3);

command decision_command(bool accepted, const actor& who, const char* entered = "") {
  return make_command("MunicipalDecisionRecorded",
                      std::string(R"({"accepted":)") + (accepted ? "true" : "false") + entered +
                          R"(,"reason":"経験が合う","decided_by":"情報政策課長"})",
                      who);
}

bool entered_on_behalf(const decided_event& e) {
  payload_reader reader(e.payload);
  return reader.root<schema::MunicipalDecisionRecorded>().getEnteredOnBehalf();
}

// A candidacy at `stage`, reached through the deciders.
void reach(test::scenario& s, candidacy_stage stage) {
  s.identify(C, T, N);
  if (stage == candidacy_stage::identified) return;
  if (stage == candidacy_stage::archived) {
    s.apply(s.on_candidacy(C, make_command("CandidacyArchived", R"({"reason":"r"})")));
    return;
  }
  s.apply(s.on_candidacy(C, make_command("TalentContacted", "{}")));
  if (stage == candidacy_stage::contacted) return;
  if (stage == candidacy_stage::declined) {
    s.apply(s.on_candidacy(C, make_command("InterestDeclined", R"({"reason":"busy"})")));
    return;
  }
  s.apply(s.on_candidacy(C, make_command("InterestConfirmed", "{}")));
  if (stage == candidacy_stage::interested) return;
  s.apply(s.on_candidacy(C, make_command("ProposalSubmitted", "{}")));
  if (stage == candidacy_stage::proposed) return;
  s.apply(s.on_candidacy(C, decision_command(stage == candidacy_stage::accepted, test::officer)));
}

// A registered talent and a need ready for proposals.
test::scenario ready() {
  test::scenario s;
  s.register_talent(T);
  s.ready_need(N);
  return s;
}

// ---- invariant 1: only an active talent with current consent ----

TEST_CASE("invariant 1: identifying needs an active talent with consent") {
  auto s = ready();
  auto identify = s.identify_command(T, N);
  CHECK_REJECTED(s.on_candidacy(C, s.identify_command(test::id(9), N), test::id(9), N),
                 errc::not_found, "talent_not_found");

  SUBCASE("paused") {
    s.apply(s.on_talent(T, make_command("TalentPaused", "{}")));
    CHECK_REJECTED(s.on_candidacy(C, identify, T, N), errc::conflict, "talent_not_active");
    s.apply(s.on_talent(T, make_command("TalentResumed", "{}")));
  }
  SUBCASE("consent revoked") {
    s.apply(s.on_talent(T, make_command("TalentConsentRevoked", "{}")));
    CHECK_REJECTED(s.on_candidacy(C, identify, T, N), errc::conflict, "consent_missing");
    s.apply(
        s.on_talent(T, make_command("TalentConsentGranted", R"({"consent_version":"2025-04"})")));
  }
  SUBCASE("withdrawn, for good") {
    s.apply(s.on_talent(T, make_command("TalentWithdrew", "{}")));
    CHECK_REJECTED(s.on_candidacy(C, identify, T, N), errc::conflict, "talent_not_active");
    return;
  }
  CHECK(s.on_candidacy(C, identify, T, N).ok());
}

TEST_CASE("invariant 1: contacting needs an active talent with consent") {
  auto s = ready();
  reach(s, candidacy_stage::identified);
  auto contact = make_command("TalentContacted", "{}");
  SUBCASE("paused") {
    s.apply(s.on_talent(T, make_command("TalentPaused", "{}")));
    CHECK_REJECTED(s.on_candidacy(C, contact), errc::conflict, "talent_not_active");
    s.apply(s.on_talent(T, make_command("TalentResumed", "{}")));
  }
  SUBCASE("consent revoked") {
    s.apply(s.on_talent(T, make_command("TalentConsentRevoked", "{}")));
    CHECK_REJECTED(s.on_candidacy(C, contact), errc::conflict, "consent_missing");
    s.apply(
        s.on_talent(T, make_command("TalentConsentGranted", R"({"consent_version":"2025-04"})")));
  }
  SUBCASE("withdrawn") {
    s.apply(s.on_talent(T, make_command("TalentWithdrew", "{}")));
    CHECK_REJECTED(s.on_candidacy(C, contact), errc::conflict, "talent_not_active");
    return;
  }
  CHECK(s.on_candidacy(C, contact).ok());
}

TEST_CASE("invariant 1: proposing needs an active talent with consent") {
  auto s = ready();
  reach(s, candidacy_stage::interested);
  auto propose = make_command("ProposalSubmitted", "{}");
  SUBCASE("paused") {
    s.apply(s.on_talent(T, make_command("TalentPaused", "{}")));
    CHECK_REJECTED(s.on_candidacy(C, propose), errc::conflict, "talent_not_active");
    s.apply(s.on_talent(T, make_command("TalentResumed", "{}")));
  }
  SUBCASE("consent revoked") {
    s.apply(s.on_talent(T, make_command("TalentConsentRevoked", "{}")));
    CHECK_REJECTED(s.on_candidacy(C, propose), errc::conflict, "consent_missing");
    s.apply(
        s.on_talent(T, make_command("TalentConsentGranted", R"({"consent_version":"2025-04"})")));
  }
  SUBCASE("erased") {
    s.apply(s.on_talent(T, make_command("TalentPersonalDataErased", R"({"reason":"request"})")));
    CHECK_REJECTED(s.on_candidacy(C, propose), errc::conflict, "talent_not_active");
    return;
  }
  CHECK(s.on_candidacy(C, propose).ok());
}

// ---- invariant 2: proposals only once the need's requirements are defined ----

TEST_CASE("invariant 2: a proposal needs the need's requirements: requirements_not_defined") {
  test::scenario s;
  s.register_talent(T);
  s.open_need(N);
  s.record_hearing(N, test::id(20));
  reach(s, candidacy_stage::interested);  // identifying does not need requirements
  CHECK_REJECTED(s.on_candidacy(C, make_command("ProposalSubmitted", "{}")), errc::conflict,
                 "requirements_not_defined");
  s.define_requirements(N);
  auto proposed = s.on_candidacy(C, make_command("ProposalSubmitted", "{}"));
  REQUIRE(proposed.ok());
  s.apply(proposed);
  CHECK(s.candidacy(C).stage == candidacy_stage::proposed);
}

TEST_CASE("a proposal needs an open need, and a talent-driven idea needs a need first") {
  auto s = ready();
  reach(s, candidacy_stage::interested);
  s.apply(s.on_need(N, make_command("NeedClosed", R"({"reason":"cancelled"})")));
  CHECK_REJECTED(s.on_candidacy(C, make_command("ProposalSubmitted", "{}")), errc::conflict,
                 "need_closed");

  const std::string idea = test::id(30);
  s.apply(s.on_candidacy(idea,
                         make_command("CandidateIdentified",
                                      R"({"talent_id":")" + T +
                                          R"(","direction":"talent_driven","lg_code":"131164"})"),
                         T));
  s.apply(s.on_candidacy(idea, make_command("InterestConfirmed", "{}")));
  CHECK_REJECTED(s.on_candidacy(idea, make_command("ProposalSubmitted", "{}")), errc::conflict,
                 "need_required");
}

// ---- invariant 3: at most one open candidacy per (talent, need) ----

TEST_CASE("invariant 3: a second open candidacy for the same talent and need is rejected") {
  auto s = ready();
  CHECK_REJECTED(s.on_candidacy(C, s.identify_command(T, N), T, N, 1), errc::conflict,
                 "duplicate_open_candidacy");
  auto identified = s.on_candidacy(C, s.identify_command(T, N), T, N, 0);
  REQUIRE(identified.ok());
  // The candidacy and, atomically, its attachment to the need, which is what lets the service
  // count open candidacies per (talent, need) under the need's expected version.
  REQUIRE(identified->size() == 2);
  CHECK(identified->at(0).stream == "candidacy-" + C);
  CHECK(identified->at(0).type == "CandidateIdentified");
  CHECK(identified->at(1).stream == "need-" + N);
  CHECK(identified->at(1).type == "CandidateAttached");
  CHECK(test::public_json(identified->at(1)) ==
        R"({"candidacy_id":")" + C + R"(","talent_id":")" + T + R"("})");
  // The candidacy carries the need's municipality.
  CHECK(test::public_json(identified->at(0)).find(R"("lg_code":"131016")") != std::string::npos);
  s.apply(identified);
  CHECK(s.need(N).candidacies.at(C) == T);
  auto state = s.candidacy(C);
  CHECK(state.stage == candidacy_stage::identified);
  CHECK(state.talent_id == T);
  CHECK(state.need_id == N);
  CHECK(state.lg_code == "131016");
  CHECK(state.source == "scout");
  CHECK_REJECTED(s.on_candidacy(C, s.identify_command(T, N), T, N), errc::conflict,
                 "already_exists");
}

TEST_CASE("identifying checks the need and the municipality it names") {
  auto s = ready();
  CHECK_REJECTED(s.on_candidacy(C, s.identify_command(T, test::id(40)), T, test::id(40)),
                 errc::not_found, "need_not_found");
  auto other_lg =
      make_command("CandidateIdentified", R"({"talent_id":")" + T + R"(","need_id":")" + N +
                                              R"(","direction":"need_driven","lg_code":"131164"})");
  CHECK_REJECTED(s.on_candidacy(C, other_lg, T, N), errc::invalid_argument, "invalid_value");
  auto no_need = make_command("CandidateIdentified",
                              R"({"talent_id":")" + T + R"(","direction":"need_driven"})");
  CHECK_REJECTED(s.on_candidacy(C, no_need, T), errc::invalid_argument, "need_required");
  auto idea_without_lg = make_command(
      "CandidateIdentified", R"({"talent_id":")" + T + R"(","direction":"talent_driven"})");
  CHECK_REJECTED(s.on_candidacy(C, idea_without_lg, T), errc::invalid_argument, "lg_code_required");
  s.apply(s.on_need(N, make_command("NeedClosed", R"({"reason":"cancelled"})")));
  CHECK_REJECTED(s.on_candidacy(C, s.identify_command(T, N), T, N), errc::conflict, "need_closed");
}

TEST_CASE("a talent-driven idea is a candidacy without a need") {
  auto s = ready();
  auto idea =
      s.on_candidacy(C,
                     make_command("CandidateIdentified",
                                  R"({"talent_id":")" + T +
                                      R"(","direction":"talent_driven","lg_code":"131164"})"),
                     T);
  REQUIRE(idea.ok());
  REQUIRE(idea->size() == 1);  // no need to attach to
  s.apply(idea);
  auto state = s.candidacy(C);
  CHECK(state.need_id.empty());
  CHECK(state.lg_code == "131164");
  CHECK(state.direction == 1);
}

// ---- invariant 4: decisions name who decided and on whose behalf ----

TEST_CASE("invariant 4: a coordinator records a decision only on the officer's behalf") {
  auto s = ready();
  reach(s, candidacy_stage::proposed);
  CHECK_REJECTED(s.on_candidacy(C, decision_command(true, test::coordinator)), errc::conflict,
                 "on_behalf_of_required");
  actor admin{"admin-1", "admin", ""};
  CHECK_REJECTED(s.on_candidacy(C, decision_command(true, admin)), errc::conflict,
                 "on_behalf_of_required");

  actor entering{"coordinator-1", "coordinator", "officer-1"};
  // The client says it was not entered on behalf; the rules know better.
  auto d = s.on_candidacy(C, decision_command(true, entering, R"(,"entered_on_behalf":false)"));
  REQUIRE(d.ok());
  REQUIRE(d->size() == 1);
  CHECK(entered_on_behalf(d->front()));
  // decided_by is the officer's name, personal data sealed under the municipality's key.
  CHECK(d->front().subject == "municipality-131016");
  auto full = decode_payload_json("MunicipalDecisionRecorded", d->front().payload,
                                  std::string_view(d->front().personal), personal_view::full);
  REQUIRE(full.ok());
  CHECK(*full == R"({"accepted":true,"reason":"経験が合う","entered_on_behalf":true,)"
                 R"("decided_by":"情報政策課長"})");
  s.apply(d);
  CHECK(s.candidacy(C).stage == candidacy_stage::accepted);
}

TEST_CASE("invariant 4: the officer's own decision is never marked as entered on behalf") {
  auto s = ready();
  reach(s, candidacy_stage::proposed);
  auto d =
      s.on_candidacy(C, decision_command(false, test::officer, R"(,"entered_on_behalf":true)"));
  REQUIRE(d.ok());
  CHECK_FALSE(entered_on_behalf(d->front()));
  s.apply(d);
  CHECK(s.candidacy(C).stage == candidacy_stage::rejected);
}

// ---- invariant 9: the decision is the command's, as its actor asked ----

TEST_CASE("invariant 9: decided events carry the command's payload and time unchanged") {
  // The engine writes the actor into each envelope; the deciders must keep what the actor sent.
  auto s = ready();
  reach(s, candidacy_stage::interested);
  auto cmd =
      make_command("InterestDeclined", R"({"reason":"本業が繁忙期"})", test::coordinator, 77);
  auto d = s.on_candidacy(C, cmd);
  REQUIRE(d.ok());
  REQUIRE(d->size() == 1);
  CHECK(d->front().payload == cmd.payload);
  CHECK(d->front().personal == cmd.personal);
  s.apply(d, cmd.occurred_at);
  CHECK(s.candidacy(C).stage_since == 77);
}

TEST_CASE(
    "a decline's reason is sealed with the talent's key, and without one with the municipality's") {
  // The reason says something about the talent; an empty personal part says nothing, so a
  // decline can still be recorded once the talent is erased.
  auto s = ready();
  reach(s, candidacy_stage::interested);
  auto with_reason = s.on_candidacy(C, make_command("InterestDeclined", R"({"reason":"育児"})"));
  REQUIRE(with_reason.ok());
  CHECK(with_reason->front().subject == "talent-" + T);
  auto without = s.on_candidacy(C, make_command("InterestDeclined", "{}"));
  REQUIRE(without.ok());
  CHECK(without->front().subject == "municipality-" + s.candidacy(C).lg_code);
  CHECK_FALSE(s.candidacy(C).lg_code.empty());
}

// ---- the stage machine ----

TEST_CASE("stages: identified -> contacted -> interested -> proposed -> accepted") {
  auto s = ready();
  s.identify(C, T, N);
  const std::pair<const char*, candidacy_stage> steps[] = {
      {"TalentContacted", candidacy_stage::contacted},
      {"InterestConfirmed", candidacy_stage::interested},
      {"ProposalSubmitted", candidacy_stage::proposed}};
  std::int64_t at = 100;
  for (auto [type, stage] : steps) {
    CAPTURE(type);
    s.apply(s.on_candidacy(C, make_command(type, "{}")), ++at);
    auto state = s.candidacy(C);
    CHECK(state.stage == stage);
    CHECK(state.stage_since == at);
    CHECK(state.open());
  }
  s.apply(s.on_candidacy(C, decision_command(true, test::officer)));
  CHECK(s.candidacy(C).stage == candidacy_stage::accepted);
  CHECK(s.candidacy(C).open());
}

TEST_CASE("interest may be confirmed or declined without a contact event") {
  auto s = ready();
  s.identify(C, T, N);
  s.apply(s.on_candidacy(C, make_command("InterestConfirmed", "{}")));
  CHECK(s.candidacy(C).stage == candidacy_stage::interested);
  s.apply(s.on_candidacy(C, make_command("InterestDeclined", "{}")));
  auto state = s.candidacy(C);
  CHECK(state.stage == candidacy_stage::declined);
  CHECK_FALSE(state.open());
}

TEST_CASE("out-of-order steps are invalid_stage, naming the current stage") {
  auto s = ready();
  reach(s, candidacy_stage::identified);
  auto proposed = s.on_candidacy(C, make_command("ProposalSubmitted", "{}"));
  CHECK_REJECTED(proposed, errc::conflict, "invalid_stage");
  CHECK(proposed.err().message.find("identified") != std::string::npos);
  CHECK_REJECTED(s.on_candidacy(C, decision_command(true, test::officer)), errc::conflict,
                 "invalid_stage");
  s.apply(s.on_candidacy(C, make_command("TalentContacted", "{}")));
  CHECK_REJECTED(s.on_candidacy(C, make_command("TalentContacted", "{}")), errc::conflict,
                 "invalid_stage");
  s.apply(s.on_candidacy(C, make_command("InterestConfirmed", "{}")));
  CHECK_REJECTED(s.on_candidacy(C, make_command("InterestConfirmed", "{}")), errc::conflict,
                 "invalid_stage");
  s.apply(s.on_candidacy(C, make_command("ProposalSubmitted", "{}")));
  CHECK_REJECTED(s.on_candidacy(C, make_command("InterestDeclined", "{}")), errc::conflict,
                 "invalid_stage");
  CHECK_REJECTED(s.on_candidacy(C, make_command("ProposalSubmitted", "{}")), errc::conflict,
                 "invalid_stage");
}

TEST_CASE("closed candidacies take nothing more: candidacy_closed") {
  for (auto stage :
       {candidacy_stage::declined, candidacy_stage::rejected, candidacy_stage::archived}) {
    CAPTURE(static_cast<int>(stage));
    auto s = ready();
    reach(s, stage);
    CHECK(s.candidacy(C).stage == stage);
    CHECK_FALSE(s.candidacy(C).open());
    for (const auto& cmd :
         {make_command("TalentContacted", "{}"), make_command("InterestConfirmed", "{}"),
          make_command("InterestDeclined", "{}"), make_command("ProposalSubmitted", "{}"),
          decision_command(true, test::officer),
          make_command("CandidacyArchived", R"({"reason":"again"})")}) {
      CAPTURE(cmd.type);
      auto d = s.on_candidacy(C, cmd);
      CHECK_REJECTED(d, errc::conflict, "candidacy_closed");
    }
  }
}

TEST_CASE("any open stage can be archived") {
  for (auto stage :
       {candidacy_stage::identified, candidacy_stage::contacted, candidacy_stage::interested,
        candidacy_stage::proposed, candidacy_stage::accepted}) {
    CAPTURE(static_cast<int>(stage));
    auto s = ready();
    reach(s, stage);
    s.apply(s.on_candidacy(C, make_command("CandidacyArchived", R"({"reason":"need changed"})")));
    CHECK(s.candidacy(C).stage == candidacy_stage::archived);
  }
}

TEST_CASE("candidacy_not_found, and events only other commands append") {
  auto s = ready();
  CHECK_REJECTED(s.on_candidacy(C, make_command("TalentContacted", "{}")), errc::not_found,
                 "candidacy_not_found");
  reach(s, candidacy_stage::accepted);
  CHECK_REJECTED(s.on_candidacy(C, make_command("CandidacyAppointed",
                                                R"({"appointment_id":")" + test::id(50) + R"("})")),
                 errc::conflict, "command_not_allowed");
  CHECK_REJECTED(s.on_candidacy(C, make_command("NeedPutOnHold", "{}")), errc::conflict,
                 "command_not_allowed");
}

// ---- a talent-driven idea taken up: attached to the need opened for it ----

const std::string IDEA = test::id(50), TN = test::id(51);

command idea_command(const std::string& lg = test::toshima) {
  return make_command("CandidateIdentified", R"({"talent_id":")" + T +
                                                 R"(","direction":"talent_driven","lg_code":")" +
                                                 lg + R"(","source":"coordinator_idea"})");
}

command attach_command(const std::string& need) {
  return make_command("CandidacyAttachedToNeed", R"({"need_id":")" + need + R"("})");
}

// Decides the attachment the way the command service does: against the payload's need.
decision attach(test::scenario& s, const std::string& need, std::size_t other_open = 0) {
  return s.on_candidacy(IDEA, attach_command(need), {}, need, other_open);
}

void open_need(test::scenario& s, const std::string& need, const std::string& lg,
               const char* origin) {
  if (s.municipality(lg).events == 0) s.list_municipality(lg);
  s.apply(s.on_need(need,
                    make_command("NeedOpened", R"({"lg_code":")" + lg + R"(","origin":")" + origin +
                                                   R"(","problem":"the idea, taken up"})"),
                    lg));
}

// A registered talent, an idea of theirs for Toshima and a need opened there for it.
test::scenario idea_and_need() {
  test::scenario s;
  s.register_talent(T);
  s.apply(s.on_candidacy(IDEA, idea_command(), T));
  open_need(s, TN, test::toshima, "talent_driven");
  return s;
}

TEST_CASE("an idea taken up is attached to its need atomically, and then goes on like any") {
  auto s = idea_and_need();
  s.apply(s.on_candidacy(IDEA, make_command("TalentContacted", "{}")));
  auto attached = attach(s, TN);
  REQUIRE(attached.ok());
  REQUIRE(attached->size() == 2);
  CHECK(attached->at(0).stream == "candidacy-" + IDEA);
  CHECK(attached->at(0).type == "CandidacyAttachedToNeed");
  CHECK(test::public_json(attached->at(0)) == R"({"need_id":")" + TN + R"("})");
  CHECK(attached->at(1).stream == "need-" + TN);
  CHECK(attached->at(1).type == "CandidateAttached");
  CHECK(test::public_json(attached->at(1)) ==
        R"({"candidacy_id":")" + IDEA + R"(","talent_id":")" + T + R"("})");
  s.apply(attached);
  auto idea = s.candidacy(IDEA);
  CHECK(idea.need_id == TN);
  CHECK(idea.stage == candidacy_stage::contacted);  // attaching is no step of its own
  CHECK(idea.lg_code == test::toshima);
  CHECK(s.need(TN).candidacies.at(IDEA) == T);
  CHECK_FALSE(is_voidable("CandidacyAttachedToNeed"));  // the need's attachment depends on it

  // Invariant 2 now holds through the need: proposed once its requirements are defined.
  s.apply(s.on_candidacy(IDEA, make_command("InterestConfirmed", "{}")));
  CHECK_REJECTED(s.on_candidacy(IDEA, make_command("ProposalSubmitted", "{}")), errc::conflict,
                 "requirements_not_defined");
  s.record_hearing(TN, test::id(57));
  s.define_requirements(TN);
  s.apply(s.on_candidacy(IDEA, make_command("ProposalSubmitted", "{}")));
  s.apply(s.on_candidacy(IDEA, decision_command(true, test::officer)));
  const std::string A = test::id(52);
  auto arranged = s.on_appointment(A, s.arrange_command(IDEA), IDEA);
  REQUIRE(arranged.ok());
  s.apply(arranged);
  CHECK(s.appointment(A).need_id == TN);
  CHECK(s.appointment(A).lg_code == test::toshima);
  CHECK(s.need(TN).appointments.count(A) == 1);
  CHECK(s.candidacy(IDEA).stage == candidacy_stage::appointed);
}

TEST_CASE("attaching refuses, with a code for each rule") {
  auto s = idea_and_need();
  SUBCASE("an unknown candidacy") {
    CHECK_REJECTED(s.on_candidacy(test::id(59), attach_command(TN), {}, TN), errc::not_found,
                   "candidacy_not_found");
  }
  SUBCASE("a need-driven candidacy") {
    s.ready_need(N);
    s.identify(C, T, N);
    CHECK_REJECTED(s.on_candidacy(C, attach_command(TN), {}, TN), errc::conflict,
                   "not_talent_driven");
  }
  SUBCASE("an idea attached already") {
    s.apply(attach(s, TN));
    CHECK_REJECTED(attach(s, TN), errc::conflict, "already_attached");
    open_need(s, test::id(53), test::toshima, "talent_driven");
    CHECK_REJECTED(attach(s, test::id(53)), errc::conflict, "already_attached");
  }
  SUBCASE("an idea the talent declined") {
    s.apply(s.on_candidacy(IDEA, make_command("InterestDeclined", R"({"reason":"busy"})")));
    CHECK_REJECTED(attach(s, TN), errc::conflict, "candidacy_closed");
  }
  SUBCASE("an archived idea") {
    s.apply(s.on_candidacy(IDEA, make_command("CandidacyArchived", R"({"reason":"r"})")));
    CHECK_REJECTED(attach(s, TN), errc::conflict, "candidacy_closed");
  }
  SUBCASE("an unknown need") {
    CHECK_REJECTED(attach(s, test::id(54)), errc::not_found, "need_not_found");
  }
  SUBCASE("a closed need") {
    s.apply(s.on_need(TN, make_command("NeedClosed", R"({"reason":"cancelled"})")));
    CHECK_REJECTED(attach(s, TN), errc::conflict, "need_closed");
  }
  SUBCASE("a need the municipality requested itself") {
    open_need(s, test::id(55), test::toshima, "municipality_request");
    CHECK_REJECTED(attach(s, test::id(55)), errc::conflict, "need_not_talent_driven");
  }
  SUBCASE("a need of another municipality") {
    open_need(s, test::id(56), test::tama, "talent_driven");
    CHECK_REJECTED(attach(s, test::id(56)), errc::conflict, "municipality_mismatch");
  }
  SUBCASE("a paused talent") {
    s.apply(s.on_talent(T, make_command("TalentPaused", "{}")));
    CHECK_REJECTED(attach(s, TN), errc::conflict, "talent_not_active");
  }
  SUBCASE("a talent without consent") {
    s.apply(s.on_talent(T, make_command("TalentConsentRevoked", "{}")));
    CHECK_REJECTED(attach(s, TN), errc::conflict, "consent_missing");
  }
  SUBCASE("a talent with another open candidacy on the need (invariant 3)") {
    CHECK_REJECTED(attach(s, TN, 1), errc::conflict, "duplicate_open_candidacy");
  }
}

}  // namespace
}  // namespace kakehashi
