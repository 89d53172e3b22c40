// The command routes end to end: a real server over a real store, command service and read-model
// runner; every request through a real socket.
#include "events/domain.capnp.h"
#include "events/payload_io.h"
#include "http_helpers.h"

namespace kakehashi::test {

namespace json = boost::json;

TEST_CASE("http: a placement's whole life through the HTTP API") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};

  // Registration, with the client's own id.
  const std::string my_id = "0192f0e0-0000-7000-8000-000000000001";
  auto registered =
      coordinator.created("/v1/talents", registration().insert(1, "\"id\":\"" + my_id + "\","));
  CHECK(str(registered, "talent_id") == my_id);
  CHECK(str(registered, "stream") == "talent-" + my_id);
  CHECK(registered.at("version").as_int64() == 0);
  const std::string talent = my_id;

  // The case: need, hearing and its correction, requirements, sourcing with a posting.
  auto opened = coordinator.created("/v1/needs", need_body(chiyoda));
  const std::string need = str(opened, "need_id");
  auto hearing = coordinator.ok("/v1/needs/" + need + "/hearings",
                                R"({"held_on":"2025-05-01","attendees":["佐藤 一郎"],)"
                                R"("notes":"RPAの定着が課題","findings":"研修が必要"})");
  const std::string hearing_id = str(hearing, "hearing_id");
  coordinator.ok("/v1/needs/" + need + "/hearings/" + hearing_id + "/corrections",
                 R"({"supersedes":")" + str(hearing, "event_id") +
                     R"(","notes":"RPAの定着と保守が課題","reason":"聞き違い"})");
  coordinator.ok("/v1/needs/" + need + "/requirements",
                 R"({"role_category":"ui_ux_designer","tier":"hands_on","skills":["figma"],)"
                 R"("work_forms":["remote"],"hours_per_week":8,"duration_months":6,"openings":1})");
  auto sourcing = coordinator.ok(
      "/v1/needs/" + need + "/sourcing",
      R"({"mode":"public_posting","url":"https://example.jp/koubo/1","closes_on":"2025-07-31"})");
  // Two events: the answer is the second (the posting).
  CHECK(sourcing.at("version").as_int64() ==
        5);  // opened, hearing, correction, reqs, mode, posting
  // A malformed posting is refused before the mode is appended: nothing changes.
  const auto before = server.store().head_position();
  auto bad_posting = coordinator.post(
      "/v1/needs/" + need + "/sourcing",
      R"({"mode":"public_posting","url":"https://example.jp/koubo/2","closes_on":"July"})");
  CHECK(bad_posting.result_int() == 400);
  CHECK(error_field_of(bad_posting) == "closes_on");
  CHECK(server.store().head_position() == before);

  // Candidacy to decision; the coordinator enters the decision on the officer's behalf.
  auto identified = coordinator.created("/v1/candidacies",
                                        R"({"talent_id":")" + talent + R"(","need_id":")" + need +
                                            R"(","direction":"need_driven","source":"scout"})");
  const std::string candidacy = str(identified, "candidacy_id");
  const std::string c = "/v1/candidacies/" + candidacy;
  coordinator.ok(c + "/contact");
  coordinator.ok(c + "/interest");
  coordinator.ok(c + "/propose");
  coordinator.ok(c + "/decision", R"({"accepted":true,"reason":"経験が合う","decided_by":"課長"})",
                 {{"X-On-Behalf-Of", "municipality:131016"}});

  // Appointment and retention support.
  auto arranged = coordinator.created(
      "/v1/appointments",
      R"({"candidacy_id":")" + candidacy +
          R"(","form":"remote","starts_on":"2025-08-01","ends_on":"2026-03-31",)"
          R"("hours_per_week":8,"scope":"RPA研修と定着支援"})");
  const std::string appointment = str(arranged, "appointment_id");
  const std::string a = "/v1/appointments/" + appointment;
  coordinator.ok(a + "/start");
  auto scheduled = coordinator.ok(a + "/check-ins", R"({"due_on":"2025-09-01","party":"talent"})");
  const std::string check_in = str(scheduled, "check_in_id");
  coordinator.ok(a + "/check-ins", R"({"check_in_id":")" + check_in +
                                       R"(","party":"talent","rating":4,"notes":"順調"})");
  auto issue = coordinator.ok(a + "/issues", R"({"summary":"庁内PCの権限が足りない"})");
  const std::string issue_id = str(issue, "issue_id");
  coordinator.ok(a + "/issues/" + issue_id + "/resolve", R"({"resolution":"権限付与済み"})");
  coordinator.ok(a + "/amend", R"({"kind":"scope_expansion","effective_on":"2025-10-01",)"
                               R"("changes":{"scope":"研修とツール保守"},"approved_by":"課長"})");
  auto ended = coordinator.ok(a + "/end", R"({"kind":"completed","reason":"年度末"})");

  // The read side agrees once it has applied the last write.
  std::string wait = "?";  // not "?" + ...: GCC 12 warns falsely (-Wrestrict) on that form here
  wait += min_position_of(ended);
  auto need_view = coordinator.read("/v1/needs/" + need + wait);
  CHECK(str(need_view.at("need"), "stage") == "filled");
  CHECK(str(need_view.at("need"), "sourcing_mode") == "public_posting");
  // opened, hearing, correction, requirements, mode, posting, attached, filled
  CHECK(need_view.at("timeline").as_array().size() == 8);
  // The coordinator sees the hearing notes (personal data) in the timeline.
  CHECK(json::serialize(need_view.at("timeline")).find("RPAの定着が課題") != std::string::npos);

  auto appointment_view = coordinator.read(a + wait);
  CHECK(str(appointment_view.at("appointment"), "status") == "ended");
  CHECK(str(appointment_view.at("appointment"), "scope") == "研修とツール保守");
  CHECK(appointment_view.at("appointment").at("open_issues").as_array().empty());

  auto talent_view = coordinator.read("/v1/talents/" + talent + wait);
  CHECK(str(talent_view.at("talent").at("profile"), "display_name") == "山田 花子");

  auto candidacy_view = coordinator.read(c + wait);
  CHECK(str(candidacy_view.at("candidacy"), "stage") == "appointed");

  auto headline = coordinator.read("/v1/metrics/headline" + wait);
  CHECK(headline.at("registrants").as_int64() == 1);
  CHECK(headline.at("appointments").as_int64() == 1);
  CHECK(headline.at("municipalities_with_appointments").as_int64() == 1);

  // The decision names who entered it and for whom.
  auto decisions = coordinator.read("/v1/events?types=MunicipalDecisionRecorded");
  REQUIRE(decisions.at("events").as_array().size() == 1);
  const auto& decision = decisions.at("events").as_array()[0];
  CHECK(str(decision, "actorrole") == "coordinator");
  CHECK(str(decision, "actoronbehalfof") == "municipality:131016");
  CHECK(decision.at("data").at("entered_on_behalf").as_bool());

  // A hearing recorded in error is voided; the need's hearings forget it.
  auto extra = coordinator.ok("/v1/needs/" + need + "/hearings",
                              R"({"held_on":"2025-05-02","notes":"誤入力"})");
  auto voided = coordinator.ok(
      "/v1/needs/" + need + "/void",
      R"({"voided_event_id":")" + str(extra, "event_id") + R"(","reason":"別の案件の記録"})");
  auto after_void = coordinator.read("/v1/needs/" + need + "?" + min_position_of(voided));
  CHECK(after_void.at("need").at("hearings").as_array().size() == 1);

  // Withdrawal, and the admin's erasure of the talent's personal data.
  coordinator.ok("/v1/talents/" + talent + "/withdraw", R"({"reason":"本業多忙"})");
  caller admin{server.port(), server.issue_token(access_role::admin)};
  auto erased = admin.ok("/v1/talents/" + talent + "/erase", R"({"reason":"本人の請求"})");
  CHECK(erased.at("erased").as_bool());
  auto after = coordinator.read("/v1/talents/" + talent + "?" + min_position_of(erased));
  CHECK(str(after.at("talent"), "status") == "erased");
  CHECK(str(after.at("talent").at("profile"), "display_name") == "[erased]");
  CHECK(server.store().verify().ok);
}

TEST_CASE("http: every class of bad request answers its status and JSON error, appending nothing") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  auto talent = str(coordinator.created("/v1/talents", registration()), "talent_id");
  coordinator.ok("/v1/talents/" + talent + "/pause");
  const auto head = server.store().head_position();

  struct bad {
    std::string what;
    http::verb method;
    std::string target;
    std::string body;
    headers extra;
    unsigned status;
    std::string code;
    std::string field;
  };
  std::string reg = registration();
  std::string big(70 * 1024, 'x');
  const std::vector<bad> cases = {
      {"malformed JSON",
       http::verb::post,
       "/v1/talents",
       "{\"display_name\":",
       {},
       400,
       "invalid_json",
       ""},
      {"not an object", http::verb::post, "/v1/talents", "[1,2]", {}, 400, "invalid_json", ""},
      {"invalid UTF-8",
       http::verb::post,
       "/v1/talents",
       "{\"display_name\":\"\xff\xfe\"}",
       {},
       400,
       "invalid_json",
       ""},
      {"wrong type",
       http::verb::post,
       "/v1/talents",
       R"({"display_name":"a","email":"b@example.jp","consent_version":7})",
       {},
       400,
       "invalid_type",
       "consent_version"},
      {"missing field",
       http::verb::post,
       "/v1/talents",
       R"({"display_name":"a","email":"b@example.jp"})",
       {},
       400,
       "missing_field",
       "consent_version"},
      {"unknown field",
       http::verb::post,
       "/v1/talents",
       R"({"display_name":"a","email":"b@example.jp","consent_version":"1","favourite":"x"})",
       {},
       400,
       "unknown_field",
       "favourite"},
      {"nested duplicate field",
       http::verb::post,
       "/v1/talents",
       R"({"display_name":"a","email":"b@example.jp","consent_version":"1",)"
       R"("availability":{"hours_per_week":8,"hours_per_week":9}})",
       {},
       400,
       "duplicate_field",
       "availability.hours_per_week"},
      {"bad enum value",
       http::verb::post,
       "/v1/needs",
       R"({"lg_code":"131016","origin":"rumour","problem":"x"})",
       {},
       400,
       "invalid_value",
       "origin"},
      {"bad lg_code check digit",
       http::verb::post,
       "/v1/needs",
       R"({"lg_code":"131017","origin":"municipality_request","problem":"x"})",
       {},
       400,
       "invalid_value",
       "lg_code"},
      {"client id not a UUID",
       http::verb::post,
       "/v1/talents",
       R"({"id":"me","display_name":"a","email":"b@example.jp","consent_version":"1"})",
       {},
       400,
       "invalid_value",
       "id"},
      {"path id not a UUID",
       http::verb::post,
       "/v1/talents/not-a-uuid/pause",
       "",
       {},
       400,
       "invalid_id",
       "id"},
      {"bad If-Match",
       http::verb::post,
       "/v1/talents/" + talent + "/resume",
       "",
       {{"If-Match", "\"seven\""}},
       400,
       "invalid_header",
       "If-Match"},
      {"bad Idempotency-Key",
       http::verb::post,
       "/v1/talents/" + talent + "/resume",
       "",
       {{"Idempotency-Key", "12345"}},
       400,
       "invalid_header",
       "Idempotency-Key"},
      {"bad X-On-Behalf-Of",
       http::verb::post,
       "/v1/talents/" + talent + "/resume",
       "",
       {{"X-On-Behalf-Of", std::string(200, 'a')}},
       400,
       "invalid_header",
       "X-On-Behalf-Of"},
      {"occurred_at in the future",
       http::verb::post,
       "/v1/talents/" + talent + "/resume",
       R"({"occurred_at":"2999-01-01T00:00:00Z"})",
       {},
       400,
       "invalid_value",
       "occurred_at"},
      {"mixed PATCH",
       http::verb::patch,
       "/v1/talents/" + talent,
       R"({"skills":["sql"],"availability":{"hours_per_week":4}})",
       {},
       422,
       "mixed_update",
       "availability"},
      {"posting without public_posting",
       http::verb::post,
       "/v1/needs/0192f0e0-0000-7000-8000-00000000000a/sourcing",
       R"({"mode":"scout","url":"https://example.jp"})",
       {},
       422,
       "posting_needs_public_posting",
       "url"},
      {"domain rule",
       http::verb::post,
       "/v1/talents/" + talent + "/pause",
       "",
       {},
       409,
       "talent_not_active",
       ""},
      {"no such talent",
       http::verb::post,
       "/v1/talents/0192f0e0-0000-7000-8000-00000000000b/pause",
       "",
       {},
       404,
       "talent_not_found",
       ""},
      {"too large",
       http::verb::post,
       "/v1/talents",
       "{\"display_name\":\"" + big + "\"}",
       {},
       413,
       "body_too_large",
       ""},
      {"unknown route", http::verb::post, "/v1/talent", reg, {}, 404, "not_found", ""},
      {"wrong method", http::verb::delete_, "/v1/talents", "", {}, 405, "method_not_allowed", ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto res = coordinator.call(c.method, c.target, c.body, c.extra);
    CHECK(res.result_int() == c.status);
    CHECK(error_code_of(res) == c.code);
    if (!c.field.empty()) CHECK(error_field_of(res) == c.field);
    auto error = json_of(res).at("error").as_object();
    CHECK(error.size() == 3);  // exactly code, message, field
    CHECK(error.contains("message"));
  }
  // A time before 1970 is refused for what it is, not as one in the future.
  auto early = coordinator.call(http::verb::post, "/v1/talents/" + talent + "/resume",
                                R"({"occurred_at":"1969-12-31T00:00:00Z"})", {});
  CHECK(early.result_int() == 400);
  CHECK(error_field_of(early) == "occurred_at");
  CHECK(std::string(json_of(early).at("error").at("message").as_string()).find("1970") !=
        std::string::npos);
  auto allow =
      std::string(coordinator.call(http::verb::delete_, "/v1/talents").at(http::field::allow));
  CHECK(allow.find("GET") != std::string::npos);
  CHECK(allow.find("POST") != std::string::npos);

  // Tokens: none, a bad one.
  caller nobody{server.port(), ""};
  auto res = nobody.post("/v1/talents", reg);
  CHECK(res.result_int() == 401);
  CHECK(error_code_of(res) == "unauthorized");
  caller forger{server.port(), "kh_definitely-not-a-token"};
  CHECK(forger.post("/v1/talents", reg).result_int() == 401);
  CHECK(forger.get("/v1/pipeline").result_int() == 401);

  // A rejected command appends nothing.
  CHECK(server.store().head_position() == head);
}

TEST_CASE("http: a character no text may hold answers 400 naming the field, appending nothing") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller admin{server.port(), server.issue_token(access_role::admin)};
  auto need = str(coordinator.created("/v1/needs", need_body(chiyoda)), "need_id");
  const auto head = server.store().head_position();
  const auto tokens = admin.read("/v1/tokens").at("tokens").as_array().size();

  struct bad {
    std::string what;
    std::string target;
    std::string body;
    std::string code;
    std::string field;
    std::string character;
  };
  const std::vector<bad> cases = {
      {"a line separator in a name", "/v1/talents", registration("山田\u2028花子"), "invalid_value",
       "display_name", "U+2028"},
      {"a raw paragraph separator in a department", "/v1/needs",
       "{\"lg_code\":\"131016\",\"origin\":\"municipality_request\",\"problem\":\"p\","
       "\"department\":\"DX\xe2\x80\xa9課\"}",
       "invalid_value", "department", "U+2029"},
      {"a noncharacter in multi-line notes", "/v1/needs/" + need + "/hearings",
       R"({"held_on":"2025-05-01","attendees":["佐藤"],"notes":"a\ufdd0b"})", "invalid_value",
       "notes", "U+FDD0"},
      {"a byte order mark in a list element", "/v1/needs/" + need + "/hearings",
       R"({"held_on":"2025-05-01","attendees":["佐藤","\ufeff鈴木"]})", "invalid_value",
       "attendees[1]", "U+FEFF"},
      {"a token name with a line separator", "/v1/tokens",
       R"({"role":"dashboard","name":"ops\u2028team"})", "invalid_name", "name", "U+2028"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto res = (c.target == "/v1/tokens" ? admin : coordinator).post(c.target, c.body);
    CHECK(res.result_int() == 400);
    CHECK(error_code_of(res) == c.code);
    CHECK(error_field_of(res) == c.field);
    auto message = std::string(json_of(res).at("error").at("message").as_string());
    CHECK(message.find(c.field + " must not contain the ") == 0);
    CHECK(message.find(c.character) != std::string::npos);
  }
  CHECK(server.store().head_position() == head);
  CHECK(admin.read("/v1/tokens").at("tokens").as_array().size() == tokens);

  // Multi-line text takes a line separator like a line feed.
  coordinator.ok("/v1/needs/" + need + "/hearings",
                 R"({"held_on":"2025-05-01","attendees":["佐藤"],"notes":"一行目\u2028二行目"})");
  CHECK(server.store().head_position() == head + 1);
}

TEST_CASE("http: read-only roles and other municipalities may not command") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller auditor{server.port(), server.issue_token(access_role::auditor)};
  caller dashboard{server.port(), server.issue_token(access_role::dashboard)};
  caller chiyoda_office{server.port(), server.issue_token(access_role::municipality, chiyoda)};
  caller chuo_office{server.port(), server.issue_token(access_role::municipality, chuo)};

  auto own = propose(coordinator, chiyoda);
  const auto head = server.store().head_position();

  for (const caller* reader : {&auditor, &dashboard}) {
    CHECK(reader->post("/v1/talents", registration()).result_int() == 403);
    CHECK(reader->post("/v1/needs", need_body(chiyoda)).result_int() == 403);
    CHECK(reader->post("/v1/candidacies/" + own.candidacy_id + "/archive", R"({"reason":"x"})")
              .result_int() == 403);
  }
  // Never on talents, not even registering one.
  CHECK(chiyoda_office.post("/v1/talents", registration()).result_int() == 403);
  CHECK(chiyoda_office.post("/v1/talents/" + own.talent_id + "/pause").result_int() == 403);
  // Not another municipality's need, candidacy or contact (a case it may not see is not found:
  // the next test).
  CHECK(chuo_office.post("/v1/needs", need_body(chiyoda)).result_int() == 403);
  CHECK(chuo_office.post("/v1/needs/" + own.need_id + "/hold").result_int() == 404);
  auto res = chuo_office.post("/v1/candidacies/" + own.candidacy_id + "/decision",
                              R"({"accepted":true,"decided_by":"課長"})");
  CHECK(res.result_int() == 404);
  CHECK(error_code_of(res) == "candidacy_not_found");
  CHECK(chuo_office.post("/v1/municipalities/131016/contact", R"({"contact":{"name":"x"}})")
            .result_int() == 403);
  // Only the admin erases.
  CHECK(coordinator.post("/v1/talents/" + own.talent_id + "/erase", R"({"reason":"x"})")
            .result_int() == 403);
  CHECK(server.store().head_position() == head);

  // Its own municipality: it opens needs and decides on what was proposed to it, as the officer.
  auto opened = chiyoda_office.created("/v1/needs", need_body(chiyoda));
  CHECK(str(opened, "stream").rfind("need-", 0) == 0);
  chiyoda_office.ok("/v1/candidacies/" + own.candidacy_id + "/decision",
                    R"({"accepted":false,"reason":"時間が合わない","decided_by":"課長"})");
  chiyoda_office.ok("/v1/municipalities/131016/contact",
                    R"({"contact":{"name":"鈴木","department":"DX推進課"}})");
}

TEST_CASE("http: a municipality's command on a case it may not see answers as an unknown id") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller chiyoda_office{server.port(), server.issue_token(access_role::municipality, chiyoda)};

  const auto [other, own, other_appointment, unproposed, unknown] =
      hidden_from_chiyoda(coordinator);
  const auto head = server.store().head_position();

  struct attempt {
    std::string collection, action, body, code;
    std::vector<std::string> hidden;  // ids the token may not see
  };
  const std::vector<attempt> attempts = {
      {"needs", "/hold", "", "need_not_found", {other.need_id}},
      {"needs",
       "/hearings",
       R"({"held_on":"2025-05-01","notes":"n"})",
       "need_not_found",
       {other.need_id}},
      {"candidacies",
       "/decision",
       R"({"accepted":true,"decided_by":"課長"})",
       "candidacy_not_found",
       {other.candidacy_id, unproposed}},
      {"candidacies", "/contact", "", "candidacy_not_found", {other.candidacy_id, unproposed}},
      {"candidacies",
       "/archive",
       R"({"reason":"x"})",
       "candidacy_not_found",
       {other.candidacy_id, unproposed}},
      {"appointments", "/start", "", "appointment_not_found", {other_appointment}},
      {"appointments",
       "/check-ins",
       R"({"due_on":"2025-09-01","party":"municipality"})",
       "appointment_not_found",
       {other_appointment}},
  };
  for (const auto& a : attempts) {
    auto expected = chiyoda_office.post("/v1/" + a.collection + "/" + unknown + a.action, a.body);
    CHECK(expected.result_int() == 404);
    CHECK(error_code_of(expected) == a.code);
    for (const auto& id : a.hidden) {
      CAPTURE(a.collection + "/" + id + a.action);
      auto res = chiyoda_office.post("/v1/" + a.collection + "/" + id + a.action, a.body);
      CHECK(res.result_int() == 404);
      CHECK(masked(res.body(), id) == masked(expected.body(), unknown));
    }
  }
  // An appointment from a candidacy it may not see is refused as one from no candidacy.
  auto arrange = [&](const std::string& candidacy) {
    return chiyoda_office.post("/v1/appointments",
                               R"({"candidacy_id":")" + candidacy +
                                   R"(","form":"remote","starts_on":"2025-08-01",)"
                                   R"("ends_on":"2026-03-31","hours_per_week":8,"scope":"x"})");
  };
  auto expected = arrange(unknown);
  CHECK(expected.result_int() == 403);
  for (const auto& id : {other.candidacy_id, unproposed}) {
    CAPTURE(id);
    auto res = arrange(id);
    CHECK(res.result_int() == 403);
    CHECK(masked(res.body(), id) == masked(expected.body(), unknown));
  }
  CHECK(server.store().head_position() == head);

  // What was proposed to it, it acts on.
  chiyoda_office.ok("/v1/candidacies/" + own.candidacy_id + "/decision",
                    R"({"accepted":true,"reason":"経験が合う","decided_by":"課長"})");
}

TEST_CASE("http: a municipality token identifies no candidates, so it learns nothing of talents") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller chiyoda_office{server.port(), server.issue_token(access_role::municipality, chiyoda)};

  // Its own need, ready for proposals, with a candidacy of the talent `own.talent_id`; an active
  // talent, a paused one and an id no talent has.
  auto own = propose(coordinator, chiyoda);
  const std::string active =
      str(coordinator.created("/v1/talents", registration("佐藤 次郎")), "talent_id");
  const std::string paused =
      str(coordinator.created("/v1/talents", registration("鈴木 三郎")), "talent_id");
  coordinator.ok("/v1/talents/" + paused + "/pause");
  const std::string unknown = "0192f0e0-0000-7000-8000-00000000beef";
  const auto head = server.store().head_position();

  // Every answer is the same refusal, whatever the talent's state.
  auto expected = chiyoda_office.post("/v1/candidacies", candidacy_body(unknown, own.need_id));
  CHECK(expected.result_int() == 403);
  CHECK(error_code_of(expected) == "forbidden");
  for (const auto& talent : {active, paused, own.talent_id}) {
    CAPTURE(talent);
    auto res = chiyoda_office.post("/v1/candidacies", candidacy_body(talent, own.need_id));
    CHECK(res.result_int() == 403);
    CHECK(masked(res.body(), talent) == masked(expected.body(), unknown));
    // A talent-driven idea for itself neither.
    res =
        chiyoda_office.post("/v1/candidacies", R"({"talent_id":")" + talent +
                                                   R"(","lg_code":"131016",)"
                                                   R"("direction":"talent_driven","source":"x"})");
    CHECK(res.result_int() == 403);
    CHECK(masked(res.body(), talent) == masked(expected.body(), unknown));
  }
  CHECK(server.store().head_position() == head);
}

TEST_CASE("http: a municipality token names only its own municipality in X-On-Behalf-Of") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller chiyoda_office{server.port(), server.issue_token(access_role::municipality, chiyoda)};
  const std::string need = str(chiyoda_office.created("/v1/needs", need_body(chiyoda)), "need_id");
  const std::string n = "/v1/needs/" + need;
  const auto head = server.store().head_position();

  for (std::string other : {"municipality:131024", "municipality:13101", "coordinator:1"}) {
    CAPTURE(other);
    auto res = chiyoda_office.post(n + "/hold", "", {{"X-On-Behalf-Of", other}});
    CHECK(res.result_int() == 403);
    CHECK(error_code_of(res) == "on_behalf_of_not_allowed");
    CHECK(error_field_of(res) == "X-On-Behalf-Of");
  }
  CHECK(server.store().head_position() == head);

  // Itself, or no one: recorded as sent.
  auto on_hold = chiyoda_office.ok(n + "/hold", "", {{"X-On-Behalf-Of", "municipality:131016"}});
  chiyoda_office.ok(n + "/resume");
  // Other roles name whom they enter a command for, as before.
  coordinator.ok(n + "/hold", "", {{"X-On-Behalf-Of", "municipality:131024"}});
  auto events = coordinator.read("/v1/streams/need-" + need).at("events").as_array();
  REQUIRE(events.size() == 4);
  CHECK(events[1].at("position") == on_hold.at("position"));
  CHECK(str(events[1], "actoronbehalfof") == "municipality:131016");
  CHECK(!events[2].as_object().contains("actoronbehalfof"));
  CHECK(str(events[3], "actoronbehalfof") == "municipality:131024");
}

TEST_CASE("http: a coordinator's decision must say on whose behalf it is entered") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  auto c = propose(coordinator, chiyoda);
  const std::string decision = "/v1/candidacies/" + c.candidacy_id + "/decision";
  auto res = coordinator.post(decision, R"({"accepted":true,"decided_by":"課長"})");
  CHECK(res.result_int() == 409);
  CHECK(error_code_of(res) == "on_behalf_of_required");
  coordinator.ok(decision, R"({"accepted":true,"decided_by":"課長"})",
                 {{"X-On-Behalf-Of", "municipality:131016"}});
}

TEST_CASE("http: Idempotency-Key replays the first outcome and If-Match guards the version") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  const headers key{{"Idempotency-Key", "0192f0e0-1111-7000-8000-000000000001"}};

  auto first = coordinator.created("/v1/talents", registration(), key);
  const auto head = server.store().head_position();
  auto res = coordinator.post("/v1/talents", registration(), key);
  REQUIRE(res.result_int() == 201);
  CHECK(res.at("Idempotent-Replayed") == "true");
  auto again = json_of(res);
  CHECK(again.at("talent_id") == first.at("talent_id"));
  CHECK(again.at("position") == first.at("position"));
  CHECK(again.at("event_id") == first.at("event_id"));
  CHECK(server.store().head_position() == head);

  // The same key for another command is refused.
  const std::string talent = str(first, "talent_id");
  res = coordinator.post("/v1/talents/" + talent + "/pause", "", key);
  CHECK(res.result_int() == 409);
  CHECK(error_code_of(res) == "idempotency_key_reused");

  // A retried hearing answers the same hearing_id, though the server made it.
  auto need = str(coordinator.created("/v1/needs", need_body(chiyoda)), "need_id");
  const headers hearing_key{{"Idempotency-Key", "0192f0e0-1111-7000-8000-000000000002"}};
  const std::string hearing = R"({"held_on":"2025-05-01","notes":"n"})";
  auto h1 = coordinator.ok("/v1/needs/" + need + "/hearings", hearing, hearing_key);
  auto h2 = coordinator.ok("/v1/needs/" + need + "/hearings", hearing, hearing_key);
  CHECK(h1.at("hearing_id") == h2.at("hearing_id"));
  CHECK(h1.at("position") == h2.at("position"));

  // If-Match: the talent is at version 0.
  res = coordinator.post("/v1/talents/" + talent + "/pause", "", {{"If-Match", "\"3\""}});
  CHECK(res.result_int() == 409);
  CHECK(error_code_of(res) == "wrong_expected_version");
  CHECK(error_field_of(res) == "expected_version");
  res = coordinator.post("/v1/talents/" + talent + "/pause", "", {{"If-Match", "\"0\""}});
  REQUIRE(res.result_int() == 200);
  CHECK(res.at(http::field::etag) == "\"1\"");
  CHECK(json_of(res).at("version").as_int64() == 1);
}

TEST_CASE("http: PATCH on a talent is one event, chosen by its fields") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  auto talent = str(coordinator.created("/v1/talents", registration()), "talent_id");
  auto profile = coordinator.call(http::verb::patch, "/v1/talents/" + talent,
                                  R"({"skills":["figma","python"],"employer":"New KK"})");
  REQUIRE(profile.result_int() == 200);
  auto availability = coordinator.call(
      http::verb::patch, "/v1/talents/" + talent,
      R"({"availability":{"hours_per_week":12,"work_forms":["onsite"],"areas":["131016"]}})");
  REQUIRE(availability.result_int() == 200);
  auto types = coordinator.read("/v1/streams/talent-" + talent);
  std::vector<std::string> seen;
  for (const auto& e : types.at("events").as_array())
    seen.push_back(str(e, "type"));
  CHECK(seen == std::vector<std::string>{"TalentRegistered", "TalentProfileUpdated",
                                         "TalentAvailabilityChanged"});
  auto view =
      coordinator.read("/v1/talents/" + talent + "?" + min_position_of(json_of(availability)));
  CHECK(view.at("talent").at("availability").at("hours_per_week").as_int64() == 12);
  CHECK(str(view.at("talent").at("profile"), "employer") == "New KK");
}

TEST_CASE("http: a skill that is no taxonomy code appends nothing, and stored ones still read") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  auto talent = str(coordinator.created("/v1/talents", registration()), "talent_id");
  auto need = str(coordinator.created("/v1/needs", need_body(chiyoda)), "need_id");
  coordinator.ok("/v1/needs/" + need + "/hearings",
                 R"({"held_on":"2025-05-01","attendees":["佐藤"],"notes":"初回","findings":"UI"})");
  const std::string requirements =
      R"({"role_category":"ui_ux_designer","tier":"hands_on","openings":1,"skills":)";

  const auto before = server.store().head_position();
  std::string unknown = registration();
  unknown.replace(unknown.find(R"(["figma","accessibility"])"), 25, R"(["figma","UiPath"])");
  const struct {
    http::verb method;
    std::string target, body, field;
  } refused[] = {
      {http::verb::post, "/v1/talents", unknown, "skills[1]"},
      {http::verb::patch, "/v1/talents/" + talent, R"({"skills":["Python"]})", "skills[0]"},
      {http::verb::post, "/v1/needs/" + need + "/requirements", requirements + R"(["rpa",""]})",
       "skills[1]"},
  };
  for (const auto& r : refused) {
    CAPTURE(r.body);
    auto res = coordinator.call(r.method, r.target, r.body);
    CHECK(res.result_int() == 400);
    CHECK(error_code_of(res) == "invalid_value");
    CHECK(error_field_of(res) == r.field);
    CHECK(str(json_of(res).at("error"), "message")
              .find("must be a skill of reference/taxonomy.tsv") != std::string::npos);
  }
  CHECK(server.store().head_position() == before);

  // Requirements stored while skills were free text are read, shown and matched on as stored.
  new_event old;
  old.type = "RequirementsDefined";
  old.payload =
      build_payload<schema::RequirementsDefined>([](schema::RequirementsDefined::Builder r) {
        r.setRevision(1);
        r.setRoleCategory("ui_ux_designer");
        r.setTier(schema::Tier::HANDS_ON);
        auto skills = r.initSkills(2);
        skills.set(0, "UIデザイン");
        skills.set(1, "figma");
        r.setOpenings(1);
      });
  old.who = actor{"coord-1", "coordinator", ""};
  append_request request;
  request.streams.push_back({"need-" + need, expected_version::any(), {std::move(old)}});
  auto appended = server.store().append(std::move(request));
  REQUIRE(appended.ok());
  const std::string wait = "?min_position=" + std::to_string(appended->last_position);
  auto shown = coordinator.read("/v1/needs/" + need + wait);
  CHECK(json::serialize(shown.at("need").at("requirements").at("skills")) ==
        R"(["UIデザイン","figma"])");
  auto matches = coordinator.read("/v1/needs/" + need + "/matches" + wait);
  const auto& first = matches.at("matches").at(0);
  CHECK(str(first, "talent_id") == talent);
  CHECK(json::serialize(first.at("reasons")).find("skill: figma") != std::string::npos);
  auto stream = coordinator.read("/v1/streams/need-" + need);
  const auto& events = stream.at("events").as_array();
  CHECK(json::serialize(events.back().at("data").at("skills")) == R"(["UIデザイン","figma"])");
}

}  // namespace kakehashi::test
