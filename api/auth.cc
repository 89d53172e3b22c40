#include "api/auth.h"

#include <boost/beast/core/string.hpp>
#include <string>

#include "api/input.h"

namespace kakehashi::api {

namespace {

constexpr std::string_view bearer_scheme = "Bearer";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

std::string_view query_parameter(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace

std::string_view bearer_token(const request_view& req, token_source where) {
  auto header = req.message->find(http::field::authorization);
  if (header != req.message->end()) {
    std::string_view value = trim(header->value());
    if (value.size() > bearer_scheme.size() &&
        boost::beast::iequals(value.substr(0, bearer_scheme.size()), bearer_scheme) &&
        (value[bearer_scheme.size()] == ' ' || value[bearer_scheme.size()] == '\t'))
      return trim(value.substr(bearer_scheme.size()));
    return {};
  }
  if (where == token_source::header_or_query) return query_parameter(req.query, "access_token");
  return {};
}

handler authenticated(std::shared_ptr<authenticator> auth, principal_handler run,
                      token_source where) {
  return
      [auth = std::move(auth), run = std::move(run), where](const request_view& req, reply done) {
        if (auto once = at_most_once(*req.message, "Authorization"); !once)
          return done(error_response(once.err()));
        std::string_view token = bearer_token(req, where);
        auto who = auth->authenticate(token, req.client_address);
        if (!who) return done(auth_error_response(who.err(), auth->retry_after(), !token.empty()));
        run(req, *who, std::move(done));
      };
}

http_response auth_error_response(const error& err, std::chrono::seconds retry_after,
                                  bool token_presented) {
  http_response res = error_response(err);
  if (res.result() == http::status::unauthorized) {
    // RFC 6750: a missing token gets the bare challenge, a bad one says so.
    res.set(http::field::www_authenticate,
            token_presented ? "Bearer realm=\"kakehashi\", error=\"invalid_token\""
                            : "Bearer realm=\"kakehashi\"");
  } else if (res.result() == http::status::too_many_requests) {
    res.set(http::field::retry_after, std::to_string(retry_after.count()));
  }
  return res;
}

http_response forbidden_response(std::string_view message) {
  return error_response(http::status::forbidden, "forbidden", message);
}

}  // namespace kakehashi::api
