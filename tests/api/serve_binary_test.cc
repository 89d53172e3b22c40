// The real `kakehashi serve` binary: started as a child process, its printed URL read through a
// pipe, then stopped with SIGTERM.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <algorithm>
#include <fstream>
#include <optional>

#include "test_support.h"

extern char** environ;

namespace kakehashi::test {

namespace {

using namespace std::chrono_literals;

// A child process with stdout and stderr on pipes. Killed with SIGKILL if still running when
// destroyed, so a failing test never leaves a server behind.
class child_process {
 public:
  explicit child_process(std::vector<std::string> args) {
    REQUIRE(::pipe2(out_, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err_, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_[1]);
    ::close(err_[1]);
    REQUIRE_MESSAGE(rc == 0, "cannot start " << args[0]);
  }

  ~child_process() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_[0]);
    ::close(err_[0]);
  }

  // One line from stdout (without the newline), or nullopt at EOF or after `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    return read_line_from(out_[0], out_buffer_, timeout);
  }
  // Everything left on a pipe until EOF (the child has exited) or `timeout`.
  std::string rest_of_stdout(std::chrono::milliseconds timeout) {
    return drain(out_[0], out_buffer_, timeout);
  }
  std::string rest_of_stderr(std::chrono::milliseconds timeout) {
    return drain(err_[0], err_buffer_, timeout);
  }

  void signal(int sig) { ::kill(pid_, sig); }

  // The exit status as waitpid reports it, or nullopt if the child is still running after
  // `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      int status = 0;
      pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exited_ = true;
        return status;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
  }

 private:
  // Reads what is available into `buffer`; false at EOF, error or timeout.
  static bool fill(int fd, std::string& buffer, std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[4096];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  static std::optional<std::string> read_line_from(int fd, std::string& buffer,
                                                   std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (auto nl = buffer.find('\n'); nl != std::string::npos) {
        std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        return line;
      }
      if (!fill(fd, buffer, deadline)) return std::nullopt;
    }
  }

  static std::string drain(int fd, std::string& buffer, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fill(fd, buffer, deadline)) {
    }
    return std::exchange(buffer, {});
  }

  pid_t pid_ = -1;
  bool exited_ = false;
  int out_[2] = {-1, -1};
  int err_[2] = {-1, -1};
  std::string out_buffer_;
  std::string err_buffer_;
};

constexpr std::string_view listening_prefix = "kakehashi listening on ";

}  // namespace

TEST_CASE("kakehashi serve: prints its URL, serves /healthz, exits 0 on SIGTERM") {
  temp_dir dir;
  child_process serve({KAKEHASHI_BIN, "serve", "--listen", "127.0.0.1:0", "--data", dir.path()});
  auto line = serve.read_line(20s);
  REQUIRE_MESSAGE(line.has_value(), "no URL printed; stderr: " << serve.rest_of_stderr(1s));
  REQUIRE(line->rfind(listening_prefix, 0) == 0);
  std::string url = line->substr(listening_prefix.size());
  CHECK(url.rfind("http://127.0.0.1:", 0) == 0);
  CHECK(port_of(url) != 0);

  {
    client c(port_of(url));
    auto res = c.get("/healthz");
    CHECK(res.result() == http::status::ok);
    CHECK(boost::json::parse(res.body()).as_object().at("head_position").is_number());
  }

  serve.signal(SIGTERM);
  auto status = serve.wait(20s);
  REQUIRE_MESSAGE(status.has_value(), "serve did not exit after SIGTERM");
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(serve.rest_of_stdout(1s).empty());  // exactly one line on stdout
}

TEST_CASE("kakehashi serve: a token issued by `kakehashi token issue` meanwhile is accepted") {
  temp_dir dir;
  child_process serve({KAKEHASHI_BIN, "serve", "--listen", "127.0.0.1:0", "--data", dir.path()});
  auto line = serve.read_line(20s);
  REQUIRE_MESSAGE(line.has_value(), "no URL printed; stderr: " << serve.rest_of_stderr(1s));
  unsigned short port = port_of(line->substr(listening_prefix.size()));

  // The server holds the store's lock; the token command must not need it.
  child_process issue({KAKEHASHI_BIN, "token", "issue", "--data", dir.path(), "--role", "admin"});
  auto token = issue.read_line(20s);
  REQUIRE_MESSAGE(token.has_value(), "no token printed; stderr: " << issue.rest_of_stderr(1s));
  auto status = issue.wait(20s);
  REQUIRE(status.has_value());
  CHECK(WEXITSTATUS(*status) == 0);

  client c(port);
  auto req = make_request(http::verb::get, "/v1/tokens");
  CHECK(c.send(req).result() == http::status::unauthorized);
  req.set(http::field::authorization, "Bearer " + *token);
  CHECK(c.send(req).result() == http::status::ok);

  serve.signal(SIGTERM);
  REQUIRE(serve.wait(20s).has_value());
}

TEST_CASE("kakehashi serve: a taken port is one clear line on stderr and exit 1") {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor holder(
      ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});  // bound and listening
  std::string listen = "127.0.0.1:" + std::to_string(holder.local_endpoint().port());
  temp_dir dir;
  child_process serve({KAKEHASHI_BIN, "serve", "--listen", listen, "--data", dir.path()});
  auto status = serve.wait(20s);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 1);
  std::string err = serve.rest_of_stderr(1s);
  CHECK(err.find(listen) != std::string::npos);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  CHECK(serve.rest_of_stdout(1s).empty());
}

TEST_CASE("kakehashi serve: a store that cannot open is one clear line on stderr and exit 1") {
  temp_dir dir;
  std::string not_a_dir = dir.path() + "/file";
  std::ofstream(not_a_dir) << "not a directory";
  child_process serve(
      {KAKEHASHI_BIN, "serve", "--listen", "127.0.0.1:0", "--data", not_a_dir + "/data"});
  auto status = serve.wait(20s);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 1);
  std::string err = serve.rest_of_stderr(1s);
  CHECK(err.find("cannot open store") != std::string::npos);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
}

}  // namespace kakehashi::test
