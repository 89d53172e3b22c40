// The command service: a placement's whole life, each invariant rejected with nothing appended,
// atomic multi-stream commands, concurrency, idempotency and expected versions.
#include <atomic>
#include <thread>
#include <utility>

#include "domain_support.h"

using namespace kakehashi;
using namespace kakehashi::test;

namespace {

// Runs `cmd`, requires it to fail with `code`, and requires that nothing was appended.
template <class F>
void rejected_without_append(domain_fixture& f, F&& cmd, const std::string& code) {
  auto before = f.store->head_position();
  auto done = cmd();
  REQUIRE_FALSE(done.ok());
  INFO("error: " << describe(done.err()));
  CHECK(done.err().code == code);
  CHECK(f.store->head_position() == before);
}

}  // namespace

TEST_CASE("the reference data lists all 62 municipalities once, at first start only") {
  domain_fixture f;
  CHECK(f.store->head_position() == 62);
  CHECK(list_reference_municipalities(*f.service, now_micros()).ok());
  CHECK(f.store->head_position() == 62);
  auto tama_state = f.service->municipality(tama);
  REQUIRE(tama_state.ok());
  CHECK(tama_state->name_ja == "多摩市");
  CHECK(tama_state->region == "多摩");
}

TEST_CASE("a placement's whole life goes through the command service") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.defined_need();
  f.must("SourcingModeChosen", need, R"({"mode":"scout"})");
  auto candidacy = f.identify(talent, need);
  f.must("TalentContacted", candidacy, "{}");
  f.must("InterestConfirmed", candidacy, "{}");
  f.must("ProposalSubmitted", candidacy, "{}");
  // A coordinator records the officer's decision on their behalf (invariant 4).
  f.must("MunicipalDecisionRecorded", candidacy, R"({"accepted":true,"decided_by":"officer"})",
         actor{"coord-1", "coordinator", "officer-131130"});

  auto before = f.store->head_position();
  auto arranged = f.arrange(candidacy);
  REQUIRE(arranged.ok());
  // One atomic append over three streams (invariant 5).
  CHECK(f.store->head_position() == before + 3);
  CHECK(arranged->position == before + 1);
  auto appointment = arranged->ids.front().second;
  CHECK(arranged->stream == "appointment-" + appointment);
  auto c = f.service->candidacy(candidacy);
  REQUIRE(c.ok());
  CHECK(c->stage == candidacy_stage::appointed);
  CHECK(c->appointment_id == appointment);
  auto n = f.service->need(need);
  REQUIRE(n.ok());
  CHECK(n->stage == need_stage::filled);
  auto a = f.service->appointment(appointment);
  REQUIRE(a.ok());
  CHECK(a->talent_id == talent);
  CHECK(a->lg_code == shibuya);

  f.must("AppointmentStarted", appointment, "{}");
  f.must("CheckInScheduled", appointment, R"({"due_on":"2025-07-01","party":"talent"})");
  f.must("CheckInCompleted", appointment, R"({"party":"talent","rating":4,"notes":"順調"})");
  auto raised = f.run("IssueRaised", appointment, R"({"summary":"no account yet"})");
  REQUIRE(raised.ok());
  CHECK(raised->ids.size() == 2);  // appointment_id and the generated issue_id
  f.must("IssueResolved", appointment,
         R"({"issue_id":")" + raised->ids[1].second + R"(","resolution":"issued"})");
  f.must(
      "AppointmentAmended", appointment,
      R"({"kind":"scope_expansion","effective_on":"2025-09-01","changes":{"scope":"研修と保守"},"approved_by":"課長"})");
  f.must("AppointmentEnded", appointment, R"({"kind":"completed","reason":"任期満了"})");
  a = f.service->appointment(appointment);
  REQUIRE(a.ok());
  CHECK(a->status == appointment_status::ended);
  CHECK(a->scope == "研修と保守");
  CHECK(f.store->verify().ok);
}

TEST_CASE("invariant 1: only an active talent with consent is identified, contacted or proposed") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.defined_need();
  f.must("TalentPaused", talent, "{}");
  rejected_without_append(
      f,
      [&] {
        return f.run("CandidateIdentified", "",
                     R"({"talent_id":")" + talent + R"(","need_id":")" + need +
                         R"(","direction":"need_driven"})");
      },
      "talent_not_active");
  f.must("TalentResumed", talent, "{}");
  auto candidacy = f.identify(talent, need);
  f.must("TalentConsentRevoked", talent, R"({"reason":"policy"})");
  rejected_without_append(
      f, [&] { return f.run("TalentContacted", candidacy, "{}"); }, "consent_missing");
  f.must("TalentConsentGranted", talent, R"({"consent_version":"2025-04"})");
  f.must("TalentContacted", candidacy, "{}");
  f.must("InterestConfirmed", candidacy, "{}");
  f.must("TalentWithdrew", talent, "{}");
  rejected_without_append(
      f, [&] { return f.run("ProposalSubmitted", candidacy, "{}"); }, "talent_not_active");
}

TEST_CASE(
    "invariants 1 and 8: a decision on a talent that changed before its append is not appended") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.defined_need();
  auto candidacy = f.accepted_candidacy(talent, need);
  auto other_need = f.defined_need();
  // The talent withdraws after the next command was decided and before it is appended: the race
  // between a withdrawal and an identification or an arrangement, made deterministic.
  bool withdraw = false;
  command_service_options options;
  options.before_append = [&] {
    if (!std::exchange(withdraw, false)) return;
    f.must("TalentWithdrew", talent, R"({"reason":"本業が多忙"})");
  };
  auto identify = [&] {
    return f.run("CandidateIdentified", "",
                 R"({"talent_id":")" + talent + R"(","need_id":")" + other_need +
                     R"(","direction":"need_driven"})");
  };
  // Runs `cmd` with the withdrawal in between; it must fail with `code`, the withdrawal being the
  // only event appended.
  auto refused = [&](auto&& cmd, const std::string& code) {
    f.service = command_service::create(*f.store, options);
    withdraw = true;
    auto before = f.store->head_position();
    auto done = cmd();
    CHECK_FALSE(withdraw);
    REQUIRE_FALSE(done.ok());
    CHECK(done.err().code == code);
    CHECK(done.err().kind == errc::conflict);
    CHECK(f.store->head_position() == before + 1);
    CHECK(read_stream_all(*f.store, "talent-" + talent).back()->type == "TalentWithdrew");
  };

  SUBCASE("a command that may not be re-decided fails with a conflict") {
    options.max_conflict_retries = 1;
    refused(identify, "wrong_expected_version");
  }
  SUBCASE("re-decided on the withdrawn talent, an identification is refused") {
    refused(identify, "talent_not_active");
  }
  SUBCASE("re-decided on the withdrawn talent, an appointment is refused") {
    refused([&] { return f.arrange(candidacy); }, "talent_not_active");
    auto n = f.service->need(need);
    REQUIRE(n.ok());
    CHECK(n->appointments.empty());
  }
}

TEST_CASE(
    "a stream the decision only read changes before the append: decided again, If-Match or not") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.defined_need();
  auto candidacy = f.identify(talent, need);
  f.must("InterestConfirmed", candidacy, "{}");
  // A change to the talent that does not alter the decision, between decision and append.
  bool update = false;
  command_service_options options;
  options.before_append = [&] {
    if (std::exchange(update, false))
      f.must("TalentProfileUpdated", talent, R"({"email":"moved@example.jp"})");
  };
  auto propose = [&] {
    f.service = command_service::create(*f.store, options);
    update = true;
    auto version = f.store->stream_version("candidacy-" + candidacy);
    REQUIRE(version);
    auto request = domain_fixture::request("ProposalSubmitted", candidacy, "{}");
    request.expected_version = *version;  // If-Match: the candidacy, which nothing else changes
    return f.service->execute(std::move(request));
  };
  SUBCASE("re-decided on the updated talent, the proposal is appended") {
    auto done = propose();
    REQUIRE(done.ok());
    CHECK_FALSE(update);
    CHECK(read_stream_all(*f.store, "candidacy-" + candidacy).back()->type == "ProposalSubmitted");
  }
  SUBCASE("with no re-deciding allowed the store refuses it on the talent's version") {
    options.max_conflict_retries = 1;
    auto before = f.store->head_position();
    auto done = propose();
    REQUIRE_FALSE(done.ok());
    CHECK(done.err().code == "wrong_expected_version");
    CHECK(done.err().field == "conditions");
    CHECK(done.err().message.find("talent-" + talent) != std::string::npos);
    CHECK(f.store->head_position() == before + 1);  // only the talent's update
  }
}

TEST_CASE("invariant 2: a proposal needs the need's requirements") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.need();
  auto candidacy = f.identify(talent, need);
  f.must("InterestConfirmed", candidacy, "{}");
  rejected_without_append(
      f, [&] { return f.run("ProposalSubmitted", candidacy, "{}"); }, "requirements_not_defined");
  f.hearing(need);
  f.requirements(need);
  f.must("ProposalSubmitted", candidacy, "{}");
}

TEST_CASE("invariant 3: at most one open candidacy per talent and need") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.defined_need();
  auto first = f.identify(talent, need);
  rejected_without_append(
      f,
      [&] {
        return f.run("CandidateIdentified", "",
                     R"({"talent_id":")" + talent + R"(","need_id":")" + need +
                         R"(","direction":"need_driven"})");
      },
      "duplicate_open_candidacy");
  f.must("CandidacyArchived", first, R"({"reason":"duplicate entry"})");
  f.identify(talent, need);  // the first one is closed now
}

TEST_CASE("invariant 4: only the officer decides, a coordinator enters it on their behalf") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.defined_need();
  auto candidacy = f.identify(talent, need);
  f.must("InterestConfirmed", candidacy, "{}");
  f.must("ProposalSubmitted", candidacy, "{}");
  rejected_without_append(
      f,
      [&] {
        return f.run("MunicipalDecisionRecorded", candidacy,
                     R"({"accepted":true,"decided_by":"officer"})");
      },
      "on_behalf_of_required");
  auto done = f.run("MunicipalDecisionRecorded", candidacy,
                    R"({"accepted":false,"decided_by":"officer","reason":"timing"})",
                    actor{"coord-1", "coordinator", "officer-131130"});
  REQUIRE(done.ok());
  auto events = read_stream_all(*f.store, "candidacy-" + candidacy);
  CHECK(events.back()->who.on_behalf_of == "officer-131130");
  CHECK(events.back()->who.role == "coordinator");
}

TEST_CASE("invariant 5: an appointment needs an accepted candidacy and an open opening") {
  domain_fixture f;
  auto need = f.defined_need(1);
  auto first = f.accepted_candidacy(f.talent("a@example.jp"), need);
  auto second = f.accepted_candidacy(f.talent("b@example.jp"), need);
  auto pending = f.identify(f.talent("c@example.jp"), need);
  rejected_without_append(
      f, [&] { return f.arrange(pending); }, "candidacy_not_accepted");
  REQUIRE(f.arrange(first).ok());
  rejected_without_append(
      f, [&] { return f.arrange(first); }, "candidacy_already_appointed");
  rejected_without_append(
      f, [&] { return f.arrange(second); }, "no_open_opening");
}

TEST_CASE("invariant 5 under concurrency: one opening, many arrangers, exactly one appointment") {
  domain_fixture f;
  auto need = f.defined_need(2);
  std::vector<std::string> candidacies;
  for (int i = 0; i < 8; ++i)
    candidacies.push_back(f.accepted_candidacy(f.talent(std::to_string(i) + "@example.jp"), need));
  std::atomic<int> made{0}, refused{0};
  std::vector<std::thread> threads;
  for (const auto& c : candidacies)
    threads.emplace_back([&, c] {
      auto done = f.arrange(c);
      if (done)
        ++made;
      else if (done.err().code == "no_open_opening" || done.err().code == "need_closed")
        ++refused;
    });
  for (auto& t : threads)
    t.join();
  CHECK(made == 2);
  CHECK(refused == 6);
  auto n = f.service->need(need);
  REQUIRE(n.ok());
  CHECK(n->appointments.size() == 2);
}

TEST_CASE("invariant 3 under concurrency: racing identifications leave one open candidacy") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.defined_need();
  std::atomic<int> made{0}, duplicates{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      auto done = f.run("CandidateIdentified", "",
                        R"({"talent_id":")" + talent + R"(","need_id":")" + need +
                            R"(","direction":"need_driven"})");
      if (done)
        ++made;
      else if (done.err().code == "duplicate_open_candidacy")
        ++duplicates;
    });
  for (auto& t : threads)
    t.join();
  CHECK(made == 1);
  CHECK(duplicates == 7);
}

TEST_CASE("an idea attached to its need is appended with the need's attachment, or not at all") {
  domain_fixture f;
  auto talent = f.talent();
  auto idea = f.idea(talent);
  auto need = f.idea_need();
  auto requested = f.need(), elsewhere = f.idea_need(tama);
  rejected_without_append(
      f, [&] { return f.attach(idea, requested); }, "need_not_talent_driven");
  rejected_without_append(
      f, [&] { return f.attach(idea, elsewhere); }, "municipality_mismatch");
  auto done = f.attach(idea, need);
  REQUIRE(done.ok());
  CHECK(done->stream == "candidacy-" + idea);
  auto candidacy_events = read_stream_all(*f.store, "candidacy-" + idea);
  auto need_events = read_stream_all(*f.store, "need-" + need);
  CHECK(candidacy_events.back()->type == "CandidacyAttachedToNeed");
  CHECK(need_events.back()->type == "CandidateAttached");
  CHECK(need_events.back()->position == candidacy_events.back()->position + 1);  // one append
  auto c = f.service->candidacy(idea);
  REQUIRE(c.ok());
  CHECK(c->need_id == need);
  rejected_without_append(
      f, [&] { return f.attach(idea, need); }, "already_attached");
}

TEST_CASE("invariant 3 under concurrency: of two ideas of one talent, one is attached to a need") {
  domain_fixture f;
  auto talent = f.talent();
  auto first = f.idea(talent), second = f.idea(talent);
  auto need = f.idea_need();

  SUBCASE("the other attachment lands between decision and append: re-decided and refused") {
    bool race = true;
    command_service_options options;
    options.before_append = [&] {
      if (std::exchange(race, false)) REQUIRE(f.attach(second, need).ok());
    };
    f.service = command_service::create(*f.store, options);
    auto before = f.store->head_position();
    auto done = f.attach(first, need);
    REQUIRE_FALSE(done.ok());
    CHECK(done.err().code == "duplicate_open_candidacy");
    CHECK(f.store->head_position() == before + 2);  // only the winner's two events
  }
  SUBCASE("with no re-deciding allowed the need's version refuses it") {
    bool race = true;
    command_service_options options;
    options.max_conflict_retries = 1;
    options.before_append = [&] {
      if (std::exchange(race, false)) REQUIRE(f.attach(second, need).ok());
    };
    f.service = command_service::create(*f.store, options);
    auto done = f.attach(first, need);
    REQUIRE_FALSE(done.ok());
    CHECK(done.err().code == "wrong_expected_version");
  }
  SUBCASE("racing threads") {
    std::vector<std::string> ideas{first, second};
    for (int i = 0; i < 6; ++i)
      ideas.push_back(f.idea(talent));
    std::atomic<int> made{0}, duplicates{0};
    std::vector<std::thread> threads;
    for (const auto& idea : ideas)
      threads.emplace_back([&, idea] {
        auto done = f.attach(idea, need);
        if (done)
          ++made;
        else if (done.err().code == "duplicate_open_candidacy")
          ++duplicates;
      });
    for (auto& t : threads)
      t.join();
    CHECK(made == 1);
    CHECK(duplicates == 7);
  }
  auto n = f.service->need(need);
  REQUIRE(n.ok());
  CHECK(n->candidacies.size() == 1);
}

TEST_CASE("invariant 6: nothing is recorded on an ended appointment") {
  domain_fixture f;
  auto need = f.defined_need();
  auto arranged = f.arrange(f.accepted_candidacy(f.talent(), need));
  REQUIRE(arranged.ok());
  auto appointment = arranged->ids.front().second;
  f.must("AppointmentEnded", appointment, R"({"kind":"early","reason":"moved"})");
  for (
      auto [type, body] : std::vector<std::pair<std::string, std::string>>{
          {"CheckInScheduled", R"({"due_on":"2025-07-01","party":"talent"})"},
          {"IssueRaised", R"({"summary":"x"})"},
          {"AppointmentAmended",
           R"({"kind":"extension","effective_on":"2026-04-01","changes":{"ends_on":"2027-03-31"},"approved_by":"x"})"},
          {"AppointmentSuspended", "{}"}}) {
    INFO(type);
    rejected_without_append(
        f, [&] { return f.run(type, appointment, body); }, "appointment_ended");
  }
}

TEST_CASE("invariant 7: terms change only through amendments") {
  domain_fixture f;
  auto need = f.defined_need();
  auto arranged = f.arrange(f.accepted_candidacy(f.talent(), need));
  REQUIRE(arranged.ok());
  auto appointment = arranged->ids.front().second;
  // Arranging again cannot overwrite the terms.
  command_request again;
  again.type = "AppointmentArranged";
  again.target_id = appointment;
  again.body_json =
      R"({"candidacy_id":"00000000-0000-7000-8000-000000000000","form":"onsite",)"
      R"("starts_on":"2025-06-01","ends_on":"2030-03-31","hours_per_week":40,"scope":"x"})";
  again.who = domain_fixture::coordinator();
  rejected_without_append(
      f, [&] { return f.service->execute(again); }, "already_exists");
  f.must(
      "AppointmentAmended", appointment,
      R"({"kind":"hours_change","effective_on":"2025-09-01","changes":{"hours_per_week":12},"approved_by":"課長"})");
  auto a = f.service->appointment(appointment);
  REQUIRE(a.ok());
  CHECK(a->hours_per_week == 12);
}

TEST_CASE("invariant 9: every event names its actor and commands honour expected versions") {
  domain_fixture f;
  auto talent = f.talent();
  command_request pause;
  pause.type = "TalentPaused";
  pause.target_id = talent;
  pause.body_json = "{}";
  pause.who = actor{"coord-7", "coordinator", ""};
  pause.expected_version = 5;
  rejected_without_append(
      f, [&] { return f.service->execute(pause); }, "wrong_expected_version");
  pause.expected_version = 0;
  auto done = f.service->execute(pause);
  REQUIRE(done.ok());
  CHECK(done->version == 1);
  auto events = read_stream_all(*f.store, "talent-" + talent);
  CHECK(events.back()->who.id == "coord-7");
  CHECK(events.back()->who.role == "coordinator");
}

TEST_CASE("an idempotency key makes a retried command a no-op and cannot be reused") {
  domain_fixture f;
  auto talent = f.talent();
  command_request pause;
  pause.type = "TalentPaused";
  pause.target_id = talent;
  pause.body_json = "{}";
  pause.who = domain_fixture::coordinator();
  pause.idempotency_key = new_uuid_v7();
  auto first = f.service->execute(pause);
  REQUIRE(first.ok());
  auto head = f.store->head_position();
  auto retry = f.service->execute(pause);
  REQUIRE(retry.ok());
  CHECK(retry->duplicate);
  CHECK(retry->position == first->position);
  CHECK(f.store->head_position() == head);
  auto other = pause;
  other.type = "TalentWithdrew";
  rejected_without_append(
      f, [&] { return f.service->execute(other); }, "idempotency_key_reused");
}

TEST_CASE("an idempotency key reused with another body, actor or time is idempotency_key_reused") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.need();
  auto keyed = [&](std::string type, std::string target, std::string body,
                   actor who = domain_fixture::coordinator()) {
    auto request = domain_fixture::request(std::move(type), std::move(target), std::move(body),
                                           std::move(who));
    request.idempotency_key = new_uuid_v7();
    return request;
  };
  // Runs `first`, then `again` with its key: a retry when `retry`, else refused.
  auto check = [&](const command_request& first, command_request again, bool retry) {
    auto done = f.service->execute(first);
    if (!done) FAIL(first.type << ": " << describe(done.err()));
    again.idempotency_key = first.idempotency_key;
    if (retry) {
      auto repeated = f.service->execute(again);
      REQUIRE(repeated.ok());
      CHECK(repeated->duplicate);
      CHECK(repeated->position == done->position);
    } else {
      rejected_without_append(
          f, [&] { return f.service->execute(again); }, "idempotency_key_reused");
    }
  };

  auto hold = keyed("NeedPutOnHold", need, R"({"reason":"budget"})");
  auto other_reason = hold;
  other_reason.body_json = R"({"reason":"election"})";
  check(hold, other_reason, false);
  f.must("NeedResumed", need, "{}");
  hold.idempotency_key = new_uuid_v7();
  auto other_actor = hold;
  other_actor.who = actor{"coord-2", "coordinator", ""};
  check(hold, other_actor, false);
  f.must("NeedResumed", need, "{}");
  hold.idempotency_key = new_uuid_v7();
  auto other_time = hold;
  other_time.occurred_at = 1'700'000'000'000'000;
  check(hold, other_time, false);
  f.must("NeedResumed", need, "{}");

  // Personal fields are compared too, opened with the subject's key.
  auto update = keyed("TalentProfileUpdated", talent, R"({"email":"a@example.jp"})");
  auto other_email = update;
  other_email.body_json = R"({"email":"b@example.jp"})";
  check(update, other_email, false);
  update.idempotency_key = new_uuid_v7();
  check(update, update, true);
  // A reason that became personal is compared as the personal field it now is.
  auto pause = keyed("TalentPaused", talent, R"({"reason":"育児のため"})");
  auto other_pause = pause;
  other_pause.body_json = R"({"reason":"介護のため"})";
  check(pause, other_pause, false);
  f.must("TalentResumed", talent, "{}");
  pause.idempotency_key = new_uuid_v7();
  check(pause, pause, true);

  // What the server fills in is not the client's to repeat: a made hearing_id, a revision.
  auto hearing = keyed("HearingRecorded", need, R"({"held_on":"2025-05-01","notes":"n"})");
  check(hearing, hearing, true);
  auto requirements = keyed("RequirementsDefined", need,
                            R"({"role_category":"rpa_specialist","tier":"hands_on","openings":1})");
  check(requirements, requirements, true);
}

TEST_CASE("bad command input is rejected with a named field and appends nothing") {
  domain_fixture f;
  rejected_without_append(
      f,
      [&] {
        return f.run("NeedOpened", "",
                     R"({"lg_code":"131131","origin":"municipality_request","problem":"x"})");
      },
      "invalid_value");
  rejected_without_append(
      f, [&] { return f.run("NeedOpened", "", R"({"lg_code":"131130","problem":"x"})"); },
      "missing_field");
  rejected_without_append(
      f, [&] { return f.run("NeedOpened", "", "{not json"); }, "invalid_json");
  rejected_without_append(
      f, [&] { return f.run("NoSuchThing", "", "{}"); }, "unknown_event_type");
  rejected_without_append(
      f, [&] { return f.run("TalentPaused", "", "{}"); }, "missing_id");
  rejected_without_append(
      f, [&] { return f.run("TalentPaused", new_uuid_v7().to_string(), "{}"); },
      "talent_not_found");
  rejected_without_append(
      f, [&] { return f.run("OpeningFilled", new_uuid_v7().to_string(), "{}"); }, "missing_field");
}
