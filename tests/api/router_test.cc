// Unit tests of the pure parts of the API layer: routing, listen addresses, error bodies and
// access-log lines. No sockets.
#include "api/router.h"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <optional>

#include "api/access_log.h"
#include "api/http.h"
#include "api/listen_address.h"

namespace kakehashi::api {

namespace {

http_request request(http::verb method, std::string_view target) {
  return http_request{method, target, 11};
}

// Dispatches synchronously and returns what the route answered.
http_response dispatch(const router& routes, const http_request& req) {
  std::optional<http_response> answer;
  routes.dispatch(req, reply([&](http_response res) { answer = std::move(res); }));
  REQUIRE(answer.has_value());
  return std::move(*answer);
}

boost::json::object error_of(const http_response& res) {
  return boost::json::parse(res.body()).as_object().at("error").as_object();
}

}  // namespace

TEST_CASE("router: exact paths, placeholders, 404 and 405 with Allow") {
  router routes;
  routes.add_sync(http::verb::get, "/healthz",
                  [](const request_view&) { return json_response(http::status::ok, "up"); });
  routes.add_sync(http::verb::get, "/v1/needs/{id}", [](const request_view& req) {
    return json_response(http::status::ok, boost::json::string(req.param("id")));
  });
  routes.add_sync(http::verb::post, "/v1/needs/{id}/hold", [](const request_view& req) {
    return json_response(http::status::ok, boost::json::string(req.query));
  });
  routes.add_sync(http::verb::patch, "/v1/needs/{id}",
                  [](const request_view&) { return json_response(http::status::ok, "patched"); });

  CHECK(dispatch(routes, request(http::verb::get, "/healthz")).body() == "\"up\"");
  CHECK(dispatch(routes, request(http::verb::get, "/healthz?x=1")).body() == "\"up\"");
  CHECK(dispatch(routes, request(http::verb::get, "/v1/needs/abc")).body() == "\"abc\"");
  CHECK(dispatch(routes, request(http::verb::post, "/v1/needs/abc/hold?a=b")).body() == "\"a=b\"");

  auto missing = dispatch(routes, request(http::verb::get, "/v1/needs"));
  CHECK(missing.result() == http::status::not_found);
  CHECK(error_of(missing).at("code") == "not_found");
  // A placeholder never matches an empty segment, and trailing segments do not match.
  CHECK(dispatch(routes, request(http::verb::get, "/v1/needs/")).result() ==
        http::status::not_found);
  CHECK(dispatch(routes, request(http::verb::get, "/healthz/extra")).result() ==
        http::status::not_found);

  auto wrong = dispatch(routes, request(http::verb::delete_, "/v1/needs/abc"));
  CHECK(wrong.result() == http::status::method_not_allowed);
  CHECK(wrong[http::field::allow] == "GET, PATCH");
  CHECK(error_of(wrong).at("code") == "method_not_allowed");
  CHECK(routes.allowed_methods("/nowhere").empty());
}

TEST_CASE("router: a throwing handler answers 500, a dropped reply answers 500") {
  router routes;
  routes.add_sync(http::verb::get, "/boom", [](const request_view&) -> http_response {
    throw std::runtime_error("secret input");
  });
  routes.add(http::verb::get, "/lost", [](const request_view&, reply) {});
  auto boom = dispatch(routes, request(http::verb::get, "/boom"));
  CHECK(boom.result() == http::status::internal_server_error);
  CHECK(boom.body().find("secret") == std::string::npos);
  CHECK(dispatch(routes, request(http::verb::get, "/lost")).result() ==
        http::status::internal_server_error);
}

TEST_CASE("reply: only the first answer counts") {
  int calls = 0;
  reply done([&](http_response) { ++calls; });
  reply copy = done;
  done(json_response(http::status::ok, nullptr));
  copy(json_response(http::status::ok, nullptr));
  CHECK(calls == 1);
}

TEST_CASE("error bodies have code, message and field") {
  auto res = error_response(make_error(errc::conflict, "wrong_expected_version", "stale", "if"));
  CHECK(res.result() == http::status::conflict);
  CHECK(res[http::field::content_type] == "application/json");
  auto err = error_of(res);
  CHECK(err.at("code") == "wrong_expected_version");
  CHECK(err.at("message") == "stale");
  CHECK(err.at("field") == "if");
  CHECK(error_of(error_response(http::status::not_found, "x", "y")).at("field") == "");
  CHECK(status_for(errc::too_large) == http::status::payload_too_large);
  CHECK(status_for(errc::overloaded) == http::status::too_many_requests);
}

TEST_CASE("listen addresses") {
  auto v4 = parse_listen_address("127.0.0.1:8080");
  REQUIRE(v4.ok());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == "8080");
  auto v6 = parse_listen_address("[::1]:0");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == "0");
  CHECK(parse_listen_address("localhost:80").ok());
  for (const char* bad : {"", "8080", ":8080", "host:", "host:x", "host:70000", "::1:80", "[]:1"}) {
    CAPTURE(bad);
    auto parsed = parse_listen_address(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.err().field == "listen");
  }
  using boost::asio::ip::make_address;
  CHECK(format_url({make_address("127.0.0.1"), 9}) == "http://127.0.0.1:9");
  CHECK(format_url({make_address("::1"), 9}) == "http://[::1]:9");
}

TEST_CASE("access log lines are JSON and escape hostile paths") {
  std::string line = format_access_line({"GET", "/a\n\"b\xff", 404, 120, 33});
  auto parsed = boost::json::parse(line).as_object();
  CHECK(parsed.at("method") == "GET");
  CHECK(parsed.at("path") == "/a%0A\"b%FF");
  CHECK(parsed.at("status") == 404);
  CHECK(parsed.at("bytes") == 120);
  CHECK(parsed.at("us") == 33);
  CHECK(parsed.at("time").as_string().size() ==
        std::string_view("2024-01-01T00:00:00.000000Z").size());
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("the access log shows route literals and ids of a path, nothing a client typed") {
  router r;
  auto empty = [](const request_view&) { return http_response{}; };
  r.add_sync(http::verb::get, "/v1/talents/{id}", empty);
  r.add_sync(http::verb::get, "/v1/streams/{stream}", empty);
  r.add_sync(http::verb::get, "/assets/app.js", empty);
  const std::string uuid = "0192f0e0-0000-7000-8000-000000000001";
  CHECK(r.loggable_path("/v1/talents/" + uuid) == "/v1/talents/" + uuid);
  CHECK(r.loggable_path("/v1/streams/need-" + uuid) == "/v1/streams/need-" + uuid);
  CHECK(r.loggable_path("/v1/streams/municipality-131016") == "/v1/streams/municipality-131016");
  CHECK(r.loggable_path("/v1/streams/audit-20415") == "/v1/streams/audit-20415");
  CHECK(r.loggable_path("/assets/app.js") == "/assets/app.js");
  CHECK(r.loggable_path("/") == "/");
  CHECK(r.loggable_path("/v1/talents/") == "/v1/talents/");
  // What a client may type that is not an id: a name, an address, a phone number.
  CHECK(r.loggable_path("/v1/talents/hanako.yamada@example.jp") == "/v1/talents/*");
  CHECK(r.loggable_path("/v1/talents/%E5%B1%B1%E7%94%B0") == "/v1/talents/*");
  CHECK(r.loggable_path("/v1/talents/09012345678") == "/v1/talents/*");
  CHECK(r.loggable_path("/v1/talents/090-1234-5678") == "/v1/talents/*");
  CHECK(r.loggable_path("/yamada/hanako") == "/*/*");
  CHECK(r.loggable_path("/v1/streams/Yamada-" + uuid) == "/v1/streams/*");
}

}  // namespace kakehashi::api
