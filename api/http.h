// HTTP vocabulary shared by the session, the router and the handlers: message types and the
// JSON response builders. Every error the API returns goes through error_response so the body
// always has the shape {"error":{"code","message","field"}} ("field" is "" when no single input
// is to blame).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <string_view>

#include "events/result.h"

namespace kakehashi::api {

namespace http = boost::beast::http;

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

// A response with `body` serialized as JSON. The session fills in version, keep-alive and
// Content-Length before sending.
http_response json_response(http::status status, const boost::json::value& body);

http_response error_response(http::status status, std::string_view code, std::string_view message,
                             std::string_view field = {});

// The HTTP status for an error kind (invalid_argument -> 400, conflict -> 409, ...).
http::status status_for(errc kind);

// error_response(status_for(err.kind), err.code, err.message, err.field).
http_response error_response(const error& err);

}  // namespace kakehashi::api
