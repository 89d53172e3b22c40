// Request smuggling and oversized requests, against a real server over real sockets: every
// request whose framing is ambiguous (where a proxy in front and this server could disagree on
// where it ends) is answered 400 and the connection closed, so a request hidden in its body is
// never served; oversized request lines and headers get 414 and 431 and are closed too.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "api/request_framing.h"
#include "test_support.h"

namespace kakehashi::test {

namespace {

std::string error_code_of(const response& res) {
  return std::string(boost::json::parse(res.body()).at("error").at("code").as_string());
}

// Sends `raw` (which ends with a smuggled `GET /smuggled`) on a new connection; requires one
// answer with `status`, then the connection closed without a second answer.
void expect_refused(running_server& server, const std::string& raw, http::status status,
                    std::string_view code = "bad_request") {
  CAPTURE(raw);
  client c(server.port());
  c.write_raw(raw);
  boost::system::error_code ec;
  auto res = c.read(ec);
  REQUIRE_MESSAGE(!ec, "no answer: " << ec.message());
  CHECK(res.result() == status);
  CHECK(error_code_of(res) == code);
  CHECK_FALSE(res.keep_alive());
  CHECK(c.closed_by_server());
}

constexpr const char* smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

}  // namespace

TEST_CASE("framing: conflicting or duplicated body lengths are refused and the connection closed") {
  running_server server;
  const std::string s = smuggled;
  // CL.TE and TE.CL: both lengths present, in either order.
  expect_refused(server,
                 "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
                     s,
                 http::status::bad_request);
  expect_refused(server,
                 "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 "Content-Length: 40\r\n\r\n0\r\n\r\n" +
                     s,
                 http::status::bad_request);
  // Two Content-Lengths, different or equal, as two fields or as a list.
  expect_refused(server,
                 "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                 "Content-Length: 36\r\n\r\n" +
                     s,
                 http::status::bad_request);
  expect_refused(server,
                 "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                 "Content-Length: 2\r\n\r\n{}" +
                     s,
                 http::status::bad_request);
  expect_refused(server, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\n{}" + s,
                 http::status::bad_request);
  // Lengths that are not plain decimal digits.
  for (const char* length : {"+2", "-1", "0x2", "2 2", "2a", "99999999999999999999999"}) {
    expect_refused(server,
                   "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::string(length) +
                       "\r\n\r\n{}" + s,
                   http::status::bad_request);
  }
  auto lines = server.access_log();
  for (const auto& line : lines)
    CHECK(line.find("/smuggled") == std::string::npos);
}

TEST_CASE("framing: any Transfer-Encoding but a single chunked is refused") {
  running_server server;
  const std::string s = smuggled;
  // Not chunked at the end: the length cannot be known (RFC 9112 6.3), whatever a proxy thinks.
  for (const char* coding : {"gzip", "identity", "chunked, gzip", "chunked, chunked",
                             "gzip, chunked", "xchunked", "chunked;q=1", "\"chunked\""}) {
    expect_refused(server,
                   "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " +
                       std::string(coding) + "\r\n\r\n0\r\n\r\n" + s,
                   http::status::bad_request);
  }
  // Twice, even both chunked.
  expect_refused(server,
                 "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
                     s,
                 http::status::bad_request);
  // HTTP/1.0 has no chunked coding: its framing is faulty (RFC 9112 6.1).
  expect_refused(
      server,
      "POST /healthz HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + s,
      http::status::bad_request);
  // Whitespace between the name and the colon (RFC 9112 5.1: must be refused).
  expect_refused(
      server,
      "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + s,
      http::status::bad_request);
  // A malformed chunk.
  expect_refused(
      server, "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + s,
      http::status::bad_request);
  // Chunked in any letter case is still chunked: accepted, answered and kept alive.
  client c(server.port());
  c.write_raw(
      "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "Chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  auto res = c.read();
  CHECK(res.result() == http::status::method_not_allowed);
  CHECK(res.keep_alive());
  for (const auto& line : server.access_log())
    CHECK(line.find("/smuggled") == std::string::npos);
}

TEST_CASE("framing: obsolete line folding, bare LF and bare CR are refused") {
  running_server server;
  const std::string s = smuggled;
  // obs-fold: a header continued on the next line, on any header, framing ones included.
  expect_refused(server, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n b\r\n\r\n" + s,
                 http::status::bad_request);
  expect_refused(server,
                 "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
                 "0\r\n\r\n" +
                     s,
                 http::status::bad_request);
  expect_refused(server,
                 "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\t2\r\n\r\n{}" + s,
                 http::status::bad_request);
  // Lines ended by a bare LF, in the request line or a header.
  expect_refused(server, "GET /healthz HTTP/1.1\nHost: x\r\n\r\n" + s, http::status::bad_request);
  expect_refused(server, "GET /healthz HTTP/1.1\r\nHost: x\nX-Note: a\r\n\r\n" + s,
                 http::status::bad_request);
  expect_refused(server, "GET /healthz HTTP/1.1\r\nHost: x\r\n\n" + s, http::status::bad_request);
  // A bare CR or a NUL inside a value.
  expect_refused(server, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n\r\n" + s,
                 http::status::bad_request);
  expect_refused(
      server, std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a") + '\0' + "b\r\n\r\n" + s,
      http::status::bad_request);
  for (const auto& line : server.access_log())
    CHECK(line.find("/smuggled") == std::string::npos);
}

TEST_CASE("framing: an oversized request line gets 414, oversized headers 431, both closed") {
  api::server_options options;
  options.max_header_bytes = 4096;
  running_server server(options);
  expect_refused(server,
                 "GET /healthz?pad=" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
                 http::status::uri_too_long, "uri_too_long");
  expect_refused(server, "GET /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
                 http::status::uri_too_long, "uri_too_long");
  expect_refused(
      server, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(5000, 'p') + "\r\n\r\n",
      http::status::request_header_fields_too_large, "header_too_large");
  // Many small headers add up the same way.
  std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 400; ++i)
    many += "X-H" + std::to_string(i) + ": v\r\n";
  expect_refused(server, many + "\r\n", http::status::request_header_fields_too_large,
                 "header_too_large");
  // Just under the limit is served.
  client c(server.port());
  auto res = c.get("/healthz?x=" + std::string(3000, 'a'));
  CHECK(res.result() == http::status::ok);
  CHECK(res.keep_alive());
}

TEST_CASE("framing: inspect_request_head on raw bytes") {
  using verdict = api::head_scan::verdict;
  auto what = [](std::string_view data, std::size_t limit = 64) {
    return api::inspect_request_head(data, limit).what;
  };
  const std::string head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  auto done = api::inspect_request_head(head + "next bytes", 64);
  CHECK(done.what == verdict::complete);
  CHECK(done.head_bytes == head.size());
  // Every prefix of a good head needs more, whichever byte it stops at.
  for (std::size_t n = 0; n < head.size(); ++n)
    CHECK_MESSAGE(what(head.substr(0, n)) == verdict::need_more, n);
  CHECK(what("GET / HTTP/1.1\nHost: x\r\n\r\n") == verdict::malformed);
  CHECK(what("GET / HTTP/1.1\r\nHost: x\n\r\n") == verdict::malformed);
  CHECK(what("GET / HTTP/1.1\r\nHost: x\r\n\n") == verdict::malformed);
  CHECK(what("GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n") == verdict::malformed);
  CHECK(what("GET / HTTP/1.1\r\nHost: x\r\n y\r\n\r\n") == verdict::malformed);
  CHECK(what("GET / HTTP/1.1\r\n\tHost: x\r\n\r\n") == verdict::malformed);
  CHECK(what(std::string("GET / HTTP/1.1\r\nX: a") + '\0') == verdict::malformed);
  // The limit counts the whole head, the final CRLF included.
  CHECK(what(head, head.size()) == verdict::complete);
  CHECK(what(head, head.size() - 1) == verdict::too_large);
  CHECK(what(head.substr(0, 20), head.size() - 1) == verdict::need_more);
  CHECK(what("GET /" + std::string(100, 'a'), 64) == verdict::uri_too_long);
  CHECK(what("GET /" + std::string(100, 'a') + " HTTP/1.1\r\n", 64) == verdict::uri_too_long);
  CHECK(what("GET / HTTP/1.1\r\nX: " + std::string(100, 'a'), 64) == verdict::too_large);
}

TEST_CASE("framing: framing_problem on parsed heads") {
  auto head = [](std::vector<std::pair<http::field, std::string>> fields, unsigned version = 11) {
    api::http_request req{http::verb::post, "/", version};
    for (auto& [name, value] : fields)
      req.insert(name, value);
    return req;
  };
  using F = http::field;
  CHECK_FALSE(api::framing_problem(head({})).has_value());
  CHECK_FALSE(api::framing_problem(head({{F::content_length, "12"}})).has_value());
  CHECK_FALSE(api::framing_problem(head({{F::transfer_encoding, "chunked"}})).has_value());
  CHECK_FALSE(api::framing_problem(head({{F::transfer_encoding, "CHUNKED"}})).has_value());
  CHECK(api::framing_problem(head({{F::content_length, "1"}, {F::content_length, "1"}})));
  CHECK(api::framing_problem(head({{F::content_length, "1, 1"}})));
  CHECK(api::framing_problem(head({{F::content_length, "+1"}})));
  CHECK(api::framing_problem(head({{F::content_length, ""}})));
  CHECK(api::framing_problem(head({{F::content_length, "1"}, {F::transfer_encoding, "chunked"}})));
  CHECK(api::framing_problem(head({{F::transfer_encoding, "gzip, chunked"}})));
  CHECK(api::framing_problem(
      head({{F::transfer_encoding, "chunked"}, {F::transfer_encoding, "chunked"}})));
  CHECK(api::framing_problem(head({{F::transfer_encoding, "chunked"}}, 10)));
}

}  // namespace kakehashi::test
