// A talent-driven idea taken up (POST /v1/candidacies/{id}/attach) end to end: a real server over
// a real store, command service and read-model runner; every request through a real socket.
#include "http_helpers.h"

namespace kakehashi::test {

namespace json = boost::json;

namespace {

std::string idea_body(const std::string& talent_id, std::string_view lg_code,
                      std::string_view occurred_at) {
  return R"({"talent_id":")" + talent_id + R"(","direction":"talent_driven","lg_code":")" +
         std::string(lg_code) + R"(","source":"coordinator_idea","occurred_at":")" +
         std::string(occurred_at) + R"("})";
}

std::string idea_need_body(std::string_view lg_code, std::string_view occurred_at) {
  return R"({"lg_code":")" + std::string(lg_code) +
         R"(","origin":"talent_driven","department":"DX推進課","problem":"職員研修の提案を受けて",)"
         R"("occurred_at":")" +
         std::string(occurred_at) + R"("})";
}

std::string attach_body(const std::string& need_id, std::string_view occurred_at = {}) {
  std::string out = R"({"need_id":")" + need_id + '"';
  if (!occurred_at.empty()) out += R"(,"occurred_at":")" + std::string(occurred_at) + '"';
  return out + "}";
}

// The candidacies on the pipeline card of `need_id`, as {candidacy_id, stage, direction}.
std::vector<std::string> board_cards(const json::object& pipeline, const std::string& need_id) {
  std::vector<std::string> out;
  for (const auto& [stage, cards] : pipeline.at("columns").as_object())
    for (const auto& card : cards.as_array()) {
      if (str(card, "need_id") != need_id) continue;
      for (const auto& c : card.at("candidacies").as_array())
        out.push_back(str(c, "candidacy_id") + " " + str(c, "stage") + " " + str(c, "direction"));
    }
  return out;
}

}  // namespace

TEST_CASE("http: a talent-driven idea is attached to the need opened for it and appointed") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller chiyoda_office{server.port(), server.issue_token(access_role::municipality, chiyoda)};

  const std::string talent = str(coordinator.created("/v1/talents", registration()), "talent_id");
  const std::string idea =
      str(coordinator.created("/v1/candidacies",
                              idea_body(talent, chiyoda, "2025-04-10T10:00:00+09:00")),
          "candidacy_id");
  const std::string c = "/v1/candidacies/" + idea;
  coordinator.ok(c + "/contact", R"({"occurred_at":"2025-04-12T10:00:00+09:00"})");
  // Chiyoda takes the idea up: a need opens for it.
  const std::string need =
      str(coordinator.created("/v1/needs", idea_need_body(chiyoda, "2025-05-01T10:00:00+09:00")),
          "need_id");

  // Malformed bodies are 400 and append nothing; a need not opened for an idea is refused.
  const auto head = server.store().head_position();
  for (const char* body : {"{}", R"({"need_id":"nope"})", R"({"need_id":1})"}) {
    CAPTURE(body);
    auto res = coordinator.post(c + "/attach", body);
    CHECK(res.result_int() == 400);
    CHECK(error_field_of(res) == "need_id");
  }
  auto extra = coordinator.post(c + "/attach", R"({"need_id":")" + need + R"(","talent_id":"x"})");
  CHECK(extra.result_int() == 400);
  const std::string requested =
      str(coordinator.created("/v1/needs", need_body(chiyoda)), "need_id");
  auto wrong_origin = coordinator.post(c + "/attach", attach_body(requested));
  CHECK(wrong_origin.result_int() == 409);
  CHECK(error_code_of(wrong_origin) == "need_not_talent_driven");
  auto unknown_need =
      coordinator.post(c + "/attach", attach_body("0192f0e0-0000-7000-8000-0000000000aa"));
  CHECK(unknown_need.result_int() == 404);
  CHECK(error_code_of(unknown_need) == "need_not_found");
  // If-Match is the candidacy's version (identified, contacted: 1).
  auto stale = coordinator.post(c + "/attach", attach_body(need), {{"If-Match", "\"0\""}});
  CHECK(stale.result_int() == 409);
  CHECK(error_code_of(stale) == "wrong_expected_version");
  CHECK(server.store().head_position() == head + 1);  // only the other need's opening

  // Attached, with If-Match and an Idempotency-Key; a retry replays the first outcome.
  const headers once{{"If-Match", "\"1\""},
                     {"Idempotency-Key", "0192f0e0-0000-7000-8000-0000000a77ac"}};
  auto attached =
      coordinator.ok(c + "/attach", attach_body(need, "2025-05-02T10:00:00+09:00"), once);
  CHECK(str(attached, "stream") == "candidacy-" + idea);
  CHECK(attached.at("version").as_int64() == 2);
  auto replay =
      coordinator.post(c + "/attach", attach_body(need, "2025-05-02T10:00:00+09:00"), once);
  CHECK(replay.result_int() == 200);
  CHECK(replay["Idempotent-Replayed"] == "true");
  CHECK(json_of(replay) == attached);
  auto again = coordinator.post(c + "/attach", attach_body(need));
  CHECK(again.result_int() == 409);
  CHECK(error_code_of(again) == "already_attached");

  // Before its proposal the municipality learns nothing of the idea: not its card, not the
  // need's CandidateAttached, not the candidacy.
  std::string wait = "?" + min_position_of(attached);
  auto board = coordinator.read("/v1/pipeline?lg_code=131016&" + min_position_of(attached));
  CHECK(board_cards(board, need) == std::vector<std::string>{idea + " contacted talent_driven"});
  CHECK(board_cards(chiyoda_office.read("/v1/pipeline" + wait), need).empty());
  CHECK(chiyoda_office.get(c + wait).result_int() == 404);
  auto seen = json::serialize(chiyoda_office.read("/v1/streams/need-" + need));
  CHECK(seen.find("CandidateAttached") == std::string::npos);
  // As of a day before the attachment the idea is on no need's card.
  auto earlier = coordinator.read("/v1/pipeline?lg_code=131016&as_of=2025-05-01");
  CHECK(board_cards(earlier, need).empty());
  auto then = coordinator.read("/v1/pipeline?lg_code=131016&as_of=2025-05-02");
  CHECK(board_cards(then, need).size() == 1);

  // Then on like any candidacy of the need: interest, requirements, proposal, decision,
  // appointment.
  coordinator.ok(c + "/interest");
  auto early = coordinator.post(c + "/propose");
  CHECK(early.result_int() == 409);
  CHECK(error_code_of(early) == "requirements_not_defined");
  coordinator.ok(
      "/v1/needs/" + need + "/hearings",
      R"({"held_on":"2025-05-20","attendees":["佐藤"],"notes":"提案内容の確認","findings":"研修"})");
  coordinator.ok("/v1/needs/" + need + "/requirements",
                 R"({"role_category":"trainer","tier":"hands_on","skills":["training"],)"
                 R"("work_forms":["remote"],"hours_per_week":8,"duration_months":6,"openings":1})");
  auto proposed = coordinator.ok(c + "/propose");
  wait = "?" + min_position_of(proposed);
  CHECK(board_cards(chiyoda_office.read("/v1/pipeline" + wait), need) ==
        std::vector<std::string>{idea + " proposed talent_driven"});
  CHECK(str(chiyoda_office.read(c + wait).at("candidacy"), "need_id") == need);
  chiyoda_office.ok(c + "/decision",
                    R"({"accepted":true,"reason":"提案どおり","decided_by":"課長"})");
  auto arranged = coordinator.created(
      "/v1/appointments",
      R"({"candidacy_id":")" + idea +
          R"(","form":"remote","starts_on":"2025-08-01","ends_on":"2026-03-31",)"
          R"("hours_per_week":8,"scope":"職員向け研修"})");
  CHECK(str(arranged, "appointment_id").size() == 36);

  wait = "?" + min_position_of(arranged);
  auto appointment = coordinator.read("/v1/appointments/" + str(arranged, "appointment_id") + wait);
  CHECK(str(appointment.at("appointment"), "need_id") == need);
  CHECK(str(appointment.at("appointment"), "lg_code") == chiyoda);
  auto need_view = coordinator.read("/v1/needs/" + need + wait);
  CHECK(str(need_view.at("need"), "stage") == "filled");
  auto funnel = coordinator.read("/v1/metrics/funnel" + wait);
  const auto& by_direction = funnel.at("funnels").at("direction:talent_driven");
  CHECK(by_direction.at("identified").as_int64() == 1);
  CHECK(by_direction.at("appointed").as_int64() == 1);
  CHECK(funnel.at("funnels").at("tier:hands_on").at("appointed").as_int64() == 1);
  auto queue = json::serialize(coordinator.read("/v1/work-queue" + wait));
  CHECK(queue.find(idea) == std::string::npos);  // decided, so awaiting nothing
  CHECK(server.store().verify().ok);
}

TEST_CASE("http: a municipality token attaches no idea, and learns nothing of one by trying") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller admin{server.port(), server.issue_token(access_role::admin)};
  caller auditor{server.port(), server.issue_token(access_role::auditor)};
  caller chiyoda_office{server.port(), server.issue_token(access_role::municipality, chiyoda)};

  const std::string talent = str(coordinator.created("/v1/talents", registration()), "talent_id");
  // An idea for Chiyoda itself and one for Chuo, neither proposed; the needs opened for them.
  const std::string own_idea =
      str(coordinator.created("/v1/candidacies",
                              idea_body(talent, chiyoda, "2025-04-10T10:00:00+09:00")),
          "candidacy_id");
  const std::string other_idea = str(
      coordinator.created("/v1/candidacies", idea_body(talent, chuo, "2025-04-10T10:00:00+09:00")),
      "candidacy_id");
  const std::string own_need =
      str(coordinator.created("/v1/needs", idea_need_body(chiyoda, "2025-05-01T10:00:00+09:00")),
          "need_id");
  const std::string other_need =
      str(coordinator.created("/v1/needs", idea_need_body(chuo, "2025-05-01T10:00:00+09:00")),
          "need_id");
  const std::string unknown = "0192f0e0-0000-7000-8000-00000000dead";
  const auto head = server.store().head_position();

  // Every answer is the same refusal, whatever the id names: nothing is looked up.
  auto expected =
      chiyoda_office.post("/v1/candidacies/" + unknown + "/attach", attach_body(own_need));
  CHECK(expected.result_int() == 403);
  CHECK(error_code_of(expected) == "forbidden");
  for (const auto& [idea, need] : std::vector<std::pair<std::string, std::string>>{
           {own_idea, own_need}, {other_idea, other_need}, {own_idea, other_need}}) {
    CAPTURE(idea);
    auto res = chiyoda_office.post("/v1/candidacies/" + idea + "/attach", attach_body(need));
    CHECK(res.result_int() == 403);
    CHECK(masked(masked(res.body(), idea), need) ==
          masked(masked(expected.body(), unknown), own_need));
  }
  // Read-only roles neither.
  CHECK(
      auditor.post("/v1/candidacies/" + own_idea + "/attach", attach_body(own_need)).result_int() ==
      403);
  CHECK(server.store().head_position() == head);
  // An admin may, as for the other candidacy commands.
  admin.ok("/v1/candidacies/" + own_idea + "/attach", attach_body(own_need));
}

}  // namespace kakehashi::test
