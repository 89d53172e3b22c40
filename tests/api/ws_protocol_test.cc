// The WebSocket message grammar (api/ws_protocol.h) without a server.
#include "api/ws_protocol.h"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

namespace kakehashi::api::ws {

TEST_CASE("ws protocol: subscribe with every form of from, and types") {
  auto p = parse_client_op(R"({"op":"subscribe","id":"s1","stream":"$all","from":"start"})");
  REQUIRE(p.ok);
  CHECK(p.op.op == op_kind::subscribe);
  CHECK(p.op.id == "s1");
  CHECK(p.op.stream == "$all");
  CHECK(p.op.from == start_kind::start);

  p = parse_client_op(R"({"op":"subscribe","id":"s1","stream":"$ce-need"})");
  REQUIRE(p.ok);
  CHECK(p.op.from == start_kind::end);  // the default

  p = parse_client_op(
      R"({"op":"subscribe","id":"a.b:c-d_1","stream":"need-1","from":1234,"types":["NeedOpened"],"future":1})");
  REQUIRE(p.ok);
  CHECK(p.op.from == start_kind::position);
  CHECK(p.op.from_position == 1234);
  CHECK(p.op.types == std::vector<std::string>{"NeedOpened"});
}

TEST_CASE("ws protocol: malformed messages are refused with a code and, when known, the id") {
  struct bad {
    const char* text;
    const char* code;
    const char* sub;
  };
  for (auto [text, code, sub] : {
           bad{"", "bad_message", ""},
           bad{"{", "bad_message", ""},
           bad{"\"ping\"", "bad_message", ""},
           bad{R"({"id":"x"})", "bad_message", ""},
           bad{R"({"op":7})", "bad_message", ""},
           bad{R"({"op":"nope","id":"x"})", "unknown_op", "x"},
           bad{R"({"op":"subscribe","id":7,"stream":"$all"})", "bad_id", ""},
           bad{R"({"op":"subscribe","id":"","stream":"$all"})", "bad_id", ""},
           bad{R"({"op":"subscribe","id":"a\"b","stream":"$all"})", "bad_id", ""},
           bad{R"({"op":"unsubscribe"})", "bad_id", ""},
           bad{R"({"op":"subscribe","id":"s"})", "bad_message", "s"},
           bad{R"({"op":"subscribe","id":"s","stream":"$all","from":"middle"})", "bad_message",
               "s"},
           bad{R"({"op":"subscribe","id":"s","stream":"$all","from":1.5})", "bad_message", "s"},
           bad{R"({"op":"subscribe","id":"s","stream":"$all","from":9007199254740992})",
               "bad_message", "s"},
           bad{R"({"op":"subscribe","id":"s","stream":"$all","types":[1]})", "bad_message", "s"},
           bad{R"({"op":"subscribe","id":"s","stream":"$all","types":["bad type"]})", "bad_message",
               "s"},
           bad{R"({"op":"subscribe","id":"s","stream":"$all","types":["NoSuchEvent"]})",
               "bad_message", "s"},
           bad{R"({"op":"watch","id":"w"})", "bad_message", "w"},
           bad{R"({"op":"watch","id":"w","view":"everything"})", "unknown_view", "w"},
           bad{R"({"op":"watch","id":"w","view":"pipeline","lg_code":"131131"})", "invalid_lg_code",
               "w"},
           bad{R"({"op":"watch","id":"w","view":"headline","lg_code":"131130"})", "bad_message",
               "w"},
       }) {
    auto p = parse_client_op(text);
    CHECK_MESSAGE(!p.ok, text);
    CHECK_MESSAGE(p.error.code == code, text);
    CHECK_MESSAGE(p.error.sub == sub, text);
  }
  // Deep nesting is refused without recursion trouble.
  std::string deep =
      R"({"op":"ping","x":)" + std::string(10000, '[') + std::string(10000, ']') + "}";
  CHECK_FALSE(parse_client_op(deep).ok);
}

TEST_CASE("ws protocol: watch, unsubscribe and ping") {
  auto p = parse_client_op(R"({"op":"watch","id":"w1","view":"pipeline","lg_code":"131130"})");
  REQUIRE(p.ok);
  CHECK(p.op.view == view_kind::pipeline);
  CHECK(p.op.lg_code == "131130");
  p = parse_client_op(R"({"op":"watch","id":"w1","view":"work-queue"})");
  REQUIRE(p.ok);
  CHECK(p.op.view == view_kind::work_queue);
  p = parse_client_op(R"({"op":"unsubscribe","id":"w1"})");
  REQUIRE(p.ok);
  CHECK(p.op.op == op_kind::unsubscribe);
  p = parse_client_op(R"({"op":"ping"})");
  REQUIRE(p.ok);
  CHECK(p.op.op == op_kind::ping);
}

TEST_CASE("ws protocol: server messages are valid JSON of the documented shape") {
  auto error = boost::json::parse(error_message("s1", "forbidden", "no \"quotes\" break it"));
  CHECK(error.at("op").as_string() == "error");
  CHECK(error.at("sub").as_string() == "s1");
  CHECK(error.at("message").as_string() == "no \"quotes\" break it");
  CHECK_FALSE(
      boost::json::parse(error_message("", "bad_message", "m")).as_object().contains("sub"));

  auto caught_up = boost::json::parse(caught_up_message("s1", 42));
  CHECK(caught_up.at("position").as_int64() == 42);
  auto update = boost::json::parse(view_message("update", "w1", 7, R"({"registrants":3})"));
  CHECK(update.at("view").at("registrants").as_int64() == 3);
  auto event = boost::json::parse(event_message_head("s1") + R"({"id":"e"})" +
                                  std::string(event_message_tail));
  CHECK(event.at("event").at("id").as_string() == "e");
  CHECK(boost::json::parse(pong_message()).at("op").as_string() == "pong");
}

}  // namespace kakehashi::api::ws
