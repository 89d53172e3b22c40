// RFC 6455 framing (api/ws_frame.h) without a socket: what the server writes, and how it
// treats every kind of client frame, well-formed or not.
#include "api/ws_frame.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

namespace kakehashi::api::ws {

namespace {

// A client frame: masked, with the given first byte (FIN, RSV, opcode).
std::string client_frame(std::uint8_t first, std::string_view payload,
                         std::uint64_t announced = UINT64_MAX) {
  std::uint64_t length = announced == UINT64_MAX ? payload.size() : announced;
  std::string out;
  out.push_back(static_cast<char>(first));
  if (length < 126) {
    out.push_back(static_cast<char>(0x80 | length));
  } else if (length <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((length >> shift) & 0xFF));
  }
  const char mask[4] = {'\x11', '\x22', '\x33', '\x44'};
  out.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
  return out;
}

// Feeds `bytes` one byte more at a time (as a slow network would) and collects the events.
std::vector<frame_event> parse_all(frame_parser& parser, const std::string& bytes) {
  std::vector<frame_event> out;
  std::size_t used = 0;
  std::size_t visible = 0;
  while (used < bytes.size() && visible < bytes.size()) {
    ++visible;
    for (;;) {
      frame_event e;
      bool produced = false;
      std::size_t n =
          parser.parse(std::string_view(bytes).substr(used, visible - used), e, produced);
      if (n == 0) break;
      used += n;
      if (produced) {
        out.push_back(e);
        if (e.what == frame_event::kind::fail) return out;
      }
      if (used >= visible) break;
    }
  }
  return out;
}

frame_event only(frame_parser& parser, const std::string& bytes) {
  auto events = parse_all(parser, bytes);
  REQUIRE(events.size() == 1);
  return events[0];
}

}  // namespace

TEST_CASE("ws frame: server frame headers use the shortest length encoding") {
  std::string small, medium, large;
  append_frame_header(small, opcode::text, 125);
  CHECK(small == std::string("\x81\x7d", 2));
  append_frame_header(medium, opcode::text, 126);
  CHECK(medium == std::string("\x81\x7e\x00\x7e", 4));
  append_frame_header(large, opcode::binary, 70000);
  CHECK(large == std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10));
  CHECK(close_frame(close_code::going_away) == std::string("\x88\x02\x03\xe9", 4));
  CHECK(close_frame(close_code::policy_violation, "token_revoked") ==
        std::string("\x88\x0f\x03\xf0token_revoked", 17));
}

TEST_CASE("ws frame: masked text, fragments, pings and close are parsed") {
  frame_parser parser(64 * 1024);
  auto text = only(parser, client_frame(0x81, R"({"op":"ping"})"));
  CHECK(text.what == frame_event::kind::text);
  CHECK(text.payload == R"({"op":"ping"})");

  // A fragmented message with a ping between its fragments.
  std::string bytes =
      client_frame(0x01, "{\"op\":") + client_frame(0x89, "hi") + client_frame(0x80, "\"ping\"}");
  auto events = parse_all(parser, bytes);
  REQUIRE(events.size() == 2);
  CHECK(events[0].what == frame_event::kind::ping);
  CHECK(events[0].payload == "hi");
  CHECK(events[1].what == frame_event::kind::text);
  CHECK(events[1].payload == R"({"op":"ping"})");

  // 64-bit length encoding, just under the limit.
  auto big = only(parser, client_frame(0x82, std::string(65536, 'b')));
  CHECK(big.what == frame_event::kind::binary);
  CHECK(big.payload == std::string(65536, 'b'));
}

TEST_CASE("ws frame: close frames report their code, a bare one reads 1005") {
  frame_parser parser(1024);
  auto bare = only(parser, client_frame(0x88, ""));
  CHECK(bare.what == frame_event::kind::close);
  CHECK(bare.code == 1005);
  frame_parser p2(1024);
  auto coded = only(p2, client_frame(0x88, std::string("\x03\xe8", 2) + "bye"));
  CHECK(coded.what == frame_event::kind::close);
  CHECK(coded.code == 1000);
}

TEST_CASE("ws frame: protocol violations fail with the right close code") {
  struct bad {
    std::string bytes;
    std::uint16_t code;
    const char* why;
  };
  std::string unmasked = client_frame(0x81, "x");
  unmasked[1] = static_cast<char>(unmasked[1] & 0x7F);
  for (const auto& [bytes, code, why] : std::vector<bad>{
           {unmasked, close_code::protocol_error, "unmasked"},
           {client_frame(0xC1, "x"), close_code::protocol_error, "RSV1 without an extension"},
           {client_frame(0x83, "x"), close_code::protocol_error, "reserved opcode"},
           {client_frame(0x80, "x"), close_code::protocol_error, "continuation without a start"},
           {client_frame(0x01, "a") + client_frame(0x81, "b"), close_code::protocol_error,
            "new message inside a fragmented one"},
           {client_frame(0x09, "x"), close_code::protocol_error, "fragmented ping"},
           {client_frame(0x89, std::string(126, 'p')), close_code::protocol_error, "long ping"},
           {client_frame(0x88, "x"), close_code::protocol_error, "one-byte close payload"},
           {client_frame(0x88, std::string("\x03\xed", 2)), close_code::protocol_error,
            "close code 1005 sent on the wire"},
           {client_frame(0x81, "\xff\xfe"), close_code::invalid_payload, "text that is not UTF-8"},
           {client_frame(0x81, "", 2000), close_code::too_big, "over the limit, by its header"},
           {client_frame(0x01, std::string(600, 'a')) + client_frame(0x80, std::string(600, 'a')),
            close_code::too_big, "over the limit across fragments"},
           {client_frame(0x81, "", std::uint64_t{1} << 63), close_code::protocol_error,
            "64-bit length with the top bit set"},
       }) {
    frame_parser parser(1024);
    auto events = parse_all(parser, bytes);
    REQUIRE_MESSAGE(!events.empty(), why);
    CHECK_MESSAGE(events.back().what == frame_event::kind::fail, why);
    CHECK_MESSAGE(events.back().code == code, why);
  }
}

TEST_CASE("ws frame: an oversized message fails on its header, before its payload arrives") {
  frame_parser parser(1024);
  frame_event e;
  bool produced = false;
  // Only the first 10 bytes (opcode, 64-bit length) of a frame announcing 1 MiB.
  std::string header = client_frame(0x81, "", 1 << 20).substr(0, 10);
  std::size_t n = parser.parse(header, e, produced);
  CHECK(n > 0);
  CHECK(produced);
  CHECK(e.what == frame_event::kind::fail);
  CHECK(e.code == close_code::too_big);
}

namespace {

// What a batch puts on the wire: its buffers, in order.
std::string wire(const frame_batch& batch) {
  std::vector<boost::asio::const_buffer> buffers;
  batch.buffers(buffers);
  std::string out;
  for (const auto& b : buffers)
    out.append(static_cast<const char*>(b.data()), b.size());
  return out;
}

// The same frame, copied whole.
std::string framed(opcode op, std::string_view payload) {
  std::string out;
  append_frame_header(out, op, payload.size());
  out += payload;
  return out;
}

}  // namespace

TEST_CASE("ws frame: a batch writes its frames in order, sharing long payloads, copying short") {
  auto long_text = std::make_shared<const std::string>(3000, 'e');
  auto short_text = std::make_shared<const std::string>("{\"short\":1}");
  frame_batch batch;
  batch.add(opcode::text, "{\"op\":\"pong\"}");
  batch.add_shared(opcode::text, "<head>", long_text, "}");
  batch.add_shared(opcode::text, "<head>", short_text, "}");
  batch.add_shared(opcode::text, "<h2>", long_text, "}");
  batch.add(opcode::ping, {});

  std::string expected = framed(opcode::text, "{\"op\":\"pong\"}") +
                         framed(opcode::text, "<head>" + *long_text + "}") +
                         framed(opcode::text, "<head>" + *short_text + "}") +
                         framed(opcode::text, "<h2>" + *long_text + "}") + framed(opcode::ping, "");
  CHECK(wire(batch) == expected);
  CHECK(batch.size() == expected.size());
  CHECK(batch.frames() == 5);
  // The long payload is referenced, twice, not copied: the batch's own memory stays small.
  CHECK(long_text.use_count() == 3);
  CHECK(short_text.use_count() == 1);
  CHECK(batch.capacity_bytes() < long_text->size());

  // Swapping moves the frames; clearing lets the shared payloads go and empties the batch.
  frame_batch other;
  other.swap(batch);
  CHECK(batch.empty());
  CHECK(wire(batch).empty());
  CHECK(wire(other) == expected);
  other.clear();
  CHECK(long_text.use_count() == 1);
  CHECK(other.empty());
  CHECK(other.frames() == 0);
  other.add_shared(opcode::text, "", long_text, "");
  CHECK(wire(other) == framed(opcode::text, *long_text));
  other.release_memory();
  CHECK(other.empty());
  CHECK(long_text.use_count() == 1);
}

}  // namespace kakehashi::api::ws
