#include "api/http.h"

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace kakehashi::api {

http_response json_response(http::status status, const boost::json::value& body) {
  http_response res{status, 11};
  res.set(http::field::content_type, "application/json");
  // Responses describe live state; intermediaries must not serve them stale.
  res.set(http::field::cache_control, "no-store");
  res.body() = boost::json::serialize(body);
  return res;
}

http_response error_response(http::status status, std::string_view code, std::string_view message,
                             std::string_view field) {
  boost::json::object detail;
  detail["code"] = code;
  detail["message"] = message;
  detail["field"] = field;
  boost::json::object body;
  body["error"] = std::move(detail);
  return json_response(status, body);
}

http::status status_for(errc kind) {
  switch (kind) {
    case errc::invalid_argument:
      return http::status::bad_request;
    case errc::too_large:
      return http::status::payload_too_large;
    case errc::not_found:
      return http::status::not_found;
    case errc::conflict:
      return http::status::conflict;
    case errc::unauthorized:
      return http::status::unauthorized;
    case errc::forbidden:
      return http::status::forbidden;
    case errc::overloaded:
      return http::status::too_many_requests;
    case errc::timeout:
      return http::status::gateway_timeout;
    case errc::unavailable:
      return http::status::service_unavailable;
    case errc::io_error:
    case errc::corruption:
    case errc::internal:
      return http::status::internal_server_error;
  }
  return http::status::internal_server_error;
}

http_response error_response(const error& err) {
  return error_response(status_for(err.kind), err.code, err.message, err.field);
}

}  // namespace kakehashi::api
