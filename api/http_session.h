// One HTTP/1.1 connection: reads a request, dispatches it to the router, writes the response,
// and repeats while the connection is kept alive. One response in flight at a time (HTTP/1.1
// without pipelined execution), so the write queue is bounded at one message.
//
// An accepted WebSocket upgrade hands the socket, and the session's place in the connection
// registry, to a ws_session; this session then ends.
//
// Each session owns its socket and runs all its handlers on its own strand; it keeps itself alive
// through shared_from_this in every pending operation and ends when the last one completes.
// Every wait is bounded: idle (between requests), header, body and write timeouts, plus a
// bounded lingering close.
//
// Thread safety: start(), shutdown() and force_close() may be called from any thread; they post
// onto the strand. Everything else runs on the strand.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "api/connection.h"
#include "api/http.h"

namespace kakehashi::api {

struct session_context;

class http_session final : public connection, public std::enable_shared_from_this<http_session> {
 public:
  http_session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<session_context> context);
  ~http_session() override;  // leaves the connection registry

  void start();
  // Graceful: an idle connection is closed now; a request being read or handled is finished
  // and answered with `Connection: close`.
  void shutdown() override;
  // Closes the socket now, whatever is in progress.
  void force_close() override;

 private:
  enum class phase : std::uint8_t { idle, reading, handling, writing, closing, closed };
  using error_code = boost::system::error_code;

  void do_wait_request();
  void on_wait_request(error_code ec, std::size_t bytes);
  void do_read_header();
  void check_head();
  void on_head_bytes(error_code ec, std::size_t bytes);
  void parse_head();
  void on_read_header(error_code ec, std::size_t bytes);
  void on_continue_sent(error_code ec, std::size_t bytes);
  void do_read_body();
  void on_read_body(error_code ec, std::size_t bytes);
  void on_read_failed(error_code ec);
  void handle_request();
  // GET /v1/stream: refuses as HTTP, or hands the socket to a ws_session (api/ws_session.h).
  void upgrade_to_stream();
  void on_handled(http_response res);
  void send_error(http::status status, const char* code, const char* message);
  void do_write(http_response res);
  void on_write(error_code ec, std::size_t bytes);
  void do_close();
  void on_drain(error_code ec, std::size_t bytes);
  void close_now();

  boost::beast::tcp_stream stream_;
  std::shared_ptr<session_context> context_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http_request request_;    // the request being handled; kept until its response is written
  http_response response_;  // the one response in flight
  phase phase_ = phase::idle;
  bool closing_ = false;       // answer the current request with Connection: close, then close
  bool input_unread_ = false;  // an error answer left part of the request in the socket
  std::chrono::steady_clock::time_point request_start_;
  std::string client_address_;  // the peer's IP; lives as long as the session, as handlers need
  std::string log_method_;
  std::string log_path_;
  std::array<char, 4096> drain_buffer_;
  std::size_t drained_bytes_ = 0;
};

}  // namespace kakehashi::api
