// Cross-origin access for browsers: the dashboard may be served from another origin. Only the
// origins given with --allow-origin get Access-Control-Allow-Origin; every other origin gets no
// CORS headers, so the browser withholds the response. Immutable after construction; safe to
// share between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"

namespace kakehashi::api {

class router;

class cors_policy {
 public:
  explicit cors_policy(std::vector<std::string> allow_origins);

  bool allows(std::string_view origin) const;

  // A preflight request (OPTIONS with Origin and Access-Control-Request-Method) is answered
  // here: 204 with the allowed methods for an allowed origin and a known path, otherwise the
  // JSON error. nullopt for any other request.
  std::optional<http_response> preflight(const http_request& req, const router& routes) const;

  // Adds Access-Control-Allow-Origin to `res` when the request's Origin is allowed.
  void decorate(const http_request& req, http_response& res) const;

 private:
  std::vector<std::string> origins_;
};

}  // namespace kakehashi::api
