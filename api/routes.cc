#include "api/routes.h"

namespace kakehashi::api {

router build_routes(event_store& store) {
  router routes;
  add_health_routes(routes, store);
  return routes;
}

}  // namespace kakehashi::api
