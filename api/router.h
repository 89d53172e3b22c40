// Routing: (method, path pattern) -> handler. Patterns are literal segments and `{name}`
// placeholders ("/v1/needs/{id}/hearings"); a placeholder matches one non-empty segment, taken
// verbatim (not percent-decoded: ids are UUIDs). Unknown paths answer 404, a known path with
// another method 405 with an Allow header; both with the JSON error body.
//
// Handlers decode the request, call the engine, encode the answer; domain rules live in events/
// and engine/, never here. A handler completes its request by calling `reply` exactly once, from
// any thread, now or later (e.g. from an append_async callback); further calls are ignored, and a
// reply dropped without being called answers 500 so no client waits forever.
//
// Thread safety: add() only while building the server; after that the router is immutable and
// dispatch() runs concurrently on I/O threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http.h"

namespace kakehashi::api {

// A request as a handler sees it. `message`, and the views into it, stay valid until the
// handler's reply has been called (the session keeps the request until then), so an
// asynchronous handler may copy the view and use it later.
struct request_view {
  const http_request* message = nullptr;
  std::string_view path;   // target without the query string
  std::string_view query;  // what follows '?', without it; "" when none
  std::vector<std::pair<std::string_view, std::string_view>> params;  // `{name}` captures
  std::string_view client_address;  // the peer's IP address as text; "" when unknown

  std::string_view param(std::string_view name) const;  // "" when absent
};

// Completes one request. Copyable; all copies share one "already replied" flag.
class reply {
 public:
  using send_fn = std::function<void(http_response)>;
  explicit reply(send_fn send);
  void operator()(http_response res) const;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

using handler = std::function<void(const request_view&, reply)>;
using sync_handler = std::function<http_response(const request_view&)>;

class router {
 public:
  void add(http::verb method, std::string_view pattern, handler h);
  // For handlers that answer without waiting on anything.
  void add_sync(http::verb method, std::string_view pattern, sync_handler h);

  // Finds the route for `req` and runs it, or answers 404/405. A handler that throws answers
  // 500 (the exception's text is not sent: it might contain input). `client_address` must stay
  // valid as long as `req`.
  void dispatch(const http_request& req, reply done, std::string_view client_address = {}) const;

  // "GET, POST" for the methods routed on `path`; "" when no pattern matches it.
  std::string allowed_methods(std::string_view path) const;

  // `path` as the access log may show it. A path is whatever a client typed, and a client may
  // type a name or an address into it; the log must never hold personal data. So a segment is
  // kept only when it is a literal segment of some route or looks like an id (a UUID, a stream
  // name such as need-<uuid> or audit-20415, a number of at most 8 digits such as an lg_code);
  // any other segment is logged as "*".
  std::string loggable_path(std::string_view path) const;

  // Every route as registered, in registration order: for the OpenAPI document and its test.
  struct route_info {
    http::verb method;
    std::string pattern;  // as given to add(): "/v1/needs/{id}/hearings"
  };
  std::vector<route_info> list() const;

  // Called once per answered request (routes, 404 and 405 alike) with its status and the time
  // from dispatch to the reply, on whichever thread replies: for the metrics. Must be
  // thread-safe and cheap. Set while building, like add().
  using reply_observer = std::function<void(unsigned status, std::chrono::microseconds elapsed)>;
  void observe_replies(reply_observer observer);

 private:
  struct route {
    http::verb method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" for a placeholder
    handler run;
  };
  static bool match(const route& r, std::string_view path, request_view* out);

  std::vector<route> routes_;
  std::set<std::string, std::less<>> literals_;  // every literal segment of every route
  reply_observer observer_;
};

// Splits a request target into path and query.
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

}  // namespace kakehashi::api
