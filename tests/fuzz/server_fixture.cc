#include "server_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "api/server.h"
#include "engine/command_service.h"
#include "engine/event_store.h"
#include "fuzz_support.h"
#include "projections/runner.h"

namespace kakehashi::fuzz {
namespace {

class server_fixture {
 public:
  server_fixture() : dir_(make_scratch_dir("server")) {
    store_options store_opts;
    store_opts.path = dir_ + "/data";
    auto store = event_store::open(store_opts);
    if (!store) fail("cannot open the store: " + store.err().message);
    store_ = std::move(*store);
    service_ = command_service::create(*store_);
    seed_fixed_aggregates(*service_);
    write_token_file(store_opts.path);
    projections_ = std::make_unique<projection_runner>(*store_);
    if (auto started = projections_->start(); !started)
      fail("cannot start the read model: " + started.err().message);

    api::server_options options;
    options.data_dir = store_opts.path;
    options.listen = "127.0.0.1:0";
    options.handle_signals = false;
    options.access_log = [](std::string_view) {};
    options.allow_origins = {"https://dashboard.example"};
    // Bad tokens must not lock the fuzzer out for the rest of the run (the limiter has its own
    // tests).
    options.bad_token_burst = 1u << 30;
    options.bad_tokens_per_minute = 1u << 30;
    options.header_timeout = std::chrono::seconds(5);
    options.body_timeout = std::chrono::seconds(5);
    options.websocket.handshake_timeout = std::chrono::seconds(2);
    api::backend parts{store_.get(), service_.get(), projections_.get(),
                       std::chrono::milliseconds(20)};
    auto server = api::server::create(options, parts);
    if (!server) fail("cannot start the server: " + server.err().message);
    server_ = std::move(*server);
    auto url = server_->url();
    port_ = static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
    projector_ = std::thread([this] { projections_->run(); });
    io_ = std::thread([this] { server_->run(); });
  }

  ~server_fixture() {
    server_->stop();
    io_.join();
    server_.reset();
    projections_->stop();
    projector_.join();
    projections_.reset();
    service_.reset();
    store_.reset();
    remove_tree(dir_);
  }

  std::uint16_t port() const { return port_; }

 private:
  std::string dir_;
  std::unique_ptr<event_store> store_;
  std::unique_ptr<command_service> service_;
  std::unique_ptr<projection_runner> projections_;
  std::unique_ptr<api::server> server_;
  std::thread projector_;
  std::thread io_;
  std::uint16_t port_ = 0;
};

}  // namespace

std::uint16_t server_port() {
  static server_fixture instance;
  return instance.port();
}

int connect_to_server(int deadline_seconds) {
  std::uint16_t port = server_port();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno == EINTR) {
    // Interrupted by a signal, the connection completes in the background: wait for it.
    pollfd writable{fd, POLLOUT, 0};
    while (::poll(&writable, 1, deadline_seconds * 1000) < 0 && errno == EINTR) {
    }
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    rc = error == 0 ? 0 : -1;
    errno = error;
  }
  if (rc != 0) fail(std::string("cannot connect to the server: ") + std::strerror(errno));
  timeval tv{};
  tv.tv_sec = deadline_seconds;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;  // libFuzzer's timer signals interrupt system calls
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::string send_and_drain(int fd, std::string_view bytes) {
  // The server may answer and close before reading everything (an error ends the exchange): a
  // failed send is then expected, not a finding.
  (void)send_all(fd, bytes);
  ::shutdown(fd, SHUT_WR);
  std::string answers;
  char buffer[16384];
  while (true) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      if (answers.size() < (1 << 20)) answers.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0 || errno == ECONNRESET) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      fail("the server kept the connection open after the client finished sending");
    fail(std::string("recv failed: ") + std::strerror(errno));
  }
  return answers;
}

bool has_internal_error(const std::string& answers) {
  for (std::string_view version : {"HTTP/1.1 500", "HTTP/1.0 500"}) {
    for (auto at = answers.find(version); at != std::string::npos;
         at = answers.find(version, at + 1)) {
      if (at == 0 || (at >= 2 && answers.compare(at - 2, 2, "\r\n") == 0)) return true;
    }
  }
  return false;
}

}  // namespace kakehashi::fuzz
