// Where a request ends must never be ambiguous: request smuggling lives in the gap between how
// a proxy in front and this server each frame the same bytes. Beast's parser is lenient where
// RFC 9112 allows a choice (it unfolds obs-fold, merges equal Content-Lengths, takes a
// Transfer-Encoding it does not know as "no body"); the session takes the strict choice
// everywhere, in two steps:
//   1. inspect_request_head, on the raw bytes before Beast parses them: lines end in CRLF (no
//      bare LF, no bare CR), no obs-fold, no NUL; the request line and the whole head within the
//      limit (a request line over it is 414, a head over it 431).
//   2. framing_problem, on the parsed head: at most one Content-Length, plain digits; a
//      Transfer-Encoding only in HTTP/1.1, once, and exactly `chunked` (Beast already refuses
//      both lengths at once).
// Anything refused is answered 400 (or 414/431) and the connection closed, since what follows
// cannot be trusted to start a request. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "api/http.h"

namespace kakehashi::api {

struct head_scan {
  enum class verdict : std::uint8_t {
    complete,      // the head ends within `data`, after `head_bytes` bytes (CRLF CRLF included)
    need_more,     // fine so far; read more
    malformed,     // bare LF or CR, obs-fold, NUL: 400
    uri_too_long,  // the request line alone is over the limit: 414
    too_large,     // the head is over the limit: 431
  };
  verdict what = verdict::need_more;
  std::size_t head_bytes = 0;
  const char* reason = "";  // for the error message (a literal)
};

// Scans the start of a request (`data` holds what has arrived so far) for a head of at most
// `max_head_bytes` bytes (request line plus header lines plus the empty line).
head_scan inspect_request_head(std::string_view data, std::size_t max_head_bytes);

// What is wrong with a parsed head's framing, or nullopt when nothing is. The text is for the
// error message.
std::optional<std::string_view> framing_problem(const http_request& head);

}  // namespace kakehashi::api
