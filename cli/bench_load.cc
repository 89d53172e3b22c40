// `kakehashi bench load`: a mixed workload against a running server (scripts/load starts one on a
// demo history and runs this against it), for load and soak runs. It measures and checks; it
// asserts nothing about time.
//
// The workload, all over real sockets (Beast, C++20 coroutines on --threads I/O threads):
//   - writers: --writers coroutines, each on one kept-alive HTTP connection with a coordinator
//     token, sending real commands of API.md at --write-rate commands/s in total (open loop,
//     paced per writer). Mostly small updates of the writer's latest case (availability,
//     appointment suspended and resumed); every --new-case-every iterations a whole new placement
//     (talent, need, hearing, requirements, candidacy through proposal and decision, appointment,
//     start). Every command carries an Idempotency-Key; one in --replay-every is sent twice and
//     must be answered `Idempotent-Replayed: true` with the first answer's position.
//   - subscribers: --subscribers WebSocket connections on /v1/stream with a mix of roles and
//     subscriptions ($all as admin, auditor, dashboard and municipalities; categories with type
//     filters; watches of pipeline, headline and work-queue), all from "end". Deliveries are
//     checked: every subscription in position order, the ones that see every event ($all as
//     admin, auditor, dashboard) gap-free, no personal data where the role may not have it (the
//     writers plant markers in personal fields), no talent events for a municipality.
//   - slow subscribers: --slow-subscribers admin $all connections with a 4 KiB receive buffer that
//     read one message every --slow-delay-ms while the load runs (so they fall far behind and
//     the server must catch them up from the store), then read at full speed: they must reach
//     the end of the log gap-free, never having been dropped.
//   - queries: --queriers coroutines at --query-rate queries/s in total: pipeline (all, and a
//     municipality's own), headline, work queue, as-of reads (a date and a position; their
//     answers must never change), a need with min_position (read-your-writes), the global log.
// Server memory: VmRSS of --server-pid, sampled every second while the load runs.
//
// Phases: issue tokens (POST /v1/tokens with the --token admin token), connect every subscriber
// and wait until all are caught up, run the load for --seconds, stop writers and queriers, read
// the log head, wait until every gap-free subscriber has it (60 s at most), close everything.
//
// Output: one JSON object (see README.md, "Load and soak"): per kind count, rate, p50/p99/max ms;
// errors (with a count per kind and a few samples); the RSS curve and a verdict on whether it
// levelled off. Exit 0 when there were no errors and memory levelled off, 1 otherwise, 2 for bad
// usage.
#include <sys/socket.h>
#include <sys/utsname.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli/args.h"
#include "cli/bench_support.h"
#include "cli/commands.h"
#include "events/ids.h"

namespace kakehashi::cli {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr const char* load_usage =
    "usage: kakehashi bench load --url http://HOST:PORT --token ADMIN_TOKEN [--server-pid PID]\n"
    "                            [--seconds 60] [--subscribers 200] [--slow-subscribers 4]\n"
    "                            [--writers 8] [--write-rate 100] [--queriers 4] [--query-rate "
    "50]\n"
    "                            [--new-case-every 20] [--replay-every 25] [--slow-delay-ms 20]\n"
    "                            [--threads 2] [--json]\n";

// Municipalities the writers open needs in and whose tokens subscribe.
constexpr const char* lg_codes[] = {"131016", "131024", "131032", "131041",
                                    "131059", "131067", "131130", "132241"};
constexpr std::size_t lg_count = std::size(lg_codes);

// Markers the writers put into personal fields, so a delivery that should have none is caught.
constexpr std::string_view talent_marker = "LOADTALENT";    // talent's name, email, employer
constexpr std::string_view officer_marker = "LOADOFFICER";  // a decision's decided_by
constexpr std::string_view hearing_marker = "LOADHEARING";  // hearing attendees and notes

using header_list = std::vector<std::pair<std::string, std::string>>;

struct config {
  tcp::endpoint server;
  std::string host;  // for the Host header
  std::string admin_token;
  pid_t server_pid = 0;
  std::uint64_t seconds = 60;
  std::uint64_t subscribers = 200;
  std::uint64_t slow_subscribers = 4;
  std::uint64_t writers = 8;
  std::uint64_t write_rate = 100;
  std::uint64_t queriers = 4;
  std::uint64_t query_rate = 50;
  std::uint64_t new_case_every = 20;
  std::uint64_t replay_every = 25;
  std::uint64_t slow_delay_ms = 20;
  std::uint64_t threads = 2;
};

// Count and latency of one kind of operation.
struct kind_stats {
  std::atomic<std::uint64_t> count{0};
  bench::latency_histogram latency;
  void add(std::int64_t us) {
    count.fetch_add(1, std::memory_order_relaxed);
    latency.add_us(us);
  }
};

enum query_kind : std::size_t {
  q_pipeline,
  q_pipeline_own,
  q_headline,
  q_work_queue,
  q_headline_as_of,
  q_pipeline_as_of,
  q_need_min_position,
  q_events,
  q_municipalities,
  query_kinds
};
constexpr const char* query_names[query_kinds] = {
    "pipeline",       "pipeline_own",      "headline", "work_queue",    "headline_as_of",
    "pipeline_as_of", "need_min_position", "events",   "municipalities"};

// Who subscribes, to what, and what each delivery must satisfy.
struct subscriber_spec {
  std::string role;  // token role: admin, auditor, coordinator, dashboard, municipality
  std::string lg_code;
  std::string message;    // the subscribe or watch message
  bool watch = false;     // a watch: snapshot, then updates
  bool gap_free = false;  // sees every event: positions must be consecutive
  bool slow = false;
};

// A subscriber's connection and what it has seen. The socket is touched only on `strand`.
struct subscriber {
  subscriber(net::any_io_executor ex, subscriber_spec s)
      : strand(ex), ws(strand), spec(std::move(s)) {}
  net::any_io_executor strand;
  websocket::stream<beast::tcp_stream> ws;
  subscriber_spec spec;
  std::atomic<bool> ready{false};  // caught_up or snapshot received
  std::atomic<bool> ended{false};  // the read loop has returned
  std::atomic<std::uint64_t> last{0};
  std::atomic<std::uint64_t> events{0};
};

struct load_context {
  explicit load_context(config c) : cfg(std::move(c)) {}
  config cfg;
  std::map<std::string, std::string> tokens;  // "role" or "municipality:LG" -> bearer

  std::atomic<bool> stopping{false};  // writers and queriers finish their current operation
  std::atomic<bool> draining{false};  // slow subscribers read at full speed
  std::atomic<bool> closing{false};   // subscribers expect their connection to end
  std::atomic<int> active_workers{0};

  kind_stats commands, queries, deliveries;
  kind_stats slow_deliveries;  // kept apart: their latency is their own slowness
  kind_stats by_query[query_kinds];
  std::map<std::string, kind_stats> by_command;  // filled before the load starts, then read only
  std::atomic<std::uint64_t> replays{0}, reconnects{0}, watch_snapshots{0}, watch_updates{0};
  std::atomic<std::uint64_t> cases{0};

  std::mutex mutex;  // guards what follows
  std::uint64_t errors = 0;
  std::map<std::string, std::uint64_t> error_kinds;
  std::vector<std::string> error_samples;
  std::string latest_need;  // a need a writer opened, and the position that did
  std::uint64_t latest_need_position = 0;
  std::map<query_kind, std::string> stable_answers;  // as-of answers seen first

  void fail(const std::string& kind, std::string detail) {
    std::lock_guard lock(mutex);
    ++errors;
    ++error_kinds[kind];
    if (error_samples.size() < 10) error_samples.push_back(kind + ": " + detail.substr(0, 300));
  }
  std::uint64_t error_count() {
    std::lock_guard lock(mutex);
    return errors;
  }
};

std::int64_t micros_since(steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - start).count();
}

net::awaitable<void> sleep_for(steady::duration d) {
  net::steady_timer timer(co_await net::this_coro::executor);
  timer.expires_after(d);
  beast::error_code ec;
  co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
}

// Open-loop pacing: the n-th operation is due at start + n * period; after a stall it does not
// burst to catch up by more than a second's worth.
class pacer {
 public:
  explicit pacer(std::chrono::nanoseconds period) : period_(period), next_(steady::now()) {}
  net::awaitable<void> wait() {
    auto now = steady::now();
    if (next_ < now - 1s) next_ = now - 1s;
    if (next_ > now) co_await sleep_for(next_ - now);
    next_ += period_;
  }

 private:
  std::chrono::nanoseconds period_;
  steady::time_point next_;
};

struct http_answer {
  unsigned status = 0;
  std::string body;
  bool replayed = false;
};

// One kept-alive HTTP/1.1 connection. A request that fails on a connection that had served
// before is sent once more on a new one (the server may have closed it as idle); commands are
// safe to resend because every one carries an Idempotency-Key.
class http_connection {
 public:
  explicit http_connection(load_context& ctx) : ctx_(ctx) {}

  net::awaitable<std::optional<http_answer>> call(http::verb method, std::string target,
                                                  const std::string& token, std::string body = {},
                                                  const header_list& headers = {}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, ctx_.cfg.host);
    req.set(http::field::user_agent, "kakehashi-bench-load");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : headers)
      req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = stream_ && served_ > 0;
      beast::error_code ec;
      if (!stream_) {
        stream_.emplace(co_await net::this_coro::executor);
        stream_->expires_after(10s);
        co_await stream_->async_connect(ctx_.cfg.server,
                                        net::redirect_error(net::use_awaitable, ec));
        served_ = 0;
        if (ec) {
          stream_.reset();
          ctx_.fail("connect", ec.message());
          co_return std::nullopt;
        }
      }
      stream_->expires_after(60s);
      co_await http::async_write(*stream_, req, net::redirect_error(net::use_awaitable, ec));
      if (!ec) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 << 20);
        co_await http::async_read(*stream_, buffer_, parser,
                                  net::redirect_error(net::use_awaitable, ec));
        if (!ec) {
          auto res = parser.release();
          ++served_;
          if (!res.keep_alive()) stream_.reset();
          http_answer out;
          out.status = res.result_int();
          out.replayed = res["Idempotent-Replayed"] == "true";
          out.body = std::move(res.body());
          co_return out;
        }
      }
      stream_.reset();
      buffer_.clear();
      if (!reused) {
        ctx_.fail("http_io",
                  std::string(http::to_string(method)) + " " + target + ": " + ec.message());
        co_return std::nullopt;
      }
      ctx_.reconnects.fetch_add(1, std::memory_order_relaxed);
    }
    co_return std::nullopt;
  }

 private:
  load_context& ctx_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::uint64_t served_ = 0;
};

std::optional<json::object> parse_object(std::string_view text) {
  beast::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::string string_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

std::uint64_t number_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_number()) return 0;
  return it->value().to_number<std::uint64_t>();
}

// ---- writers

class writer {
 public:
  writer(load_context& ctx, std::size_t index)
      : ctx_(ctx),
        index_(index),
        conn_(ctx),
        rng_(0x6b616b65 + index),
        pace_(std::chrono::nanoseconds(1'000'000'000ull * ctx.cfg.writers /
                                       std::max<std::uint64_t>(ctx.cfg.write_rate, 1))) {}

  net::awaitable<void> run() {
    for (std::uint64_t i = 0; !ctx_.stopping.load(); ++i) {
      if (talent_.empty() || appointment_.empty() || i % ctx_.cfg.new_case_every == 0) {
        bool ok = co_await placement();
        if (!ok) co_await sleep_for(100ms);  // after an error, do not spin
      } else {
        co_await update(i);
      }
    }
  }

 private:
  // Sends one command, paced, with a fresh Idempotency-Key; it must answer 200/201 with a JSON
  // object, which is left in answer_. (Coroutine style here is deliberately plain: every
  // co_await stands alone in its statement, with named arguments; GCC 12 miscompiles some
  // co_awaits inside conditions and braced temporaries.)
  net::awaitable<bool> send(const char* name, http::verb method, std::string target,
                            std::string body, std::string on_behalf = {}) {
    if (ctx_.stopping.load()) co_return false;
    if (ctx_.cfg.write_rate > 0) co_await pace_.wait();
    header_list headers;
    headers.emplace_back("Idempotency-Key", new_uuid_v7().to_string());
    if (!on_behalf.empty()) headers.emplace_back("X-On-Behalf-Of", on_behalf);
    const std::string& token = ctx_.tokens.at("coordinator");
    auto start = steady::now();
    std::optional<http_answer> first = co_await conn_.call(method, target, token, body, headers);
    if (!first) co_return false;
    if (first->status != 200 && first->status != 201) {
      ctx_.fail("command_status",
                std::string(name) + " -> " + std::to_string(first->status) + " " + first->body);
      co_return false;
    }
    auto us = micros_since(start);
    ctx_.commands.add(us);
    ctx_.by_command.at(name).add(us);
    auto parsed = parse_object(first->body);
    if (!parsed) {
      ctx_.fail("command_body", std::string(name) + ": " + first->body);
      co_return false;
    }
    answer_ = std::move(*parsed);
    if (++sent_ % ctx_.cfg.replay_every == 0) {
      // The same request again: the first outcome, marked as a replay, nothing appended.
      std::optional<http_answer> again = co_await conn_.call(method, target, token, body, headers);
      if (again) {
        auto replayed = parse_object(again->body);
        bool same = again->status == first->status && again->replayed && replayed &&
                    number_field(*replayed, "position") == number_field(answer_, "position");
        if (same)
          ctx_.replays.fetch_add(1, std::memory_order_relaxed);
        else
          ctx_.fail("idempotency", std::string(name) + ": replay answered " +
                                       std::to_string(again->status) + " " + again->body);
      }
    }
    co_return true;
  }

  std::string id(std::string_view key) const { return string_field(answer_, key); }

  // A whole placement, from registration to a started appointment.
  net::awaitable<bool> placement() {
    const std::string tag = std::to_string(index_) + "-" + std::to_string(++case_number_);
    const std::string lg = lg_codes[rng_() % lg_count];
    const std::string talent_pii(talent_marker);
    std::string body =
        R"({"display_name":"負荷 )" + talent_pii + tag + R"(","email":")" + talent_pii + tag +
        R"(@example.jp","phone":"090-0000-0000","employer":")" + talent_pii +
        R"( KK","residence_area":"132241","role_categories":["rpa_specialist"],)"
        R"("skills":["rpa","python"],"tiers":["hands_on"],)"
        R"("availability":{"hours_per_week":8,"work_forms":["remote","spot"],"areas":["132241"]},)"
        R"("consent_version":"2024-04"})";
    bool ok = co_await send("register_talent", http::verb::post, "/v1/talents", body);
    if (!ok) co_return false;
    const std::string talent_id = id("talent_id");

    body =
        R"({"lg_code":")" + lg +
        R"(","origin":"municipality_request","department":"DX推進課","problem":"RPAを導入したが使える人がいない"})";
    ok = co_await send("open_need", http::verb::post, "/v1/needs", body);
    if (!ok) co_return false;
    const std::string need_id = id("need_id");
    {
      std::lock_guard lock(ctx_.mutex);
      ctx_.latest_need = need_id;
      ctx_.latest_need_position = number_field(answer_, "position");
    }
    const std::string n = "/v1/needs/" + need_id;
    const std::string hearing_pii(hearing_marker);
    body = R"({"held_on":"2025-05-01","attendees":[")" + hearing_pii + R"( 係長"],"notes":")" +
           hearing_pii + R"( 定型業務が多い","findings":"研修が必要"})";
    ok = co_await send("record_hearing", http::verb::post, n + "/hearings", body);
    if (!ok) co_return false;
    body = R"({"role_category":"rpa_specialist","tier":"hands_on","skills":["rpa"],)"
           R"("work_forms":["remote"],"hours_per_week":8,"duration_months":6,"openings":1})";
    ok = co_await send("define_requirements", http::verb::post, n + "/requirements", body);
    if (!ok) co_return false;

    body = R"({"talent_id":")" + talent_id + R"(","need_id":")" + need_id +
           R"(","direction":"need_driven","source":"scout"})";
    ok = co_await send("identify_candidate", http::verb::post, "/v1/candidacies", body);
    if (!ok) co_return false;
    const std::string candidacy_id = id("candidacy_id");
    const std::string c = "/v1/candidacies/" + candidacy_id;
    ok = co_await send("contact", http::verb::post, c + "/contact", "");
    if (!ok) co_return false;
    ok = co_await send("confirm_interest", http::verb::post, c + "/interest", "");
    if (!ok) co_return false;
    ok = co_await send("propose", http::verb::post, c + "/propose", "");
    if (!ok) co_return false;
    // The coordinator enters the officer's decision, saying for whom.
    body = R"({"accepted":true,"reason":"経験が合う","decided_by":")" +
           std::string(officer_marker) + R"( 課長"})";
    ok = co_await send("record_decision", http::verb::post, c + "/decision", body,
                       "municipality:" + lg);
    if (!ok) co_return false;

    body = R"({"candidacy_id":")" + candidacy_id +
           R"(","form":"remote","starts_on":"2026-04-01","ends_on":"2027-03-31",)"
           R"("hours_per_week":8,"scope":"RPA研修と定着支援"})";
    ok = co_await send("arrange_appointment", http::verb::post, "/v1/appointments", body);
    if (!ok) co_return false;
    const std::string a = "/v1/appointments/" + id("appointment_id");
    ok = co_await send("start_appointment", http::verb::post, a + "/start", "");
    if (!ok) co_return false;
    talent_ = "/v1/talents/" + talent_id;
    appointment_ = a;
    suspended_ = false;
    ctx_.cases.fetch_add(1, std::memory_order_relaxed);
    co_return true;
  }

  // A small update of the latest case: availability, or the appointment suspended or resumed.
  net::awaitable<void> update(std::uint64_t i) {
    if (i % 3 == 0) {
      std::string body = R"({"availability":{"hours_per_week":)" + std::to_string(4 + rng_() % 12) +
                         R"(,"work_forms":["remote"],"areas":["132241"]}})";
      co_await send("change_availability", http::verb::patch, talent_, body);
    } else if (!suspended_) {
      bool ok = co_await send("suspend_appointment", http::verb::post, appointment_ + "/suspend",
                              R"({"reason":"繁忙期"})");
      if (ok) suspended_ = true;
    } else {
      bool ok = co_await send("resume_appointment", http::verb::post, appointment_ + "/resume", "");
      if (ok) suspended_ = false;
    }
  }

  load_context& ctx_;
  std::size_t index_;
  http_connection conn_;
  std::mt19937_64 rng_;
  pacer pace_;
  json::object answer_;
  std::uint64_t sent_ = 0;
  std::uint64_t case_number_ = 0;
  std::string talent_, appointment_;
  bool suspended_ = false;
};

const char* const command_names[] = {"register_talent",     "open_need",
                                     "record_hearing",      "define_requirements",
                                     "identify_candidate",  "contact",
                                     "confirm_interest",    "propose",
                                     "record_decision",     "arrange_appointment",
                                     "start_appointment",   "change_availability",
                                     "suspend_appointment", "resume_appointment"};

net::awaitable<void> run_writer(load_context& ctx, std::size_t index) {
  writer w(ctx, index);
  co_await w.run();
  ctx.active_workers.fetch_sub(1);
}

// ---- queries

net::awaitable<void> run_querier(load_context& ctx, std::size_t index,
                                 std::uint64_t as_of_position) {
  http_connection conn(ctx);
  pacer pace(std::chrono::nanoseconds(1'000'000'000ull * ctx.cfg.queriers /
                                      std::max<std::uint64_t>(ctx.cfg.query_rate, 1)));
  std::mt19937_64 rng(0x71756572 + index);
  for (std::uint64_t i = index; !ctx.stopping.load(); ++i) {
    if (ctx.cfg.query_rate > 0) co_await pace.wait();
    if (ctx.stopping.load()) break;
    auto kind = static_cast<query_kind>(i % query_kinds);
    const std::string lg = lg_codes[rng() % lg_count];
    std::string target, token;
    switch (kind) {
      case q_pipeline:
        target = "/v1/pipeline", token = ctx.tokens.at("coordinator");
        break;
      case q_pipeline_own:
        target = "/v1/pipeline?lg_code=" + lg, token = ctx.tokens.at("municipality:" + lg);
        break;
      case q_headline:
        target = "/v1/metrics/headline", token = ctx.tokens.at("dashboard");
        break;
      case q_work_queue:
        target = "/v1/work-queue", token = ctx.tokens.at("coordinator");
        break;
      case q_headline_as_of:
        target = "/v1/metrics/headline?as_of=2025-12-01", token = ctx.tokens.at("auditor");
        break;
      case q_pipeline_as_of:
        target = "/v1/pipeline?as_of=" + std::to_string(as_of_position),
        token = ctx.tokens.at("auditor");
        break;
      case q_need_min_position: {
        std::lock_guard lock(ctx.mutex);
        if (ctx.latest_need.empty()) continue;
        target = "/v1/needs/" + ctx.latest_need +
                 "?min_position=" + std::to_string(ctx.latest_need_position);
        token = ctx.tokens.at("coordinator");
        break;
      }
      case q_events:
        target = "/v1/events?from=" + std::to_string(std::max<std::uint64_t>(as_of_position, 1)) +
                 "&limit=100";
        token = ctx.tokens.at("auditor");
        break;
      case q_municipalities:
        target = "/v1/municipalities", token = ctx.tokens.at("municipality:" + lg);
        break;
      case query_kinds:
        break;
    }
    auto start = steady::now();
    auto answer = co_await conn.call(http::verb::get, target, token);
    if (!answer) continue;
    auto us = micros_since(start);
    if (answer->status != 200) {
      ctx.fail("query_status", target + " -> " + std::to_string(answer->status) + " " +
                                   answer->body.substr(0, 200));
      continue;
    }
    ctx.queries.add(us);
    ctx.by_query[kind].add(us);
    if (kind == q_headline_as_of || kind == q_pipeline_as_of) {
      // A past point: the answer must never change, however much is written meanwhile.
      bool changed = false;
      {
        std::lock_guard lock(ctx.mutex);
        auto [it, first] = ctx.stable_answers.emplace(kind, answer->body);
        changed = !first && it->second != answer->body;
      }
      if (changed) ctx.fail("as_of_changed", target);
    }
  }
  ctx.active_workers.fetch_sub(1);
}

// ---- subscribers

bool is_full_role(const std::string& role) {
  return role == "admin" || role == "auditor" || role == "coordinator";
}

std::vector<subscriber_spec> subscriber_mix(std::size_t count, std::size_t slow) {
  auto subscribe = [](const std::string& stream, const std::string& types = "") {
    return R"({"op":"subscribe","id":"s","stream":")" + stream + R"(","from":"end")" +
           (types.empty() ? "" : R"(,"types":)" + types) + "}";
  };
  auto watch = [](const std::string& view) {
    return R"({"op":"watch","id":"s","view":")" + view + R"("})";
  };
  std::vector<subscriber_spec> out;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string lg = lg_codes[i % lg_count];
    switch (i % 10) {
      case 0:
      case 1:
        out.push_back({"admin", "", subscribe("$all"), false, true});
        break;
      case 2:
        out.push_back({"auditor", "", subscribe("$all"), false, true});
        break;
      case 3:
        out.push_back(
            {"coordinator", "",
             subscribe("$ce-need", R"(["NeedOpened","HearingRecorded","RequirementsDefined"])")});
        break;
      case 4:
        out.push_back({"dashboard", "", subscribe("$all"), false, true});
        break;
      case 5:
      case 6:
        out.push_back({"municipality", lg, subscribe("$all")});
        break;
      case 7:
        out.push_back({"coordinator", "", subscribe("$ce-candidacy")});
        break;
      case 8:
        out.push_back({"municipality", lg, watch("pipeline"), true});
        break;
      default:
        if (i % 20 == 9)
          out.push_back({"dashboard", "", watch("headline"), true});
        else
          out.push_back({"coordinator", "", watch("work-queue"), true});
    }
  }
  for (std::size_t i = 0; i < slow; ++i)
    out.push_back({"admin", "", subscribe("$all"), false, true, true});
  return out;
}

std::string_view quoted_value(std::string_view text, std::string_view key) {
  auto v = bench::after_key(text, key);
  return v.substr(0, v.find('"'));
}

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

// Checks one server message against what the subscriber may receive and records it.
void on_message(load_context& ctx, subscriber& s, std::string_view text, std::int64_t now) {
  const auto op = quoted_value(text, R"("op":")");
  const std::string who = s.spec.role + (s.spec.lg_code.empty() ? "" : ":" + s.spec.lg_code);
  if (op == "event") {
    std::int64_t recorded = bench::parse_event_time(bench::after_key(text, R"("time":")"));
    const std::uint64_t position = bench::leading_number(bench::after_key(text, R"("position":)"));
    (s.spec.slow ? ctx.slow_deliveries : ctx.deliveries)
        .add(recorded < 0 ? 0 : std::max<std::int64_t>(now - recorded, 0));
    s.events.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t last = s.last.load(std::memory_order_relaxed);
    if (!s.ready.load())
      ctx.fail("event_before_caught_up", who);
    else if (position <= last)
      ctx.fail("out_of_order",
               who + ": " + std::to_string(position) + " after " + std::to_string(last));
    else if (s.spec.gap_free && position != last + 1)
      ctx.fail("gap", who + ": " + std::to_string(position) + " after " + std::to_string(last));
    s.last.store(std::max(position, last), std::memory_order_relaxed);

    const auto subject = quoted_value(text, R"("subject":")");
    const auto type = quoted_value(text, R"("type":")");
    if (!is_full_role(s.spec.role)) {
      if (contains(text, talent_marker) || contains(text, officer_marker) ||
          (s.spec.role == "dashboard" && contains(text, hearing_marker)))
        ctx.fail("personal_data_leak", who + " got personal data in " + std::string(type));
      if (s.spec.role == "municipality" && subject.rfind("talent-", 0) == 0)
        ctx.fail("tenant_leak", who + " got " + std::string(type));
    }
    if (contains(s.spec.message, "$ce-need") &&
        (subject.rfind("need-", 0) != 0 ||
         !contains(s.spec.message, "\"" + std::string(type) + "\"")))
      ctx.fail("filter", who + " on $ce-need got " + std::string(type));
    if (contains(s.spec.message, "$ce-candidacy") && subject.rfind("candidacy-", 0) != 0)
      ctx.fail("filter", who + " on $ce-candidacy got " + std::string(subject));
  } else if (op == "caught_up") {
    s.last.store(bench::leading_number(bench::after_key(text, R"("position":)")));
    s.ready.store(true);
  } else if (op == "snapshot") {
    s.ready.store(true);
    ctx.watch_snapshots.fetch_add(1, std::memory_order_relaxed);
  } else if (op == "update") {
    ctx.watch_updates.fetch_add(1, std::memory_order_relaxed);
  } else if (op != "pong") {
    ctx.fail("ws_message", who + ": " + std::string(text.substr(0, 200)));
  }
}

net::awaitable<void> run_subscriber(load_context& ctx, std::shared_ptr<subscriber> s) {
  const std::string who = s->spec.role + (s->spec.lg_code.empty() ? "" : ":" + s->spec.lg_code);
  auto& layer = beast::get_lowest_layer(s->ws);
  beast::error_code ec;
  if (s->spec.slow) {
    // A small receive window, so the backlog builds up in the server rather than in our kernel.
    layer.socket().open(ctx.cfg.server.protocol(), ec);
    if (!ec) layer.socket().set_option(net::socket_base::receive_buffer_size(4096), ec);
  }
  layer.expires_after(30s);
  if (!ec)
    co_await layer.async_connect(ctx.cfg.server, net::redirect_error(net::use_awaitable, ec));
  if (!ec) {
    layer.expires_never();
    s->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    const std::string token =
        ctx.tokens.at(s->spec.lg_code.empty() ? s->spec.role : "municipality:" + s->spec.lg_code);
    s->ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
      req.set(http::field::authorization, "Bearer " + token);
      req.set(http::field::sec_websocket_protocol, "kakehashi.v1");
    }));
    s->ws.read_message_max(64 << 20);
    co_await s->ws.async_handshake(ctx.cfg.host, "/v1/stream",
                                   net::redirect_error(net::use_awaitable, ec));
  }
  if (!ec)
    co_await s->ws.async_write(net::buffer(s->spec.message),
                               net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    ctx.fail("ws_connect", who + ": " + ec.message());
    s->ended.store(true);
    co_return;
  }
  beast::flat_buffer buffer;
  for (;;) {
    co_await s->ws.async_read(buffer, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      if (!ctx.closing.load()) ctx.fail("ws_closed", who + ": " + ec.message());
      break;
    }
    auto data = buffer.data();
    on_message(ctx, *s, std::string_view(static_cast<const char*>(data.data()), data.size()),
               bench::system_micros());
    buffer.consume(buffer.size());
    if (s->spec.slow && !ctx.draining.load())
      co_await sleep_for(std::chrono::milliseconds(ctx.cfg.slow_delay_ms));
  }
  s->ended.store(true);
}

net::awaitable<void> close_subscriber(std::shared_ptr<subscriber> s) {
  beast::error_code ec;
  co_await s->ws.async_close(websocket::close_code::normal,
                             net::redirect_error(net::use_awaitable, ec));
}

// ---- the run

struct report {
  std::vector<double> rss;   // MiB, one sample a second while the load ran
  double rss_connected = 0;  // after every subscriber connected, before the load
  double rss_after = 0;      // after every connection closed
  std::uint64_t head_start = 0, head_end = 0;
  double connect_seconds = 0, load_seconds = 0, drain_seconds = 0;
  std::size_t subscribers_ready = 0;
  bool finished = false;
};

// Waits (polling) until `done` or `limit`; whether done.
template <typename Pred>
net::awaitable<bool> wait_until(Pred done, steady::duration limit) {
  auto deadline = steady::now() + limit;
  while (!done()) {
    if (steady::now() >= deadline) co_return false;
    co_await sleep_for(20ms);
  }
  co_return true;
}

net::awaitable<std::optional<std::uint64_t>> head_position(load_context& ctx,
                                                           http_connection& conn) {
  auto answer = co_await conn.call(http::verb::get, "/healthz", "");
  std::optional<json::object> body;
  if (answer && answer->status == 200) body = parse_object(answer->body);
  if (!body) {
    ctx.fail("healthz", answer ? answer->body : "no answer");
    co_return std::nullopt;
  }
  co_return number_field(*body, "head_position");
}

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

net::awaitable<void> orchestrate(load_context& ctx, net::io_context& ioc, report& out) {
  http_connection admin(ctx);
  // Tokens, issued by the admin over HTTP, one per role (and one per municipality).
  std::vector<std::pair<std::string, std::string>> wanted = {
      {"coordinator", R"({"role":"coordinator","name":"bench load"})"},
      {"auditor", R"({"role":"auditor","name":"bench load"})"},
      {"dashboard", R"({"role":"dashboard","name":"bench load"})"}};
  for (const char* lg : lg_codes)
    wanted.emplace_back(
        "municipality:" + std::string(lg),
        R"({"role":"municipality","lg_code":")" + std::string(lg) + R"(","name":"bench load"})");
  ctx.tokens["admin"] = ctx.cfg.admin_token;
  for (const auto& [key, body] : wanted) {
    auto answer = co_await admin.call(http::verb::post, "/v1/tokens", ctx.cfg.admin_token, body);
    std::optional<json::object> issued;
    if (answer && answer->status == 201) issued = parse_object(answer->body);
    if (!issued || string_field(*issued, "token").empty()) {
      ctx.fail("token", key + ": " +
                            (answer ? std::to_string(answer->status) + " " + answer->body
                                    : std::string("no answer")));
      ioc.stop();
      co_return;
    }
    ctx.tokens[key] = string_field(*issued, "token");
  }
  auto head = co_await head_position(ctx, admin);
  if (!head) {
    ioc.stop();
    co_return;
  }
  out.head_start = *head;

  // Every subscriber connected and caught up before the load starts.
  auto connect_start = steady::now();
  std::vector<std::shared_ptr<subscriber>> subs;
  for (auto& spec : subscriber_mix(ctx.cfg.subscribers, ctx.cfg.slow_subscribers)) {
    subs.push_back(std::make_shared<subscriber>(net::make_strand(ioc), std::move(spec)));
    net::co_spawn(subs.back()->strand, run_subscriber(ctx, subs.back()), net::detached);
    if (subs.size() % 20 == 0) co_await sleep_for(20ms);  // stay inside the listen backlog
  }
  co_await wait_until(
      [&] {
        return std::all_of(subs.begin(), subs.end(),
                           [](const auto& s) { return s->ready.load() || s->ended.load(); });
      },
      60s);
  for (const auto& s : subs) {
    if (s->ready.load())
      ++out.subscribers_ready;
    else if (!s->ended.load())
      ctx.fail("not_caught_up", s->spec.role + " " + s->spec.message);
  }
  out.connect_seconds = seconds_since(connect_start);
  out.rss_connected = ctx.cfg.server_pid ? bench::rss_mb(ctx.cfg.server_pid) : 0;

  // The load, with the server's resident set sampled every second.
  ctx.active_workers.store(static_cast<int>(ctx.cfg.writers + ctx.cfg.queriers));
  for (std::size_t i = 0; i < ctx.cfg.writers; ++i)
    net::co_spawn(net::make_strand(ioc), run_writer(ctx, i), net::detached);
  for (std::size_t i = 0; i < ctx.cfg.queriers; ++i)
    net::co_spawn(net::make_strand(ioc), run_querier(ctx, i, out.head_start), net::detached);
  auto load_start = steady::now();
  for (std::uint64_t second = 1; second <= ctx.cfg.seconds; ++second) {
    auto due = load_start + std::chrono::seconds(second);
    if (due > steady::now()) co_await sleep_for(due - steady::now());
    if (ctx.cfg.server_pid) out.rss.push_back(bench::rss_mb(ctx.cfg.server_pid));
  }
  ctx.stopping.store(true);
  co_await wait_until([&] { return ctx.active_workers.load() == 0; }, 60s);
  out.load_seconds = seconds_since(load_start);

  // Everything written reaches every subscriber that sees everything, slow ones included.
  auto drain_start = steady::now();
  ctx.draining.store(true);
  head = co_await head_position(ctx, admin);
  out.head_end = head.value_or(0);
  co_await wait_until(
      [&] {
        return std::all_of(subs.begin(), subs.end(), [&](const auto& s) {
          return !s->spec.gap_free || s->ended.load() || s->last.load() >= out.head_end;
        });
      },
      120s);
  for (const auto& s : subs) {
    if (s->spec.gap_free && s->ready.load() && s->last.load() < out.head_end)
      ctx.fail("missed_events", s->spec.role + (s->spec.slow ? " (slow)" : "") + " stopped at " +
                                    std::to_string(s->last.load()) + " of " +
                                    std::to_string(out.head_end));
  }
  out.drain_seconds = seconds_since(drain_start);

  ctx.closing.store(true);
  for (const auto& s : subs)
    if (!s->ended.load()) net::co_spawn(s->strand, close_subscriber(s), net::detached);
  co_await wait_until(
      [&] {
        return std::all_of(subs.begin(), subs.end(), [](const auto& s) { return s->ended.load(); });
      },
      15s);
  co_await sleep_for(1s);  // let the server release what the connections held
  out.rss_after = ctx.cfg.server_pid ? bench::rss_mb(ctx.cfg.server_pid) : 0;
  out.finished = true;
  ioc.stop();
}

json::object kind_json(const kind_stats& k, double seconds) {
  json::object o;
  o["count"] = k.count.load();
  o["per_sec"] =
      std::round(static_cast<double>(k.count.load()) / std::max(seconds, 1e-9) * 10) / 10;
  o["p50_ms"] = k.latency.quantile_ms(0.50);
  o["p99_ms"] = k.latency.quantile_ms(0.99);
  o["max_ms"] = k.latency.max_ms();
  return o;
}

struct memory_verdict {
  double middle_max = 0, last_max = 0, slope_mb_per_min = 0;
  bool levelled = true;
};

// Memory levelled off when the last third of the run peaks no higher than the middle third did,
// give or take `tolerance` (a fraction) plus `slack_mb`: the first third is warm-up (caches,
// memtables, buffers filling). The least-squares slope of the second half is reported too.
memory_verdict judge_memory(const std::vector<double>& rss, double tolerance, double slack_mb) {
  memory_verdict v;
  const std::size_t n = rss.size();
  if (n < 6) return v;
  const std::size_t third = n / 3;
  v.middle_max = *std::max_element(rss.begin() + static_cast<std::ptrdiff_t>(third),
                                   rss.begin() + static_cast<std::ptrdiff_t>(2 * third));
  v.last_max = *std::max_element(rss.begin() + static_cast<std::ptrdiff_t>(2 * third), rss.end());
  v.levelled = v.last_max <= v.middle_max * (1 + tolerance) + slack_mb;
  const std::size_t from = n / 2;
  double sx = 0, sy = 0, sxx = 0, sxy = 0, m = static_cast<double>(n - from);
  for (std::size_t i = from; i < n; ++i) {
    double x = static_cast<double>(i) / 60.0;
    sx += x, sy += rss[i], sxx += x * x, sxy += x * rss[i];
  }
  double denom = m * sxx - sx * sx;
  v.slope_mb_per_min = denom > 0 ? (m * sxy - sx * sy) / denom : 0;
  return v;
}

double round1(double v) {
  return std::round(v * 10) / 10;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace

int bench_load(const args& a) {
  config cfg;
  auto url = a.get("url");
  std::optional<std::string> token = a.get("token");
  if (auto file = a.get("token-file")) {
    std::ifstream in(*file);
    std::string line;
    if (std::getline(in, line)) token = line;
  }
  struct {
    const char* name;
    std::uint64_t* value;
  } numbers[] = {{"seconds", &cfg.seconds},
                 {"subscribers", &cfg.subscribers},
                 {"slow-subscribers", &cfg.slow_subscribers},
                 {"writers", &cfg.writers},
                 {"write-rate", &cfg.write_rate},
                 {"queriers", &cfg.queriers},
                 {"query-rate", &cfg.query_rate},
                 {"new-case-every", &cfg.new_case_every},
                 {"replay-every", &cfg.replay_every},
                 {"slow-delay-ms", &cfg.slow_delay_ms},
                 {"threads", &cfg.threads}};
  bool usable = url && token && url->rfind("http://", 0) == 0;
  for (auto& n : numbers) {
    auto v = a.get_u64(n.name, *n.value);
    if (!v)
      usable = false;
    else
      *n.value = *v;
  }
  auto pid = a.get_u64("server-pid", 0);
  auto tolerance = a.get_u64("rss-tolerance-percent", 10);
  auto slack = a.get_u64("rss-slack-mb", 16);
  if (!usable || !pid || !tolerance || !slack || cfg.seconds == 0 || cfg.writers == 0 ||
      cfg.queriers == 0 || cfg.threads == 0 || cfg.new_case_every == 0 || cfg.replay_every == 0) {
    std::fputs(load_usage, stderr);
    return 2;
  }
  cfg.server_pid = static_cast<pid_t>(*pid);
  cfg.admin_token = *token;
  cfg.host = url->substr(7);
  while (!cfg.host.empty() && cfg.host.back() == '/')
    cfg.host.pop_back();
  auto colon = cfg.host.rfind(':');
  if (colon == std::string::npos) {
    std::fputs(load_usage, stderr);
    return 2;
  }
  {
    net::io_context resolver_context;
    tcp::resolver resolver(resolver_context);
    std::string host = cfg.host.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    beast::error_code ec;
    auto found = resolver.resolve(host, cfg.host.substr(colon + 1), ec);
    if (ec || found.empty()) {
      std::fprintf(stderr, "kakehashi bench load: cannot resolve %s: %s\n", cfg.host.c_str(),
                   ec.message().c_str());
      return 1;
    }
    cfg.server = found.begin()->endpoint();
  }

  load_context ctx(cfg);
  for (const char* name : command_names)
    ctx.by_command.try_emplace(name);
  const std::string load_before = load_average();
  report out;
  net::io_context ioc(static_cast<int>(cfg.threads));
  net::co_spawn(ioc, orchestrate(ctx, ioc, out), net::detached);
  std::vector<std::thread> threads;
  for (std::uint64_t i = 1; i < cfg.threads; ++i)
    threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads)
    t.join();

  if (!out.finished) ctx.fail("unfinished", "the run stopped before its end");
  const double seconds = std::max(out.load_seconds, 1e-9);
  json::object result;
  result["bench"] = "load";
  result["seconds"] = round1(out.load_seconds);
  json::object setup;
  setup["writers"] = cfg.writers;
  setup["write_rate"] = cfg.write_rate;
  setup["queriers"] = cfg.queriers;
  setup["query_rate"] = cfg.query_rate;
  setup["subscribers"] = cfg.subscribers;
  setup["slow_subscribers"] = cfg.slow_subscribers;
  setup["new_case_every"] = cfg.new_case_every;
  setup["client_threads"] = cfg.threads;
  result["setup"] = std::move(setup);

  json::object commands = kind_json(ctx.commands, seconds);
  commands["idempotent_replays"] = ctx.replays.load();
  commands["cases"] = ctx.cases.load();
  json::object by_command;
  for (const auto& [name, k] : ctx.by_command)
    by_command[name] = kind_json(k, seconds);
  commands["by_type"] = std::move(by_command);
  result["commands"] = std::move(commands);
  json::object queries = kind_json(ctx.queries, seconds);
  json::object by_query;
  for (std::size_t i = 0; i < query_kinds; ++i)
    by_query[query_names[i]] = kind_json(ctx.by_query[i], seconds);
  queries["by_kind"] = std::move(by_query);
  result["queries"] = std::move(queries);
  json::object deliveries = kind_json(ctx.deliveries, seconds);
  deliveries["latency"] = "receipt minus the event's recorded_at (commit included)";
  deliveries["subscribers_ready"] = out.subscribers_ready;
  deliveries["slow_subscribers"] = kind_json(ctx.slow_deliveries, seconds);
  deliveries["watch_snapshots"] = ctx.watch_snapshots.load();
  deliveries["watch_updates"] = ctx.watch_updates.load();
  deliveries["connect_seconds"] = round1(out.connect_seconds);
  deliveries["drain_seconds"] = round1(out.drain_seconds);
  result["deliveries"] = std::move(deliveries);
  json::object log;
  log["head_start"] = out.head_start;
  log["head_end"] = out.head_end;
  log["events_appended"] = out.head_end >= out.head_start ? out.head_end - out.head_start : 0;
  log["events_per_sec"] =
      round1(static_cast<double>(out.head_end - std::min(out.head_start, out.head_end)) / seconds);
  result["log"] = std::move(log);
  result["http_reconnects"] = ctx.reconnects.load();

  memory_verdict memory =
      judge_memory(out.rss, static_cast<double>(*tolerance) / 100.0, static_cast<double>(*slack));
  json::object rss;
  json::array curve;
  for (double v : out.rss)
    curve.push_back(round1(v));
  rss["samples_per_sec"] = 1;
  rss["connected_mb"] = round1(out.rss_connected);
  rss["max_mb"] = out.rss.empty() ? 0.0 : round1(*std::max_element(out.rss.begin(), out.rss.end()));
  rss["end_mb"] = out.rss.empty() ? 0.0 : round1(out.rss.back());
  rss["after_close_mb"] = round1(out.rss_after);
  rss["middle_third_max_mb"] = round1(memory.middle_max);
  rss["last_third_max_mb"] = round1(memory.last_max);
  rss["second_half_slope_mb_per_min"] = std::round(memory.slope_mb_per_min * 100) / 100;
  rss["levelled_off"] = memory.levelled;
  rss["rule"] = "last third max <= middle third max * (1 + " + std::to_string(*tolerance) +
                "%) + " + std::to_string(*slack) + " MB";
  rss["curve_mb"] = std::move(curve);
  result["server_rss"] = std::move(rss);

  {
    std::lock_guard lock(ctx.mutex);
    result["errors"] = ctx.errors;
    json::object kinds;
    for (const auto& [kind, n] : ctx.error_kinds)
      kinds[kind] = n;
    result["error_kinds"] = std::move(kinds);
    json::array samples;
    for (const auto& s : ctx.error_samples)
      samples.push_back(json::string(s));
    result["error_samples"] = std::move(samples);
  }
  json::object machine;
  machine["cpus"] = std::thread::hardware_concurrency();
  utsname uts{};
  if (::uname(&uts) == 0) machine["kernel"] = uts.release;
  machine["load_average_before"] = load_before;
  machine["load_average_after"] = load_average();
  result["machine"] = std::move(machine);
  const bool ok = ctx.error_count() == 0 && memory.levelled;
  result["verdict"] = ok ? "ok" : "failed";
  std::printf("%s\n", json::serialize(result).c_str());
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace kakehashi::cli
