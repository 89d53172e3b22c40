// Helpers for tests that speak the JSON API: one authenticated caller per token, each call on a
// fresh connection, and accessors for JSON bodies and error codes.
#pragma once

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "test_support.h"

namespace kakehashi::test {

using headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* chiyoda = "131016";  // 千代田区
constexpr const char* chuo = "131024";     // 中央区

// A server with the whole backend: command service and read-model runner.
inline backend_setup full() {
  return backend_setup{true, {}};
}

// `min_position=P` for the position a command answered with: a read that waits for it.
inline std::string min_position_of(const boost::json::object& outcome) {
  return "min_position=" + std::to_string(outcome.at("position").as_int64());
}

inline boost::json::object json_of(const response& res) {
  boost::json::error_code ec;
  auto v = boost::json::parse(res.body(), ec);
  REQUIRE_MESSAGE(!ec, "not JSON: " << res.body());
  REQUIRE_MESSAGE(v.is_object(), "not a JSON object: " << res.body());
  return v.as_object();
}

inline std::string error_code_of(const response& res) {
  auto body = json_of(res);
  REQUIRE_MESSAGE(body.contains("error"), "no error in: " << res.body());
  return std::string(body.at("error").at("code").as_string());
}

inline std::string error_field_of(const response& res) {
  return std::string(json_of(res).at("error").at("field").as_string());
}

inline std::string str(const boost::json::value& v, std::string_view key) {
  return std::string(v.at(key).as_string());
}

// Calls the API as one token.
struct caller {
  unsigned short port;
  std::string token;

  response call(http::verb method, std::string_view target, std::string body = {},
                const headers& extra = {}) const {
    client c(port);
    auto req = make_request(method, target, std::move(body));
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!req.body().empty()) req.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : extra)
      req.set(name, value);
    return c.send(std::move(req));
  }
  response get(std::string_view target) const { return call(http::verb::get, target); }
  response post(std::string_view target, std::string body = {}, const headers& extra = {}) const {
    return call(http::verb::post, target, std::move(body), extra);
  }
  // POSTs and requires `status`; returns the JSON body.
  boost::json::object ok(std::string_view target, std::string body = {}, const headers& extra = {},
                         http::status status = http::status::ok) const {
    auto res = post(target, std::move(body), extra);
    REQUIRE_MESSAGE(res.result() == status,
                    target << " -> " << res.result_int() << " " << res.body());
    return json_of(res);
  }
  boost::json::object created(std::string_view target, std::string body,
                              const headers& extra = {}) const {
    return ok(target, std::move(body), extra, http::status::created);
  }
  // GETs and requires 200.
  boost::json::object read(std::string_view target) const {
    auto res = get(target);
    REQUIRE_MESSAGE(res.result() == http::status::ok,
                    target << " -> " << res.result_int() << " " << res.body());
    return json_of(res);
  }
};

// A registration body as API.md's example, with a chosen name.
inline std::string registration(std::string_view name = "山田 花子") {
  return std::string(R"({"display_name":")") + std::string(name) +
         R"(","email":"hanako@example.jp","phone":"090-0000-0000","employer":"Example KK",)"
         R"("residence_area":"132241","role_categories":["ui_ux_designer"],)"
         R"("skills":["figma","accessibility"],"tiers":["hands_on"],)"
         R"("availability":{"hours_per_week":8,"work_forms":["remote","spot"],"areas":["132241"]},)"
         R"("consent_version":"2024-04"})";
}

inline std::string need_body(std::string_view lg_code) {
  return std::string(R"({"lg_code":")") + std::string(lg_code) +
         R"(","origin":"municipality_request","department":"DX推進課","problem":"RPAを導入したが使える人がいない"})";
}

inline std::string candidacy_body(const std::string& talent_id, const std::string& need_id) {
  return R"({"talent_id":")" + talent_id + R"(","need_id":")" + need_id +
         R"(","direction":"need_driven","source":"scout"})";
}

// A need with requirements and a candidate proposed to the municipality: what the
// authorization and decision tests start from.
struct proposed_case {
  std::string talent_id, need_id, candidacy_id;
};

inline proposed_case propose(const caller& coordinator, const std::string& lg_code) {
  proposed_case out;
  out.talent_id = str(coordinator.created("/v1/talents", registration()), "talent_id");
  out.need_id = str(coordinator.created("/v1/needs", need_body(lg_code)), "need_id");
  coordinator.ok("/v1/needs/" + out.need_id + "/hearings",
                 R"({"held_on":"2025-05-01","attendees":["佐藤"],"notes":"初回","findings":"RPA"})",
                 {}, http::status::ok);
  coordinator.ok("/v1/needs/" + out.need_id + "/requirements",
                 R"({"role_category":"rpa_specialist","tier":"hands_on","skills":["rpa"],)"
                 R"("work_forms":["remote"],"hours_per_week":8,"duration_months":6,"openings":1})");
  out.candidacy_id =
      str(coordinator.created("/v1/candidacies", candidacy_body(out.talent_id, out.need_id)),
          "candidacy_id");
  const std::string c = "/v1/candidacies/" + out.candidacy_id;
  coordinator.ok(c + "/contact");
  coordinator.ok(c + "/interest");
  coordinator.ok(c + "/propose");
  return out;
}

// A new talent identified for `need_id` and left there: a candidacy not (yet) proposed.
inline std::string identify(const caller& coordinator, const std::string& need_id) {
  auto talent = str(coordinator.created("/v1/talents", registration("佐藤 次郎")), "talent_id");
  return str(coordinator.created("/v1/candidacies", candidacy_body(talent, need_id)),
             "candidacy_id");
}

// Accepts a proposed case (the coordinator, on the officer's behalf) and arranges its
// appointment; answers the appointment's creation.
inline boost::json::object appoint(const caller& coordinator, const proposed_case& c,
                                   const std::string& lg_code) {
  coordinator.ok("/v1/candidacies/" + c.candidacy_id + "/decision",
                 R"({"accepted":true,"reason":"経験が合う","decided_by":"課長"})",
                 {{"X-On-Behalf-Of", "municipality:" + lg_code}});
  return coordinator.created("/v1/appointments",
                             R"({"candidacy_id":")" + c.candidacy_id +
                                 R"(","form":"remote","starts_on":"2025-08-01",)"
                                 R"("ends_on":"2026-03-31","hours_per_week":8,"scope":"RPA研修"})");
}

// What a Chiyoda (131016) token may not see, set up by a coordinator: Chuo's need, candidacy and
// appointment, and a candidacy on Chiyoda's own need that was never proposed to it; and an id
// that names nothing, whose answers the others' must equal.
struct hidden_from_chiyoda_cases {
  proposed_case other, own;
  std::string other_appointment, unproposed;
  std::string unknown = "0192f0e0-0000-7000-8000-00000000dead";
};

inline hidden_from_chiyoda_cases hidden_from_chiyoda(const caller& coordinator) {
  hidden_from_chiyoda_cases out;
  out.other = propose(coordinator, chuo);
  out.other_appointment = str(appoint(coordinator, out.other, chuo), "appointment_id");
  out.own = propose(coordinator, chiyoda);
  out.unproposed = identify(coordinator, out.own.need_id);
  return out;
}

// `body` with each occurrence of `id` replaced by "{id}": how answers about two ids compare.
inline std::string masked(std::string body, const std::string& id) {
  for (auto at = body.find(id); at != std::string::npos; at = body.find(id, at))
    body.replace(at, id.size(), "{id}");
  return body;
}

}  // namespace kakehashi::test
