// What the server's connection registry and its shutdown know of a connection.
#pragma once

namespace kakehashi::api {

// A live connection as the registry and shutdown see it: an HTTP session, or the WebSocket
// session an HTTP session was upgraded into (api/ws_session.h). Both members may be called from
// any thread and return at once.
class connection {
 public:
  virtual ~connection() = default;
  // Graceful: finish what is in progress (HTTP) or send a close frame (WebSocket), then close.
  virtual void shutdown() = 0;
  // Close the socket now, whatever is in progress.
  virtual void force_close() = 0;
};

}  // namespace kakehashi::api
