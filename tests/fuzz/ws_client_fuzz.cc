// Fuzz target: what a WebSocket client sends on `GET /v1/stream`, decoded as the session does.
//
// Input: byte 0 picks how the rest is cut into reads (the parser must give the same events
// whatever the cut); the rest is the client's byte stream of RFC 6455 frames. Every complete
// frame goes through ws::frame_parser with the server's 64 KiB message limit, every text message
// through ws::parse_client_op and, for a subscribe, through event_filter::parse as the session
// does; error replies are encoded with the server's encoder.
//
// Findings besides ASan/UBSan: the parser consuming more than it was given, needing more than
// max_frame_bytes of buffered input, producing text that is not UTF-8, accepting an invalid id,
// or an encoded reply that is not valid JSON.
#include <boost/json/parse.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/ws_frame.h"
#include "api/ws_protocol.h"
#include "engine/event_store.h"
#include "events/text_formats.h"
#include "fuzz_support.h"

namespace kakehashi::fuzz {
namespace {

constexpr std::size_t max_message_bytes = 64 * 1024;  // websocket_options' default

void check_json(const std::string& text) {
  boost::system::error_code ec;
  auto parsed = boost::json::parse(text, ec);
  if (ec || !parsed.is_object()) fail("an encoded server message is not a JSON object: " + text);
}

void handle_text(const std::string& text) {
  if (!is_valid_utf8(text)) fail("the frame parser produced text that is not UTF-8");
  api::ws::parse_result parsed = api::ws::parse_client_op(text);
  if (!parsed.ok) {
    const auto& e = parsed.error;
    if (e.code.empty() || e.message.empty()) fail("a refused message has no error code");
    if (!e.sub.empty() && !api::ws::is_valid_id(e.sub)) fail("an error names an invalid id");
    check_json(api::ws::error_message(e.sub, e.code, e.message));
    return;
  }
  const auto& op = parsed.op;
  if (op.op != api::ws::op_kind::ping && !api::ws::is_valid_id(op.id))
    fail("an accepted message has an invalid id");
  if (op.op == api::ws::op_kind::subscribe) {
    if (op.types.size() > api::ws::max_types) fail("more types than the protocol allows");
    auto filter = event_filter::parse(op.stream, op.types);
    if (filter) {
      (void)filter->matches(op.stream, op.types.empty() ? "NeedOpened" : op.types.front());
      check_json(api::ws::event_message_head(op.id) + "{}" +
                 std::string(api::ws::event_message_tail));
    }
    check_json(api::ws::caught_up_message(op.id, op.from_position));
  } else if (op.op == api::ws::op_kind::watch) {
    check_json(api::ws::view_message("snapshot", op.id, 1, "{}"));
  }
}

}  // namespace
}  // namespace kakehashi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kakehashi;
  using namespace kakehashi::fuzz;
  if (size == 0) return 0;
  // Reads of 1..255 bytes, or everything at once for 0.
  const std::size_t chunk = data[0] == 0 ? size : data[0];
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  api::ws::frame_parser parser(max_message_bytes);
  std::string inbox;  // what arrived and is not parsed yet, as the session's inbox
  std::size_t fed = 0;
  bool failed = false;
  while (fed < stream.size() && !failed) {
    std::size_t n = std::min(chunk, stream.size() - fed);
    inbox.append(stream.substr(fed, n));
    fed += n;
    std::size_t used = 0;
    while (true) {
      api::ws::frame_event frame;
      bool produced = false;
      std::size_t consumed = parser.parse(std::string_view(inbox).substr(used), frame, produced);
      if (consumed == 0) break;
      if (consumed > inbox.size() - used) fail("the frame parser consumed more than it was given");
      used += consumed;
      if (!produced) continue;
      switch (frame.what) {
        case api::ws::frame_event::kind::text:
          handle_text(frame.payload);
          break;
        case api::ws::frame_event::kind::ping:
          if (frame.payload.size() > 125) fail("a ping payload over 125 bytes");
          break;
        case api::ws::frame_event::kind::fail:
          failed = true;  // the session closes here and reads nothing more
          break;
        default:
          break;
      }
      if (failed) break;
    }
    inbox.erase(0, used);
    // The session closes a connection whose unparsed input outgrows one frame plus one read.
    if (inbox.size() > parser.max_frame_bytes())
      fail("the parser kept more than one frame waiting");
  }
  return 0;
}
