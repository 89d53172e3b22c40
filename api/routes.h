// The API's route table. Each area of the API registers its routes in its own file through one
// add_*_routes function; build_routes composes them. Later issues add areas here.
#pragma once

#include <memory>

#include "api/backend.h"
#include "api/router.h"

namespace kakehashi {
class event_store;
}

namespace kakehashi::api {

class authenticator;

// What `parts` points to must outlive the returned router (handlers keep the pointers); the
// routes share ownership of the authenticator.
router build_routes(const backend& parts, std::shared_ptr<authenticator> auth);

// GET /healthz: liveness and the store's head position. No authentication.
void add_health_routes(router& routes, event_store& store);

// POST /v1/tokens, GET /v1/tokens, DELETE /v1/tokens/{id}: admin only (api/token_routes.cc).
void add_token_routes(router& routes, std::shared_ptr<authenticator> auth);

// GET / and GET /assets/...: the compiled-in dashboard, no authentication (api/static_routes.cc).
void add_static_routes(router& routes);

// GET /v1/whoami: the token's role, municipality and read rights (api/whoami_routes.cc).
void add_whoami_routes(router& routes, std::shared_ptr<authenticator> auth);

struct route_context;
// The command routes of API.md (api/command_routes.cc), the queries (api/query_routes.cc), and
// GET /v1/openapi.json and /metrics (api/meta_routes.cc).
void add_command_routes(router& routes, std::shared_ptr<const route_context> ctx);
void add_query_routes(router& routes, std::shared_ptr<const route_context> ctx);
void add_meta_routes(router& routes, std::shared_ptr<const route_context> ctx);

}  // namespace kakehashi::api
