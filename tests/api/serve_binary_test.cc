// The real `kakehashi serve` binary: started as a child process, its printed URL read through a
// pipe, then stopped with SIGTERM.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include "test_support.h"

extern char** environ;

namespace kakehashi::test {

namespace {

using namespace std::chrono_literals;

// A child process with stdout and stderr on pipes (stderr into `stderr_file` instead, when
// given). Killed with SIGKILL if still running when destroyed, so a failing test never leaves a
// server behind.
class child_process {
 public:
  explicit child_process(std::vector<std::string> args, const std::string& stderr_file = {}) {
    REQUIRE(::pipe2(out_, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err_, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_[1], STDOUT_FILENO);
    if (stderr_file.empty())
      posix_spawn_file_actions_adddup2(&actions, err_[1], STDERR_FILENO);
    else
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> argv;
    for (auto& arg : args)
      argv.push_back(arg.data());
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

namespace {

// Every file under `dir`, whole, as bytes.
std::vector<std::pair<std::string, std::string>> files_under(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    out.emplace_back(entry.path().string(), std::string(std::istreambuf_iterator<char>(in),
                                                        std::istreambuf_iterator<char>()));
  }
  return out;
}

// Every byte outside [A-Za-z0-9._~-] as %XX (upper-case hex, as the access log writes them).
std::string percent_encoded(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '~' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

// One HTTP request on its own connection; the answer.
response http_call(unsigned short port, const std::string& token, http::verb method,
                   const std::string& target, const std::string& body = {},
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
  client c(port);
  auto req = make_request(method, target, body);
  req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers)
    req.set(name, value);
  return c.send(std::move(req));
}

}  // namespace

TEST_CASE("kakehashi serve: personal data never reaches the log, /metrics or the data files") {
  temp_dir dir;
  const std::string data = dir.path() + "/data";
  const std::string log_file = dir.path() + "/access.log";
  child_process serve({KAKEHASHI_BIN, "serve", "--listen", "127.0.0.1:0", "--data", data},
                      log_file);
  auto line = serve.read_line(20s);
  REQUIRE_MESSAGE(line.has_value(), "no URL printed");
  const unsigned short port = port_of(line->substr(listening_prefix.size()));
  child_process issue({KAKEHASHI_BIN, "token", "issue", "--data", data, "--role", "admin"});
  auto token = issue.read_line(20s);
  REQUIRE(token.has_value());
  REQUIRE(issue.wait(20s).has_value());

  // Unique personal data in every personal field the API takes, and one public marker (a need's
  // problem) that must be found in the data files: it shows the search can see stored text.
  std::mt19937_64 rng(std::random_device{}());
  char tag[17];
  std::snprintf(tag, sizeof tag, "%016llx", static_cast<unsigned long long>(rng()));
  const std::string t(tag);
  char phone[32];
  std::snprintf(phone, sizeof phone, "090-%04u-%04u", static_cast<unsigned>(rng() % 10000),
                static_cast<unsigned>(rng() % 10000));
  const std::vector<std::string> personal = {"秘密花子" + t,
                                             "hanako." + t + "@example.jp",
                                             phone,
                                             "勤務先" + t + "株式会社",
                                             "出席者" + t,
                                             "ヒアリングメモ" + t,
                                             "決裁者" + t,
                                             "面談記録" + t,
                                             "承認者" + t,
                                             "窓口担当" + t,
                                             "contact." + t + "@example.jp",
                                             "休職理由" + t,
                                             "復職理由" + t,
                                             "課題概要" + t,
                                             "解決内容" + t,
                                             "終了理由" + t};
  const std::string public_marker = "公開課題" + t;

  auto must = [&](http::verb method, const std::string& target, const std::string& body,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto res = http_call(port, *token, method, target, body, std::move(headers));
    REQUIRE_MESSAGE((res.result_int() == 200 || res.result_int() == 201),
                    target << " -> " << res.result_int() << " " << res.body());
    return boost::json::parse(res.body()).as_object();
  };
  auto id = [](const boost::json::object& o, const char* key) {
    return std::string(o.at(key).as_string());
  };
  auto talent =
      id(must(http::verb::post, "/v1/talents",
              R"({"display_name":")" + personal[0] + R"(","email":")" + personal[1] +
                  R"(","phone":")" + personal[2] + R"(","employer":")" + personal[3] +
                  R"(","residence_area":"132241","role_categories":["rpa_specialist"],)"
                  R"("skills":["rpa"],"tiers":["hands_on"],"availability":{"hours_per_week":8,)"
                  R"("work_forms":["remote"],"areas":["132241"]},"consent_version":"2024-04"})"),
         "talent_id");
  auto need = id(must(http::verb::post, "/v1/needs",
                      R"({"lg_code":"131016","origin":"municipality_request","problem":")" +
                          public_marker + R"("})"),
                 "need_id");
  must(http::verb::post, "/v1/needs/" + need + "/hearings",
       R"({"held_on":"2025-05-01","attendees":[")" + personal[4] + R"("],"notes":")" + personal[5] +
           R"(","findings":"RPA"})");
  must(http::verb::post, "/v1/needs/" + need + "/requirements",
       R"({"role_category":"rpa_specialist","tier":"hands_on","skills":["rpa"],)"
       R"("work_forms":["remote"],"hours_per_week":8,"duration_months":6,"openings":1})");
  auto candidacy = id(must(http::verb::post, "/v1/candidacies",
                           R"({"talent_id":")" + talent + R"(","need_id":")" + need +
                               R"(","direction":"need_driven","source":"scout"})"),
                      "candidacy_id");
  for (const char* step : {"/contact", "/interest", "/propose"})
    must(http::verb::post, "/v1/candidacies/" + candidacy + step, "");
  must(http::verb::post, "/v1/candidacies/" + candidacy + "/decision",
       R"({"accepted":true,"reason":"ok","decided_by":")" + personal[6] + R"("})",
       {{"X-On-Behalf-Of", "municipality:131016"}});
  auto appointment = id(must(http::verb::post, "/v1/appointments",
                             R"({"candidacy_id":")" + candidacy +
                                 R"(","form":"remote","starts_on":"2025-08-01",)"
                                 R"("ends_on":"2026-03-31","hours_per_week":8,"scope":"RPA"})"),
                        "appointment_id");
  const std::string a = "/v1/appointments/" + appointment;
  must(http::verb::post, a + "/start", "");
  must(http::verb::post, a + "/check-ins",
       R"({"party":"talent","rating":5,"notes":")" + personal[7] + R"("})");
  must(http::verb::post, a + "/amend",
       R"({"kind":"scope_expansion","effective_on":"2025-10-01","changes":{"scope":"RPA+"},)"
       R"("approved_by":")" +
           personal[8] + R"("})");
  must(http::verb::post, a + "/suspend", R"({"reason":")" + personal[11] + R"("})");
  must(http::verb::post, a + "/resume", R"({"reason":")" + personal[12] + R"("})");
  auto issue_id =
      id(must(http::verb::post, a + "/issues", R"({"summary":")" + personal[13] + R"("})"),
         "issue_id");
  must(http::verb::post, a + "/issues/" + issue_id + "/resolve",
       R"({"resolution":")" + personal[14] + R"("})");
  must(http::verb::post, a + "/end", R"({"kind":"early","reason":")" + personal[15] + R"("})");
  must(http::verb::post, "/v1/municipalities/131016/contact",
       R"({"contact":{"name":")" + personal[9] + R"(","email":")" + personal[10] + R"("}})");
  // Personal data where it does not belong, too: in paths, a query string, an invalid body.
  for (const auto& value : {personal[0], personal[1], personal[2]})
    http_call(port, *token, http::verb::get, "/v1/talents/" + percent_encoded(value));
  http_call(port, *token, http::verb::get, "/v1/talents?skill=" + personal[1]);
  http_call(port, *token, http::verb::post, "/v1/talents",
            R"({"display_name":")" + personal[0] + R"(","email":7})");

  // It was all stored and reads back to a token that may see it.
  std::string read_back;
  for (const std::string& target :
       {"/v1/talents/" + talent, "/v1/needs/" + need, "/v1/candidacies/" + candidacy, a,
        std::string("/v1/events?from=1&limit=1000")}) {
    auto res = http_call(port, *token, http::verb::get, target);
    REQUIRE_MESSAGE(res.result_int() == 200, target << " -> " << res.body());
    read_back += res.body();
  }
  for (const auto& value : personal)
    CHECK_MESSAGE(read_back.find(value) != std::string::npos, "not read back: " << value);
  auto metrics = http_call(port, *token, http::verb::get, "/metrics");
  REQUIRE(metrics.result_int() == 200);
  CHECK(metrics.body().find("kakehashi") != std::string::npos);

  serve.signal(SIGTERM);
  REQUIRE(serve.wait(20s).has_value());

  std::ifstream in(log_file, std::ios::binary);
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(std::count(log.begin(), log.end(), '\n') >= 20);  // the requests above were logged
  auto files = files_under(data);
  REQUIRE_FALSE(files.empty());
  bool public_found = false;
  for (const auto& [path, bytes] : files)
    public_found = public_found || bytes.find(public_marker) != std::string::npos;
  CHECK_MESSAGE(public_found, "the stored problem text was not found: the search sees nothing");
  for (const auto& value : personal) {
    CAPTURE(value);
    CHECK(log.find(value) == std::string::npos);
    CHECK(log.find(percent_encoded(value)) == std::string::npos);
    CHECK(metrics.body().find(value) == std::string::npos);
    for (const auto& [path, bytes] : files)
      CHECK_MESSAGE(bytes.find(value) == std::string::npos, "in " << path);
  }
}

}  // namespace kakehashi::test
