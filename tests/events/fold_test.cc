// fold<State>() and EventVoided: which events can be voided, how a void is checked, and how the
// folds skip voided events; corrupt stored or command payloads give errors, never crashes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/events/domain_test_support.h"

namespace kakehashi {
namespace {

using test::make_command;

const std::string N = test::id(10), H1 = test::id(11), T = test::id(1);

command void_command(const std::string& event_id) {
  return make_command("EventVoided",
                      R"({"voided_event_id":")" + event_id + R"(","reason":"entered in error"})");
}

TEST_CASE("is_voidable: entries made in error, not the events others depend on") {
  for (auto type :
       {"HearingRecorded", "HearingNoteCorrected", "PublicPostingPublished",
        "MunicipalityContactAssigned", "CheckInScheduled", "CheckInCompleted", "CheckInMissed",
        "IssueRaised", "IssueResolved", "AppointmentFlagged", "AppointmentAmended"}) {
    CAPTURE(type);
    CHECK(is_voidable(type));
  }
  for (auto type :
       {"TalentRegistered", "TalentWithdrew", "TalentPersonalDataErased", "NeedOpened",
        "RequirementsDefined", "NeedClosed", "CandidateAttached", "OpeningFilled",
        "CandidateIdentified", "MunicipalDecisionRecorded", "CandidacyAppointed",
        "AppointmentArranged", "AppointmentEnded", "CandidacyAttachedToNeed", "EventVoided", ""}) {
    CAPTURE(type);
    CHECK_FALSE(is_voidable(type));
  }
}

TEST_CASE("folding nothing gives the empty state") {
  auto need = fold<need_state>({});
  REQUIRE(need.ok());
  CHECK(need->events == 0);
  CHECK(need->stage == need_stage::none);
  CHECK_FALSE(need->open());
  auto talent = fold<talent_state>({});
  REQUIRE(talent.ok());
  CHECK(talent->status == talent_status::none);
}

TEST_CASE("a voided hearing is skipped by the fold, and the stream's version still counts it") {
  test::scenario s;
  s.open_need(N);
  const std::string hearing = s.record_hearing(N, H1);
  CHECK(s.need(N).stage == need_stage::hearing);

  auto d = s.on_need(N, void_command(hearing));
  REQUIRE(d.ok());
  REQUIRE(d->size() == 1);
  CHECK(d->front().stream == "need-" + N);
  CHECK(d->front().type == "EventVoided");
  s.apply(d);

  auto state = s.need(N);
  CHECK(state.events == 3);
  CHECK(state.hearings.empty());
  CHECK(state.stage == need_stage::consulted);
  CHECK(state.entries.voided.count(hearing) == 1);
  CHECK(state.entries.by_id.count(hearing) == 0);
  // With the hearing gone, requirements have no hearing to come from.
  CHECK_REJECTED(
      s.on_need(
          N, make_command("RequirementsDefined",
                          R"({"role_category":"project_manager","tier":"hands_on","openings":1})")),
      errc::conflict, "hearing_required");
  // The same hearing id may be recorded again, correctly this time.
  CHECK(s.on_need(N, make_command("HearingRecorded",
                                  R"({"hearing_id":")" + H1 + R"(","held_on":"2025-05-13"})"))
            .ok());
}

TEST_CASE("voiding a correction makes the corrected note the latest again") {
  test::scenario s;
  s.open_need(N);
  const std::string original = s.record_hearing(N, H1);
  const std::string corrected =
      s.apply(s.on_need(N, make_command("HearingNoteCorrected",
                                        R"({"hearing_id":")" + H1 + R"(","supersedes":")" +
                                            original + R"(","notes":"n","reason":"typo"})")))
          .front();
  CHECK(s.need(N).hearings.at(H1) == corrected);
  s.apply(s.on_need(N, void_command(corrected)));
  CHECK(s.need(N).hearings.at(H1) == original);
}

TEST_CASE("EventVoided: unknown_event, already_voided, event_not_voidable") {
  test::scenario s;
  s.open_need(N);
  const std::string opened = s.stream("need-" + N).events().front().id;
  const std::string hearing = s.record_hearing(N, H1);

  CHECK_REJECTED(s.on_need(N, void_command(test::id(999))), errc::not_found, "unknown_event");
  // An event of another stream is unknown here.
  s.register_talent(T);
  CHECK_REJECTED(s.on_need(N, void_command(s.stream("talent-" + T).events().front().id)),
                 errc::not_found, "unknown_event");
  // Events others depend on are corrected with new events, not voided.
  CHECK_REJECTED(s.on_need(N, void_command(opened)), errc::conflict, "event_not_voidable");

  const std::string void_id = s.apply(s.on_need(N, void_command(hearing))).front();
  CHECK_REJECTED(s.on_need(N, void_command(hearing)), errc::conflict, "already_voided");
  CHECK_REJECTED(s.on_need(N, void_command(void_id)), errc::conflict, "event_not_voidable");
}

TEST_CASE("EventVoided works on every aggregate that has voidable entries") {
  test::scenario s;
  const std::string C = test::id(3), A = test::id(4);
  s.register_talent(T);
  s.ready_need(N);
  s.arrange(A, C, T, N);

  // municipality: a contact assigned by mistake.
  const std::string contact =
      s.apply(s.on_municipality(test::chiyoda, make_command("MunicipalityContactAssigned",
                                                            R"({"contact":{"name":"誤"}})")))
          .front();
  CHECK(s.on_municipality(test::chiyoda, void_command(contact)).ok());

  // appointment: a check-in recorded on the wrong appointment.
  const std::string check_in =
      s.apply(s.on_appointment(
                  A, make_command("CheckInCompleted", R"({"party":"talent","rating":2})")))
          .front();
  auto d = s.on_appointment(A, void_command(check_in));
  REQUIRE(d.ok());
  CHECK(d->front().stream == "appointment-" + A);

  // talent and candidacy streams hold nothing voidable.
  CHECK_REJECTED(s.on_talent(T, void_command(s.stream("talent-" + T).events().front().id)),
                 errc::conflict, "event_not_voidable");
  CHECK_REJECTED(s.on_candidacy(C, void_command(s.stream("candidacy-" + C).events().back().id)),
                 errc::conflict, "event_not_voidable");
  // A void on a stream that does not exist is that stream's not_found.
  CHECK_REJECTED(s.on_appointment(test::id(70), void_command(check_in), C), errc::not_found,
                 "appointment_not_found");
  CHECK_REJECTED(s.on_need(test::id(71), void_command(check_in)), errc::not_found,
                 "need_not_found");
}

TEST_CASE("a void is allowed after an appointment ended: it corrects the record, not the terms") {
  test::scenario s;
  const std::string C = test::id(3), A = test::id(4);
  s.register_talent(T);
  s.ready_need(N);
  s.arrange(A, C, T, N);
  const std::string missed =
      s.apply(s.on_appointment(
                  A, make_command("CheckInMissed", R"({"due_on":"2025-07-01","party":"talent"})")))
          .front();
  s.apply(s.on_appointment(A, make_command("AppointmentEnded", R"({"kind":"completed"})")));
  CHECK(s.on_appointment(A, void_command(missed)).ok());
}

// ---- corrupt bytes ----

TEST_CASE("a stored payload that does not decode fails the fold with invalid_payload") {
  const std::string id = test::id(1);
  for (const std::string& bytes :
       {std::string(), std::string(7, 'x'), std::string(8, '\xff'),
        std::string("\x00\x00\x00\x00\xff\x00\x00\x00", 8) + std::string(8, '\0')}) {
    CAPTURE(bytes.size());
    auto need = fold<need_state>({{id, "NeedOpened", bytes, 0, 1}});
    REQUIRE_FALSE(need.ok());
    CHECK(need.err().code == "invalid_payload");
    CHECK(need.err().kind == errc::corruption);
    auto voided = fold<need_state>({{id, "EventVoided", bytes, 0, 1}});
    REQUIRE_FALSE(voided.ok());
    CHECK(voided.err().code == "invalid_payload");
  }
}

TEST_CASE("random stored bytes fold or fail cleanly, for every aggregate") {
  std::mt19937_64 random(62);
  const char* types[] = {"TalentRegistered",    "NeedOpened",          "RequirementsDefined",
                         "HearingRecorded",     "CandidateIdentified", "MunicipalDecisionRecorded",
                         "AppointmentArranged", "AppointmentAmended",  "EventVoided",
                         "IssueRaised",         "OpeningFilled",       "CandidateAttached"};
  for (int round = 0; round < 300; ++round) {
    std::size_t words = 1 + random() % 32;
    std::string bytes(words * 8, '\0');
    for (auto& c : bytes)
      c = static_cast<char>(random());
    bytes[0] = bytes[1] = bytes[2] = bytes[3] = 0;  // one segment
    std::uint32_t size = static_cast<std::uint32_t>(words - 1);
    std::memcpy(bytes.data() + 4, &size, 4);
    const char* type = types[round % std::size(types)];
    std::vector<event_view> events{{"e", type, bytes, 0, 1}};
    for (auto r : {fold<talent_state>(events).ok(), fold<municipality_state>(events).ok(),
                   fold<need_state>(events).ok(), fold<candidacy_state>(events).ok(),
                   fold<appointment_state>(events).ok()})
      (void)r;  // either is fine; not crashing is the point
  }
}

TEST_CASE("a command whose payload does not decode is invalid_payload, from every decider") {
  test::scenario s;
  const std::string C = test::id(3), A = test::id(4);
  s.register_talent(T);
  s.ready_need(N);
  s.arrange(A, C, T, N);
  command bad{"HearingRecorded", std::string(8, '\xff'), "", test::coordinator, 0};
  auto check = [](const decision& d) {
    REQUIRE_FALSE(d.ok());
    CHECK(d.err().code == "invalid_payload");
    CHECK(d.err().kind == errc::invalid_argument);
  };
  check(s.on_need(N, bad));
  bad.type = "EventVoided";
  check(s.on_need(N, bad));
  check(s.on_talent(T, bad));
  check(s.on_appointment(A, bad));
  bad.type = "TalentConsentGranted";
  check(s.on_talent(T, bad));
  bad.type = "IssueRaised";
  check(s.on_appointment(A, bad));
  bad.type = "TalentContacted";
  check(s.on_candidacy(C, bad));
  bad.type = "MunicipalityListed";
  check(s.on_municipality(test::toshima, bad));
}

TEST_CASE("event_id_set holds exactly the ids inserted, UUIDs packed or other text kept") {
  event_id_set set;
  const std::string a = test::id(1), b = test::id(2), c = test::id(3);
  CHECK(set.empty());
  CHECK(set.insert(b));
  CHECK(set.insert(c));
  CHECK(set.insert(a));  // out of order
  CHECK_FALSE(set.insert(b));
  const std::string upper = "00000000-0000-7000-8000-00000000000A";
  CHECK(set.insert(upper));  // not canonical: kept as text, distinct from the lowercase id
  CHECK(set.insert("e"));
  CHECK_FALSE(set.insert("e"));
  CHECK(set.size() == 5);
  CHECK(set.uuids().size() == 3);
  CHECK(std::is_sorted(set.uuids().begin(), set.uuids().end()));
  CHECK(set.count(a) == 1);
  CHECK(set.count("00000000-0000-7000-8000-00000000000a") == 0);
  CHECK(set.count(upper) == 1);
  CHECK(set.count("e") == 1);
  CHECK(set.count("") == 0);
  CHECK(set.erase(b));
  CHECK_FALSE(set.erase(b));
  CHECK(set.count(b) == 0);
  CHECK(set.erase("e"));
  CHECK(set.size() == 3);

  event_id_set restored;
  CHECK(restored.assign(set.uuids(), set.others()));
  CHECK(restored == set);
  CHECK_FALSE(restored.assign({set.uuids()[1], set.uuids()[0]}, {}));  // not ascending
  CHECK(restored.empty());
  CHECK_FALSE(restored.assign({}, {"x", "x"}));  // duplicate
  CHECK_FALSE(restored.assign({}, {a}));         // a canonical UUID belongs with the uuids
}

}  // namespace
}  // namespace kakehashi
