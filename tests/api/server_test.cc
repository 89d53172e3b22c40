// Integration tests: a real server on an ephemeral port over a real store, real sockets.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "test_support.h"

namespace kakehashi::test {

namespace {

boost::json::object json_of(const response& res) {
  return boost::json::parse(res.body()).as_object();
}

// Checks the shape every error body has and returns its code.
std::string error_code_of(const response& res) {
  CHECK(res[http::field::content_type] == "application/json");
  auto err = json_of(res).at("error").as_object();
  CHECK(err.contains("message"));
  CHECK(err.contains("field"));
  return std::string(err.at("code").as_string());
}

void expect_healthy(unsigned short port) {
  client c(port);
  auto res = c.get("/healthz");
  CHECK(res.result() == http::status::ok);
}

}  // namespace

TEST_CASE("GET /healthz answers 200 with the head position") {
  running_server server;
  client c(server.port());
  auto res = c.get("/healthz");
  CHECK(res.result() == http::status::ok);
  CHECK(res[http::field::content_type] == "application/json");
  auto body = json_of(res);
  CHECK(body.at("status") == "ok");
  CHECK(body.at("head_position").to_number<std::uint64_t>() == server.store().head_position());
}

TEST_CASE("an unknown path answers 404 with a JSON error") {
  running_server server;
  client c(server.port());
  auto res = c.get("/no/such/thing");
  CHECK(res.result() == http::status::not_found);
  CHECK(error_code_of(res) == "not_found");
}

TEST_CASE("a wrong method on a known path answers 405 with Allow") {
  running_server server;
  client c(server.port());
  auto res = c.send(make_request(http::verb::delete_, "/healthz"));
  CHECK(res.result() == http::status::method_not_allowed);
  CHECK(res[http::field::allow] == "GET");
  CHECK(error_code_of(res) == "method_not_allowed");
}

TEST_CASE("a body over the limit answers 413 and the server keeps serving") {
  api::server_options options;
  options.max_body_bytes = 1024;
  running_server server(options);
  {
    client c(server.port());
    auto res = c.send(make_request(http::verb::post, "/healthz", std::string(1025, 'x')));
    CHECK(res.result() == http::status::payload_too_large);
    CHECK(error_code_of(res) == "body_too_large");
    CHECK_FALSE(res.keep_alive());
    CHECK(c.closed_by_server());
  }
  {
    // Chunked: no Content-Length to check up front, so the limit trips while reading.
    client c(server.port());
    auto req = make_request(http::verb::post, "/healthz");
    req.chunked(true);
    c.write_raw(
        "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "800\r\n" +
        std::string(0x800, 'y') + "\r\n0\r\n\r\n");
    auto res = c.read();
    CHECK(res.result() == http::status::payload_too_large);
  }
  expect_healthy(server.port());
}

TEST_CASE("a malformed request answers 400 and the server keeps serving") {
  running_server server;
  {
    client c(server.port());
    c.write_raw("GARBAGE\r\n\r\n");
    auto res = c.read();
    CHECK(res.result() == http::status::bad_request);
    CHECK(error_code_of(res) == "bad_request");
    CHECK(c.closed_by_server());
  }
  {
    client c(server.port());
    c.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
    CHECK(c.read().result() == http::status::bad_request);
  }
  expect_healthy(server.port());
}

TEST_CASE("headers over the limit answer 431") {
  api::server_options options;
  options.max_header_bytes = 2048;
  running_server server(options);
  client c(server.port());
  auto req = make_request(http::verb::get, "/healthz");
  req.set("X-Padding", std::string(4096, 'p'));
  auto res = c.send(req);
  CHECK(res.result() == http::status::request_header_fields_too_large);
  CHECK(error_code_of(res) == "header_too_large");
  expect_healthy(server.port());
}

TEST_CASE("two requests on one keep-alive connection, and pipelined ones") {
  running_server server;
  client c(server.port());
  auto first = c.get("/healthz");
  CHECK(first.result() == http::status::ok);
  CHECK(first.keep_alive());
  auto second = c.get("/nope");
  CHECK(second.result() == http::status::not_found);
  CHECK(second.keep_alive());

  // Both requests in one write: answered in order on the same connection.
  c.write_raw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(c.read().result() == http::status::ok);
  CHECK(c.read().result() == http::status::not_found);

  // Connection: close is honoured.
  auto req = make_request(http::verb::get, "/healthz");
  req.keep_alive(false);
  auto last = c.send(req);
  CHECK(last.result() == http::status::ok);
  CHECK_FALSE(last.keep_alive());
  CHECK(c.closed_by_server());
}

TEST_CASE("the access log names method, path, status, bytes and time, never the query") {
  running_server server;
  client c(server.port());
  c.get("/healthz?token=secret-value");
  c.get("/missing");
  auto lines = server.access_log(2);
  REQUIRE(lines.size() == 2);
  auto first = boost::json::parse(lines[0]).as_object();
  CHECK(first.at("method") == "GET");
  CHECK(first.at("path") == "/healthz");
  CHECK(first.at("status") == 200);
  CHECK(first.at("bytes").to_number<std::uint64_t>() > 0);
  CHECK(first.contains("us"));
  CHECK(lines[0].find("secret") == std::string::npos);
  CHECK(boost::json::parse(lines[1]).as_object().at("status") == 404);
}

TEST_CASE("CORS: only allowed origins get Access-Control-Allow-Origin, preflight") {
  api::server_options options;
  options.allow_origins = {"https://dash.example/"};
  running_server server(options);
  client c(server.port());

  auto req = make_request(http::verb::get, "/healthz");
  req.set(http::field::origin, "https://dash.example");
  auto allowed = c.send(req);
  CHECK(allowed[http::field::access_control_allow_origin] == "https://dash.example");
  // The headers a page's script must read (an ETag to send back as If-Match, a Location, ...).
  CHECK(allowed[http::field::access_control_expose_headers] ==
        "ETag, Location, Idempotent-Replayed, Retry-After");

  req.set(http::field::origin, "https://evil.example");
  auto other = c.send(req);
  CHECK(other.result() == http::status::ok);
  CHECK(other.find(http::field::access_control_allow_origin) == other.end());
  CHECK(other.find(http::field::access_control_expose_headers) == other.end());

  auto preflight = make_request(http::verb::options, "/healthz");
  preflight.set(http::field::origin, "https://dash.example");
  preflight.set(http::field::access_control_request_method, "GET");
  auto answer = c.send(preflight);
  CHECK(answer.result() == http::status::no_content);
  CHECK(answer[http::field::access_control_allow_methods] == "GET");
  CHECK(answer[http::field::access_control_allow_headers].find("X-On-Behalf-Of") !=
        std::string::npos);
  CHECK(answer[http::field::access_control_allow_origin] == "https://dash.example");

  preflight.set(http::field::origin, "https://evil.example");
  CHECK(c.send(preflight).result() == http::status::forbidden);
}

TEST_CASE("Expect: 100-continue gets an interim response before the body is sent") {
  running_server server;
  client c(server.port());
  c.write_raw(
      "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.read();
  CHECK(interim.result() == http::status::continue_);
  c.write_raw("{}");
  CHECK(c.read().result() == http::status::method_not_allowed);
}

TEST_CASE("over the connection limit new connections are closed, then accepted again") {
  api::server_options options;
  options.max_connections = 1;
  running_server server(options);
  auto first = std::make_unique<client>(server.port());
  CHECK(first->get("/healthz").result() == http::status::ok);
  {
    client second(server.port());
    CHECK(second.closed_by_server());
  }
  first.reset();
  // The server notices the close asynchronously; give it a moment.
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    client again(server.port());
    boost::system::error_code ec;
    again.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    served = again.read(ec).result() == http::status::ok && !ec;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(served);
}

}  // namespace kakehashi::test
