// A kakehashi server running in the fuzzing process, as `kakehashi serve` runs it: a real store
// on tmpfs seeded with the fixed aggregates and tokens (fuzz_support.h), a command service, a
// read model following the log, and the HTTP/WebSocket server on 127.0.0.1 with an ephemeral
// port. Shared by the targets that talk to it over TCP. Created on first use, stopped and
// removed at exit; state persists between inputs (commands append), as in a running server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kakehashi::fuzz {

// The port of the process's server, started on the first call.
std::uint16_t server_port();

// A blocking loopback connection to the server, with receive/send timeouts of `deadline_seconds`.
int connect_to_server(int deadline_seconds);

// Sends all of `bytes`; false when the connection failed first. Retries after a signal.
bool send_all(int fd, std::string_view bytes);

// Sends `bytes` (stopping quietly if the server closed), half-closes, and reads until the server
// closes. Returns what it read (at most 1 MiB is kept). Aborts when the server keeps the
// connection open past the deadline after the client finished sending: a hang.
std::string send_and_drain(int fd, std::string_view bytes);

// True when `answers` holds an HTTP status line with status 500.
bool has_internal_error(const std::string& answers);

}  // namespace kakehashi::fuzz
