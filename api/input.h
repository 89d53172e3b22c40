// Decoding what a request carries besides its route: query parameters, JSON bodies, the
// command headers (If-Match, Idempotency-Key, X-On-Behalf-Of) and the read-position parameters
// (as_of, min_position). Every function validates and bounds its input and answers a 400-kind
// error naming the offending parameter, header or field; none throws. Pure, thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "events/ids.h"
#include "events/result.h"

namespace kakehashi::api {

// Query parameters, percent-decoded (RFC 3986: "%2B" is '+', and '+' stays '+', so an
// unescaped RFC 3339 offset "+09:00" survives). Errors: unknown_parameter (a name not in
// `allowed`), duplicate_parameter, invalid_parameter (bad escape, not UTF-8, over 1 KiB).
using query_map = std::map<std::string, std::string, std::less<>>;
result<query_map> parse_query(std::string_view query, const std::vector<std::string_view>& allowed);

// A decimal count in [min, max]; `name` is the field reported. Errors: invalid_parameter.
result<std::uint64_t> parse_count(std::string_view text, std::string_view name, std::uint64_t min,
                                  std::uint64_t max);

// A request body as a JSON object; an empty body is `{}`. Errors: invalid_json (not UTF-8,
// malformed, nested deeper than 32, not an object), duplicate_field (a key twice in one object,
// with the field's path: the payload codec rejects those too, and a parser would silently keep
// one of them).
result<boost::json::object> parse_json_object(std::string_view body);

// RFC 3339 date-time with a Z or ±hh:mm offset and optional fraction (to µs), as µs since the
// Unix epoch. nullopt when malformed.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);
// The last microsecond of a calendar day in Asia/Tokyo (UTC+9, no daylight saving):
// "as of 2025-12-01" means everything that happened on or before that Tokyo day.
std::optional<std::int64_t> end_of_tokyo_day(std::string_view date);

// Where a query reads: the live model, or the model as of a past point.
struct read_point {
  enum class kind : std::uint8_t { live, position, time };
  kind at = kind::live;
  std::uint64_t position = 0;                 // with `position`
  std::int64_t micros = 0;                    // with `time`: business time (occurred_at) cut-off
  std::optional<std::uint64_t> min_position;  // live reads: wait until the model has applied it
};
// From the `as_of` and `min_position` query parameters (either may be absent).
// as_of = a position (digits) | YYYY-MM-DD (end of that day, Tokyo) | RFC 3339 time.
// Errors: invalid_parameter with field "as_of" or "min_position".
result<read_point> parse_read_point(const query_map& query);

// Errors: duplicate_header (field `name`) when the request carries header `name` more than once:
// which of the values counts would be up to whoever reads first (API.md: duplicate fields are
// 400). The parsers below and the token check (api/auth.h) refuse repeated headers with it.
status at_most_once(const http_request& req, std::string_view name);

// `If-Match: "<n>"` (the quotes optional; "*" or a weak tag are refused) -> expected version.
// nullopt when the header is absent. Errors: invalid_header, duplicate_header, field "If-Match".
result<std::optional<std::uint64_t>> parse_if_match(const http_request& req);
// `Idempotency-Key: <uuid>`. Errors: invalid_header, duplicate_header, field "Idempotency-Key".
result<std::optional<uuid>> parse_idempotency_key(const http_request& req);
// `X-On-Behalf-Of: <reference>`: whom an entry is made for, stored in the event envelope's
// actor. The envelope is not encrypted, so this is a reference such as "municipality:131016"
// or "officer:<id>", never a person's name: printable ASCII, at most 128 bytes.
// "" when absent. Errors: invalid_header, duplicate_header, field "X-On-Behalf-Of".
result<std::string> parse_on_behalf_of(const http_request& req);

}  // namespace kakehashi::api
