// Fuzz target: raw bytes on a connection to the real HTTP server (server_fixture.h).
//
// The input is written, as is, to a fresh TCP connection; then the client half-closes and reads
// until the server closes. So the whole path is exercised: Beast's parser with the session's
// header and body limits, keep-alive and pipelining, the router, authentication, every route's
// input decoding (query parameters, JSON bodies, command headers), the command service and the
// queries, the CORS preflight and the WebSocket handshake.
//
// Seeds carry the fixed tokens of fuzz_support.h (one per role) and name the fixed aggregates,
// so mutations start from requests that get past authentication and find their target.
//
// Findings besides what ASan/UBSan report: a `500` answer (a handler threw or dropped its
// reply) and a connection the server keeps open after the client has finished sending (a hang).
#include <unistd.h>

#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "server_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kakehashi::fuzz;
  // Generous: an input can pipeline many requests, each may wait min_position_wait, and a
  // replay under ThreadSanitizer is slow.
  int fd = connect_to_server(20);
  std::string answers =
      send_and_drain(fd, std::string_view(reinterpret_cast<const char*>(data), size));
  ::close(fd);
  if (has_internal_error(answers)) fail("the server answered 500 Internal Server Error");
  return 0;
}
