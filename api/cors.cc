#include "api/cors.h"

#include <algorithm>

#include "api/router.h"

namespace kakehashi::api {

namespace {

// The request headers the API reads; a browser asks before sending any of them cross-origin.
constexpr std::string_view allowed_request_headers =
    "Authorization, Content-Type, If-Match, Idempotency-Key, X-On-Behalf-Of";
// The response headers beyond the CORS-safelisted ones that a page's script needs to read: the
// version a command wrote, where a creation lives, whether an answer was replayed, how long to
// back off.
constexpr std::string_view exposed_response_headers =
    "ETag, Location, Idempotent-Replayed, Retry-After";

}  // namespace

cors_policy::cors_policy(std::vector<std::string> allow_origins)
    : origins_(std::move(allow_origins)) {
  // "https://x.example/" and "https://x.example" name the same origin; browsers send the latter.
  for (auto& origin : origins_)
    while (!origin.empty() && origin.back() == '/')
      origin.pop_back();
}

bool cors_policy::allows(std::string_view origin) const {
  return !origin.empty() && std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

std::optional<http_response> cors_policy::preflight(const http_request& req,
                                                    const router& routes) const {
  if (req.method() != http::verb::options) return std::nullopt;
  auto origin = req.find(http::field::origin);
  if (origin == req.end() || req.find(http::field::access_control_request_method) == req.end())
    return std::nullopt;
  if (!allows(origin->value()))
    return error_response(http::status::forbidden, "origin_not_allowed",
                          "this origin may not call the API", "Origin");
  std::string methods = routes.allowed_methods(split_target(req.target()).first);
  if (methods.empty())
    return error_response(http::status::not_found, "not_found", "no such resource");

  http_response res{http::status::no_content, 11};
  res.set(http::field::access_control_allow_methods, methods);
  res.set(http::field::access_control_allow_headers, allowed_request_headers);
  res.set(http::field::access_control_max_age, "600");
  return res;
}

void cors_policy::decorate(const http_request& req, http_response& res) const {
  auto origin = req.find(http::field::origin);
  if (origin == req.end()) return;
  // Caches must not hand one origin's answer to another.
  res.set(http::field::vary, "Origin");
  if (!allows(origin->value())) return;
  res.set(http::field::access_control_allow_origin, origin->value());
  res.set(http::field::access_control_expose_headers, exposed_response_headers);
}

}  // namespace kakehashi::api
