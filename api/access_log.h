// The access log: one JSON line per answered request, written by the session after the response.
// It names the method, the path without its query string, the status, the bytes written and the
// time from the request's first byte to the response's last. Never headers, query strings or
// bodies: they carry tokens and personal data, which must not reach logs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kakehashi::api {

struct access_entry {
  std::string_view method;  // "-" when the request line could not be parsed
  std::string_view path;    // without the query string; "-" when unparsed
  unsigned status = 0;
  std::size_t bytes = 0;  // bytes of the response written, head and body
  std::uint64_t micros = 0;
};

// {"time":"2024-04-01T09:00:00.123456Z","method":"GET","path":"/healthz","status":200,...}
// Non-printable and non-ASCII bytes of the path are percent-encoded, so a hostile target can
// neither forge log lines nor break the JSON.
std::string format_access_line(const access_entry& entry);

// RFC 3339 UTC with microseconds, "2024-04-01T09:00:00.123456Z", for µs since the Unix epoch.
std::string format_utc_time(std::int64_t micros);

// Writes `line` plus a newline to stderr in one call, so concurrent lines do not interleave.
void write_stderr_line(std::string_view line);

}  // namespace kakehashi::api
