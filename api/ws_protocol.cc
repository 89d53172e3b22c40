#include "api/ws_protocol.h"

#include <boost/json/parse.hpp>

#include "events/event_codec.h"
#include "events/names.h"
#include "events/text_formats.h"

namespace kakehashi::api::ws {

namespace json = boost::json;

namespace {

// Positions travel as JSON numbers; beyond 2^53 a JavaScript client could not hold them.
constexpr std::uint64_t max_json_position = (std::uint64_t{1} << 53) - 1;

parse_result fail(std::string sub, std::string code, std::string message) {
  parse_result out;
  out.error = {std::move(sub), std::move(code), std::move(message)};
  return out;
}

const json::string* string_member(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return nullptr;
  return &it->value().get_string();
}

bool has(const json::object& o, std::string_view key) {
  return o.find(key) != o.end();
}

parse_result parse_subscribe(const json::object& o, client_op op) {
  const std::string& sub = op.id;
  const json::string* stream = string_member(o, "stream");
  if (!stream) return fail(sub, "bad_message", "subscribe needs \"stream\" as a string");
  op.stream = std::string(*stream);

  if (auto it = o.find("from"); it != o.end()) {
    const json::value& from = it->value();
    if (from.is_string() && from.get_string() == "start") {
      op.from = start_kind::start;
    } else if (from.is_string() && from.get_string() == "end") {
      op.from = start_kind::end;
    } else if ((from.is_uint64() || (from.is_int64() && from.get_int64() >= 0)) &&
               from.to_number<std::uint64_t>() <= max_json_position) {
      op.from = start_kind::position;
      op.from_position = from.to_number<std::uint64_t>();
    } else {
      return fail(sub, "bad_message",
                  "\"from\" is \"start\", \"end\" or a position (a non-negative integer)");
    }
  }

  if (auto it = o.find("types"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_array())
      return fail(sub, "bad_message", "\"types\" is an array of event type names");
    const json::array& types = it->value().get_array();
    if (types.size() > max_types)
      return fail(sub, "bad_message", "\"types\" names at most 64 event types");
    for (const auto& t : types) {
      // A known type, as GET /v1/events?types= insists: a misspelt one would match nothing,
      // silently.
      if (!t.is_string() || !find_event_type(t.get_string()))
        return fail(sub, "bad_message", "\"types\" holds event type names such as NeedOpened");
      op.types.emplace_back(t.get_string());
    }
  }
  // Stream names are checked when the subscription's filter is built (invalid_stream).
  op.op = op_kind::subscribe;
  return {true, std::move(op), {}};
}

parse_result parse_watch(const json::object& o, client_op op) {
  const std::string& sub = op.id;
  const json::string* view = string_member(o, "view");
  if (!view) return fail(sub, "bad_message", "watch needs \"view\" as a string");
  if (*view == "pipeline")
    op.view = view_kind::pipeline;
  else if (*view == "headline")
    op.view = view_kind::headline;
  else if (*view == "work-queue")
    op.view = view_kind::work_queue;
  else
    return fail(sub, "unknown_view", "\"view\" is pipeline, headline or work-queue");
  if (auto it = o.find("lg_code"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_string() || !is_valid_lg_code(it->value().get_string()))
      return fail(sub, "invalid_lg_code", "\"lg_code\" is a 6-digit local government code");
    if (op.view != view_kind::pipeline)
      return fail(sub, "bad_message", "only the pipeline view takes \"lg_code\"");
    op.lg_code = std::string(it->value().get_string());
  }
  op.op = op_kind::watch;
  return {true, std::move(op), {}};
}

}  // namespace

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > max_id_bytes) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

parse_result parse_client_op(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options limits;
  limits.max_depth = 16;  // nothing the protocol sends nests deeper
  json::value parsed = json::parse(text, ec, {}, limits);
  if (ec || !parsed.is_object())
    return fail("", "bad_message", "a message is one JSON object with an \"op\"");
  const json::object& o = parsed.get_object();
  const json::string* op_name = string_member(o, "op");
  if (!op_name) return fail("", "bad_message", "a message needs \"op\" as a string");

  client_op op;
  if (*op_name == "ping") {
    op.op = op_kind::ping;
    return {true, std::move(op), {}};
  }
  bool known = *op_name == "subscribe" || *op_name == "watch" || *op_name == "unsubscribe";

  // The id first, so every later error can name the subscription it is about.
  if (has(o, "id")) {
    const json::string* id = string_member(o, "id");
    if (!id || !is_valid_id(*id))
      return fail("", "bad_id", "\"id\" is 1 to 64 characters of A-Z a-z 0-9 . _ : -");
    op.id = std::string(*id);
  }
  if (!known) return fail(op.id, "unknown_op", "op is subscribe, watch, unsubscribe or ping");
  if (op.id.empty()) return fail("", "bad_id", "this op needs an \"id\"");

  if (*op_name == "subscribe") return parse_subscribe(o, std::move(op));
  if (*op_name == "watch") return parse_watch(o, std::move(op));
  op.op = op_kind::unsubscribe;
  return {true, std::move(op), {}};
}

std::string_view to_string(view_kind view) {
  switch (view) {
    case view_kind::pipeline:
      return "pipeline";
    case view_kind::headline:
      return "headline";
    case view_kind::work_queue:
      return "work-queue";
  }
  return "?";
}

namespace {

// Ids are validated to need no escaping; an empty one is left out.
void append_sub(std::string& out, std::string_view sub) {
  if (sub.empty()) return;
  out += ",\"sub\":\"";
  out += sub;
  out += '"';
}

}  // namespace

std::string error_message(std::string_view sub, std::string_view code, std::string_view message) {
  std::string out = "{\"op\":\"error\"";
  append_sub(out, sub);
  out += ",\"code\":";
  out += json_quote(code);
  out += ",\"message\":";
  out += json_quote(message);
  out += '}';
  return out;
}

std::string caught_up_message(std::string_view sub, position_t position) {
  std::string out = "{\"op\":\"caught_up\"";
  append_sub(out, sub);
  out += ",\"position\":";
  out += std::to_string(position);
  out += '}';
  return out;
}

std::string view_message(std::string_view op, std::string_view sub, position_t position,
                         std::string_view view_json) {
  std::string out = "{\"op\":\"";
  out += op;
  out += '"';
  append_sub(out, sub);
  out += ",\"position\":";
  out += std::to_string(position);
  out += ",\"view\":";
  out += view_json;
  out += '}';
  return out;
}

std::string pong_message() {
  return "{\"op\":\"pong\"}";
}

std::string event_message_head(std::string_view sub) {
  std::string out = "{\"op\":\"event\"";
  append_sub(out, sub);
  out += ",\"event\":";
  return out;
}

}  // namespace kakehashi::api::ws
