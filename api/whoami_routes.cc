// GET /v1/whoami: what the presented token may do, so the dashboard shows each role only the
// views it can use and hides personal-data sections from roles that never receive them. The
// server still enforces every rule on every request; this only saves the user dead ends.
#include <boost/json/object.hpp>

#include "api/auth.h"
#include "api/routes.h"

namespace kakehashi::api {

void add_whoami_routes(router& routes, std::shared_ptr<authenticator> auth) {
  routes.add(
      http::verb::get, "/v1/whoami",
      authenticated(std::move(auth), [](const request_view&, const principal& who, reply done) {
        boost::json::object body;
        body["role"] = to_string(who.role);
        if (who.lg_code.empty())
          body["lg_code"] = nullptr;
        else
          body["lg_code"] = who.lg_code;
        body["name"] = who.name;
        body["read_only"] = is_read_only(who);
        body["personal_data"] = can_read_personal_data(who);
        body["verify_chain"] = can_verify_chain(who);
        done(json_response(http::status::ok, body));
      }));
}

}  // namespace kakehashi::api
