#include "test_support.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "api/token_store.h"

namespace kakehashi::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;

temp_dir::temp_dir() {
  char pattern[] = "/tmp/kakehashi-api-test-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

running_server::running_server(api::server_options options, backend_setup setup) {
  store_options store_opts;
  store_opts.path = dir_.path() + "/data";
  if (options.data_dir.empty()) options.data_dir = store_opts.path;
  data_dir_ = options.data_dir;
  auto store = event_store::open(store_opts);
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.err().message));
  store_ = std::move(store.value());

  options.listen = "127.0.0.1:0";
  options.handle_signals = false;
  options.access_log = [this](std::string_view line) {
    std::lock_guard lock(log_mutex_);
    log_.emplace_back(line);
  };
  api::backend parts{store_.get(), nullptr, nullptr};
  if (setup.full) {
    service_ = command_service::create(*store_);
    // As `kakehashi demo`: the seed lists the municipalities at the start of its history.
    if (setup.seed) setup.seed(*store_, *service_);
    auto listed = list_reference_municipalities(*service_, now_micros());
    REQUIRE_MESSAGE(listed.ok(), (listed.ok() ? "" : listed.err().message));
    projections_ = std::make_unique<projection_runner>(*store_);
    auto started = projections_->start();
    REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.err().message));
    parts = api::backend{store_.get(), service_.get(), projections_.get(), setup.min_position_wait};
  }
  auto server = api::server::create(std::move(options), parts);
  REQUIRE_MESSAGE(server.ok(), (server.ok() ? "" : server.err().message));
  server_ = std::move(server.value());
  // Started last: a failed REQUIRE above leaves no thread to join.
  if (projections_ && setup.run_projections)
    projector_ = std::thread([this] { projections_->run(); });
  thread_ = std::thread([this] {
    server_->run();
    run_returned_ = true;
  });
}

running_server::~running_server() {
  if (thread_.joinable()) stop_and_join();
  server_.reset();
  if (projections_) projections_->stop();
  if (projector_.joinable()) projector_.join();
  projections_.reset();
  service_.reset();
  store_.reset();
}

std::string running_server::issue_token(access_role role, std::string lg_code, std::string name) {
  auto issued = api::token_store(data_dir_).issue({role, std::move(lg_code), std::move(name)});
  REQUIRE_MESSAGE(issued.ok(), (issued.ok() ? "" : issued.err().message));
  return issued->bearer;
}

unsigned short running_server::port() const {
  return port_of(url());
}

std::chrono::milliseconds running_server::stop_and_join() {
  auto start = std::chrono::steady_clock::now();
  server_->stop();
  thread_.join();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

std::vector<std::string> running_server::access_log() const {
  std::lock_guard lock(log_mutex_);
  return log_;
}

std::vector<std::string> running_server::access_log(std::size_t count) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (true) {
    auto lines = access_log();
    if (lines.size() >= count || std::chrono::steady_clock::now() > deadline) return lines;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

client::client(unsigned short port, std::chrono::seconds timeout) : socket_(ioc_) {
  socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count());
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

response client::get(std::string_view target) {
  return send(make_request(http::verb::get, target));
}

response client::send(http::request<http::string_body> req) {
  req.prepare_payload();
  http::write(socket_, req);
  return read();
}

void client::write_raw(std::string_view bytes) {
  net::write(socket_, net::buffer(bytes));
}

response client::read(boost::system::error_code& ec) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  http::read(socket_, buffer_, parser, ec);
  return parser.release();
}

response client::read() {
  boost::system::error_code ec;
  response res = read(ec);
  REQUIRE_MESSAGE(!ec, "reading the response failed: " << ec.message());
  return res;
}

bool client::closed_by_server() {
  char byte;
  boost::system::error_code ec;
  socket_.read_some(net::buffer(&byte, 1), ec);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

http::request<http::string_body> make_request(http::verb method, std::string_view target,
                                              std::string body) {
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::user_agent, "kakehashi-api-test");
  req.body() = std::move(body);
  return req;
}

unsigned short port_of(std::string_view url) {
  auto colon = url.rfind(':');
  if (colon == std::string_view::npos) return 0;
  return static_cast<unsigned short>(std::stoi(std::string(url.substr(colon + 1))));
}

}  // namespace kakehashi::test
