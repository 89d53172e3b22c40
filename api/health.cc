#include <boost/json/object.hpp>

#include "api/routes.h"
#include "engine/event_store.h"

namespace kakehashi::api {

void add_health_routes(router& routes, event_store& store) {
  routes.add_sync(http::verb::get, "/healthz", [&store](const request_view&) {
    boost::json::object body;
    // A store that lost a write refuses appends until reopened: report it so a load balancer
    // takes this instance out of rotation instead of sending it commands that will fail.
    bool failed = store.writes_failed();
    body["status"] = failed ? "writes_failed" : "ok";
    body["head_position"] = store.head_position();
    return json_response(failed ? http::status::service_unavailable : http::status::ok, body);
  });
}

}  // namespace kakehashi::api
