// Authentication end to end: a real server over a real store and token file, real sockets, and
// the real `kakehashi token` binary issuing tokens while the server runs.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <cstdio>

#include "api/token_store.h"
#include "test_support.h"

namespace kakehashi::test {

namespace {

boost::json::object json_of(const response& res) {
  return boost::json::parse(res.body()).as_object();
}

std::string error_code_of(const response& res) {
  return std::string(json_of(res).at("error").as_object().at("code").as_string());
}

// Runs `kakehashi ARGS` and returns its stdout; the test fails unless it exits 0.
std::string run_cli(const std::string& args) {
  std::string command = std::string(KAKEHASHI_BIN) + " " + args + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char chunk[256];
  while (std::size_t n = std::fread(chunk, 1, sizeof chunk, pipe))
    out.append(chunk, n);
  int status = ::pclose(pipe);
  REQUIRE_MESSAGE(status == 0, "kakehashi " << args << " failed with status " << status);
  return out;
}

std::string issue_with_cli(const std::string& data_dir, const std::string& role_args) {
  std::string out = run_cli("token issue --data " + data_dir + " " + role_args);
  REQUIRE(!out.empty());
  REQUIRE(out.back() == '\n');
  out.pop_back();
  REQUIRE(out.find('\n') == std::string::npos);  // exactly one line: the token
  return out;
}

std::string issue_directly(const std::string& data_dir, access_role role,
                           std::string lg_code = {}) {
  auto issued = api::token_store(data_dir).issue({role, std::move(lg_code), "test"});
  REQUIRE(issued.ok());
  return issued->bearer;
}

http::request<http::string_body> with_token(http::request<http::string_body> req,
                                            std::string_view token) {
  req.set(http::field::authorization, "Bearer " + std::string(token));
  return req;
}

}  // namespace

TEST_CASE("auth: a token issued by the CLI while the server runs is accepted at once") {
  running_server server;
  client c(server.port());
  // Before any token exists: refused.
  CHECK(c.get("/v1/tokens").result() == http::status::unauthorized);

  std::string admin = issue_with_cli(server.data_dir(), "--role admin --name ops");
  auto res = c.send(with_token(make_request(http::verb::get, "/v1/tokens"), admin));
  REQUIRE(res.result() == http::status::ok);
  auto tokens = json_of(res).at("tokens").as_array();
  REQUIRE(tokens.size() == 1);
  CHECK(tokens[0].at("role") == "admin");
  CHECK(tokens[0].at("name") == "ops");
  CHECK(res.body().find(admin) == std::string::npos);  // lists never carry secrets

  std::string city = issue_with_cli(server.data_dir(), "--role municipality --municipality 131016");
  res = c.send(with_token(make_request(http::verb::get, "/v1/tokens"), city));
  CHECK(res.result() == http::status::forbidden);  // authenticated, just not an admin

  // The CLI's list shows both and no secret.
  std::string listed = run_cli("token list --data " + server.data_dir());
  CHECK(listed.find("131016") != std::string::npos);
  CHECK(listed.find(admin) == std::string::npos);
  CHECK(listed.find(city) == std::string::npos);
}

TEST_CASE("auth: missing, bad, other-scheme and revoked tokens get 401 with a JSON error") {
  running_server server;
  std::string admin = issue_directly(server.data_dir(), access_role::admin);
  std::string doomed = issue_directly(server.data_dir(), access_role::coordinator);
  client c(server.port());

  auto res = c.get("/v1/tokens");
  CHECK(res.result() == http::status::unauthorized);
  CHECK(error_code_of(res) == "unauthorized");
  CHECK(res[http::field::www_authenticate] == "Bearer realm=\"kakehashi\"");

  res = c.send(with_token(make_request(http::verb::get, "/v1/tokens"), "kh_not-a-real-token"));
  CHECK(res.result() == http::status::unauthorized);
  CHECK(error_code_of(res) == "unauthorized");
  CHECK(std::string(res[http::field::www_authenticate]).find("invalid_token") != std::string::npos);

  auto basic = make_request(http::verb::get, "/v1/tokens");
  basic.set(http::field::authorization, "Basic YWRtaW46YWRtaW4=");
  CHECK(c.send(basic).result() == http::status::unauthorized);

  // The query string is only for WebSocket handshakes.
  CHECK(c.get("/v1/tokens?access_token=" + admin).result() == http::status::unauthorized);

  // Revoked over HTTP by the admin: refused on the very next request.
  CHECK(c.send(with_token(make_request(http::verb::get, "/v1/tokens"), doomed)).result() ==
        http::status::forbidden);
  auto table = api::token_store(server.data_dir()).load();
  REQUIRE(table.ok());
  std::string doomed_id = table->records()[1].id.to_string();
  res = c.send(with_token(make_request(http::verb::delete_, "/v1/tokens/" + doomed_id), admin));
  REQUIRE(res.result() == http::status::ok);
  CHECK(json_of(res).at("revoked") == true);
  res = c.send(with_token(make_request(http::verb::get, "/v1/tokens"), doomed));
  CHECK(res.result() == http::status::unauthorized);
  CHECK(error_code_of(res) == "unauthorized");

  // Revoked by the CLI while the server runs: refused soon after.
  std::string other = issue_directly(server.data_dir(), access_role::admin);
  CHECK(c.send(with_token(make_request(http::verb::get, "/v1/tokens"), other)).result() ==
        http::status::ok);
  table = api::token_store(server.data_dir()).load();
  REQUIRE(table.ok());
  run_cli("token revoke --data " + server.data_dir() + " --id " +
          table->records().back().id.to_string());
  // Known tokens are re-checked against the file every recheck_interval (100 ms): poll for it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  http::status seen = http::status::ok;
  while (seen == http::status::ok && std::chrono::steady_clock::now() < deadline) {
    seen = c.send(with_token(make_request(http::verb::get, "/v1/tokens"), other)).result();
    if (seen == http::status::ok) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(seen == http::status::unauthorized);
}

TEST_CASE("auth: repeated bad tokens from one address get 429 with Retry-After") {
  api::server_options options;
  options.bad_token_burst = 3;
  options.bad_tokens_per_minute = 1;  // the test finishes long before a refill
  running_server server(options);
  client c(server.port());
  auto bad = [&] {
    return c.send(
        with_token(make_request(http::verb::get, "/v1/tokens"), "kh_" + std::string(43, 'x')));
  };
  for (int i = 0; i < 3; ++i)
    REQUIRE(bad().result() == http::status::unauthorized);
  auto res = bad();
  CHECK(res.result() == http::status::too_many_requests);
  CHECK(error_code_of(res) == "too_many_requests");
  CHECK(res[http::field::retry_after] == "60");
  // /healthz needs no token and stays reachable.
  CHECK(c.get("/healthz").result() == http::status::ok);
}

TEST_CASE("auth: two Authorization headers are 400, on HTTP and at the WebSocket handshake") {
  running_server server;
  std::string admin = issue_directly(server.data_dir(), access_role::admin);
  std::string dashboard = issue_directly(server.data_dir(), access_role::dashboard);
  client c(server.port());
  auto req = make_request(http::verb::get, "/v1/whoami");
  req.insert(http::field::authorization, "Bearer " + dashboard);
  req.insert(http::field::authorization, "Bearer " + admin);
  auto res = c.send(req);
  CHECK(res.result() == http::status::bad_request);
  CHECK(error_code_of(res) == "duplicate_header");
  CHECK(json_of(res).at("error").at("field") == "Authorization");

  client ws(server.port());
  auto upgrade = make_request(http::verb::get, "/v1/stream");
  upgrade.set(http::field::upgrade, "websocket");
  upgrade.set(http::field::connection, "Upgrade");
  upgrade.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  upgrade.set(http::field::sec_websocket_version, "13");
  upgrade.set(http::field::sec_websocket_protocol, "kakehashi.v1");
  upgrade.insert(http::field::authorization, "Bearer " + dashboard);
  upgrade.insert(http::field::authorization, "Bearer " + admin);
  res = ws.send(upgrade);
  CHECK(res.result() == http::status::bad_request);
  CHECK(error_code_of(res) == "duplicate_header");
}

TEST_CASE("auth: only an admin manages tokens") {
  running_server server;
  std::string admin = issue_directly(server.data_dir(), access_role::admin);
  std::string coordinator = issue_directly(server.data_dir(), access_role::coordinator);
  client c(server.port());

  auto post = [&](std::string_view token, std::string body) {
    auto req = make_request(http::verb::post, "/v1/tokens", std::move(body));
    req.set(http::field::content_type, "application/json");
    return c.send(with_token(std::move(req), token));
  };

  // A coordinator is authenticated but forbidden, on every token route.
  auto res = post(coordinator, R"({"role":"admin","name":"escalate"})");
  CHECK(res.result() == http::status::forbidden);
  CHECK(error_code_of(res) == "forbidden");
  auto table = api::token_store(server.data_dir()).load();
  REQUIRE(table.ok());
  CHECK(table->records().size() == 2);  // nothing issued
  std::string admin_id = table->records()[0].id.to_string();
  res =
      c.send(with_token(make_request(http::verb::delete_, "/v1/tokens/" + admin_id), coordinator));
  CHECK(res.result() == http::status::forbidden);
  CHECK(c.send(with_token(make_request(http::verb::get, "/v1/tokens"), coordinator)).result() ==
        http::status::forbidden);

  // A repeated key is refused, not resolved to whichever value a parser keeps.
  res = post(admin, R"({"role":"dashboard","role":"admin","name":"x"})");
  CHECK(res.result() == http::status::bad_request);
  CHECK(error_code_of(res) == "duplicate_field");
  CHECK(api::token_store(server.data_dir()).load()->records().size() == 2);

  // An admin issues one; it works on the next request.
  res = post(admin, R"({"role":"municipality","lg_code":"131016","name":"千代田区"})");
  REQUIRE(res.result() == http::status::created);
  auto body = json_of(res);
  CHECK(body.at("role") == "municipality");
  CHECK(body.at("lg_code") == "131016");
  CHECK(body.at("name") == "千代田区");
  std::string token(body.at("token").as_string());
  CHECK(c.send(with_token(make_request(http::verb::get, "/v1/tokens"), token)).result() ==
        http::status::forbidden);  // authenticated as the municipality

  res = post(admin, R"({"role":"admin"})");
  REQUIRE(res.result() == http::status::created);
  std::string second_admin(json_of(res).at("token").as_string());
  CHECK(c.send(with_token(make_request(http::verb::get, "/v1/tokens"), second_admin)).result() ==
        http::status::ok);

  // Bad grants: 400 naming the field, nothing written.
  struct bad_case {
    const char* body;
    const char* code;
    const char* field;
  };
  for (const bad_case& bc : {
           bad_case{R"({"role":"municipality"})", "lg_code_required", "lg_code"},
           bad_case{R"({"role":"municipality","lg_code":"131017"})", "invalid_lg_code", "lg_code"},
           bad_case{R"({"role":"auditor","lg_code":"131016"})", "lg_code_not_allowed", "lg_code"},
           bad_case{R"({"role":"root"})", "invalid_role", "role"},
           bad_case{R"({"name":"x"})", "missing_field", "role"},
           bad_case{R"({"role":"admin","scope":"all"})", "unknown_field", "scope"},
           bad_case{R"({"role":7})", "invalid_field", "role"},
           bad_case{R"(["admin"])", "invalid_json", ""},
           bad_case{R"({"role":)", "invalid_json", ""},
       }) {
    CAPTURE(bc.body);
    res = post(admin, bc.body);
    CHECK(res.result() == http::status::bad_request);
    auto err = json_of(res).at("error").as_object();
    CHECK(err.at("code") == bc.code);
    CHECK(err.at("field") == bc.field);
  }
  table = api::token_store(server.data_dir()).load();
  REQUIRE(table.ok());
  CHECK(table->records().size() == 4);

  res = c.send(with_token(make_request(http::verb::delete_, "/v1/tokens/not-a-uuid"), admin));
  CHECK(res.result() == http::status::bad_request);
  res = c.send(with_token(
      make_request(http::verb::delete_, "/v1/tokens/0192aaaa-aaaa-7aaa-8aaa-aaaaaaaaaaaa"), admin));
  CHECK(res.result() == http::status::not_found);
  CHECK(error_code_of(res) == "token_not_found");
}

}  // namespace kakehashi::test
