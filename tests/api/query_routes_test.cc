// The query routes end to end: as-of reads over the demo history, role and municipality
// isolation, read-your-writes, parameter validation and paging.
#include <map>

#include "cli/demo_history.h"
#include "http_helpers.h"

namespace kakehashi::test {

namespace {

namespace json = boost::json;

std::size_t count_items(const json::value& regions) {
  std::size_t n = 0;
  for (const auto& region : regions.as_object())
    n += region.value().as_array().size();
  return n;
}

}  // namespace

TEST_CASE("http: the demo history's headline as of 2025-12-01 is 888 / 22 / 18") {
  backend_setup setup;
  setup.full = true;
  setup.seed = [](event_store& store, command_service& service) {
    auto seeded = demo::seed(store, service, now_micros());
    REQUIRE_MESSAGE(seeded.ok(), (seeded.ok() ? "" : seeded.err().message));
  };
  running_server server({}, setup);
  caller auditor{server.port(), server.issue_token(access_role::auditor)};
  const std::string head = std::to_string(server.store().head_position());

  auto as_of_day = auditor.read("/v1/metrics/headline?as_of=2025-12-01");
  CHECK(as_of_day.at("registrants").as_int64() == 888);
  CHECK(as_of_day.at("appointments").as_int64() == 22);
  CHECK(as_of_day.at("municipalities_with_appointments").as_int64() == 18);

  // The same instant as an RFC 3339 time, the offset's '+' escaped or not.
  for (const char* t : {"2025-12-01T23:59:59.999999+09:00", "2025-12-01T23:59:59.999999%2B09:00",
                        "2025-12-01T14:59:59.999999Z"}) {
    CAPTURE(t);
    auto same = auditor.read(std::string("/v1/metrics/headline?as_of=") + t);
    CHECK(same.at("registrants").as_int64() == 888);
    CHECK(same.at("appointments").as_int64() == 22);
  }
  // A day earlier is a different answer; the live model has the history after the date.
  auto before = auditor.read("/v1/metrics/headline?as_of=2025-04-01");
  CHECK(before.at("registrants").as_int64() < 888);
  auto live = auditor.read("/v1/metrics/headline?min_position=" + head);
  CHECK(live.at("registrants").as_int64() > 888);

  // As of a position: the whole log reads as the live model does.
  auto at_head = auditor.read("/v1/metrics/headline?as_of=" + head);
  CHECK(at_head.at("registrants") == live.at("registrants"));
  CHECK(at_head.at("appointments") == live.at("appointments"));

  // Other views answer as of the date too.
  auto coverage = auditor.read("/v1/municipalities?as_of=2025-12-01");
  CHECK(coverage.at("with_appointments").as_int64() == 18);
  CHECK(count_items(coverage.at("regions")) == 62);
  auto funnel = auditor.read("/v1/metrics/funnel?as_of=2025-12-01");
  CHECK(funnel.at("appointed").as_int64() == 22);
  CHECK(str(funnel, "today") == "2025-12-01");
}

TEST_CASE("http: queries are narrowed by role and municipality") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller dashboard{server.port(), server.issue_token(access_role::dashboard)};
  caller auditor{server.port(), server.issue_token(access_role::auditor)};
  caller chiyoda_office{server.port(), server.issue_token(access_role::municipality, chiyoda)};

  auto talent = str(coordinator.created("/v1/talents", registration()), "talent_id");
  auto own_need = str(coordinator.created("/v1/needs", need_body(chiyoda)), "need_id");
  auto other = coordinator.created("/v1/needs", need_body(chuo));
  const std::string other_need = str(other, "need_id");
  std::string wait = "?";
  wait += min_position_of(other);

  // The talent pool and cross-municipality metrics are closed to a municipality.
  for (const std::string& target : std::vector<std::string>{
           "/v1/talents", "/v1/talents/" + talent, "/v1/metrics/headline", "/v1/metrics/funnel",
           "/v1/needs/" + own_need + "/matches", "/v1/ideas", "/v1/pipeline?lg_code=131024"}) {
    CAPTURE(target);
    auto res = chiyoda_office.get(target);
    CHECK(res.result_int() == 403);
    CHECK(error_code_of(res) == "forbidden");
  }
  // Another municipality's need is not found (the next test).
  CHECK(chiyoda_office.get("/v1/needs/" + other_need + wait).result_int() == 404);
  // Its own: the pipeline defaults to it, its need reads, the list has only it.
  auto pipeline = chiyoda_office.read("/v1/pipeline" + wait);
  CHECK(str(pipeline, "lg_code") == chiyoda);
  CHECK(pipeline.at("total").as_int64() == 1);
  auto need = chiyoda_office.read("/v1/needs/" + own_need + wait);
  CHECK(str(need.at("need"), "lg_code") == chiyoda);
  auto list = chiyoda_office.read("/v1/municipalities" + wait);
  CHECK(count_items(list.at("regions")) == 1);
  // The global log shows it only its own need's events (and its municipality's).
  auto events = chiyoda_office.read("/v1/events?limit=1000");
  CHECK(!events.at("events").as_array().empty());
  for (const auto& e : events.at("events").as_array()) {
    std::string subject = str(e, "subject");
    CHECK((subject == "need-" + own_need || subject == "municipality-131016"));
  }
  auto stream = chiyoda_office.read("/v1/streams/need-" + other_need);
  CHECK(stream.at("events").as_array().empty());

  // The dashboard reads views and events, never personal data.
  auto seen_by_dashboard = dashboard.read("/v1/talents/" + talent + wait);
  CHECK(!seen_by_dashboard.at("talent").at("profile").as_object().contains("display_name"));
  CHECK(json::serialize(seen_by_dashboard).find("hanako@example.jp") == std::string::npos);
  auto dashboard_events = dashboard.read("/v1/streams/talent-" + talent);
  CHECK(json::serialize(dashboard_events).find("山田") == std::string::npos);
  CHECK(dashboard.get("/v1/audit/verify").result_int() == 403);
  CHECK(coordinator.get("/v1/audit/verify").result_int() == 403);

  // The auditor reads personal data (and that read is recorded in the read log).
  auto seen_by_auditor = auditor.read("/v1/talents/" + talent + wait);
  CHECK(str(seen_by_auditor.at("talent").at("profile"), "display_name") == "山田 花子");
  auto verified = auditor.read("/v1/audit/verify");
  CHECK(verified.at("ok").as_bool());
  CHECK(verified.at("checked").as_int64() > 0);
  // The record is appended asynchronously: poll until the log has it (bounded).
  bool recorded = false;
  for (int i = 0; i < 500 && !recorded; ++i) {
    auto reads = auditor.read("/v1/events?types=PersonalDataRead");
    for (const auto& e : reads.at("events").as_array())
      recorded =
          recorded || json::serialize(e.at("data")).find("talent-" + talent) != std::string::npos;
    if (!recorded) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(recorded);
}

TEST_CASE("http: a municipality reads an id it may not see exactly as an unknown one") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller chiyoda_office{server.port(), server.issue_token(access_role::municipality, chiyoda)};

  const auto [other, own, other_appointment, unproposed, unknown] =
      hidden_from_chiyoda(coordinator);
  const std::string head = std::to_string(server.store().head_position());

  const std::vector<std::pair<std::string, std::vector<std::string>>> hidden = {
      {"needs", {other.need_id}},
      {"candidacies", {other.candidacy_id, unproposed}},
      {"appointments", {other_appointment}},
  };
  // Live (once the model has everything) and as of a position.
  for (const std::string& point : {"?min_position=" + head, "?as_of=" + head}) {
    for (const auto& [collection, ids] : hidden) {
      auto expected = chiyoda_office.get("/v1/" + collection + "/" + unknown + point);
      CHECK(expected.result_int() == 404);
      for (const auto& id : ids) {
        CAPTURE(collection + "/" + id + point);
        // The coordinator reads it: it does exist.
        coordinator.read("/v1/" + collection + "/" + id + point);
        auto res = chiyoda_office.get("/v1/" + collection + "/" + id + point);
        CHECK(res.result_int() == 404);
        CHECK(masked(res.body(), id) == masked(expected.body(), unknown));
      }
    }
  }
  // What it may see reads.
  chiyoda_office.read("/v1/candidacies/" + own.candidacy_id + "?min_position=" + head);
}

TEST_CASE("http: min_position waits for the read model, then answers 504, past the head 400") {
  backend_setup setup = full();
  setup.min_position_wait = std::chrono::milliseconds(200);
  running_server server({}, setup);
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  auto outcome = coordinator.created("/v1/talents", registration());
  // Read-your-writes: at the position the command answered, the talent is there.
  auto list = coordinator.read("/v1/talents?" + min_position_of(outcome));
  CHECK(list.at("talents").as_array().size() == 1);
  // A position nobody has written yet is refused at once, without holding a worker.
  auto res = coordinator.get("/v1/talents?min_position=999999");
  CHECK(res.result_int() == 400);
  CHECK(error_code_of(res) == "invalid_parameter");
  CHECK(error_field_of(res) == "min_position");
  // One written but never applied (the model does not run) is waited for, then 504.
  setup.run_projections = false;
  running_server stalled({}, setup);
  caller writer{stalled.port(), stalled.issue_token(access_role::coordinator)};
  auto unapplied = writer.created("/v1/talents", registration());
  res = writer.get("/v1/talents?" + min_position_of(unapplied));
  CHECK(res.result_int() == 504);
  CHECK(error_code_of(res) == "timeout");
  CHECK(error_field_of(res) == "min_position");
}

TEST_CASE("http: query parameters are validated, and streams and the log page") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  auto talent = str(coordinator.created("/v1/talents", registration()), "talent_id");
  for (const char* action : {"pause", "resume", "pause", "resume"})
    coordinator.ok("/v1/talents/" + talent + "/" + action);
  const std::string stream = "/v1/streams/talent-" + talent;

  struct bad {
    std::string target, code, field;
  };
  const std::vector<bad> cases = {
      {stream + "?limit=0", "invalid_parameter", "limit"},
      {stream + "?limit=1001", "invalid_parameter", "limit"},
      {stream + "?limit=ten", "invalid_parameter", "limit"},
      {stream + "?direction=sideways", "invalid_parameter", "direction"},
      {stream + "?colour=red", "unknown_parameter", "colour"},
      {stream + "?limit=1&limit=2", "duplicate_parameter", "limit"},
      {"/v1/streams/$all", "invalid_stream", "stream"},
      {"/v1/events?types=NoSuchEvent", "invalid_parameter", "types"},
      {"/v1/events?from=0", "invalid_parameter", "from"},
      {"/v1/metrics/headline?as_of=yesterday", "invalid_parameter", "as_of"},
      {"/v1/metrics/headline?as_of=2025-02-30", "invalid_parameter", "as_of"},
      {"/v1/metrics/headline?as_of=99999999", "invalid_parameter", "as_of"},
      {"/v1/metrics/headline?min_position=-1", "invalid_parameter", "min_position"},
      {"/v1/pipeline?lg_code=131017", "invalid_parameter", "lg_code"},
      {"/v1/talents?available=maybe", "invalid_parameter", "available"},
      {"/v1/needs/nope", "invalid_id", "id"},
      {"/v1/talents?skill=%zz", "invalid_parameter", "skill"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.target);
    auto res = coordinator.get(c.target);
    CHECK(res.result_int() == 400);
    CHECK(error_code_of(res) == c.code);
    CHECK(error_field_of(res) == c.field);
  }
  CHECK(coordinator.get("/v1/needs/0192f0e0-0000-7000-8000-00000000000c").result_int() == 404);

  // Five events, two at a time, forward and backward.
  auto page = coordinator.read(stream + "?limit=2");
  REQUIRE(page.at("events").as_array().size() == 2);
  CHECK(page.at("next").as_int64() == 2);
  CHECK(page.at("events").as_array()[0].at("streamversion").as_int64() == 0);
  page = coordinator.read(stream + "?from=4&limit=2");
  CHECK(page.at("events").as_array().size() == 1);
  CHECK(page.at("next").is_null());
  page = coordinator.read(stream + "?direction=backward&limit=2");
  REQUIRE(page.at("events").as_array().size() == 2);
  CHECK(page.at("events").as_array()[0].at("streamversion").as_int64() == 4);
  CHECK(page.at("next").as_int64() == 2);
  // CloudEvents shape.
  const auto& e = page.at("events").as_array()[0];
  CHECK(str(e, "specversion") == "1.0");
  CHECK(str(e, "source") == "kakehashi");
  CHECK(str(e, "type") == "TalentResumed");
  CHECK(str(e, "subject") == "talent-" + talent);

  // The log from a position, filtered by type.
  auto log = coordinator.read("/v1/events?types=TalentPaused,TalentResumed&limit=3");
  CHECK(log.at("events").as_array().size() == 3);
  auto rest = coordinator.read("/v1/events?types=TalentPaused,TalentResumed&from=" +
                               std::to_string(log.at("next_position").as_int64()));
  CHECK(rest.at("events").as_array().size() == 1);
  CHECK(rest.at("end_of_log").as_bool());
}

TEST_CASE("http: a municipality's cursor through the log tells nothing of events it cannot see") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller chiyoda_office{server.port(), server.issue_token(access_role::municipality, chiyoda)};
  coordinator.created("/v1/needs", need_body(chuo));
  auto own = coordinator.created("/v1/needs", need_body(chiyoda));
  coordinator.created("/v1/needs", need_body(chuo));
  coordinator.created("/v1/talents", registration());  // the head moves past the last need
  const auto own_position = own.at("position").as_int64();

  // Paging one at a time through a type it can see: each page is its own need, or the end.
  std::vector<std::int64_t> seen;
  std::string from = "1";
  for (int pages = 0; pages < 10; ++pages) {
    auto page = chiyoda_office.read("/v1/events?types=NeedOpened&limit=1&from=" + from);
    const auto& events = page.at("events").as_array();
    const auto next = page.at("next_position").as_int64();
    if (events.empty()) {
      CHECK(page.at("end_of_log").as_bool());
      CHECK(next == page.at("head_position").as_int64() + 1);
      break;
    }
    seen.push_back(events.back().at("position").as_int64());
    CHECK(next == seen.back() + 1);
    from = std::to_string(next);
  }
  CHECK(seen == std::vector<std::int64_t>{own_position});

  // After its own need the other municipality's need matches, yet the answer is the one for a
  // type nobody has used.
  const std::string after = std::to_string(own_position + 1);
  auto with_hidden = chiyoda_office.read("/v1/events?types=NeedOpened&limit=1&from=" + after);
  auto without = chiyoda_office.read("/v1/events?types=NeedClosed&limit=1&from=" + after);
  CHECK(json::serialize(with_hidden) == json::serialize(without));
}

TEST_CASE("http: a stream a municipality cannot see reads as an unknown one, and next skips") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller chiyoda_office{server.port(), server.issue_token(access_role::municipality, chiyoda)};
  auto talent = str(coordinator.created("/v1/talents", registration()), "talent_id");
  auto other_need = str(coordinator.created("/v1/needs", need_body(chuo)), "need_id");
  auto scouted = str(coordinator.created("/v1/needs", need_body(chiyoda)), "need_id");
  auto plain = str(coordinator.created("/v1/needs", need_body(chiyoda)), "need_id");
  // A candidate attached to `scouted` but not proposed: hidden from the municipality.
  coordinator.created("/v1/candidacies", R"({"talent_id":")" + talent + R"(","need_id":")" +
                                             scouted +
                                             R"(","direction":"need_driven","source":"scout"})");
  const std::string unknown = "need-0192f0e0-0000-7000-8000-00000000000c";

  // The same body for another municipality's need as for a need that never existed.
  for (std::string query : {"", "?limit=1", "?direction=backward&limit=1", "?from=0&limit=1000"}) {
    CAPTURE(query);
    auto hidden = chiyoda_office.get("/v1/streams/need-" + other_need + query);
    auto missing = chiyoda_office.get("/v1/streams/" + unknown + query);
    CHECK(hidden.result() == missing.result());
    std::string body = hidden.body();
    auto name = body.find("need-" + other_need);
    REQUIRE(name != std::string::npos);
    body.replace(name, ("need-" + other_need).size(), unknown);
    CHECK(body == missing.body());
  }

  // Its own need with a hidden CandidateAttached pages exactly as its need without one.
  for (std::string query :
       {"?limit=1", "?limit=2", "?from=1&limit=1", "?direction=backward&limit=1", ""}) {
    CAPTURE(query);
    auto a = chiyoda_office.read("/v1/streams/need-" + scouted + query);
    auto b = chiyoda_office.read("/v1/streams/need-" + plain + query);
    CHECK(json::serialize(a.at("next")) == json::serialize(b.at("next")));
    CHECK(a.at("events").as_array().size() == b.at("events").as_array().size());
  }
  // The coordinator does see the attachment: the stream has two versions.
  auto full_stream = coordinator.read("/v1/streams/need-" + scouted);
  CHECK(full_stream.at("events").as_array().size() == 2);
}

TEST_CASE("http: a talent's reasons are personal data, shown, redacted, logged and erased") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller dashboard{server.port(), server.issue_token(access_role::dashboard)};
  caller auditor{server.port(), server.issue_token(access_role::auditor)};
  caller admin{server.port(), server.issue_token(access_role::admin)};
  auto talent = str(coordinator.created("/v1/talents", registration()), "talent_id");
  // The request still sends `reason`; the codec seals it with the talent's key.
  auto paused = coordinator.ok("/v1/talents/" + talent + "/pause", R"({"reason":"育児のため"})");
  const std::string path = "/v1/events?types=TalentPaused&" + min_position_of(paused);

  auto data_of = [&](caller& who) {
    auto page = who.read(path);
    REQUIRE(page.at("events").as_array().size() == 1);
    return page.at("events").as_array()[0].at("data").as_object();
  };
  CHECK(data_of(dashboard).empty());  // no personal-data rights: the reason is left out
  CHECK(str(data_of(coordinator), "reason") == "育児のため");
  CHECK(str(data_of(auditor), "reason") == "育児のため");

  // Reading the reason is a personal-data read like any other: the log names the talent.
  bool recorded = false;
  for (int i = 0; i < 500 && !recorded; ++i) {
    auto reads = admin.read("/v1/events?types=PersonalDataRead");
    for (const auto& e : reads.at("events").as_array()) {
      auto data = json::serialize(e.at("data"));
      recorded = recorded || (data.find("talent-" + talent) != std::string::npos &&
                              data.find("auditor") != std::string::npos);
    }
    if (!recorded) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(recorded);

  admin.ok("/v1/talents/" + talent + "/erase", R"({"reason":"本人の請求"})");
  CHECK(str(data_of(auditor), "reason") == "[erased]");
  CHECK(server.store().verify().ok);
}

TEST_CASE(
    "http: an appointment's texts are shown, redacted, logged and erased like check-in notes") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  caller dashboard{server.port(), server.issue_token(access_role::dashboard)};
  caller auditor{server.port(), server.issue_token(access_role::auditor)};
  caller admin{server.port(), server.issue_token(access_role::admin)};
  caller chiyoda_office{server.port(), server.issue_token(access_role::municipality, chiyoda)};
  caller chuo_office{server.port(), server.issue_token(access_role::municipality, chuo)};
  auto placed = propose(coordinator, chiyoda);
  const std::string appointment = str(appoint(coordinator, placed, chiyoda), "appointment_id");
  const std::string a = "/v1/appointments/" + appointment;
  // Requests still send the texts where they always did; the codec seals them.
  coordinator.ok(a + "/start");
  coordinator.ok(a + "/check-ins", R"({"party":"talent","rating":4,"notes":"面談で疲れが見える"})");
  coordinator.ok(a + "/suspend", R"({"reason":"体調不良のため休職"})");
  coordinator.ok(a + "/resume", R"({"reason":"主治医の許可が出た"})");
  auto issue = str(coordinator.ok(a + "/issues", R"({"summary":"通院で欠勤が続く"})"), "issue_id");
  auto resolved =
      coordinator.ok(a + "/issues/" + issue + "/resolve", R"({"resolution":"勤務日を火曜に変更"})");
  // The texts by type, with the check-in's notes, which they follow role by role.
  const std::vector<std::pair<std::string, std::string>> texts = {
      {"CheckInCompleted", "面談で疲れが見える"},
      {"AppointmentSuspended", "体調不良のため休職"},
      {"AppointmentResumed", "主治医の許可が出た"},
      {"IssueRaised", "通院で欠勤が続く"},
      {"IssueResolved", "勤務日を火曜に変更"}};
  std::string wait = "?";
  wait += min_position_of(resolved);
  const std::string page = a + wait;

  auto field_of = [](const std::string& type) -> std::string {
    if (type == "CheckInCompleted") return "notes";
    if (type == "IssueRaised") return "summary";
    if (type == "IssueResolved") return "resolution";
    return "reason";
  };
  // The appointment page's timeline entry of each type, as `who` reads it.
  auto timeline_data = [&](caller& who) {
    std::map<std::string, json::object> out;
    auto view = who.read(page);
    for (const auto& e : view.at("timeline").as_array())
      out[str(e, "type")] = e.at("data").as_object();
    return out;
  };
  for (caller* who : {&coordinator, &auditor, &admin}) {
    auto data = timeline_data(*who);
    for (const auto& [type, text] : texts) {
      CAPTURE(type);
      CHECK(str(data.at(type), field_of(type)) == text);
    }
  }
  // No personal-data rights: the dashboard and the appointment's own municipality see the
  // steps without the texts, anywhere in the answer; another municipality sees no appointment.
  for (caller* who : {&dashboard, &chiyoda_office}) {
    auto data = timeline_data(*who);
    auto whole = json::serialize(who->read(page)) +
                 json::serialize(who->read("/v1/streams/appointment-" + appointment)) +
                 json::serialize(who->read("/v1/events?limit=1000"));
    for (const auto& [type, text] : texts) {
      CAPTURE(type);
      REQUIRE(data.count(type) == 1);
      CHECK_FALSE(data.at(type).contains(field_of(type)));
      CHECK(whole.find(text) == std::string::npos);
    }
    CHECK(data.at("IssueRaised").contains("issue_id"));
  }
  CHECK(chuo_office.get(page).result_int() == 404);
  auto chuo_events = json::serialize(chuo_office.read("/v1/events?limit=1000")) +
                     json::serialize(chuo_office.read("/v1/streams/appointment-" + appointment));
  for (const auto& [type, text] : texts)
    CHECK(chuo_events.find(text) == std::string::npos);
  CHECK(chuo_office.read("/v1/streams/appointment-" + appointment).at("events").as_array().empty());

  // The auditor's read of the page is a personal-data read of the appointment, as for notes.
  bool recorded = false;
  for (int i = 0; i < 500 && !recorded; ++i) {
    auto reads = admin.read("/v1/events?types=PersonalDataRead");
    for (const auto& e : reads.at("events").as_array()) {
      auto data = json::serialize(e.at("data"));
      recorded = recorded || (data.find("appointment-" + appointment) != std::string::npos &&
                              data.find("auditor") != std::string::npos &&
                              data.find("GET /v1/appointments/{id}") != std::string::npos);
    }
    if (!recorded) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(recorded);

  admin.ok("/v1/talents/" + placed.talent_id + "/erase", R"({"reason":"本人の請求"})");
  auto erased = timeline_data(auditor);
  for (const auto& [type, text] : texts) {
    CAPTURE(type);
    CHECK(str(erased.at(type), field_of(type)) == "[erased]");
  }
  // The placement is wound up without a text; one would be the erased talent's.
  auto refused = coordinator.post(a + "/end", R"({"kind":"early","reason":"本人の退職"})");
  CHECK(refused.result_int() == 409);
  CHECK(error_code_of(refused) == "subject_erased");
  coordinator.ok(a + "/end", R"({"kind":"early"})");
  CHECK(server.store().verify().ok);
}

}  // namespace kakehashi::test
