// RFC 6455 framing for the server side of `GET /v1/stream`, after the opening handshake.
//
// Why not Beast's websocket::stream for the data: it writes one message per write call (one
// send syscall per event per subscriber), and it writes control frames (pongs, close replies)
// on its own from inside a read, so nothing else may write to the socket. Fan-out to a thousand
// subscribers needs many messages in one write; this file frames them, and parses what clients
// send, so the session owns every byte on the socket. Beast still performs the handshake.
//
// No extensions are negotiated (no permessage-deflate), so RSV bits must be zero.
// Pure functions, a parser and an output batch; no I/O. Each object is used by one thread at a
// time.
#pragma once

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kakehashi::api::ws {

enum class opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// Close codes used by the server (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t invalid_payload = 1007;   // text that is not UTF-8
inline constexpr std::uint16_t policy_violation = 1008;  // the token was revoked
inline constexpr std::uint16_t too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t try_again_later = 1013;  // the token file cannot be read
}  // namespace close_code

// Appends the header of one unmasked, final (FIN) server frame with `payload_bytes` of payload.
void append_frame_header(std::string& out, opcode op, std::size_t payload_bytes);
// A whole close frame with `code` and `reason` (ASCII, at most 123 bytes: a control frame's
// payload is at most 125).
std::string close_frame(std::uint16_t code, std::string_view reason = {});

// Outgoing frames collected for one write (a gather write: the socket takes them as a list of
// buffers). Frame headers and small payloads are copied in; a shared payload (an encoded event,
// the same text for every subscriber) is referenced, not copied: a thousand subscribers of an
// event add a pointer each to their batches instead of a copy each of its kilobyte, so the
// fan-out does not copy every delivery once more in memory (the kernel copies it anyway), and a
// connection's output buffer stays small whatever its batches hold.
// Ownership: the batch holds a reference to each shared payload until clear().
class frame_batch {
 public:
  // One frame whose payload is a + b + c, copied.
  void add(opcode op, std::string_view a, std::string_view b = {}, std::string_view c = {});
  // One frame whose payload is head + *body + tail: head and tail copied, *body (not null, not
  // to be modified while referenced) shared unless it is short enough to copy cheaper.
  void add_shared(opcode op, std::string_view head, std::shared_ptr<const std::string> body,
                  std::string_view tail);

  // Bytes on the wire, all frames.
  std::size_t size() const { return bytes_.size() + shared_bytes_; }
  bool empty() const { return size() == 0; }
  std::size_t frames() const { return frames_; }
  // Empties the batch, releasing the shared payloads; keeps the memory for copies.
  void clear();
  // Gives back the memory for copies too (an idle connection after a burst).
  void release_memory();
  // The memory held for copies (not the shared payloads).
  std::size_t capacity_bytes() const;
  void swap(frame_batch& other) noexcept;

  // Replaces `out` with the buffers that, written in order, put the batch on the wire. They
  // stay valid until the batch is next changed.
  void buffers(std::vector<boost::asio::const_buffer>& out) const;

  // Payloads shorter than this are copied: a buffer of their own would cost the write more
  // than the copy saves.
  static constexpr std::size_t min_shared_bytes = 256;

 private:
  struct shared_piece {
    std::size_t at;  // goes on the wire after bytes_[0, at)
    std::shared_ptr<const std::string> text;
  };
  std::string bytes_;
  std::vector<shared_piece> shared_;
  std::size_t shared_bytes_ = 0;
  std::size_t frames_ = 0;
};

// What the parser found in the bytes a client sent.
struct frame_event {
  enum class kind : std::uint8_t {
    text,    // a whole text message (fragments joined, valid UTF-8) in `payload`
    binary,  // a whole binary message in `payload`
    ping,    // `payload` is to be echoed in a pong
    pong,
    close,  // the client's close frame; `code` is its status (1005 when it gave none)
    fail,   // the client broke the protocol: close with `code`, read nothing more
  };
  kind what = kind::fail;
  std::string payload;
  std::uint16_t code = 0;
};

// Incremental parser of client frames. Enforces: frames are masked, RSV bits are zero, known
// opcodes only, control frames are final and at most 125 bytes, fragments follow the rules, a
// message (all its fragments) is at most max_message_bytes (else fail with 1009 as soon as a
// header announces more, before the payload is read), text is UTF-8 (else 1007), close frames
// carry a valid code and a UTF-8 reason.
class frame_parser {
 public:
  explicit frame_parser(std::size_t max_message_bytes) : max_message_(max_message_bytes) {}

  // Parses the first complete frame of `data`. Returns the bytes it used (0 when `data` does
  // not hold a whole frame yet; then nothing is consumed and `out` is untouched) and sets
  // `produced` when the frame completed an event in `out` (a continuation fragment completes
  // none). After a `fail` event the parser must not be fed again.
  std::size_t parse(std::string_view data, frame_event& out, bool& produced);

  // The most bytes parse() may need to see at once: one frame of the largest allowed size.
  std::size_t max_frame_bytes() const { return max_message_ + 14; }

 private:
  std::size_t max_message_;
  bool in_message_ = false;
  opcode message_op_ = opcode::text;
  std::string message_;
};

}  // namespace kakehashi::api::ws
