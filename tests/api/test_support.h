// Helpers for the API tests: a temporary directory, a real server on an ephemeral port over a
// real store, and a small blocking HTTP client on Beast. Every blocking socket call has a
// timeout (SO_RCVTIMEO/SO_SNDTIMEO) so a broken server fails a test instead of hanging it.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/server.h"
#include "engine/command_service.h"
#include "engine/event_store.h"
#include "events/roles.h"
#include "projections/runner.h"

namespace kakehashi::test {

namespace http = boost::beast::http;
using response = http::response<http::string_body>;

// mkdtemp under /tmp; removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// What a server is built over besides its store. With `full` the server gets a real command
// service (the 62 municipalities listed) and a projection runner following the log on its own
// thread, as `kakehashi serve` runs them; `seed` runs on the store and the service before the
// runner starts and the server listens (e.g. demo::seed).
struct backend_setup {
  bool full = false;
  std::function<void(event_store&, command_service&)> seed;
  std::chrono::milliseconds min_position_wait{5000};
  // false: the read model never moves past what start() loaded (to test waits for it).
  bool run_projections = true;
};

// A server on 127.0.0.1:0 with its own store, run() on a background thread. The destructor
// stops it and joins. Access-log lines are captured instead of printed. The store's directory
// is the server's data_dir (so tokens issued into data_dir() count) unless options set one.
class running_server {
 public:
  explicit running_server(api::server_options options = {}, backend_setup setup = {});
  ~running_server();

  std::string url() const { return server_->url(); }
  unsigned short port() const;
  // Asks the server to stop and waits for run() to return; the time that took.
  std::chrono::milliseconds stop_and_join();
  bool run_returned() const { return run_returned_.load(); }
  std::vector<std::string> access_log() const;
  // The access log once it has at least `count` lines (or after 5 s): the session writes its
  // line after the response has gone out, so a client may see the response first.
  std::vector<std::string> access_log(std::size_t count) const;
  event_store& store() { return *store_; }
  command_service& commands() { return *service_; }  // with backend_setup::full
  projection_runner& projections() { return *projections_; }
  const std::string& data_dir() const { return data_dir_; }
  // A bearer token issued into this server's token file.
  std::string issue_token(access_role role, std::string lg_code = {}, std::string name = "test");

 private:
  temp_dir dir_;
  std::string data_dir_;
  std::unique_ptr<event_store> store_;
  std::unique_ptr<command_service> service_;
  std::unique_ptr<projection_runner> projections_;
  std::thread projector_;
  std::unique_ptr<api::server> server_;
  std::thread thread_;
  std::atomic<bool> run_returned_{false};
  mutable std::mutex log_mutex_;
  std::vector<std::string> log_;
};

// One blocking HTTP/1.1 connection.
class client {
 public:
  explicit client(unsigned short port, std::chrono::seconds timeout = std::chrono::seconds(5));

  response get(std::string_view target);
  response send(http::request<http::string_body> req);
  void write_raw(std::string_view bytes);
  // Reads one response; a failure (EOF, reset, timeout) is returned in `ec`.
  response read(boost::system::error_code& ec);
  response read();  // fails the test on error
  // True when the server has closed the connection (reads EOF or reset within the timeout).
  bool closed_by_server();

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

// A GET request with Host set, as a client would send it.
http::request<http::string_body> make_request(http::verb method, std::string_view target,
                                              std::string body = {});

// The port of "http://127.0.0.1:PORT".
unsigned short port_of(std::string_view url);

}  // namespace kakehashi::test
