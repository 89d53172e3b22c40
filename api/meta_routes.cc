// GET /v1/openapi.json and GET /metrics. Both need a token (API.md: everything but /healthz and
// the static dashboard); neither carries personal data. The document is open to any role. The
// metrics count commands, reads and the log across every municipality, so a municipality token,
// which reads only its own municipality, gets 403 as for the cross-municipality funnel.
#include "api/auth.h"
#include "api/openapi.h"
#include "api/route_context.h"
#include "api/routes.h"
#include "events/roles.h"

namespace kakehashi::api {

void add_meta_routes(router& routes, context_ptr ctx) {
  // Built once: the document is a pure function of the code.
  auto document = std::make_shared<const boost::json::value>(openapi_document());
  routes.add(
      http::verb::get, "/v1/openapi.json",
      authenticated(ctx->auth, [document](const request_view&, const principal&, reply done) {
        done(json_response(http::status::ok, *document));
      }));
  routes.add(http::verb::get, "/metrics",
             authenticated(ctx->auth, [ctx](const request_view&, const principal& who, reply done) {
               if (!can_read_municipality(who, ""))
                 return done(forbidden_response(
                     "metrics across municipalities are not open to municipality tokens"));
               http_response res{http::status::ok, 11};
               res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
               res.set(http::field::cache_control, "no-store");
               res.body() = ctx->metrics->prometheus(ctx->parts, ctx->pool->queued());
               done(std::move(res));
             }));
}

}  // namespace kakehashi::api
