// What every connection shares with the server: the options, the routes, the CORS policy, the
// access-log sink, the WebSocket stream service and the registry of live connections. Owned by a
// shared_ptr that both the server and each session hold, so it outlives whichever of them goes
// last. Everything but `connections` is immutable once the server is built.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/connection.h"
#include "api/cors.h"
#include "api/router.h"
#include "api/server.h"

namespace kakehashi::api {

class stream_service;

// Live connections, for the connection limit and for shutdown. Thread-safe. Holds weak
// references only: a connection's lifetime is its own I/O.
class connection_registry {
 public:
  explicit connection_registry(std::size_t limit) : limit_(limit) {}

  // False when at the limit or shutting down; the caller then drops the connection.
  bool add(const std::shared_ptr<connection>& session);
  // Hands `from`'s place to `to` (a WebSocket upgrade), whatever the limit; false when shutting
  // down or `from` is not registered, and then `from` keeps its place.
  bool replace(const connection* from, const std::shared_ptr<connection>& to);
  // Called by each session's destructor.
  void remove(const connection* session);
  std::vector<std::shared_ptr<connection>> snapshot() const;
  std::size_t size() const;

  // Refuses further connections and returns the live ones. When some are live, `on_empty` is
  // called once, on the thread that removes the last of them.
  std::vector<std::shared_ptr<connection>> begin_shutdown(std::function<void()> on_empty);

 private:
  mutable std::mutex mutex_;
  std::unordered_map<const connection*, std::weak_ptr<connection>> live_;
  std::size_t limit_;
  bool shutting_down_ = false;
  std::function<void()> on_empty_;
};

struct session_context {
  session_context(server_options opts, router table,
                  std::shared_ptr<stream_service> stream_svc = nullptr)
      : options(std::move(opts)),
        routes(std::move(table)),
        cors(options.allow_origins),
        streams(std::move(stream_svc)),
        connections(options.max_connections) {}

  const server_options options;
  const router routes;
  const cors_policy cors;
  // GET /v1/stream; null: the path is an ordinary (unrouted) HTTP path.
  const std::shared_ptr<stream_service> streams;
  connection_registry connections;
};

}  // namespace kakehashi::api
