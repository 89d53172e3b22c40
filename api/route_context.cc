#include "api/route_context.h"

namespace kakehashi::api {

void offload(const route_context& ctx, reply done, std::function<void(reply)> work) {
  // The reply is shared with the task; if the pool refuses it, it is answered here.
  bool queued = ctx.pool->submit([done, work = std::move(work)] { work(done); });
  if (queued) return;
  http_response res = error_response(http::status::too_many_requests, "server_busy",
                                     "too many requests are waiting for a worker; retry shortly");
  res.set(http::field::retry_after, "1");
  done(std::move(res));
}

handler blocking_route(const context_ptr& ctx, principal_handler run) {
  auto shared_run = std::make_shared<const principal_handler>(std::move(run));
  return authenticated(ctx->auth, [ctx, shared_run](const request_view& req, const principal& who,
                                                    reply done) {
    // The task holds plain pointers, never a share of the context: were a worker thread to drop
    // the last share, the pool would be destroyed on its own thread and join itself. The router
    // owns both (through this handler) and outlives every task: a queued or running task holds
    // a reply, which keeps its connection and so the router alive until it is answered.
    const principal_handler* handler = shared_run.get();
    offload(*ctx, done, [handler, req, who](reply done) { (*handler)(req, who, std::move(done)); });
  });
}

}  // namespace kakehashi::api
