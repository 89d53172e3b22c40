#include "api/routes.h"

#include "api/route_context.h"

namespace kakehashi::api {

router build_routes(const backend& parts, std::shared_ptr<authenticator> auth) {
  router routes;
  add_health_routes(routes, *parts.store);
  add_static_routes(routes);
  add_whoami_routes(routes, auth);
  add_token_routes(routes, auth);

  auto ctx = std::make_shared<route_context>();
  ctx->parts = parts;
  ctx->auth = auth;
  ctx->min_position_wait = parts.min_position_wait;
  ctx->metrics = std::make_shared<api_metrics>();
  if (parts.store) ctx->as_of = std::make_shared<as_of_models>(*parts.store);
  // Commands wait for their group commit: enough threads that many share one fsync, few enough
  // for a small machine. The queue bounds what waits beyond them.
  ctx->pool = std::make_shared<worker_pool>(8, 1024);
  add_command_routes(routes, ctx);
  add_query_routes(routes, ctx);
  add_meta_routes(routes, ctx);
  routes.observe_replies([metrics = ctx->metrics](unsigned status, std::chrono::microseconds t) {
    metrics->record_reply(status, t);
  });
  return routes;
}

}  // namespace kakehashi::api
