// Authentication for routes: a route wrapped in authenticated() runs only with a principal, and
// answers 401 (missing, bad or revoked token), 429 (too many bad tokens from this address) or
// 503 (token file unreadable) itself, before the handler sees anything. Permission rules are the
// pure functions of events/roles.h; a handler that finds the principal lacking answers with
// forbidden_response (403).
//
// Thread safety: the wrapped handler is as thread-safe as the one it wraps (the authenticator is
// thread-safe). The authenticator is shared by the routes that use it, so it lives as long as
// the router.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "api/authenticator.h"
#include "api/router.h"
#include "events/roles.h"

namespace kakehashi::api {

// Where a route accepts the token from.
enum class token_source : std::uint8_t {
  header,  // `Authorization: Bearer TOKEN` only
  // Also `?access_token=TOKEN`, for WebSocket handshakes (browsers cannot set headers there).
  // Query strings end up in proxies' logs, so nothing else accepts it.
  header_or_query,
};

// The presented token: the credentials of an `Authorization: Bearer` header (scheme
// case-insensitive), else with header_or_query the first `access_token` query parameter.
// "" when there is none (including another scheme, such as Basic).
std::string_view bearer_token(const request_view& req, token_source where);

using principal_handler = std::function<void(const request_view&, const principal&, reply)>;

handler authenticated(std::shared_ptr<authenticator> auth, principal_handler run,
                      token_source where = token_source::header);

// The answer for an authenticate() error: its status and JSON body, plus
// `WWW-Authenticate: Bearer` on 401 (with error="invalid_token" when a token was presented) and
// `Retry-After` on 429.
http_response auth_error_response(const error& err, std::chrono::seconds retry_after,
                                  bool token_presented);

// 403 {"error":{"code":"forbidden","message":...}}.
http_response forbidden_response(std::string_view message);

}  // namespace kakehashi::api
