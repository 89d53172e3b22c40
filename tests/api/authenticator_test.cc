// The server side of tokens, without sockets: api/authenticator.h over a real token file, with
// a frozen clock so rate limits are exact; the per-client limiter; bearer-token extraction.
#include "api/authenticator.h"

#include <doctest/doctest.h>

#include <fstream>

#include "api/auth.h"
#include "api/client_limiter.h"
#include "test_support.h"

namespace kakehashi::test {

namespace {

using namespace std::chrono_literals;

// A clock that moves only when told to.
struct manual_clock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + 1000h;
  std::function<std::chrono::steady_clock::time_point()> fn() {
    return [this] { return now; };
  }
};

std::unique_ptr<api::authenticator> open_auth(const std::string& dir, manual_clock& clock,
                                              api::authenticator_options options = {}) {
  options.data_dir = dir;
  options.clock = clock.fn();
  auto auth = api::authenticator::open(std::move(options));
  REQUIRE_MESSAGE(auth.ok(), (auth.ok() ? "" : auth.err().message));
  return std::move(*auth);
}

api::issued_token issue(const std::string& dir, access_role role, std::string lg_code = {}) {
  auto issued = api::token_store(dir).issue({role, std::move(lg_code), "test"});
  REQUIRE_MESSAGE(issued.ok(), (issued.ok() ? "" : issued.err().message));
  return std::move(*issued);
}

constexpr std::string_view peer = "192.0.2.7";

}  // namespace

TEST_CASE(
    "authenticator: a token issued after open is accepted at once, a revoked one refused within "
    "the recheck interval") {
  temp_dir dir;
  manual_clock clock;
  auto auth = open_auth(dir.path(), clock);
  CHECK(auth->reloads() == 1);

  auto token = issue(dir.path(), access_role::municipality, "131016");
  auto who = auth->authenticate(token.bearer, peer);
  REQUIRE(who.ok());
  CHECK(who->token_id == token.record.id);
  CHECK(who->role == access_role::municipality);
  CHECK(who->lg_code == "131016");
  CHECK(who->name == "test");
  CHECK(auth->reloads() == 2);

  // Unchanged file: no re-read however often it is checked.
  for (int i = 0; i < 5; ++i)
    REQUIRE(auth->authenticate(token.bearer, peer).ok());
  CHECK(auth->reloads() == 2);

  REQUIRE(api::token_store(dir.path()).revoke(token.record.id).ok());
  // A known token is not checked against the file again until the interval has passed.
  CHECK(auth->authenticate(token.bearer, peer).ok());
  clock.now += api::authenticator_options{}.recheck_interval;
  auto refused = auth->authenticate(token.bearer, peer);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err().kind == errc::unauthorized);
  CHECK(refused.err().code == "unauthorized");
  CHECK(refused.err().message.find("revoked") != std::string::npos);
}

TEST_CASE("authenticator: missing, malformed and unknown tokens are unauthorized") {
  temp_dir dir;
  manual_clock clock;
  auto token = issue(dir.path(), access_role::admin);
  auto auth = open_auth(dir.path(), clock);
  REQUIRE(auth->authenticate(token.bearer, peer).ok());
  for (std::string_view bad : {std::string_view(""), std::string_view("kh_nope"),
                               std::string_view("kh_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                               std::string_view(token.bearer).substr(1)}) {
    auto who = auth->authenticate(bad, peer);
    REQUIRE_FALSE(who.ok());
    CHECK(who.err().kind == errc::unauthorized);
  }
}

TEST_CASE("authenticator: re-reads of a changed file are rate-bounded") {
  temp_dir dir;
  manual_clock clock;
  api::authenticator_options options;
  options.reload_burst = 2;
  options.reload_per_second = 1;
  auto auth = open_auth(dir.path(), clock, options);

  auto t1 = issue(dir.path(), access_role::coordinator);
  CHECK(auth->authenticate(t1.bearer, peer).ok());
  auto t2 = issue(dir.path(), access_role::coordinator);
  CHECK(auth->authenticate(t2.bearer, peer).ok());
  CHECK(auth->reloads() == 3);

  // The budget is spent and the clock stands still: the file changes but is not re-read.
  auto t3 = issue(dir.path(), access_role::coordinator);
  for (int i = 0; i < 3; ++i)
    CHECK_FALSE(auth->authenticate(t3.bearer, peer).ok());
  CHECK(auth->reloads() == 3);

  // A second later one more re-read is allowed.
  clock.now += 1s;
  CHECK(auth->authenticate(t3.bearer, peer).ok());
  CHECK(auth->reloads() == 4);

  // refresh() (after the server's own writes) is outside the budget.
  auto t4 = issue(dir.path(), access_role::coordinator);
  REQUIRE(auth->refresh().ok());
  CHECK(auth->authenticate(t4.bearer, peer).ok());
  CHECK(auth->reloads() == 5);
}

TEST_CASE("authenticator: repeated bad tokens from one address get too_many_requests") {
  temp_dir dir;
  manual_clock clock;
  auto good = issue(dir.path(), access_role::admin);
  api::authenticator_options options;
  options.bad_token_burst = 3;
  options.bad_tokens_per_minute = 6;  // one more every 10 s
  auto auth = open_auth(dir.path(), clock, options);
  CHECK(auth->retry_after() == 10s);

  std::string bad = "kh_" + std::string(43, 'Z');
  for (int i = 0; i < 3; ++i)
    CHECK(auth->authenticate(bad, peer).err().kind == errc::unauthorized);
  auto limited = auth->authenticate(bad, peer);
  REQUIRE_FALSE(limited.ok());
  CHECK(limited.err().kind == errc::overloaded);
  CHECK(limited.err().code == "too_many_requests");
  // While limited the token is not even looked at, so a good one waits too.
  CHECK(auth->authenticate(good.bearer, peer).err().kind == errc::overloaded);
  // Other addresses are unaffected, and missing tokens never count.
  CHECK(auth->authenticate(good.bearer, "192.0.2.8").ok());
  for (int i = 0; i < 10; ++i)
    CHECK(auth->authenticate("", "192.0.2.9").err().kind == errc::unauthorized);

  clock.now += 10s;  // one attempt refilled
  CHECK(auth->authenticate(good.bearer, peer).ok());
  CHECK(auth->authenticate(bad, peer).err().kind == errc::unauthorized);
  CHECK(auth->authenticate(bad, peer).err().kind == errc::overloaded);
}

TEST_CASE("authenticator: a token file that stops validating fails closed until it is fixed") {
  temp_dir dir;
  manual_clock clock;
  auto good = issue(dir.path(), access_role::admin);
  auto auth = open_auth(dir.path(), clock);
  REQUIRE(auth->authenticate(good.bearer, peer).ok());

  std::string path = api::token_store(dir.path()).path();
  std::string content;
  {
    std::ifstream in(path);
    content.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(path, std::ios::app) << "revoke\tnot-a-uuid\t1\n";
  clock.now += 1s;
  auto refused = auth->authenticate(good.bearer, peer);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err().kind == errc::unavailable);
  CHECK(auth->authenticate(good.bearer, peer).err().kind == errc::unavailable);

  std::ofstream(path, std::ios::trunc) << content;
  clock.now += 1s;
  CHECK(auth->authenticate(good.bearer, peer).ok());

  // And a server does not start on such a file.
  std::ofstream(path, std::ios::app) << "garbage\n";
  api::authenticator_options options;
  options.data_dir = dir.path();
  auto refused_open = api::authenticator::open(options);
  REQUIRE_FALSE(refused_open.ok());
  CHECK(refused_open.err().kind == errc::corruption);
  CHECK(refused_open.err().message.find("line 3") != std::string::npos);
}

TEST_CASE("authenticator: without a data directory every token is refused") {
  manual_clock clock;
  api::authenticator_options options;
  options.clock = clock.fn();
  auto auth = api::authenticator::open(options);
  REQUIRE(auth.ok());
  CHECK((*auth)->authenticate("kh_" + std::string(43, 'A'), peer).err().kind == errc::unauthorized);
}

TEST_CASE("client limiter: bounded table, refill, and IPv6 keyed by /64") {
  using api::client_limiter;
  auto t0 = std::chrono::steady_clock::time_point{} + 1000h;
  client_limiter limiter(/*burst=*/1, /*per_second=*/1, /*capacity=*/2);
  CHECK(limiter.allows("a", t0));
  CHECK(limiter.charge("a", t0));
  CHECK(limiter.charge("b", t0));
  CHECK_FALSE(limiter.allows("a", t0));
  CHECK(limiter.tracked() == 2);
  // Full of clients still penalized: a third is refused rather than tracked or evicting them.
  CHECK_FALSE(limiter.charge("c", t0));
  CHECK(limiter.tracked() == 2);
  // Once they have refilled they are swept out to make room.
  auto t1 = t0 + 2s;
  CHECK(limiter.allows("a", t1));
  CHECK(limiter.charge("c", t1));
  CHECK(limiter.tracked() == 1);

  CHECK(client_limiter::key_of("192.0.2.1") == "192.0.2.1");
  CHECK(client_limiter::key_of("::ffff:192.0.2.1") == "192.0.2.1");
  CHECK(client_limiter::key_of("2001:db8:1:2:aaaa::1") ==
        client_limiter::key_of("2001:db8:1:2::ff"));
  CHECK(client_limiter::key_of("2001:db8:1:2::1") != client_limiter::key_of("2001:db8:1:3::1"));
  CHECK(client_limiter::key_of("") == "");
}

TEST_CASE("bearer_token: header scheme, whitespace, and the query only where allowed") {
  auto view_of = [](const api::http_request& req) {
    api::request_view view;
    view.message = &req;
    std::tie(view.path, view.query) = api::split_target(req.target());
    return view;
  };
  using api::token_source;
  api::http_request req{api::http::verb::get, "/v1/x?a=1&access_token=kh_query", 11};
  CHECK(api::bearer_token(view_of(req), token_source::header) == "");
  CHECK(api::bearer_token(view_of(req), token_source::header_or_query) == "kh_query");

  req.set(api::http::field::authorization, "Bearer  kh_header ");
  CHECK(api::bearer_token(view_of(req), token_source::header) == "kh_header");
  CHECK(api::bearer_token(view_of(req), token_source::header_or_query) == "kh_header");
  req.set(api::http::field::authorization, "bearer kh_lower");
  CHECK(api::bearer_token(view_of(req), token_source::header) == "kh_lower");
  req.set(api::http::field::authorization, "Basic dXNlcjpwYXNz");
  CHECK(api::bearer_token(view_of(req), token_source::header) == "");
  req.set(api::http::field::authorization, "Bearer");
  CHECK(api::bearer_token(view_of(req), token_source::header) == "");
  req.set(api::http::field::authorization, "Bearerkh_x");
  CHECK(api::bearer_token(view_of(req), token_source::header) == "");
}

}  // namespace kakehashi::test
