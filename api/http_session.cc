#include "api/http_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/version.hpp>

#include "api/access_log.h"
#include "api/request_framing.h"
#include "api/router.h"
#include "api/session_context.h"
#include "api/stream_service.h"
#include "api/ws_session.h"

namespace kakehashi::api {

namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

// First read of a request; more follows as the parser needs it.
constexpr std::size_t first_read_bytes = 4096;
// After answering with Connection: close we read and discard what the peer is still sending
// (e.g. the rest of a body over the limit) before closing: closing with unread input makes the
// kernel send RST, which can destroy our response before the peer reads it. Bounded both ways.
constexpr std::chrono::seconds linger_timeout{2};
constexpr std::size_t linger_max_bytes = 1 << 20;

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

bool expects_continue(const http_request& req) {
  auto it = req.find(http::field::expect);
  return it != req.end() && beast::iequals(it->value(), "100-continue");
}

}  // namespace

http_session::http_session(net::ip::tcp::socket&& socket, std::shared_ptr<session_context> context)
    : stream_(std::move(socket)), context_(std::move(context)) {
  error_code ec;
  auto peer = stream_.socket().remote_endpoint(ec);
  if (!ec) client_address_ = peer.address().to_string();
}

http_session::~http_session() {
  context_->connections.remove(this);
}

void http_session::start() {
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&http_session::do_wait_request, shared_from_this()));
}

void http_session::shutdown() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    // Between requests (or after the last response) nothing is lost by closing; otherwise the
    // current exchange finishes first.
    if (self->phase_ == phase::idle || self->phase_ == phase::closing) self->close_now();
  });
}

void http_session::force_close() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    self->close_now();
  });
}

void http_session::close_now() {
  if (phase_ == phase::closed) return;
  phase_ = phase::closed;
  error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  stream_.close();  // cancels whatever is pending; its handler then ends the session
}

// Waiting for the first byte of a request is the idle phase: it has its own timeout, and a
// connection in it can be closed at shutdown without cutting a request in half.
void http_session::do_wait_request() {
  if (closing_) return do_close();
  phase_ = phase::idle;
  if (buffer_.size() > 0) return do_read_header();  // the client sent the next one already
  stream_.expires_after(context_->options.idle_timeout);
  stream_.async_read_some(
      buffer_.prepare(first_read_bytes),
      beast::bind_front_handler(&http_session::on_wait_request, shared_from_this()));
}

void http_session::on_wait_request(error_code ec, std::size_t bytes) {
  if (ec) return close_now();  // peer closed, idle timeout or shutdown
  buffer_.commit(bytes);
  do_read_header();
}

void http_session::do_read_header() {
  phase_ = phase::reading;
  request_start_ = std::chrono::steady_clock::now();
  log_method_ = "-";
  log_path_ = "-";
  stream_.expires_after(context_->options.header_timeout);
  check_head();
}

// The head's raw bytes are checked before Beast parses them (api/request_framing.h): Beast
// would accept obs-fold and bare line feeds. Reads on until the head is complete, all within
// header_timeout (armed once, in do_read_header, so a slow sender cannot extend it).
void http_session::check_head() {
  auto data = buffer_.data();
  auto scan =
      inspect_request_head(std::string_view(static_cast<const char*>(data.data()), data.size()),
                           context_->options.max_header_bytes);
  switch (scan.what) {
    case head_scan::verdict::complete:
      return parse_head();
    case head_scan::verdict::need_more:
      return stream_.async_read_some(
          buffer_.prepare(first_read_bytes),
          beast::bind_front_handler(&http_session::on_head_bytes, shared_from_this()));
    case head_scan::verdict::malformed:
      return send_error(http::status::bad_request, "bad_request", scan.reason);
    case head_scan::verdict::uri_too_long:
      return send_error(http::status::uri_too_long, "uri_too_long", scan.reason);
    case head_scan::verdict::too_large:
      return send_error(http::status::request_header_fields_too_large, "header_too_large",
                        "the request headers are larger than the server accepts");
  }
}

void http_session::on_head_bytes(error_code ec, std::size_t bytes) {
  // A timeout, a reset or a peer that hung up mid-head: nobody to answer (as on_read_failed).
  if (ec) return close_now();
  buffer_.commit(bytes);
  check_head();
}

void http_session::parse_head() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(context_->options.max_header_bytes));
  parser_->body_limit(context_->options.max_body_bytes);
  http::async_read_header(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&http_session::on_read_header, shared_from_this()));
}

void http_session::on_read_header(error_code ec, std::size_t) {
  if (ec) return on_read_failed(ec);
  const http_request& req = parser_->get();
  log_method_ = std::string(req.method_string());
  log_path_ = context_->routes.loggable_path(split_target(req.target()).first);
  if (auto problem = framing_problem(req)) {
    request_ = parser_->release();
    request_.body().clear();
    return send_error(http::status::bad_request, "bad_request", problem->data());
  }
  // Refuse an announced oversized body before reading any of it.
  auto length = parser_->content_length();
  if (length && *length > context_->options.max_body_bytes)
    return on_read_failed(http::error::body_limit);
  if (parser_->is_done()) return handle_request();
  if (expects_continue(req)) {
    stream_.expires_after(context_->options.write_timeout);
    return net::async_write(
        stream_, net::buffer(continue_100.data(), continue_100.size()),
        beast::bind_front_handler(&http_session::on_continue_sent, shared_from_this()));
  }
  do_read_body();
}

void http_session::on_continue_sent(error_code ec, std::size_t) {
  if (ec) return close_now();
  do_read_body();
}

void http_session::do_read_body() {
  stream_.expires_after(context_->options.body_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read_body, shared_from_this()));
}

void http_session::on_read_body(error_code ec, std::size_t) {
  if (ec) return on_read_failed(ec);
  handle_request();
}

void http_session::on_read_failed(error_code ec) {
  // Keep the headers (not the body) so the error still gets CORS and the right HTTP version.
  if (parser_ && parser_->is_header_done()) {
    request_ = parser_->release();
    request_.body().clear();
  }
  if (ec == http::error::body_limit)
    return send_error(http::status::payload_too_large, "body_too_large",
                      "the request body is larger than the server accepts");
  if (ec == http::error::header_limit)
    return send_error(http::status::request_header_fields_too_large, "header_too_large",
                      "the request headers are larger than the server accepts");
  // Anything but a parse error (timeout, reset, shutdown) leaves no one to answer: a timeout
  // has closed the socket already, and a peer that hung up mid-request cannot read a reply.
  bool malformed = ec.category() == make_error_code(http::error::bad_target).category() &&
                   ec != http::error::end_of_stream && ec != http::error::partial_message;
  if (!malformed) return close_now();
  send_error(http::status::bad_request, "bad_request", "malformed HTTP request");
}

void http_session::send_error(http::status status, const char* code, const char* message) {
  // The rest of the input cannot be trusted to frame a next request.
  closing_ = true;
  input_unread_ = true;
  do_write(error_response(status, code, message));
}

void http_session::handle_request() {
  phase_ = phase::handling;
  stream_.expires_never();
  request_ = parser_->release();
  parser_.reset();
  if (request_.target().empty() || request_.target().front() != '/')
    return send_error(http::status::bad_request, "bad_target", "the request target must be a path");
  if (auto preflight = context_->cors.preflight(request_, context_->routes))
    return do_write(std::move(*preflight));
  if (context_->streams && stream_service::is_stream_target(request_)) {
    log_path_ = std::string(split_target(request_.target()).first);  // exactly /v1/stream
    return upgrade_to_stream();
  }

  // The reply may be called on any thread (an engine callback, say): it hops back onto this
  // strand, and the tracked executor keeps run() from returning while a reply is owed.
  auto strand = stream_.get_executor();
  auto work = net::prefer(strand, net::execution::outstanding_work.tracked);
  // `self` moves into the posted handler: the replying thread (a worker, say) must never hold
  // the session's last reference, or the session (and with it the server's routes) could be
  // destroyed there, after the I/O has stopped.
  reply done([self = shared_from_this(), work](http_response res) mutable {
    net::post(work, [self = std::move(self), res = std::move(res)]() mutable {
      self->on_handled(std::move(res));
    });
  });
  context_->routes.dispatch(request_, std::move(done), client_address_);
}

void http_session::upgrade_to_stream() {
  auto shake = context_->streams->check_handshake(request_, client_address_);
  if (shake.refusal) {
    closing_ = true;  // a client refused an upgrade has no use for the connection
    return do_write(std::move(*shake.refusal));
  }
  // A client sends frames only after our 101; bytes already here break the protocol.
  if (buffer_.size() != 0)
    return send_error(http::status::bad_request, "bad_request",
                      "data arrived before the WebSocket handshake was answered");

  auto elapsed = std::chrono::steady_clock::now() - request_start_;
  access_entry entry{log_method_, log_path_, 101, 0,
                     static_cast<std::uint64_t>(
                         std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count())};
  std::string line = format_access_line(entry);
  if (context_->options.access_log)
    context_->options.access_log(line);
  else
    write_stderr_line(line);

  phase_ = phase::closed;  // this session does no more I/O; the socket is the ws_session's
  auto ws = std::make_shared<ws_session>(stream_.release_socket(), context_, std::move(shake.who),
                                         shake.token);
  // Shutting down: dropping `ws` closes the socket.
  if (!context_->connections.replace(this, ws)) return;
  ws->start(std::move(request_));
}

void http_session::on_handled(http_response res) {
  if (phase_ != phase::handling) return;  // force-closed while the handler ran
  do_write(std::move(res));
}

void http_session::do_write(http_response res) {
  phase_ = phase::writing;
  response_ = std::move(res);
  response_.version(request_.version() == 10 ? 10 : 11);
  response_.keep_alive(!closing_ && request_.keep_alive());
  response_.set(http::field::server, "kakehashi");
  context_->cors.decorate(request_, response_);
  response_.prepare_payload();
  stream_.expires_after(context_->options.write_timeout);
  http::async_write(stream_, response_,
                    beast::bind_front_handler(&http_session::on_write, shared_from_this()));
}

void http_session::on_write(error_code ec, std::size_t bytes) {
  auto elapsed = std::chrono::steady_clock::now() - request_start_;
  access_entry entry{log_method_, log_path_, response_.result_int(), bytes,
                     static_cast<std::uint64_t>(
                         std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count())};
  std::string line = format_access_line(entry);
  if (context_->options.access_log)
    context_->options.access_log(line);
  else
    write_stderr_line(line);

  if (ec) return close_now();
  bool keep_alive = response_.keep_alive();
  request_ = {};
  response_ = {};
  if (!keep_alive) return do_close();
  do_wait_request();
}

void http_session::do_close() {
  if (phase_ == phase::closed) return;
  phase_ = phase::closing;
  error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  if (ec) return close_now();
  // The request was read whole and nothing more has arrived: no RST risk, close at once.
  if (!input_unread_ && buffer_.size() == 0 && stream_.socket().available(ec) == 0 && !ec)
    return close_now();
  drained_bytes_ = 0;
  buffer_.clear();
  stream_.expires_after(linger_timeout);
  stream_.async_read_some(net::buffer(drain_buffer_),
                          beast::bind_front_handler(&http_session::on_drain, shared_from_this()));
}

void http_session::on_drain(error_code ec, std::size_t bytes) {
  drained_bytes_ += bytes;
  if (ec || drained_bytes_ >= linger_max_bytes) return close_now();
  stream_.async_read_some(net::buffer(drain_buffer_),
                          beast::bind_front_handler(&http_session::on_drain, shared_from_this()));
}

}  // namespace kakehashi::api
