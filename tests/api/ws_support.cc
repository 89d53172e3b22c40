#include "ws_support.h"

#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/json/parse.hpp>

#include "api/token_store.h"
#include "events/ids.h"

namespace kakehashi::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

std::string describe(const error& err) {
  return err.code + ": " + err.message;
}

}  // namespace

stream_server::stream_server(api::server_options options, bool with_projections) {
  store_options store_opts;
  store_opts.path = dir_.path() + "/data";
  auto store = event_store::open(store_opts);
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.err().message));
  store_ = std::move(store.value());
  service_ = command_service::create(*store_);
  auto listed = list_reference_municipalities(*service_, now_micros());
  REQUIRE_MESSAGE(listed.ok(), (listed.ok() ? "" : describe(listed.err())));
  if (with_projections) {
    projections_ = std::make_unique<projection_runner>(*store_);
    auto started = projections_->start();
    REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : describe(started.err())));
    projector_ = std::thread([this] { projections_->run(); });
  }

  stats_ = std::make_shared<api::websocket_stats>();
  options.websocket.stats = stats_;
  options.data_dir = store_opts.path;
  options.listen = "127.0.0.1:0";
  options.handle_signals = false;
  options.access_log = [](std::string_view) {};
  auto server = api::server::create(std::move(options),
                                    api::backend{store_.get(), service_.get(), projections_.get()});
  REQUIRE_MESSAGE(server.ok(), (server.ok() ? "" : server.err().message));
  server_ = std::move(server.value());
  thread_ = std::thread([this] { server_->run(); });
}

stream_server::~stream_server() {
  stop();
  server_.reset();
  if (projections_) {
    projections_->stop();
    projector_.join();
  }
  service_.reset();
  projections_.reset();
  store_.reset();
}

void stream_server::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

unsigned short stream_server::port() const {
  return port_of(server_->url());
}

std::string stream_server::token(access_role role, const std::string& lg_code) {
  return issue_token(role, lg_code).bearer;
}

api::issued_token stream_server::issue_token(access_role role, const std::string& lg_code) {
  api::token_grant grant{role, lg_code, "test"};
  auto issued = api::token_store(dir_.path() + "/data").issue(grant);
  REQUIRE_MESSAGE(issued.ok(), (issued.ok() ? "" : describe(issued.err())));
  return std::move(*issued);
}

std::string stream_server::must(std::string type, std::string target, std::string body) {
  command_request request;
  request.type = std::move(type);
  request.target_id = std::move(target);
  request.body_json = std::move(body);
  request.who = actor{"coord-1", "coordinator", ""};
  auto done = service_->execute(std::move(request));
  REQUIRE_MESSAGE(done.ok(), (done.ok() ? "" : describe(done.err())));
  return done->ids.front().second;
}

std::string stream_server::talent(const std::string& email) {
  return must("TalentRegistered", "", talent_registration_body(email));
}

std::string stream_server::need(const std::string& lg_code) {
  return must("NeedOpened", "", need_opening_body(lg_code));
}

std::vector<event_ptr> stream_server::all_events() {
  std::vector<event_ptr> out;
  position_t from = 1;
  event_filter all;
  for (;;) {
    auto page = store_->read_all(from, 1000, all);
    REQUIRE(page.ok());
    for (auto& e : page->events)
      out.push_back(e);
    if (page->end_of_log) return out;
    from = page->next_position;
  }
}

// ---- client

ws_client::ws_client() : ws_(ioc_) {}

ws_client::~ws_client() {
  boost::system::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

bool ws_client::run_until(const bool& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  ioc_.restart();
  while (!done) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    ioc_.run_one_for(deadline - now);
  }
  return done;
}

beast::http::response<beast::http::string_body> ws_client::connect(
    unsigned short port, const ws_connect_options& options) {
  auto& tcp_layer = beast::get_lowest_layer(ws_);
  tcp_layer.socket().open(tcp::v4());
  if (options.receive_buffer_bytes > 0)
    tcp_layer.socket().set_option(
        net::socket_base::receive_buffer_size(options.receive_buffer_bytes));
  bool connected = false;
  boost::system::error_code ec;
  tcp_layer.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                          [&](boost::system::error_code e) {
                            ec = e;
                            connected = true;
                          });
  REQUIRE(run_until(connected, std::chrono::seconds(5)));
  REQUIRE_MESSAGE(!ec, "connect failed: " << ec.message());

  ws_.set_option(websocket::stream_base::decorator([options](websocket::request_type& req) {
    if (!options.token.empty() && !options.token_in_query)
      req.set(beast::http::field::authorization, "Bearer " + options.token);
    if (!options.origin.empty()) req.set(beast::http::field::origin, options.origin);
    if (!options.subprotocol.empty())
      req.set(beast::http::field::sec_websocket_protocol, options.subprotocol);
  }));
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong) ++pongs_;
    if (kind == websocket::frame_type::ping) ++pings_;
  });
  std::string target = "/v1/stream";
  if (options.token_in_query) target += "?access_token=" + options.token;
  websocket::response_type res;
  bool done = false;
  ws_.async_handshake(res, "127.0.0.1:" + std::to_string(port), target,
                      [&](boost::system::error_code e) {
                        ec = e;
                        done = true;
                      });
  REQUIRE(run_until(done, std::chrono::seconds(5)));
  if (ec) {
    closed_ = true;
    boost::system::error_code ignored;
    tcp_layer.socket().close(ignored);
  }
  return res;
}

void ws_client::send(std::string_view text) {
  bool done = false;
  boost::system::error_code ec;
  ws_.text(true);
  ws_.async_write(net::buffer(text.data(), text.size()),
                  [&](boost::system::error_code e, std::size_t) {
                    ec = e;
                    done = true;
                  });
  REQUIRE(run_until(done, std::chrono::seconds(5)));
  REQUIRE_MESSAGE(!ec, "send failed: " << ec.message());
}

void ws_client::send_raw(std::string_view bytes) {
  net::write(beast::get_lowest_layer(ws_).socket(), net::buffer(bytes.data(), bytes.size()));
}

void ws_client::ping() {
  bool done = false;
  ws_.async_ping({}, [&](boost::system::error_code) { done = true; });
  REQUIRE(run_until(done, std::chrono::seconds(5)));
}

void ws_client::send_binary(std::string_view bytes) {
  bool done = false;
  ws_.binary(true);
  ws_.async_write(net::buffer(bytes.data(), bytes.size()),
                  [&](boost::system::error_code, std::size_t) { done = true; });
  REQUIRE(run_until(done, std::chrono::seconds(5)));
  ws_.text(true);
}

std::optional<std::string> ws_client::read_text(std::chrono::milliseconds timeout) {
  if (closed_) return std::nullopt;
  if (!read_pending_) {
    read_pending_ = true;
    read_done_ = false;
    ws_.async_read(buffer_, [this](boost::system::error_code e, std::size_t) {
      read_ec_ = e;
      read_done_ = true;
    });
  }
  if (!run_until(read_done_, timeout)) return std::nullopt;
  read_pending_ = false;
  if (read_ec_) {
    closed_ = true;
    return std::nullopt;
  }
  std::string text = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  return text;
}

boost::json::object ws_client::read(std::chrono::milliseconds timeout) {
  auto text = read_text(timeout);
  REQUIRE_MESSAGE(text.has_value(), "no message within the timeout (closed: "
                                        << closed_ << ", " << read_ec_.message() << ")");
  boost::system::error_code ec;
  auto value = boost::json::parse(*text, ec);
  REQUIRE_MESSAGE((!ec && value.is_object()), "not a JSON object: " << *text);
  return value.get_object();
}

void ws_client::close() {
  if (closed_) return;
  bool done = false;
  ws_.async_close(websocket::close_code::normal, [&](boost::system::error_code) { done = true; });
  run_until(done, std::chrono::seconds(5));
  closed_ = true;
}

}  // namespace kakehashi::test
