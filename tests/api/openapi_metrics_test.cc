// GET /v1/openapi.json covers every route the router knows; GET /metrics exposes Prometheus text
// with what the API measured and no personal data.
#include "api/authenticator.h"
#include "api/openapi.h"
#include "api/routes.h"
#include "http_helpers.h"

namespace kakehashi::test {

namespace json = boost::json;

TEST_CASE("http: the OpenAPI document describes every route the router has") {
  running_server server({}, full());
  caller admin{server.port(), server.issue_token(access_role::admin)};
  auto doc = admin.read("/v1/openapi.json");
  CHECK(str(doc, "openapi") == "3.1.0");
  const auto& paths = doc.at("paths").as_object();

  // The same routes the server was built with.
  api::authenticator_options auth_options;
  auth_options.data_dir = server.data_dir();
  auto auth = api::authenticator::open(std::move(auth_options));
  REQUIRE(auth.ok());
  api::backend parts{&server.store(), &server.commands(), &server.projections()};
  auto routes = api::build_routes(parts, std::shared_ptr<api::authenticator>(std::move(*auth)));
  auto listed = routes.list();
  CHECK(listed.size() > 50);
  // A documented template ("/assets/{file}") covers the literal routes it names (each asset
  // is a route of its own).
  auto covers = [](std::string_view doc, std::string_view route) {
    auto segments = [](std::string_view path) {
      std::vector<std::string_view> out;
      while (!path.empty()) {
        path.remove_prefix(1);
        auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
      }
      return out;
    };
    auto d = segments(doc), r = segments(route);
    if (d.size() != r.size()) return false;
    for (std::size_t i = 0; i < d.size(); ++i)
      if (d[i] != r[i] && !(d[i].size() > 2 && d[i].front() == '{')) return false;
    return true;
  };
  for (const auto& r : listed) {
    std::string method(http::to_string(r.method));
    for (auto& ch : method)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    CAPTURE(method);
    CAPTURE(r.pattern);
    bool found = false;
    for (const auto& [path, item] : paths)
      found = found || (covers(path, r.pattern) && item.as_object().contains(method));
    CHECK(found);
  }

  // Command bodies come from the event schemas: required fields, enums, personal fields.
  const auto& schemas = doc.at("components").at("schemas").as_object();
  const auto& registered = schemas.at("TalentRegistered").as_object();
  auto required = json::serialize(registered.at("required"));
  CHECK(required.find("consent_version") != std::string::npos);
  CHECK(required.find("display_name") != std::string::npos);
  CHECK(registered.at("properties").at("display_name").at("x-personal").as_bool());
  CHECK(!registered.at("properties").as_object().contains("sealed"));
  // A reason about the talent is personal too (schema_version 2 of these types).
  for (const char* type : {"TalentPaused", "TalentResumed", "TalentWithdrew", "InterestDeclined",
                           "TalentConsentRevoked"})
    CHECK(schemas.at(type).at("properties").at("reason").at("x-personal").as_bool());
  // So is what is written about a placement (schema_version 2 of these types).
  for (auto [type, field] : {std::pair{"AppointmentSuspended", "reason"},
                             {"AppointmentResumed", "reason"},
                             {"IssueRaised", "summary"},
                             {"IssueResolved", "resolution"},
                             {"AppointmentEnded", "reason"}}) {
    CAPTURE(type);
    CHECK(schemas.at(type).at("properties").at(field).at("x-personal").as_bool());
  }
  // The input limits and formats of events/domain.capnp, as the validation applies them.
  const auto& talent_fields = registered.at("properties").as_object();
  CHECK(talent_fields.at("display_name").at("maxLength").as_int64() == 100);
  CHECK(str(talent_fields.at("email").as_object(), "format") == "email");
  CHECK(talent_fields.at("skills").at("maxItems").as_int64() == 50);
  CHECK(str(talent_fields.at("role_categories").at("items").as_object(), "format") ==
        "role-category");
  // Skills are codes of the taxonomy, on every event that carries them.
  for (const char* type : {"TalentRegistered", "TalentProfileUpdated", "RequirementsDefined"})
    CHECK(str(schemas.at(type).at("properties").at("skills").at("items").as_object(), "format") ==
          "skill");
  auto origin = json::serialize(schemas.at("NeedOpened").at("properties").at("origin"));
  CHECK(origin.find("municipality_request") != std::string::npos);
  // Attaching an idea takes the need it joins, a UUID.
  const auto& attach = schemas.at("CandidacyAttachedToNeed").as_object();
  CHECK(json::serialize(attach.at("required")) == R"(["need_id"])");
  CHECK(str(attach.at("properties").at("need_id").as_object(), "format") == "uuid");
  CHECK(paths.at("/v1/candidacies/{id}/attach").as_object().contains("post"));
  auto post_talents = paths.at("/v1/talents").at("post").as_object();
  CHECK(post_talents.at("responses").as_object().contains("201"));
  CHECK(paths.at("/healthz").at("get").at("security").as_array().empty());
}

TEST_CASE("http: /metrics counts responses and commands, with no personal data") {
  running_server server({}, full());
  caller coordinator{server.port(), server.issue_token(access_role::coordinator)};
  auto registered = coordinator.created("/v1/talents", registration("metrics 太郎"));
  auto talent = str(registered, "talent_id");
  CHECK(coordinator.post("/v1/talents/" + talent + "/resume").result_int() == 409);
  CHECK(coordinator.get("/v1/nowhere").result_int() == 404);
  // Waits for the registration itself: with min_position=1 a busy machine could read the model
  // before it had the talent (404).
  coordinator.read("/v1/talents/" + talent +
                   "?min_position=" + std::to_string(registered.at("position").as_int64()));

  caller nobody{server.port(), ""};
  CHECK(nobody.get("/metrics").result_int() == 401);
  auto res = coordinator.get("/metrics");
  REQUIRE(res.result_int() == 200);
  CHECK(std::string(res.at(http::field::content_type)).rfind("text/plain", 0) == 0);
  const std::string& text = res.body();
  CHECK(text.find("kakehashi_http_responses_total{code=\"201\"} 1") != std::string::npos);
  CHECK(text.find("kakehashi_http_responses_total{code=\"404\"} 1") != std::string::npos);
  CHECK(text.find("kakehashi_http_responses_total{code=\"409\"} 1") != std::string::npos);
  CHECK(text.find("kakehashi_commands_total{type=\"TalentRegistered\",outcome=\"ok\"} 1") !=
        std::string::npos);
  CHECK(text.find(
            "kakehashi_commands_total{type=\"TalentResumed\",outcome=\"talent_not_paused\"} 1") !=
        std::string::npos);
  CHECK(text.find("kakehashi_command_duration_seconds_count 2") != std::string::npos);
  CHECK(text.find("kakehashi_command_duration_seconds_bucket{le=\"+Inf\"} 2") != std::string::npos);
  CHECK(text.find("kakehashi_log_head_position ") != std::string::npos);
  // The registration was made durable by at least one counted WAL sync.
  auto value_of = [&](const std::string& name) {
    auto at = text.find("\n" + name + " ");
    REQUIRE(at != std::string::npos);
    return std::stod(text.substr(at + name.size() + 2));
  };
  CHECK(value_of("kakehashi_wal_syncs_total") >= 1);
  CHECK(value_of("kakehashi_wal_synced_events_total") >= 1);
  CHECK(value_of("kakehashi_wal_overlapped_syncs_total") <= value_of("kakehashi_wal_syncs_total"));
  CHECK(value_of("kakehashi_wal_sync_seconds_total") > 0);
  CHECK(value_of("kakehashi_wal_sync_seconds_max") > 0);
  CHECK(text.find("# TYPE kakehashi_wal_syncs_total counter") != std::string::npos);
  CHECK(text.find("kakehashi_read_model_lag_events ") != std::string::npos);
  CHECK(text.find("kakehashi_personal_data_reads_total 1") != std::string::npos);
  // Nothing personal, and no ids.
  CHECK(text.find("太郎") == std::string::npos);
  CHECK(text.find("hanako@example.jp") == std::string::npos);
  CHECK(text.find(talent) == std::string::npos);
}

TEST_CASE("http: /metrics counts across municipalities, so a municipality token gets 403") {
  running_server server({}, full());
  caller office{server.port(), server.issue_token(access_role::municipality, "131016")};
  auto refused = office.get("/metrics");
  CHECK(refused.result_int() == 403);
  CHECK(refused.body().find("\"forbidden\"") != std::string::npos);
  CHECK(refused.body().find("kakehashi_") == std::string::npos);
  for (auto role : {access_role::admin, access_role::coordinator, access_role::auditor,
                    access_role::dashboard}) {
    caller reader{server.port(), server.issue_token(role)};
    CHECK(reader.get("/metrics").result_int() == 200);
  }
  // The document describes the API, not the service's activity: open to every role.
  CHECK(office.get("/v1/openapi.json").result_int() == 200);
}

}  // namespace kakehashi::test
