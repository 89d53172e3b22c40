// Helpers for the WebSocket tests: a real server with the whole backend (store, command service,
// read-model runner) on an ephemeral port, and a WebSocket client on Beast whose every wait is
// bounded (it runs its own io_context for at most the given time), so a broken server fails a
// test instead of hanging it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/server.h"
#include "api/stream_service.h"
#include "api/token_store.h"
#include "engine/command_service.h"
#include "engine/event_store.h"
#include "events/roles.h"
#include "projections/runner.h"
#include "test_support.h"
#include "tests/engine/sample_commands.h"

namespace kakehashi::test {

class stream_server {
 public:
  // With `with_projections` false the server has no read model (watches answer unavailable).
  explicit stream_server(api::server_options options = {}, bool with_projections = true);
  ~stream_server();

  unsigned short port() const;
  std::string url() const { return server_->url(); }
  event_store& store() { return *store_; }
  projection_runner& projections() { return *projections_; }
  command_service& service() { return *service_; }
  api::websocket_stats& stats() { return *stats_; }
  // Stops the server and waits for run() to return.
  void stop();

  // A new bearer token; issue_token also gives its record (its id, to revoke it).
  std::string token(access_role role, const std::string& lg_code = "");
  api::issued_token issue_token(access_role role, const std::string& lg_code = "");

  // Commands that must succeed; each returns the aggregate's id.
  std::string must(std::string type, std::string target, std::string body);
  std::string talent(const std::string& email = "hanako@example.jp");
  std::string need(const std::string& lg_code = shibuya);
  // Every committed event, in position order.
  std::vector<event_ptr> all_events();

 private:
  temp_dir dir_;
  std::unique_ptr<event_store> store_;
  std::unique_ptr<command_service> service_;
  std::unique_ptr<projection_runner> projections_;
  std::thread projector_;
  std::shared_ptr<api::websocket_stats> stats_;
  std::unique_ptr<api::server> server_;
  std::thread thread_;
};

struct ws_connect_options {
  std::string token;
  bool token_in_query = false;
  std::string origin;                        // "" = no Origin header
  std::string subprotocol = "kakehashi.v1";  // "" = none offered
  int receive_buffer_bytes = 0;              // SO_RCVBUF before connecting; 0 = default
};

class ws_client {
 public:
  ws_client();
  ~ws_client();

  // Connects and performs the handshake; the server's answer (101 when upgraded). Refusals
  // leave the client closed.
  boost::beast::http::response<boost::beast::http::string_body> connect(
      unsigned short port, const ws_connect_options& options);
  bool connect_ok(unsigned short port, const ws_connect_options& options) {
    return connect(port, options).result_int() == 101;
  }

  void send(std::string_view text);
  void send_binary(std::string_view bytes);
  // Bytes straight onto the socket, framed or not (for protocol violations).
  void send_raw(std::string_view bytes);
  // A WebSocket ping; pongs_seen() counts the pongs that came back (while reading).
  void ping();
  int pongs_seen() const { return pongs_; }
  int pings_seen() const { return pings_; }
  // The next text message; nullopt when none came within `timeout` (a read stays pending and is
  // continued by the next call) or the connection closed (then closed() is true).
  std::optional<std::string> read_text(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // As read_text, parsed; fails the test when nothing arrives or it is not a JSON object.
  boost::json::object read(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool closed() const { return closed_; }
  boost::system::error_code close_error() const { return read_ec_; }
  // The close frame's reason the server sent, once closed.
  boost::beast::websocket::close_reason close_reason() const { return ws_.reason(); }
  void close();

 private:
  bool run_until(const bool& done, std::chrono::milliseconds timeout);

  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  bool read_pending_ = false;
  bool read_done_ = false;
  boost::system::error_code read_ec_;
  bool closed_ = false;
  int pongs_ = 0;
  int pings_ = 0;
};

}  // namespace kakehashi::test
