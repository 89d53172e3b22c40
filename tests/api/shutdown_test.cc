// Graceful shutdown: stop() with connections in various states.
#include <doctest/doctest.h>

#include "test_support.h"

namespace kakehashi::test {

using namespace std::chrono_literals;

TEST_CASE("stop() returns promptly with an idle keep-alive connection open") {
  api::server_options options;
  options.shutdown_grace = std::chrono::seconds(10);  // promptness must not come from the grace
  options.idle_timeout = std::chrono::seconds(60);
  running_server server(options);
  client idle(server.port());
  CHECK(idle.get("/healthz").result() == http::status::ok);
  client never_sent(server.port());  // connected, no request at all

  auto took = server.stop_and_join();
  CHECK(took < 2s);
  CHECK(idle.closed_by_server());
  CHECK(never_sent.closed_by_server());
}

TEST_CASE("stop() lets a request that is being read finish, answered with Connection: close") {
  api::server_options options;
  options.shutdown_grace = std::chrono::seconds(10);
  running_server server(options);
  client c(server.port());
  c.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // headers not finished yet
  std::this_thread::sleep_for(200ms);                   // let the server start reading it

  std::thread stopper([&] { server.stop_and_join(); });
  std::this_thread::sleep_for(200ms);
  CHECK_FALSE(server.run_returned());  // still waiting for the in-flight request
  c.write_raw("\r\n");
  auto res = c.read();
  CHECK(res.result() == http::status::ok);
  CHECK_FALSE(res.keep_alive());
  stopper.join();
  CHECK(c.closed_by_server());
}

TEST_CASE("stop() force-closes a request that does not finish within the grace period") {
  api::server_options options;
  options.shutdown_grace = std::chrono::seconds(1);
  running_server server(options);
  client c(server.port());
  c.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // and never the end of the headers
  std::this_thread::sleep_for(100ms);
  auto took = server.stop_and_join();
  CHECK(took >= 900ms);
  CHECK(took < 5s);
  CHECK(c.closed_by_server());
}

TEST_CASE("after stop() the listening socket is gone") {
  running_server server;
  auto port = server.port();
  server.stop_and_join();
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
  CHECK(ec);
}

TEST_CASE("stop() before run() makes run() return at once, stop() is idempotent") {
  temp_dir dir;
  store_options store_opts;
  store_opts.path = dir.path();
  auto store = event_store::open(store_opts);
  REQUIRE(store.ok());
  api::server_options options;
  options.listen = "127.0.0.1:0";
  options.handle_signals = false;
  auto server = api::server::create(options, **store);
  REQUIRE(server.ok());
  (*server)->stop();
  (*server)->stop();
  auto start = std::chrono::steady_clock::now();
  (*server)->run();
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  (*server)->stop();
}

TEST_CASE("create() reports a taken port and a malformed address") {
  running_server first;
  temp_dir dir;
  store_options store_opts;
  store_opts.path = dir.path();
  auto store = event_store::open(store_opts);
  REQUIRE(store.ok());
  api::server_options options;
  options.listen = "127.0.0.1:" + std::to_string(first.port());
  auto taken = api::server::create(options, **store);
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.err().kind == errc::unavailable);
  CHECK(taken.err().message.find("in use") != std::string::npos);
  options.listen = "nonsense";
  auto bad = api::server::create(options, **store);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().kind == errc::invalid_argument);
}

}  // namespace kakehashi::test
