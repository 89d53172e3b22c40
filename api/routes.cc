#include "api/routes.h"

namespace kakehashi::api {

router build_routes(const backend& parts, std::shared_ptr<authenticator> auth) {
  router routes;
  add_health_routes(routes, *parts.store);
  add_static_routes(routes);
  add_whoami_routes(routes, auth);
  add_token_routes(routes, std::move(auth));
  return routes;
}

}  // namespace kakehashi::api
