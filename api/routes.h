// The API's route table. Each area of the API registers its routes in its own file through one
// add_*_routes function; build_routes composes them. Later issues add areas here.
#pragma once

#include "api/router.h"

namespace kakehashi {
class event_store;
}

namespace kakehashi::api {

// The store must outlive the returned router (handlers keep a reference to it).
router build_routes(event_store& store);

// GET /healthz: liveness and the store's head position. No authentication.
void add_health_routes(router& routes, event_store& store);

}  // namespace kakehashi::api
