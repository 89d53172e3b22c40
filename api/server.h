// The HTTP/1.1 server: a Boost.Beast listener plus one session per connection, routing requests
// to the handlers registered in api/routes.cc. Created with server::create; the implementation
// (api/server.cc, api/http_session.cc) is hidden.
//
// Ownership and lifetime: the server borrows the event store; the store must outlive the server.
// create() binds and listens at once, so url() is final and a taken port is reported by create();
// connections that arrive before run() wait in the kernel's backlog.
// Destroy the server only after run() has returned (or if it was never called).
//
// Thread safety: run() is called once, from one thread; it runs the I/O on `threads` threads
// (the caller's included) and blocks. stop() and url() may be called from any thread, any
// number of times, before, during or after run().
//
// Shutdown (stop(), or SIGINT/SIGTERM when handle_signals): stop accepting, close idle
// connections at once, let requests already being read or handled finish (their responses carry
// `Connection: close`), force-close whatever is left after shutdown_grace, then return from run().
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/backend.h"
#include "events/result.h"

namespace kakehashi {

class event_store;

namespace api {

struct websocket_stats;  // api/stream_service.h

// `GET /v1/stream` (api/ws_session.h, api/stream_service.h).
struct websocket_options {
  std::size_t max_message_bytes = 64 * 1024;  // a larger client message closes with 1009
  // Per connection: bytes of messages waiting to be written. While full, the connection stops
  // taking events from its subscriptions (which fall back to reading the store) and stops
  // reading client messages; it may overshoot by one message.
  std::size_t max_queued_bytes = 64 * 1024;
  std::size_t max_subscriptions = 16;  // subscriptions and watches per connection
  // Each store subscription's live buffer (subscription_options::max_buffered_bytes), counted
  // in stored bytes. It holds pointers to events every subscriber shares, so it absorbs a
  // backlog of seconds for little memory; beyond it the subscriber reads from the store.
  std::size_t subscription_buffer_bytes = 1 << 20;
  // No sign of life for this long closes the connection; a ping goes out at half of it. Signs
  // of life: anything received, and any write the client takes (a client reading slowly
  // behind a full queue, whose pongs wait unread, is alive; one that stopped reading is not).
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds handshake_timeout{10};  // the opening and the closing handshake
  // The least time between two rounds of taking events from a connection's subscriptions
  // (after a wake-up from an idle state the events go out at once). 0, the default: no timer,
  // the batching comes from the load itself. A connection is woken once per empty-to-non-empty
  // change of its live buffer, and everything committed until its turn on an I/O thread comes
  // goes out in one write; so at light load each event goes out as soon as it is committed
  // (a fixed delay would add up to its whole length to every event but the first of a
  // burst), and the busier the server, the larger its batches, without a timer per connection.
  // Above 0 it caps the sends per connection at 1000/coalesce_delay a second, for a machine
  // that would rather spend latency than CPU on sends.
  std::chrono::milliseconds coalesce_delay{0};
  // Watches send an update at most this often, and only when the view changed.
  std::chrono::milliseconds watch_interval{250};
  // Encoded CloudEvents shared between connections (api/stream_service.h).
  std::size_t event_cache_bytes = 16 << 20;
  // Counters; the server makes its own when null. Shared so a test can read them.
  std::shared_ptr<websocket_stats> stats;
};

struct server_options {
  // The data directory (the store's): bearer tokens are checked against its tokens.tsv
  // (api/token_store.h). Empty: there is no token file, so every token is refused.
  std::string data_dir;
  // Failed token checks a client address (IPv6: its /64) may make in a row before it gets 429,
  // and the rate they are allowed again after that.
  unsigned bad_token_burst = 10;
  unsigned bad_tokens_per_minute = 10;
  // host:port; host may be an IPv4 address, a bracketed IPv6 address or a name. Port 0 picks a
  // free port (see url()).
  std::string listen = "127.0.0.1:8080";
  // Origins (scheme://host[:port]) whose browsers may call the API cross-origin.
  std::vector<std::string> allow_origins;
  std::size_t max_body_bytes = 64 * 1024;   // larger bodies get 413
  std::size_t max_header_bytes = 8 * 1024;  // request line + headers; larger gets 431
  std::size_t max_connections = 10000;      // beyond it new connections are closed at once
  // Waiting for the next request on a kept-alive connection.
  std::chrono::seconds idle_timeout{60};
  // From a request's first byte to the end of its headers; bounds slow-header (slowloris) peers.
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds body_timeout{30};   // reading the body once the headers are in
  std::chrono::seconds write_timeout{30};  // writing one response
  std::chrono::seconds shutdown_grace{5};  // how long stop() waits for in-flight requests
  unsigned threads = 2;                    // I/O threads, the caller of run() included
  bool handle_signals = true;              // run() stops on SIGINT/SIGTERM
  // Receives one access-log line per request (no trailing newline). Default: stderr.
  // Called from I/O threads concurrently; must be thread-safe and must not block for long.
  std::function<void(std::string_view line)> access_log;
  // Called once by run(), on its thread, when connections are being accepted and (with
  // handle_signals) SIGINT/SIGTERM already lead to a clean shutdown; before any request runs.
  // `serve` prints its "listening on" line here.
  std::function<void(const std::string& url)> on_running;
  websocket_options websocket;
};

class server {
 public:
  // Reads the token file, builds the routes over `store`, resolves, binds and listens. Errors:
  // invalid_argument for a malformed `listen`, unavailable when the address cannot be bound
  // (e.g. port in use), those of token_store::load for an unreadable token file.
  static result<std::unique_ptr<server>> create(server_options options, backend parts);
  // A server over a bare store: the command and query routes answer 503.
  static result<std::unique_ptr<server>> create(server_options options, event_store& store);

  virtual ~server() = default;
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // The bound address as a base URL, e.g. "http://127.0.0.1:40123" (the real port when the
  // options asked for port 0).
  virtual std::string url() const = 0;
  // Serves until stop() or a signal, then shuts down as described above and returns.
  virtual void run() = 0;
  // Asks run() to shut down; returns at once. Idempotent.
  virtual void stop() = 0;

 protected:
  server() = default;
};

}  // namespace api
}  // namespace kakehashi
