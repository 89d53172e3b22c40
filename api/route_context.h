// What the command, query and operational routes share: the backend they serve from, the
// authenticator, the worker pool their blocking work runs on, and the metrics. Built once by
// build_routes and held by the routes through a shared_ptr, so it lives as long as the router.
// Immutable after construction apart from what is itself thread-safe (pool, metrics, as_of).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "api/api_metrics.h"
#include "api/auth.h"
#include "api/backend.h"
#include "api/router.h"
#include "api/worker_pool.h"
#include "projections/as_of_models.h"

namespace kakehashi::api {

struct route_context {
  backend parts;
  std::shared_ptr<authenticator> auth;
  std::shared_ptr<api_metrics> metrics;
  std::shared_ptr<worker_pool> pool;
  // As-of reads of one point share one fold; null without a store.
  std::shared_ptr<as_of_models> as_of;
  // Longest a `min_position` read waits for the read model before answering 504.
  std::chrono::milliseconds min_position_wait{5000};
};

using context_ptr = std::shared_ptr<const route_context>;

// Runs `work` on the worker pool; answers 429 `server_busy` (Retry-After: 1) when its queue is
// full. `work` must answer through `done` itself.
void offload(const route_context& ctx, reply done, std::function<void(reply)> work);

// An authenticated route whose handler runs on the worker pool. The request view is copied into
// the task: its views stay valid until the reply (router.h). The handler answers last: once
// `done` is called the server may finish shutting down, so nothing may follow that touches
// the context.
handler blocking_route(const context_ptr& ctx, principal_handler run);

}  // namespace kakehashi::api
