#include "api/ws_frame.h"

#include <utility>

#include "events/text_formats.h"

namespace kakehashi::api::ws {

namespace {

constexpr std::size_t max_control_payload = 125;

std::uint8_t byte_at(std::string_view data, std::size_t i) {
  return static_cast<std::uint8_t>(data[i]);
}

bool is_control(std::uint8_t op) {
  return (op & 0x8) != 0;
}

// Codes a peer may send (RFC 6455 7.4.1 and 7.4.2): 1004-1006 and 1015 are reserved for
// reporting, never sent; 1012-1014 were registered later by IANA.
bool valid_close_code(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  if (code < 1000 || code > 1014) return false;
  return code != 1004 && code != 1005 && code != 1006;
}

}  // namespace

void append_frame_header(std::string& out, opcode op, std::size_t payload_bytes) {
  out.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(op)));
  if (payload_bytes < 126) {
    out.push_back(static_cast<char>(payload_bytes));
  } else if (payload_bytes <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(payload_bytes >> 8));
    out.push_back(static_cast<char>(payload_bytes & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((static_cast<std::uint64_t>(payload_bytes) >> shift) & 0xFF));
  }
}

std::string close_frame(std::uint16_t code, std::string_view reason) {
  reason = reason.substr(0, max_control_payload - 2);
  std::string out;
  append_frame_header(out, opcode::close, 2 + reason.size());
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out += reason;
  return out;
}

void frame_batch::add(opcode op, std::string_view a, std::string_view b, std::string_view c) {
  append_frame_header(bytes_, op, a.size() + b.size() + c.size());
  bytes_ += a;
  bytes_ += b;
  bytes_ += c;
  ++frames_;
}

void frame_batch::add_shared(opcode op, std::string_view head,
                             std::shared_ptr<const std::string> body, std::string_view tail) {
  if (body->size() < min_shared_bytes) return add(op, head, *body, tail);
  append_frame_header(bytes_, op, head.size() + body->size() + tail.size());
  bytes_ += head;
  shared_bytes_ += body->size();
  shared_.push_back(shared_piece{bytes_.size(), std::move(body)});
  bytes_ += tail;
  ++frames_;
}

void frame_batch::clear() {
  bytes_.clear();
  shared_.clear();
  shared_bytes_ = 0;
  frames_ = 0;
}

void frame_batch::release_memory() {
  clear();
  std::string().swap(bytes_);
  std::vector<shared_piece>().swap(shared_);
}

std::size_t frame_batch::capacity_bytes() const {
  return bytes_.capacity() + shared_.capacity() * sizeof(shared_piece);
}

void frame_batch::swap(frame_batch& other) noexcept {
  bytes_.swap(other.bytes_);
  shared_.swap(other.shared_);
  std::swap(shared_bytes_, other.shared_bytes_);
  std::swap(frames_, other.frames_);
}

void frame_batch::buffers(std::vector<boost::asio::const_buffer>& out) const {
  out.clear();
  std::size_t from = 0;
  for (const auto& piece : shared_) {
    if (piece.at > from) out.emplace_back(bytes_.data() + from, piece.at - from);
    out.emplace_back(piece.text->data(), piece.text->size());
    from = piece.at;
  }
  if (bytes_.size() > from) out.emplace_back(bytes_.data() + from, bytes_.size() - from);
}

std::size_t frame_parser::parse(std::string_view data, frame_event& out, bool& produced) {
  produced = false;
  auto fail = [&](std::uint16_t code, std::size_t used) {
    out = frame_event{frame_event::kind::fail, {}, code};
    produced = true;
    return used == 0 ? std::size_t{1} : used;
  };
  if (data.size() < 2) return 0;
  const std::uint8_t b0 = byte_at(data, 0);
  const std::uint8_t b1 = byte_at(data, 1);
  const bool fin = (b0 & 0x80) != 0;
  const std::uint8_t op = b0 & 0x0F;
  if ((b0 & 0x70) != 0) return fail(close_code::protocol_error, 2);  // no extension was agreed
  if ((b1 & 0x80) == 0) return fail(close_code::protocol_error, 2);  // clients must mask
  const bool known = op <= 0x2 || (op >= 0x8 && op <= 0xA);
  if (!known) return fail(close_code::protocol_error, 2);

  std::size_t header = 2;
  std::uint64_t length = b1 & 0x7F;
  if (length == 126) {
    if (data.size() < 4) return 0;
    length = (std::uint64_t{byte_at(data, 2)} << 8) | byte_at(data, 3);
    header = 4;
  } else if (length == 127) {
    if (data.size() < 10) return 0;
    length = 0;
    for (std::size_t i = 2; i < 10; ++i)
      length = (length << 8) | byte_at(data, i);
    if ((length >> 63) != 0) return fail(close_code::protocol_error, 10);
    header = 10;
  }
  if (is_control(op) && (!fin || length > max_control_payload))
    return fail(close_code::protocol_error, header);
  if (!is_control(op)) {
    if (op == 0 && !in_message_) return fail(close_code::protocol_error, header);
    if (op != 0 && in_message_) return fail(close_code::protocol_error, header);
    // Refuse an oversized message on its header, before reading the payload.
    std::size_t so_far = op == 0 ? message_.size() : 0;
    if (length > max_message_ || so_far + length > max_message_)
      return fail(close_code::too_big, header);
  }
  const std::size_t mask_at = header;
  const std::size_t payload_at = header + 4;
  if (data.size() < payload_at || data.size() - payload_at < length) return 0;
  const std::size_t used = payload_at + static_cast<std::size_t>(length);

  std::string payload(data.substr(payload_at, static_cast<std::size_t>(length)));
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(payload[i] ^ data[mask_at + (i & 3)]);

  switch (op) {
    case 0x8: {                   // close
      std::uint16_t code = 1005;  // "no status received"
      if (payload.size() == 1) return fail(close_code::protocol_error, used);
      if (payload.size() >= 2) {
        code = static_cast<std::uint16_t>((byte_at(payload, 0) << 8) | byte_at(payload, 1));
        if (!valid_close_code(code)) return fail(close_code::protocol_error, used);
        if (!is_valid_utf8(std::string_view(payload).substr(2)))
          return fail(close_code::invalid_payload, used);
      }
      out = frame_event{frame_event::kind::close, {}, code};
      produced = true;
      return used;
    }
    case 0x9:
      out = frame_event{frame_event::kind::ping, std::move(payload), 0};
      produced = true;
      return used;
    case 0xA:
      out = frame_event{frame_event::kind::pong, {}, 0};
      produced = true;
      return used;
    default:
      break;
  }

  if (op != 0) {
    in_message_ = true;
    message_op_ = static_cast<opcode>(op);
    message_ = std::move(payload);
  } else {
    message_ += payload;
  }
  if (!fin) return used;
  in_message_ = false;
  std::string whole = std::move(message_);
  message_.clear();
  if (message_op_ == opcode::text) {
    if (!is_valid_utf8(whole)) return fail(close_code::invalid_payload, used);
    out = frame_event{frame_event::kind::text, std::move(whole), 0};
  } else {
    out = frame_event{frame_event::kind::binary, std::move(whole), 0};
  }
  produced = true;
  return used;
}

}  // namespace kakehashi::api::ws
