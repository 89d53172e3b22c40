#include "api/routes.h"

namespace kakehashi::api {

router build_routes(event_store& store, std::shared_ptr<authenticator> auth) {
  router routes;
  add_health_routes(routes, store);
  add_token_routes(routes, std::move(auth));
  return routes;
}

}  // namespace kakehashi::api
