// GET /v1/stream end to end: a real server with the whole backend, real WebSocket clients.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "events/domain.capnp.h"
#include "events/event_codec.h"
#include "events/ids.h"
#include "events/payload_io.h"
#include "http_helpers.h"
#include "ws_support.h"

namespace kakehashi::test {

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string op_of(const json::object& m) {
  return std::string(m.at("op").as_string());
}
position_t position_of_event(const json::object& m) {
  return m.at("event").as_object().at("position").to_number<position_t>();
}

struct received {
  std::vector<json::object> events;
  std::optional<position_t> caught_up;
};

// Reads until the subscription's caught_up message; fails on anything else.
received read_until_caught_up(ws_client& c, std::string_view sub) {
  received out;
  for (;;) {
    auto m = c.read();
    REQUIRE_MESSAGE(m.at("sub").as_string() == sub, json::serialize(m));
    if (op_of(m) == "caught_up") {
      out.caught_up = m.at("position").to_number<position_t>();
      return out;
    }
    REQUIRE_MESSAGE(op_of(m) == "event", json::serialize(m));
    out.events.push_back(std::move(m));
  }
}

// Reads `count` event messages.
std::vector<json::object> read_events(ws_client& c, std::size_t count) {
  std::vector<json::object> out;
  while (out.size() < count) {
    auto m = c.read();
    REQUIRE_MESSAGE(op_of(m) == "event", json::serialize(m));
    out.push_back(std::move(m));
  }
  return out;
}

std::string subscribe_message(std::string_view id, std::string_view stream, std::string from) {
  return R"({"op":"subscribe","id":")" + std::string(id) + R"(","stream":")" + std::string(stream) +
         R"(","from":)" + from + "}";
}

ws_connect_options with_token(std::string token) {
  ws_connect_options o;
  o.token = std::move(token);
  return o;
}

}  // namespace

TEST_CASE("stream: $all from start delivers every event in order, then caught_up, then live") {
  stream_server server;
  server.talent();
  server.need();
  auto stored = server.all_events();
  REQUIRE(stored.size() > 60);  // the 62 municipalities and more

  ws_client c;
  REQUIRE(c.connect_ok(server.port(), with_token(server.token(access_role::admin))));
  c.send(subscribe_message("s1", "$all", "\"start\""));
  auto got = read_until_caught_up(c, "s1");
  REQUIRE(got.events.size() == stored.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const auto& e = got.events[i].at("event").as_object();
    CHECK(e.at("position").to_number<position_t>() == stored[i]->position);
    CHECK(e.at("id").as_string() == stored[i]->id.to_string());
    CHECK(e.at("type").as_string() == stored[i]->type);
    CHECK(e.at("specversion").as_string() == "1.0");
  }
  CHECK(*got.caught_up == stored.back()->position);

  // Live: each new event arrives once, in order.
  auto need_id = server.need();
  auto live = read_events(c, 1);
  CHECK(position_of_event(live[0]) == stored.back()->position + 1);
  CHECK(live[0].at("event").as_object().at("subject").as_string() == "need-" + need_id);
  // And nothing else is pending: a ping is answered next.
  c.send(R"({"op":"ping"})");
  CHECK(op_of(c.read()) == "pong");
}

TEST_CASE("stream: from end delivers only new events, and types and category filters apply") {
  stream_server server;
  server.need();
  ws_client c;
  REQUIRE(c.connect_ok(server.port(), with_token(server.token(access_role::coordinator))));
  c.send(subscribe_message("live", "$all", "\"end\""));
  auto got = read_until_caught_up(c, "live");
  CHECK(got.events.empty());
  c.send(
      R"({"op":"subscribe","id":"needs","stream":"$ce-need","from":"start","types":["NeedOpened"]})");
  auto needs = read_until_caught_up(c, "needs");
  REQUIRE(needs.events.size() == 1);
  CHECK(needs.events[0].at("event").as_object().at("type").as_string() == "NeedOpened");

  server.talent();  // matches "live" only
  auto m = c.read();
  CHECK(m.at("sub").as_string() == "live");
  CHECK(m.at("event").as_object().at("type").as_string() == "TalentRegistered");
  server.need();  // both
  std::multiset<std::string> subs;
  for (int i = 0; i < 2; ++i)
    subs.insert(std::string(c.read().at("sub").as_string()));
  CHECK(subs == std::multiset<std::string>{"live", "needs"});
}

TEST_CASE("stream: no coalescing wait by default, a coalesce_delay holds later events back") {
  // By default a live event goes out as soon as its connection's turn comes: no timer stands
  // between the commit and the write (the batching comes from the load, api/server.h).
  CHECK(api::websocket_options{}.coalesce_delay == 0ms);

  SUBCASE("default: every live event arrives, one after the other") {
    stream_server server;
    ws_client c;
    REQUIRE(c.connect_ok(server.port(), with_token(server.token(access_role::admin))));
    c.send(subscribe_message("s", "$all", "\"end\""));
    CHECK(op_of(c.read()) == "caught_up");
    for (int i = 0; i < 3; ++i) {
      server.need();
      auto m = c.read();
      REQUIRE(op_of(m) == "event");
      CHECK(position_of_event(m) == server.store().head_position());
    }
  }
  SUBCASE("with a delay, events committed within it of the last round wait for it") {
    api::server_options options;
    options.websocket.coalesce_delay = std::chrono::hours(1);
    stream_server server(options);
    ws_client c;
    REQUIRE(c.connect_ok(server.port(), with_token(server.token(access_role::admin))));
    c.send(subscribe_message("s", "$all", "\"end\""));
    CHECK(op_of(c.read()) == "caught_up");  // the subscribe's own round: at once
    server.need();
    // Within the hour since that round: held back (the test ends long before it is due).
    CHECK_FALSE(c.read_text(300ms).has_value());
    CHECK_FALSE(c.closed());
  }
}

TEST_CASE("stream: many connections woken together each get every live event once, in order") {
  // More connections than one wake-up task takes (api/stream_service.cc, run_wakeups): the
  // list is handed on in chunks between I/O threads, each connection woken on its strand.
  stream_server server;
  auto token = server.token(access_role::admin);
  constexpr std::size_t connections = 150;
  std::vector<std::unique_ptr<ws_client>> clients;
  for (std::size_t i = 0; i < connections; ++i) {
    clients.push_back(std::make_unique<ws_client>());
    REQUIRE(clients.back()->connect_ok(server.port(), with_token(token)));
    clients.back()->send(subscribe_message("s", "$all", "\"end\""));
    REQUIRE(op_of(clients.back()->read()) == "caught_up");
  }
  position_t first = server.store().head_position() + 1;
  for (int i = 0; i < 3; ++i)
    server.need();
  for (auto& c : clients) {
    for (position_t p = first; p < first + 3; ++p) {
      auto m = c->read();
      REQUIRE(op_of(m) == "event");
      CHECK(position_of_event(m) == p);
    }
    // Nothing else was queued for it: a ping is answered next.
    c->send(R"({"op":"ping"})");
    CHECK(op_of(c->read()) == "pong");
  }
}

TEST_CASE("stream: a client that reconnects with from = last position + 1 misses nothing") {
  stream_server server;
  auto token = server.token(access_role::admin);
  position_t last = 0;
  std::vector<position_t> seen;
  {
    ws_client c;
    REQUIRE(c.connect_ok(server.port(), with_token(token)));
    c.send(subscribe_message("s", "$all", "\"start\""));
    for (auto& m : read_events(c, 20))
      seen.push_back(position_of_event(m));
    last = seen.back();
    c.close();
  }
  // Written while the client was away.
  server.talent();
  server.need(tama);
  {
    ws_client c;
    REQUIRE(c.connect_ok(server.port(), with_token(token)));
    c.send(subscribe_message("s", "$all", std::to_string(last + 1)));
    auto got = read_until_caught_up(c, "s");
    for (auto& m : got.events)
      seen.push_back(position_of_event(m));
    server.need();
    seen.push_back(position_of_event(read_events(c, 1)[0]));
  }
  auto stored = server.all_events();
  REQUIRE(seen.size() == stored.size());
  for (std::size_t i = 0; i < stored.size(); ++i)
    CHECK(seen[i] == stored[i]->position);
}

TEST_CASE("stream: a municipality on $all receives none of another municipality's events") {
  stream_server server;
  std::string own_need = server.need(shibuya);
  std::string other_need = server.need(tama);
  server.must("HearingRecorded", other_need,
              R"({"held_on":"2025-05-01","attendees":["課長"],"notes":"n","findings":"f"})");
  server.talent();
  // The model must know the needs' municipalities before the check below means anything.
  REQUIRE(server.projections().wait_for(server.store().head_position(), 5s));

  ws_client c;
  REQUIRE(
      c.connect_ok(server.port(), with_token(server.token(access_role::municipality, shibuya))));
  c.send(subscribe_message("s", "$all", "\"start\""));
  auto got = read_until_caught_up(c, "s");
  std::set<std::string> subjects;
  for (auto& m : got.events)
    subjects.insert(std::string(m.at("event").as_object().at("subject").as_string()));
  CHECK(subjects.count("need-" + own_need) == 1);
  CHECK(subjects.count(std::string("municipality-") + shibuya) == 1);
  CHECK(subjects.count("need-" + other_need) == 0);
  CHECK(subjects.count(std::string("municipality-") + tama) == 0);
  for (const auto& s : subjects)
    CHECK(s.rfind("talent-", 0) != 0);
  CHECK(subjects.size() == 2);
  CHECK(server.stats().events_hidden.load() > 0);

  // Live, too: the other municipality's need comes first and must not arrive.
  server.need(tama);
  std::string later = server.need(shibuya);
  auto live = c.read();
  CHECK(live.at("event").as_object().at("subject").as_string() == "need-" + later);
}

TEST_CASE("stream: revoking a token closes its connections with 1008 before anything more") {
  stream_server server;
  std::string own_need = server.need(shibuya);
  REQUIRE(server.projections().wait_for(server.store().head_position(), 5s));
  auto issued = server.issue_token(access_role::municipality, shibuya);
  ws_client subscribed, idle;
  REQUIRE(subscribed.connect_ok(server.port(), with_token(issued.bearer)));
  REQUIRE(idle.connect_ok(server.port(), with_token(issued.bearer)));
  subscribed.send(subscribe_message("s", "$all", "\"end\""));
  read_until_caught_up(subscribed, "s");

  caller admin{server.port(), server.token(access_role::admin)};
  auto revoked = admin.call(http::verb::delete_, "/v1/tokens/" + issued.record.id.to_string());
  REQUIRE(revoked.result() == http::status::ok);
  CHECK(caller{server.port(), issued.bearer}.get("/v1/whoami").result() ==
        http::status::unauthorized);

  // A new op on a connection opened before the revocation is not served...
  idle.send(subscribe_message("late", "$all", "\"start\""));
  auto late = idle.read_text();
  CHECK_MESSAGE(!late, *late);
  CHECK(idle.closed());
  CHECK(idle.close_reason().code == 1008);
  CHECK(idle.close_reason().reason == "token_revoked");

  // ...and an open subscription gets the close, not the municipality's new (personal) event.
  server.must("HearingRecorded", own_need,
              R"({"held_on":"2025-05-01","attendees":["課長"],"notes":"n","findings":"f"})");
  auto event = subscribed.read_text();
  CHECK_MESSAGE(!event, *event);
  CHECK(subscribed.closed());
  CHECK(subscribed.close_reason().code == 1008);
  CHECK(subscribed.close_reason().reason == "token_revoked");
}

TEST_CASE("stream: a dashboard token gets no personal data, an admin token does") {
  stream_server server;
  server.talent("hanako@example.jp");
  ws_client dashboard, admin;
  REQUIRE(dashboard.connect_ok(server.port(), with_token(server.token(access_role::dashboard))));
  REQUIRE(admin.connect_ok(server.port(), with_token(server.token(access_role::admin))));
  const std::string sub = R"({"op":"subscribe","id":"t","stream":"$ce-talent","from":"start"})";
  dashboard.send(sub);
  admin.send(sub);

  auto text = dashboard.read_text();
  REQUIRE(text);
  CHECK(text->find("hanako@example.jp") == std::string::npos);
  CHECK(text->find("090-0000-0000") == std::string::npos);
  auto redacted = json::parse(*text).as_object();
  const auto& data = redacted.at("event").as_object().at("data").as_object();
  CHECK_FALSE(data.empty());  // the public fields are there
  CHECK_FALSE(data.contains("email"));

  auto full = admin.read_text();
  REQUIRE(full);
  CHECK(full->find("hanako@example.jp") != std::string::npos);
}

TEST_CASE("stream: after an erasure no connection is served the erased data from the cache") {
  stream_server server;
  std::string talent = server.talent("erase-me@example.jp");
  auto token = server.token(access_role::admin);
  const std::string sub = R"({"op":"subscribe","id":"t","stream":"$ce-talent","from":"start"})";
  {
    ws_client c;
    REQUIRE(c.connect_ok(server.port(), with_token(token)));
    c.send(sub);
    auto text = c.read_text();
    REQUIRE(text);
    CHECK(text->find("erase-me@example.jp") != std::string::npos);  // now in the shared cache
  }
  REQUIRE(erase_talent(server.service(), server.store(), talent, "request",
                       actor{"admin-1", "admin", ""})
              .ok());
  ws_client c;
  REQUIRE(c.connect_ok(server.port(), with_token(token)));
  c.send(sub);
  auto text = c.read_text();
  REQUIRE(text);
  CHECK(text->find("TalentRegistered") != std::string::npos);
  CHECK(text->find("erase-me@example.jp") == std::string::npos);
  CHECK(text->find("[erased]") != std::string::npos);
}

TEST_CASE("stream: a version 1 reason is delivered like a sealed one, and erased with it") {
  stream_server server;
  std::string talent = server.talent("v1@example.jp");
  // A TalentPaused {"reason":"育児のため一時休止"} as schema_version 1 stored it: plaintext.
  const std::string hex =
      "0000000006000000000000000000010001000000e2000000e882b2e58590e381aee3819fe38281e4b880e6"
      "9982e4bc91e6ada20000000000";
  new_event old;
  old.type = "TalentPaused";
  old.schema_version = 1;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    old.payload += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  old.who = actor{"coord-1", "coordinator", ""};
  append_request request;
  request.streams.push_back({"talent-" + talent, expected_version::any(), {std::move(old)}});
  REQUIRE(server.store().append(std::move(request)).ok());

  const std::string sub =
      R"({"op":"subscribe","id":"t","stream":"$ce-talent","from":"start","types":["TalentPaused"]})";
  auto data_for = [&](access_role role) {
    ws_client c;
    REQUIRE(c.connect_ok(server.port(), with_token(server.token(role))));
    c.send(sub);
    auto text = c.read_text();
    REQUIRE(text);
    return json::parse(*text).as_object().at("event").as_object().at("data").as_object();
  };
  CHECK(data_for(access_role::dashboard).empty());
  CHECK(data_for(access_role::admin).at("reason").as_string() == "育児のため一時休止");
  REQUIRE(erase_talent(server.service(), server.store(), talent, "request",
                       actor{"admin-1", "admin", ""})
              .ok());
  CHECK(data_for(access_role::admin).at("reason").as_string() == "[erased]");
}

TEST_CASE("stream: an appointment's texts reach the roles check-in notes reach, then [erased]") {
  stream_server server;
  const std::string talent = server.talent("placed@example.jp");
  const std::string appointment = new_uuid_v7().to_string();
  const std::string stream = "appointment-" + appointment;
  // An appointment as the log holds it, its suspension stored by schema_version 1 (plaintext).
  auto arranged = encode_payload(
      "AppointmentArranged",
      R"({"candidacy_id":")" + new_uuid_v7().to_string() + R"(","talent_id":")" + talent +
          R"(","need_id":")" + new_uuid_v7().to_string() + R"(","lg_code":")" + shibuya +
          R"(","form":"remote","starts_on":"2025-08-01","ends_on":"2026-03-31",)"
          R"("hours_per_week":8,"scope":"RPA研修"})");
  REQUIRE(arranged.ok());
  // AppointmentSuspended {"reason":"体調不良のため休職"} as version 1 stored it.
  const std::string hex =
      "0000000006000000000000000000010001000000e2000000e4bd93e8aabfe4b88de889afe381aee3819fe38281e4"
      "bc91e881b70000000000";
  append_request request;
  request.streams.push_back({stream, expected_version::no_stream(), {}});
  auto& events = request.streams.back().events;
  for (const char* type : {"AppointmentArranged", "AppointmentStarted", "AppointmentSuspended"}) {
    new_event e;
    e.type = type;
    e.who = actor{"coord-1", "coordinator", ""};
    events.push_back(std::move(e));
  }
  events[0].payload = arranged->public_bytes;
  events[1].payload = build_payload<schema::AppointmentStarted>([](auto) {});
  events[2].schema_version = 1;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    events[2].payload += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  REQUIRE(server.store().append(std::move(request)).ok());
  // And one written today: sealed with the talent's key.
  server.must("AppointmentResumed", appointment, R"({"reason":"主治医の許可が出た"})");
  REQUIRE(server.projections().wait_for(server.store().head_position(), 5s));

  const std::string sub = R"({"op":"subscribe","id":"t","stream":"$ce-appointment","from":"start",)"
                          R"("types":["AppointmentSuspended","AppointmentResumed"]})";
  auto reasons_for = [&](const std::string& token) {
    ws_client c;
    REQUIRE(c.connect_ok(server.port(), with_token(token)));
    c.send(sub);
    std::vector<std::string> out;
    for (const auto& m : read_until_caught_up(c, "t").events) {
      const auto& data = m.at("event").as_object().at("data").as_object();
      out.push_back(data.contains("reason") ? std::string(data.at("reason").as_string()) : "-");
    }
    return out;
  };
  using reasons = std::vector<std::string>;
  CHECK(reasons_for(server.token(access_role::admin)) ==
        reasons{"体調不良のため休職", "主治医の許可が出た"});
  CHECK(reasons_for(server.token(access_role::coordinator)) ==
        reasons{"体調不良のため休職", "主治医の許可が出た"});
  CHECK(reasons_for(server.token(access_role::auditor)) ==
        reasons{"体調不良のため休職", "主治医の許可が出た"});
  // Without personal-data rights the steps arrive without their texts; another municipality
  // receives nothing of the appointment.
  CHECK(reasons_for(server.token(access_role::dashboard)) == reasons{"-", "-"});
  CHECK(reasons_for(server.token(access_role::municipality, shibuya)) == reasons{"-", "-"});
  CHECK(reasons_for(server.token(access_role::municipality, tama)).empty());

  REQUIRE(erase_talent(server.service(), server.store(), talent, "request",
                       actor{"admin-1", "admin", ""})
              .ok());
  // Both read "[erased]": the version 1 one through the appointment's talent in its first event.
  CHECK(reasons_for(server.token(access_role::admin)) == reasons{"[erased]", "[erased]"});
}

TEST_CASE("stream: the handshake checks Origin, subprotocol and token before upgrading") {
  api::server_options options;
  options.allow_origins = {"https://dash.example.jp"};
  stream_server server(options);
  auto token = server.token(access_role::dashboard);

  SUBCASE("a foreign Origin is refused with 403") {
    ws_client c;
    auto o = with_token(token);
    o.origin = "https://evil.example.com";
    auto res = c.connect(server.port(), o);
    CHECK(res.result_int() == 403);
    CHECK(res.body().find("origin_not_allowed") != std::string::npos);
  }
  SUBCASE("a listed Origin, the server's own origin and no Origin are accepted") {
    for (std::string origin :
         {std::string("https://dash.example.jp"),
          "http://127.0.0.1:" + std::to_string(server.port()), std::string()}) {
      ws_client c;
      auto o = with_token(token);
      o.origin = origin;
      CHECK_MESSAGE(c.connect(server.port(), o).result_int() == 101, origin);
    }
  }
  SUBCASE("no kakehashi.v1 subprotocol: 400") {
    ws_client c;
    auto o = with_token(token);
    o.subprotocol = "";
    CHECK(c.connect(server.port(), o).result_int() == 400);
    ws_client d;
    o.subprotocol = "graphql-ws";
    CHECK(d.connect(server.port(), o).result_int() == 400);
  }
  SUBCASE("no token or a bad one: 401; the token may come as ?access_token=") {
    ws_client none, bad, query;
    CHECK(none.connect(server.port(), with_token("")).result_int() == 401);
    CHECK(bad.connect(server.port(), with_token("kh_notatokenatallnotatokenatallnotatokenatall0"))
              .result_int() == 401);
    auto o = with_token(token);
    o.token_in_query = true;
    CHECK(query.connect(server.port(), o).result_int() == 101);
  }
  SUBCASE("a plain GET is told to upgrade") {
    client http(server.port());
    auto req = make_request(http::verb::get, "/v1/stream");
    req.set(http::field::authorization, "Bearer " + token);
    CHECK(http.send(req).result_int() == 426);
  }
}

TEST_CASE("stream: only an exactly listed Origin upgrades, look-alikes are refused") {
  api::server_options options;
  options.allow_origins = {"https://dash.example.jp"};
  stream_server server(options);
  auto token = server.token(access_role::admin);
  // What a page elsewhere could send: another scheme, port, host that merely starts or ends
  // like the listed one, an opaque origin, a userinfo trick, the listed one with a path.
  const std::vector<std::string> foreign = {
      "http://dash.example.jp",
      "https://dash.example.jp:8443",
      "https://dash.example.jp.evil.com",
      "https://evil-dash.example.jp",
      "https://example.jp",
      "null",
      "https://dash.example.jp@evil.com",
      "https://dash.example.jp/app",
      "https://DASH.example.jp.evil.com",
      "http://127.0.0.1:" + std::to_string(server.port() + 1)};
  for (const std::string& origin : foreign) {
    ws_client c;
    auto o = with_token(token);
    o.origin = origin;
    auto res = c.connect(server.port(), o);
    CHECK_MESSAGE(res.result_int() == 403, origin);
    CHECK_MESSAGE(res.body().find("origin_not_allowed") != std::string::npos, origin);
    CHECK(c.closed());
  }
  CHECK(server.stats().accepted.load() == 0);
  ws_client listed;
  auto o = with_token(token);
  o.origin = "https://dash.example.jp";
  CHECK(listed.connect(server.port(), o).result_int() == 101);
}

TEST_CASE("stream: repeated bad tokens at the handshake get 429, then even a good one waits") {
  api::server_options options;
  options.bad_token_burst = 3;
  options.bad_tokens_per_minute = 1;  // the test ends long before a refill
  stream_server server(options);
  auto good = server.token(access_role::admin);
  for (int i = 0; i < 3; ++i) {
    ws_client c;
    CHECK(c.connect(server.port(), with_token("kh_" + std::string(43, 'x'))).result_int() == 401);
  }
  ws_client limited;
  auto res = limited.connect(server.port(), with_token("kh_" + std::string(43, 'y')));
  CHECK(res.result_int() == 429);
  CHECK(res[boost::beast::http::field::retry_after] == "60");
  // The address is limited, whatever it presents next: guessing cannot go on in parallel.
  ws_client after;
  CHECK(after.connect(server.port(), with_token(good)).result_int() == 429);
  CHECK(server.stats().accepted.load() == 0);
}

TEST_CASE("stream: bad messages get error replies and the connection survives") {
  stream_server server;
  ws_client c;
  REQUIRE(
      c.connect_ok(server.port(), with_token(server.token(access_role::municipality, shibuya))));
  auto expect_error = [&](std::string_view message, std::string_view code, std::string_view sub) {
    c.send(message);
    auto m = c.read();
    CHECK_MESSAGE(op_of(m) == "error", message);
    CHECK_MESSAGE(m.at("code").as_string() == code, message << " -> " << json::serialize(m));
    if (sub.empty())
      CHECK_FALSE(m.contains("sub"));
    else
      CHECK(m.at("sub").as_string() == sub);
  };
  expect_error("not json", "bad_message", "");
  expect_error("[1,2]", "bad_message", "");
  expect_error(R"({"op":"launch","id":"x"})", "unknown_op", "x");
  expect_error(R"({"op":"subscribe","id":"bad id!","stream":"$all"})", "bad_id", "");
  expect_error(R"({"op":"subscribe","id":")" + std::string(65, 'a') + R"(","stream":"$all"})",
               "bad_id", "");
  expect_error(R"({"op":"subscribe","stream":"$all"})", "bad_id", "");
  expect_error(R"({"op":"subscribe","id":"s","stream":"$ce-"})", "invalid_stream", "s");
  expect_error(R"({"op":"subscribe","id":"s","stream":"no spaces allowed"})", "invalid_stream",
               "s");
  expect_error(R"({"op":"subscribe","id":"s","stream":"$all","from":-3})", "bad_message", "s");
  expect_error(R"({"op":"subscribe","id":"s","stream":"$all","types":"NeedOpened"})", "bad_message",
               "s");
  expect_error(R"({"op":"watch","id":"w","view":"secrets"})", "unknown_view", "w");
  expect_error(R"({"op":"watch","id":"w","view":"pipeline","lg_code":"132241"})", "forbidden", "w");
  expect_error(R"({"op":"watch","id":"w","view":"pipeline","lg_code":"123"})", "invalid_lg_code",
               "w");
  expect_error(R"({"op":"watch","id":"w","view":"work-queue"})", "forbidden", "w");
  expect_error(R"({"op":"unsubscribe","id":"nope"})", "unknown_subscription", "nope");

  c.send(R"({"op":"subscribe","id":"s1","stream":"$all","from":"end"})");
  CHECK(op_of(c.read()) == "caught_up");
  expect_error(R"({"op":"subscribe","id":"s1","stream":"$all"})", "duplicate_id", "s1");
  // Up to 16 subscriptions and watches per connection.
  for (int i = 2; i <= 16; ++i) {
    c.send(R"({"op":"subscribe","id":"s)" + std::to_string(i) +
           R"(","stream":"$ce-need","from":"end"})");
    CHECK(op_of(c.read()) == "caught_up");
  }
  expect_error(R"({"op":"subscribe","id":"s17","stream":"$all"})", "too_many_subscriptions", "s17");
  c.send(R"({"op":"unsubscribe","id":"s16"})");
  c.send(R"({"op":"watch","id":"own","view":"pipeline"})");  // a municipality's own pipeline
  auto snapshot = c.read();
  CHECK(op_of(snapshot) == "snapshot");

  c.send_binary("\x01\x02");
  CHECK(c.read().at("code").as_string() == "bad_message");
  c.send(R"({"op":"ping"})");
  CHECK(op_of(c.read()) == "pong");
  CHECK_FALSE(c.closed());
}

TEST_CASE("stream: a message over 64 KiB closes the connection with 1009") {
  stream_server server;
  ws_client c;
  REQUIRE(c.connect_ok(server.port(), with_token(server.token(access_role::admin))));
  c.send(R"({"op":"ping","pad":")" + std::string(70 * 1024, 'x') + "\"}");
  CHECK_FALSE(c.read_text().has_value());
  CHECK(c.closed());
  CHECK(c.close_reason().code == boost::beast::websocket::close_code::too_big);
}

TEST_CASE("stream: a client that stops reading cannot raise server memory past its bound") {
  api::server_options options;
  options.websocket.max_queued_bytes = 64 * 1024;
  options.websocket.subscription_buffer_bytes = 32 * 1024;
  stream_server server(options);
  // A real event to copy into thousands of streams: a few MiB overflow every kernel buffer.
  std::string model_need = server.need();
  auto model = server.store().read_stream("need-" + model_need, 0, read_direction::forward, 1);
  REQUIRE(model.ok());
  REQUIRE(model->size() == 1);

  ws_client c;
  auto o = with_token(server.token(access_role::admin));
  o.receive_buffer_bytes = 4096;
  REQUIRE(c.connect_ok(server.port(), o));
  c.send(subscribe_message("s", "$all", "\"end\""));
  CHECK(op_of(c.read()) == "caught_up");
  position_t first = server.store().head_position() + 1;

  // The client reads nothing from here on, while ~12 MiB of events are appended.
  std::size_t appended = 0;
  for (int round = 0; round < 12; ++round) {
    append_request request;
    for (int i = 0; i < 500; ++i) {
      new_event e;
      e.type = (*model)[0]->type;
      e.who = actor{"bench", "coordinator", ""};
      e.payload = (*model)[0]->payload;
      stream_append s;
      s.stream = "need-" + new_uuid_v7().to_string();
      s.expected = expected_version::no_stream();
      s.events.push_back(std::move(e));
      request.streams.push_back(std::move(s));
    }
    REQUIRE(server.store().append(std::move(request)).ok());
    appended += 500;
  }
  // Give the server time to fill every buffer it can.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server.stats().backpressure_pauses.load() == 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(200ms);
  auto& stats = server.stats();
  CHECK(stats.backpressure_pauses.load() > 0);
  std::size_t one_message = 4096;  // the copied events are far smaller
  CHECK(stats.peak_connection_queued_bytes.load() <=
        options.websocket.max_queued_bytes + one_message);
  CHECK(stats.queued_bytes.load() <= options.websocket.max_queued_bytes + one_message);
  CHECK(stats.peak_subscription_buffered_bytes.load() <=
        options.websocket.subscription_buffer_bytes);

  // Reading again, the client gets every event, in order, exactly once (caught up from disk).
  for (std::size_t i = 0; i < appended; ++i) {
    auto m = c.read();
    REQUIRE(op_of(m) == "event");
    REQUIRE(position_of_event(m) == first + i);
  }
}

TEST_CASE("stream: a client reading slower than the events come is never dropped as idle") {
  // Regression: while a connection's output queue was full the server stopped reading from the
  // client (its pongs included) and counted only bytes received as a sign of life, so a client
  // that read steadily but slower than the events arrived was closed as idle after idle_timeout
  // (`bench load`'s slow subscribers were). Output the client keeps taking counts as life now.
  api::server_options options;
  // 3 s rather than 2: on a loaded 2-core machine (CI under parallel builds) the reader or the
  // server can lose a core for a second, which a 2 s timeout mistook for silence.
  options.websocket.idle_timeout = std::chrono::seconds(3);
  options.websocket.max_queued_bytes = 16 * 1024;
  options.websocket.subscription_buffer_bytes = 16 * 1024;
  stream_server server(options);
  std::string model_need = server.need();
  auto model = server.store().read_stream("need-" + model_need, 0, read_direction::forward, 1);
  REQUIRE(model.ok());
  REQUIRE(model->size() == 1);

  ws_client c;
  auto o = with_token(server.token(access_role::admin));
  // Small, but over two loopback segments (64 KiB): a window smaller than one segment leaves
  // the sender to zero-window probes with backoff, which would stall any reader.
  o.receive_buffer_bytes = 128 * 1024;
  REQUIRE(c.connect_ok(server.port(), o));
  c.send(subscribe_message("s", "$all", "\"end\""));
  CHECK(op_of(c.read()) == "caught_up");
  position_t first = server.store().head_position() + 1;
  // Far more than the kernel buffers hold (a few MiB) plus what the slow phase reads, appended
  // while the client reads, so the server's queue stays full for all of the slow phase.
  constexpr std::size_t rounds = 36, per_round = 500, appended = rounds * per_round;
  std::thread writer([&] {
    for (std::size_t round = 0; round < rounds; ++round) {
      append_request request;
      for (std::size_t i = 0; i < per_round; ++i) {
        new_event e;
        e.type = (*model)[0]->type;
        e.who = actor{"bench", "coordinator", ""};
        e.payload = (*model)[0]->payload;
        request.streams.push_back(stream_append{
            "need-" + new_uuid_v7().to_string(), expected_version::no_stream(), {std::move(e)}});
      }
      if (!server.store().append(std::move(request)).ok()) return;
    }
  });
  struct joiner {
    std::thread& t;
    ~joiner() { t.join(); }
  } join_writer{writer};

  // At most 2,000 messages a second for two idle timeouts, then as fast as it can.
  auto start = std::chrono::steady_clock::now();
  auto slow_until = start + 2 * options.websocket.idle_timeout;
  for (std::size_t i = 0; i < appended; ++i) {
    auto m = c.read();  // fails the test if the server closed the connection
    REQUIRE(op_of(m) == "event");
    REQUIRE(position_of_event(m) == first + i);
    if (i % 10 == 9 && std::chrono::steady_clock::now() < slow_until)
      std::this_thread::sleep_for(5ms);
  }
  CHECK(std::chrono::steady_clock::now() >= slow_until);  // slow for two idle timeouts
  CHECK(server.stats().backpressure_pauses.load() > 0);
  CHECK_FALSE(c.closed());
}

TEST_CASE("stream: protocol violations close the connection with the RFC 6455 code") {
  stream_server server;
  auto token = server.token(access_role::admin);
  SUBCASE("an unmasked client frame: 1002") {
    ws_client c;
    REQUIRE(c.connect_ok(server.port(), with_token(token)));
    c.send_raw(std::string("\x81\x02{}", 4));
    CHECK_FALSE(c.read_text().has_value());
    CHECK(c.closed());
    CHECK(c.close_reason().code == boost::beast::websocket::close_code::protocol_error);
  }
  SUBCASE("text that is not UTF-8: 1007") {
    ws_client c;
    REQUIRE(c.connect_ok(server.port(), with_token(token)));
    // Masked with a zero key, so the payload bytes are sent as they are.
    c.send_raw(std::string("\x81\x82\x00\x00\x00\x00\xff\xfe", 8));
    CHECK_FALSE(c.read_text().has_value());
    CHECK(c.close_reason().code == boost::beast::websocket::close_code::bad_payload);
  }
  SUBCASE("a client's close frame is answered and the connection ends") {
    ws_client c;
    REQUIRE(c.connect_ok(server.port(), with_token(token)));
    c.close();
    CHECK(c.closed());
  }
}

TEST_CASE("stream: WebSocket pings are answered, an idle peer is pinged, a silent one dropped") {
  api::server_options options;
  options.websocket.idle_timeout = std::chrono::seconds(2);
  stream_server server(options);
  auto token = server.token(access_role::admin);

  ws_client live;
  REQUIRE(live.connect_ok(server.port(), with_token(token)));
  live.ping();
  CHECK_FALSE(live.read_text(200ms).has_value());  // reading delivers the pong
  CHECK(live.pongs_seen() == 1);

  // A peer that completes the handshake and then neither sends nor reads anything.
  ws_client silent;
  REQUIRE(silent.connect_ok(server.port(), with_token(token)));

  // Across more than one idle timeout the reading client is pinged (Beast answers for it) and
  // stays; the silent one is closed by the server.
  auto until = std::chrono::steady_clock::now() + 3500ms;
  while (std::chrono::steady_clock::now() < until)
    CHECK_FALSE(live.read_text(100ms).has_value());
  CHECK(live.pings_seen() >= 1);
  CHECK_FALSE(live.closed());
  CHECK_FALSE(silent.read_text(5s).has_value());
  CHECK(silent.closed());
  live.send(R"({"op":"ping"})");
  CHECK(op_of(live.read()) == "pong");
}

TEST_CASE("stream: a client that answers every ping at once is never dropped as idle") {
  // End to end over many idle timeouts; the rule itself (api/ws_keepalive.h: ping half a timeout
  // after the last sign of life, not on a fixed grid of ticks, which could close a peer whose
  // pong had arrived just after a tick) is checked against late timers in ws_keepalive_test.
  api::server_options options;
  options.websocket.idle_timeout = std::chrono::seconds(1);
  stream_server server(options);
  auto token = server.token(access_role::admin);
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<ws_client>());
    REQUIRE(clients.back()->connect_ok(server.port(), with_token(token)));
  }
  // Each reads (and so answers pings at once) on its own thread, for many idle timeouts.
  auto until = std::chrono::steady_clock::now() + 6s;
  std::atomic<int> messages{0};
  std::vector<std::thread> readers;
  for (auto& c : clients)
    readers.emplace_back([&, client = c.get()] {
      while (std::chrono::steady_clock::now() < until && !client->closed())
        if (client->read_text(50ms)) ++messages;
    });
  for (auto& t : readers)
    t.join();
  CHECK(messages.load() == 0);
  for (auto& c : clients) {
    // Why it closed, should it: the server's close frame, or the socket's error.
    INFO("close code " << c->close_reason().code << " reason '" << c->close_reason().reason.c_str()
                       << "' socket '" << c->close_error().message() << "'");
    CHECK(c->pings_seen() >= 4);
    CHECK_FALSE(c->closed());
  }
}

TEST_CASE("stream: watch headline sends a snapshot, then an update after a command") {
  api::server_options options;
  options.websocket.watch_interval = 20ms;
  stream_server server(options);
  REQUIRE(server.projections().wait_for(server.store().head_position(), 5s));
  ws_client c;
  REQUIRE(c.connect_ok(server.port(), with_token(server.token(access_role::dashboard))));
  c.send(R"({"op":"watch","id":"h","view":"headline"})");
  auto snapshot = c.read();
  REQUIRE(op_of(snapshot) == "snapshot");
  CHECK(snapshot.at("sub").as_string() == "h");
  CHECK(snapshot.at("view").as_object().at("registrants").to_number<int>() == 0);

  server.talent();
  // Updates follow the model; the one that counts the new talent arrives within a few ticks.
  for (;;) {
    auto update = c.read();
    REQUIRE(op_of(update) == "update");
    CHECK(update.at("position").to_number<position_t>() >
          snapshot.at("position").to_number<position_t>());
    if (update.at("view").as_object().at("registrants").to_number<int>() == 1) break;
  }
  // Nothing changes, nothing is sent.
  CHECK_FALSE(c.read_text(150ms).has_value());
  CHECK_FALSE(c.closed());

  c.send(R"({"op":"watch","id":"p","view":"pipeline","lg_code":"131130"})");
  CHECK(op_of(c.read()) == "snapshot");
  c.send(R"({"op":"unsubscribe","id":"h"})");
  server.need(shibuya);
  auto update = c.read();
  CHECK(op_of(update) == "update");
  CHECK(update.at("sub").as_string() == "p");
}

TEST_CASE("stream: watches need the read model") {
  stream_server server(api::server_options{}, false);
  ws_client c;
  REQUIRE(c.connect_ok(server.port(), with_token(server.token(access_role::admin))));
  c.send(R"({"op":"watch","id":"h","view":"headline"})");
  CHECK(c.read().at("code").as_string() == "unavailable");
}

TEST_CASE("stream: server shutdown sends a close frame") {
  stream_server server;
  ws_client c;
  REQUIRE(c.connect_ok(server.port(), with_token(server.token(access_role::admin))));
  c.send(subscribe_message("s", "$all", "\"end\""));
  CHECK(op_of(c.read()) == "caught_up");
  std::thread stopper([&] { server.stop(); });
  CHECK_FALSE(c.read_text().has_value());
  CHECK(c.closed());
  CHECK(c.close_error() == boost::beast::websocket::error::closed);
  CHECK(c.close_reason().code == boost::beast::websocket::close_code::going_away);
  stopper.join();
  CHECK(server.stats().connections.load() == 0);
}

}  // namespace kakehashi::test
