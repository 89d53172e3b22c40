// Helpers for tests of the command service: a store with the municipalities listed, and one-line
// commands for each step of a placement.
#pragma once

#include <string>

#include "engine/command_service.h"
#include "engine/key_vault.h"
#include "sample_commands.h"
#include "test_support.h"

namespace kakehashi::test {

struct domain_fixture {
  temp_dir dir;
  std::unique_ptr<event_store> store = open_store(dir);
  std::unique_ptr<command_service> service = command_service::create(*store);

  domain_fixture() {
    auto listed = list_reference_municipalities(*service, now_micros());
    if (!listed) FAIL("listing municipalities failed: " << describe(listed.err()));
  }

  static actor coordinator() { return actor{"coord-1", "coordinator", ""}; }

  // A command as `who` sends it; a test adds what else it needs (If-Match, a key) and executes it.
  static command_request request(std::string type, std::string target, std::string body,
                                 actor who = coordinator()) {
    command_request out;
    out.type = std::move(type);
    out.target_id = std::move(target);
    out.body_json = std::move(body);
    out.who = std::move(who);
    return out;
  }
  result<command_outcome> run(std::string type, std::string target, std::string body,
                              actor who = coordinator()) {
    return service->execute(
        request(std::move(type), std::move(target), std::move(body), std::move(who)));
  }
  // Runs a command that must succeed and returns the id of the aggregate it acted on.
  std::string must(std::string type, std::string target, std::string body,
                   actor who = coordinator()) {
    auto done = run(type, target, std::move(body), std::move(who));
    if (!done) FAIL(type << " failed: " << describe(done.err()));
    return done->ids.front().second;
  }

  std::string talent(const std::string& email = "hanako@example.jp") {
    return must("TalentRegistered", "", talent_registration_body(email));
  }
  std::string need(const std::string& lg = shibuya) {
    return must("NeedOpened", "", need_opening_body(lg));
  }
  void hearing(const std::string& need_id) {
    must("HearingRecorded", need_id,
         R"({"held_on":"2025-05-01","attendees":["課長"],"notes":"notes","findings":"f"})");
  }
  void requirements(const std::string& need_id, int openings = 1) {
    must("RequirementsDefined", need_id,
         R"({"role_category":"rpa_specialist","tier":"hands_on","openings":)" +
             std::to_string(openings) + "}");
  }
  // A need ready for proposals.
  std::string defined_need(int openings = 1) {
    auto id = need();
    hearing(id);
    requirements(id, openings);
    return id;
  }
  std::string identify(const std::string& talent_id, const std::string& need_id) {
    return must("CandidateIdentified", "",
                R"({"talent_id":")" + talent_id + R"(","need_id":")" + need_id +
                    R"(","direction":"need_driven","source":"scout"})");
  }
  // A talent-driven idea for `lg`, and the need its municipality opened for it.
  std::string idea(const std::string& talent_id, const std::string& lg = shibuya) {
    return must("CandidateIdentified", "", idea_body(talent_id, lg));
  }
  std::string idea_need(const std::string& lg = shibuya) {
    return must("NeedOpened", "", need_opening_body(lg, "talent_driven"));
  }
  result<command_outcome> attach(const std::string& candidacy_id, const std::string& need_id) {
    return run("CandidacyAttachedToNeed", candidacy_id, R"({"need_id":")" + need_id + R"("})");
  }
  // identified -> contacted -> interested -> proposed -> accepted
  std::string accepted_candidacy(const std::string& talent_id, const std::string& need_id) {
    auto c = identify(talent_id, need_id);
    must("TalentContacted", c, "{}");
    must("InterestConfirmed", c, "{}");
    must("ProposalSubmitted", c, "{}");
    must("MunicipalDecisionRecorded", c, R"({"accepted":true,"decided_by":"officer"})",
         actor{"officer-1", "municipality", ""});
    return c;
  }
  result<command_outcome> arrange(const std::string& candidacy_id) {
    return run("AppointmentArranged", "",
               R"({"candidacy_id":")" + candidacy_id +
                   R"(","form":"remote","starts_on":"2025-06-01","ends_on":"2026-03-31",)"
                   R"("hours_per_week":8,"scope":"RPA support"})");
  }
};

}  // namespace kakehashi::test
