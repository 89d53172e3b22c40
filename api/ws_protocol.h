// The messages of `GET /v1/stream` (API.md, "WebSocket"), subprotocol `kakehashi.v1`: parsing
// what a client sends and encoding what the server sends. Pure functions; thread-safe.
//
// Client -> server, one JSON object per text message (at most 64 KiB, enforced by the session):
//   {"op":"subscribe","id":ID,"stream":"$all"|"$ce-<category>"|<stream>,
//    "from":"start"|"end"|<position>,"types":[TYPE,...]}        from defaults to "end"
//   {"op":"watch","id":ID,"view":"pipeline"|"headline"|"work-queue","lg_code":LG}
//   {"op":"unsubscribe","id":ID}
//   {"op":"ping"}
// ID: 1..64 characters of [A-Za-z0-9._:-], unique among the connection's open subscriptions
// and watches. Unknown members are ignored (a newer client may send more).
//
// Server -> client: event, caught_up, snapshot, update, error, pong (encoders below). A view
// update carries the whole view (not a JSON Patch).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_store.h"

namespace kakehashi::api::ws {

inline constexpr std::string_view subprotocol = "kakehashi.v1";
inline constexpr std::size_t max_id_bytes = 64;
inline constexpr std::size_t max_types = 64;

enum class op_kind : std::uint8_t { subscribe, watch, unsubscribe, ping };
enum class start_kind : std::uint8_t { start, end, position };
enum class view_kind : std::uint8_t { pipeline, headline, work_queue };

struct client_op {
  op_kind op = op_kind::ping;
  std::string id;  // subscribe, watch, unsubscribe
  // subscribe
  std::string stream;
  start_kind from = start_kind::end;
  position_t from_position = 0;  // with start_kind::position
  std::vector<std::string> types;
  // watch
  view_kind view = view_kind::headline;
  std::string lg_code;  // "" when not given
};

// A message that could not be accepted, with what the error reply needs.
struct op_error {
  std::string sub;      // the message's id when it had a usable one, else ""
  std::string code;     // bad_message, unknown_op, bad_id, invalid_stream, unknown_view, ...
  std::string message;  // for people; never echoes the input
};

// Parses one text message. Validates shapes only (names, ids, lg_code format); what the
// principal may do and whether an id is free is for the session to decide.
// Errors: bad_message (not a JSON object, wrong member types, a bad `from` or `types`),
// unknown_op, bad_id, invalid_stream, unknown_view, invalid_lg_code.
struct parse_result {
  bool ok = false;
  client_op op;
  op_error error;
};
parse_result parse_client_op(std::string_view text);

std::string_view to_string(view_kind view);

// Encoders. `sub` must be a valid id (see above) or "" (then "sub" is left out).
std::string error_message(std::string_view sub, std::string_view code, std::string_view message);
std::string caught_up_message(std::string_view sub, position_t position);
// op is "snapshot" or "update"; `view_json` is the serialized view.
std::string view_message(std::string_view op, std::string_view sub, position_t position,
                         std::string_view view_json);
std::string pong_message();
// An event message is {"op":"event","sub":ID,"event":<CloudEvent>}: its head (everything
// before the CloudEvent's text) and tail, so the CloudEvent's text, shared between every
// connection that sends it, is never copied per connection.
std::string event_message_head(std::string_view sub);
inline constexpr std::string_view event_message_tail = "}";

bool is_valid_id(std::string_view id);

}  // namespace kakehashi::api::ws
