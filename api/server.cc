// The listener and the server's lifecycle. Accepting, signal handling and shutdown all run on
// one strand (`strand_`), so they never race one another; connections run on their own strands
// (api/http_session.cc).
#include "api/server.h"

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <csignal>
#include <exception>
#include <thread>

#include "api/access_log.h"
#include "api/authenticator.h"
#include "api/http_session.h"
#include "api/listen_address.h"
#include "api/routes.h"
#include "api/session_context.h"
#include "api/stream_service.h"

namespace kakehashi::api {

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// After a failed accept (e.g. out of file descriptors) wait before trying again instead of
// spinning on the same error.
constexpr std::chrono::milliseconds accept_retry_delay{100};

class server_impl final : public server {
 public:
  server_impl(server_options options, backend parts, std::shared_ptr<authenticator> auth)
      : context_(std::make_shared<session_context>(
            options, build_routes(parts, auth),
            parts.store ? std::make_shared<stream_service>(options, parts, auth) : nullptr)),
        strand_(net::make_strand(ioc_)),
        acceptor_(strand_),
        signals_(strand_),
        grace_timer_(strand_),
        retry_timer_(strand_) {
    if (context_->streams) context_->streams->set_executor(ioc_.get_executor());
  }

  status listen() {
    const server_options& options = context_->options;
    auto where = parse_listen_address(options.listen);
    if (!where) return where.take_err();
    error_code ec;
    tcp::resolver resolver(ioc_);
    auto found = resolver.resolve(where->host, where->port, tcp::resolver::passive, ec);
    if (ec || found.empty())
      return make_error(errc::invalid_argument, "bad_listen_address",
                        "cannot resolve " + options.listen + ": " + ec.message(), "listen");
    tcp::endpoint endpoint = found.begin()->endpoint();
    auto fail = [&](const char* what) {
      return make_error(errc::unavailable, "listen_failed",
                        "cannot listen on " + options.listen + ": " + what + ": " + ec.message(),
                        "listen");
    };
    if (acceptor_.open(endpoint.protocol(), ec)) return fail("open");
    // Lets a restarted server bind while old connections linger in TIME_WAIT; on Linux it does
    // not let two live listeners share the port.
    if (acceptor_.set_option(tcp::acceptor::reuse_address(true), ec)) return fail("setsockopt");
    if (acceptor_.bind(endpoint, ec)) return fail("bind");
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec)) return fail("listen");
    url_ = format_url(acceptor_.local_endpoint(ec));
    if (ec) return fail("getsockname");
    return {};
  }

  std::string url() const override { return url_; }

  void run() override {
    if (ran_.exchange(true)) return;  // once
    const server_options& options = context_->options;
    if (options.handle_signals) {
      error_code ec;
      signals_.add(SIGINT, ec);
      signals_.add(SIGTERM, ec);
      signals_.async_wait([this](error_code ec, int) {
        if (!ec) begin_shutdown();
      });
    }
    net::post(strand_, [this] { do_accept(); });
    if (options.on_running) options.on_running(url_);

    std::vector<std::thread> extra;
    unsigned threads = options.threads == 0 ? 1 : options.threads;
    for (unsigned i = 1; i < threads; ++i)
      extra.emplace_back([this] { ioc_.run(); });
    ioc_.run();  // returns once the listener, the signals and every connection are done
    for (auto& t : extra)
      t.join();

    // Give SIGINT/SIGTERM their default meaning back.
    error_code ignored;
    signals_.clear(ignored);
  }

  void stop() override {
    if (stop_requested_.exchange(true)) return;
    net::post(strand_, [this] { begin_shutdown(); });
  }

 private:
  void do_accept() {
    if (shutting_down_) return;
    acceptor_.async_accept(net::make_strand(ioc_), [this](error_code ec, tcp::socket socket) {
      on_accept(ec, std::move(socket));
    });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (shutting_down_) return;  // the socket, if any, closes as it goes out of scope
    if (ec) {
      write_stderr_line("{\"msg\":\"accept failed\",\"error\":\"" + ec.message() + "\"}");
      retry_timer_.expires_after(accept_retry_delay);
      retry_timer_.async_wait([this](error_code ec) {
        if (!ec) do_accept();
      });
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<http_session>(std::move(socket), context_);
    // Over the connection limit the connection is closed at once: bounded memory beats serving
    // everyone slowly. The session is dropped unstarted and its socket closes with it.
    if (context_->connections.add(session)) session->start();
    do_accept();
  }

  // On the strand. Stops accepting, closes idle connections, lets the rest finish and arms the
  // grace timer for whatever has not finished in time.
  void begin_shutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    signals_.cancel(ignored);
    retry_timer_.cancel();
    auto live = context_->connections.begin_shutdown(
        [this] { net::post(strand_, [this] { grace_timer_.cancel(); }); });
    if (live.empty()) return;
    grace_timer_.expires_after(context_->options.shutdown_grace);
    grace_timer_.async_wait([this](error_code ec) {
      if (ec) return;  // every connection finished in time
      for (auto& session : context_->connections.snapshot())
        session->force_close();
    });
    for (auto& session : live)
      session->shutdown();
  }

  // Declared first so it is destroyed last: sessions destroyed with ioc_ still deregister in it.
  std::shared_ptr<session_context> context_;
  net::io_context ioc_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  net::signal_set signals_;
  net::steady_timer grace_timer_;
  net::steady_timer retry_timer_;
  std::string url_;
  std::atomic<bool> ran_{false};
  std::atomic<bool> stop_requested_{false};
  bool shutting_down_ = false;  // on the strand only
};

}  // namespace

result<std::unique_ptr<server>> server::create(server_options options, event_store& store) {
  return create(std::move(options), backend{&store, nullptr, nullptr});
}

result<std::unique_ptr<server>> server::create(server_options options, backend parts) {
  authenticator_options auth_options;
  auth_options.data_dir = options.data_dir;
  auth_options.bad_token_burst = options.bad_token_burst;
  auth_options.bad_tokens_per_minute = options.bad_tokens_per_minute;
  auto auth = authenticator::open(std::move(auth_options));
  if (!auth) return auth.take_err();
  try {
    auto impl = std::make_unique<server_impl>(std::move(options), parts,
                                              std::shared_ptr<authenticator>(std::move(*auth)));
    if (auto listening = impl->listen(); !listening) return listening.take_err();
    return std::unique_ptr<server>(std::move(impl));
  } catch (const std::exception& e) {  // Asio reports resource exhaustion by throwing
    return make_error(errc::internal, "server_create_failed", e.what());
  }
}

}  // namespace kakehashi::api
