// The dashboard's static files and GET /v1/whoami over a real server: what a browser needs
// (content types, the CSP, revalidation) and what a token may learn about itself.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "api/token_store.h"
#include "api/web_assets.h"
#include "test_support.h"

namespace kakehashi::test {

namespace {

std::string asset_content(std::string_view path) {
  for (const auto& asset : api::web_assets())
    if (asset.path == path) return std::string(asset.content);
  return {};
}

}  // namespace

TEST_CASE("the embedded dashboard holds the page, its modules and the reference data") {
  CHECK(asset_content("/index.html").find("/assets/app.js") != std::string::npos);
  CHECK(!asset_content("/assets/app.js").empty());
  CHECK(!asset_content("/assets/app.css").empty());
  // The labels for role categories and the 62 municipalities come from data/, not from code.
  CHECK(asset_content("/assets/taxonomy.tsv").find("rpa_specialist") != std::string::npos);
  CHECK(asset_content("/assets/municipalities.tsv").find("134210") != std::string::npos);
  // Embedded byte for byte: the page is UTF-8 Japanese.
  CHECK(asset_content("/index.html").find("架け橋") != std::string::npos);
}

TEST_CASE("GET / serves the page without a token, with a CSP that allows only this origin") {
  running_server server;
  client c(server.port());
  auto res = c.get("/");
  REQUIRE(res.result() == http::status::ok);
  CHECK(res[http::field::content_type] == "text/html; charset=utf-8");
  CHECK(res.body() == asset_content("/index.html"));
  std::string csp(res["Content-Security-Policy"]);
  CHECK(csp.find("default-src 'self'") != std::string::npos);
  CHECK(csp.find("connect-src 'self' ws: wss:") != std::string::npos);
  CHECK(csp.find("'unsafe-inline'") == std::string::npos);
  CHECK(res[http::field::cache_control] == "no-cache");
  CHECK(res["X-Content-Type-Options"] == "nosniff");
}

TEST_CASE("assets get their content types, and a revalidation with the ETag gets 304") {
  running_server server;
  client c(server.port());
  auto js = c.get("/assets/app.js");
  REQUIRE(js.result() == http::status::ok);
  CHECK(js[http::field::content_type] == "text/javascript; charset=utf-8");
  CHECK(c.get("/assets/app.css")[http::field::content_type] == "text/css; charset=utf-8");
  CHECK(c.get("/assets/favicon.svg")[http::field::content_type] == "image/svg+xml");

  std::string etag(js[http::field::etag]);
  REQUIRE(etag.size() > 2);
  auto req = make_request(http::verb::get, "/assets/app.js");
  req.set(http::field::if_none_match, etag);
  auto again = c.send(req);
  CHECK(again.result() == http::status::not_modified);
  CHECK(again.body().empty());
  CHECK(again[http::field::etag] == etag);

  // Another file's tag does not match.
  auto other = make_request(http::verb::get, "/assets/app.css");
  other.set(http::field::if_none_match, etag);
  CHECK(c.send(other).result() == http::status::ok);
}

TEST_CASE("an unknown asset is a 404 with the JSON error, and assets refuse other methods") {
  running_server server;
  client c(server.port());
  auto missing = c.get("/assets/nope.js");
  CHECK(missing.result() == http::status::not_found);
  CHECK(boost::json::parse(missing.body()).at("error").at("code") == "not_found");
  CHECK(c.get("/assets/../index.html").result() == http::status::not_found);
  auto post = c.send(make_request(http::verb::post, "/assets/app.js", "x"));
  CHECK(post.result() == http::status::method_not_allowed);
}

TEST_CASE("GET /v1/whoami tells a token its role, municipality and read rights") {
  running_server server;
  client c(server.port());
  CHECK(c.get("/v1/whoami").result() == http::status::unauthorized);

  auto ask = [&](access_role role, std::string lg_code) {
    auto issued = api::token_store(server.data_dir()).issue({role, std::move(lg_code), "who"});
    REQUIRE(issued.ok());
    auto req = make_request(http::verb::get, "/v1/whoami");
    req.set(http::field::authorization, "Bearer " + issued->bearer);
    auto res = c.send(req);
    REQUIRE(res.result() == http::status::ok);
    return boost::json::parse(res.body()).as_object();
  };
  auto officer = ask(access_role::municipality, "131016");
  CHECK(officer.at("role") == "municipality");
  CHECK(officer.at("lg_code") == "131016");
  CHECK(officer.at("personal_data") == false);
  CHECK(officer.at("read_only") == false);

  auto coordinator = ask(access_role::coordinator, "");
  CHECK(coordinator.at("lg_code").is_null());
  CHECK(coordinator.at("personal_data") == true);
  CHECK(coordinator.at("verify_chain") == false);

  auto auditor = ask(access_role::auditor, "");
  CHECK(auditor.at("read_only") == true);
  CHECK(auditor.at("verify_chain") == true);

  auto dashboard = ask(access_role::dashboard, "");
  CHECK(dashboard.at("personal_data") == false);
  CHECK(dashboard.at("read_only") == true);
}

}  // namespace kakehashi::test
