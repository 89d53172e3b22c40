// Fuzz target: a live WebSocket connection of `GET /v1/stream` on the real server
// (server_fixture.h), after a valid handshake.
//
// Input: byte 0 picks the token's role (fuzz_support.h's fixed tokens, modulo their count); the
// rest is what the client sends after the server's 101: RFC 6455 frames (masked), carrying the
// protocol's JSON messages (subscribe from the start, watch views, unsubscribe, ping), control
// frames, fragments, close. Then the client half-closes and reads until the server closes.
// This drives ws_session itself: its frame loop, message handling, subscriptions and watches
// with per-event authorization, the outgoing queue and the close handshake.
//
// Findings besides ASan/UBSan: a refused handshake (the fixture is broken), and a connection
// the server keeps open after the client finished sending.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_support.h"
#include "server_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kakehashi::fuzz;
  if (size < 1) return 0;
  const auto& tokens = fixed_tokens();
  const fixed_token& token = tokens[data[0] % tokens.size()];

  int fd = connect_to_server(20);
  std::string handshake =
      "GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: kakehashi.v1\r\n"
      "Authorization: Bearer " +
      token.bearer + "\r\n\r\n";
  if (!send_all(fd, handshake)) fail("cannot send the handshake");
  // The 101's headers, byte by byte so nothing after them is taken from the frames.
  std::string head;
  char c;
  while (head.size() < 4096 && head.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, &c, 1, 0);
    if (n < 0 && errno == EINTR) continue;  // libFuzzer's timer signals
    if (n != 1)
      fail("the server did not answer the handshake (" +
           (n == 0 ? std::string("it closed the connection")
                   : std::string("recv: ") + std::strerror(errno)) +
           " after " + std::to_string(head.size()) + " bytes)");
    head.push_back(c);
  }
  if (head.rfind("HTTP/1.1 101", 0) != 0) fail("the handshake was refused:\n" + head);

  send_and_drain(fd, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  ::close(fd);
  return 0;
}
