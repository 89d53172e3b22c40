// `kakehashi bench fanout`: live fan-out over `GET /v1/stream` (DESIGN.md, "Performance
// targets": 1,000 subscribers on $all, p99 commit-to-delivery <= 50 ms, bounded memory).
//
// One command, two processes: the benchmark forks first, so the server's memory can be measured
// apart from the clients'. The parent opens a store in a temporary directory (or --data), runs
// the read-model runner and the real server on 127.0.0.1:0, and issues an admin token; the child
// connects --subscribers WebSocket clients (Beast, one I/O thread by default), each subscribing
// to $all from "end". Once every client is caught up, the parent appends single-event appends
// (copies of a real NeedOpened, each opening a new need) at --rate per second for --seconds,
// open loop; then it tells the child the last position, and the child waits until every client
// has it (or 30 s). The first --warmup seconds run at the same rate but are kept out of the
// latency figures (reported apart as warmup_p99_ms / warmup_max_ms): the first second of a
// thousand connections going live pays once for growing buffers and TCP windows.
//
// Latency, commit to delivery ("latency_from":"commit"): receipt time minus the append's
// committed_at (append_result: taken when its WAL sync returned, before the store published the
// event and completed the caller), both by this machine's system clock. The child keeps every
// delivery (position, receipt minus the event's "time", i.e. recorded_at: 8 bytes each,
// cli/fanout_latency.h); once the clients are done the parent reads each appended event's
// recorded_at back from the store and sends the child one line, position -> (committed_at -
// recorded_at) in µs, which the child validates (size, range, shape) and subtracts. The
// quantiles are exact. A delivery cannot arrive before its commit unless the clock steps; one
// that does counts as 0 and in deliveries_before_ack, not clamped silently. The previous figure,
// receipt minus recorded_at (stamped when the sequencer stages the group, before its write and
// fsync: an upper bound on commit-to-delivery), is kept as from_recorded_at_*. Both processes
// share the machine's cores: the clients' work is counted against the server's.
//
// Output (one JSON object): subscribers, rate, seconds, events (measured), deliveries and
// missing (warm-up included), deliveries_per_sec, latency_from, p50_ms, p90_ms, p99_ms, max_ms,
// warmup_p99_ms, warmup_max_ms, from_recorded_at_p50_ms / _p99_ms / _max_ms,
// deliveries_before_ack (and before_ack_max_ms, the most by which one preceded its commit),
// deliveries_without_ack (positions the table has no ack for: left out
// of the commit figures; 0 unless something else appended), server_rss_mb (the largest resident
// set sampled while streaming), server_rss_idle_mb (before the clients connected), plus
// counters.
//
// --peer-port PORT points the same clients at another broadcast server on 127.0.0.1 instead (the
// Node.js `ws` peer of scripts/bench, bench/node/fanout_server.mjs): the parent connects to
// PORT's /publish and sends, at the same rate, the very message Kakehashi would deliver for the
// seed event, with "position" counting up and "time" the time it was due; the server is to
// send each message on to every subscriber. --peer-pid samples that server's resident set and
// --peer-name labels the output. The latency then starts at the publish's due time
// ("latency_from":"publish_due"; no from_recorded_at_* or ack fields): the peer stores nothing.
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/event_access.h"
#include "api/server.h"
#include "api/stream_service.h"
#include "api/token_store.h"
#include "cli/args.h"
#include "cli/bench_support.h"
#include "cli/commands.h"
#include "cli/fanout_latency.h"
#include "engine/command_service.h"
#include "engine/event_store.h"
#include "events/ids.h"
#include "projections/runner.h"

namespace kakehashi::cli {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr const char* fanout_usage =
    "usage: kakehashi bench fanout [--subscribers 1000] [--rate 500] [--seconds 10] [--data DIR]\n"
    "                              [--client-threads 1] [--server-threads 2] [--coalesce-ms 0]\n"
    "                              [--warmup 2] [--json]\n"
    "                              [--peer-port PORT [--peer-pid PID] [--peer-name NAME]]\n";

// ---- pipes between the two processes: one line at a time

// Every control line but the ack table (results included) is shorter than this.
constexpr std::size_t control_line_max = 4096;

bool write_line(int fd, const std::string& line) {
  std::string out = line + "\n";
  const char* p = out.data();
  std::size_t left = out.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

// ---- the clients (child process)

// One per client I/O thread, so recording a delivery takes no lock.
struct client_totals {
  explicit client_totals(position_t b) : base(b) {}
  // Every delivery's position is above this (the head when the clients connected); samples
  // store position - base.
  const position_t base;
  // Every delivery, warm-up included: the split and the quantiles come after the run.
  bench::sample_log samples;
  std::uint64_t unexpected_positions = 0;  // at or below base, or 2^32 beyond: not sampled
  std::uint64_t deliveries = 0;
  std::uint64_t out_of_order = 0;
  std::int64_t first_receipt = 0;
  std::int64_t last_receipt = 0;
  std::atomic<std::size_t> caught_up{0};
  std::atomic<std::size_t> failed{0};
};

// A subscriber as a dashboard would be, minus the browser: Beast performs the handshake, then
// the client reads the server's (unmasked) frames straight off the socket, so the benchmark's
// own clients cost as little as possible of the machine the server shares with them.
class fan_client : public std::enable_shared_from_this<fan_client> {
 public:
  fan_client(net::io_context& ioc, client_totals& totals)
      : handshake_(std::make_unique<websocket::stream<tcp::socket>>(ioc)),
        socket_(ioc),
        totals_(totals) {}

  void start(unsigned short port, const std::string& token) {
    token_ = token;
    port_ = port;
    handshake_->next_layer().async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
        [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
  }
  position_t last() const { return last_.load(std::memory_order_acquire); }

 private:
  void on_connect(beast::error_code ec) {
    if (ec) return fail();
    handshake_->set_option(
        websocket::stream_base::decorator([t = token_](websocket::request_type& req) {
          req.set(beast::http::field::authorization, "Bearer " + t);
          req.set(beast::http::field::sec_websocket_protocol, "kakehashi.v1");
        }));
    handshake_->async_handshake(
        "127.0.0.1:" + std::to_string(port_), "/v1/stream",
        [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
  }
  void on_handshake(beast::error_code ec) {
    if (ec) return fail();
    socket_ = std::move(handshake_->next_layer());
    handshake_.reset();
    // A masked text frame, as clients must send.
    const std::string payload = R"({"op":"subscribe","id":"all","stream":"$all","from":"end"})";
    const unsigned char mask[4] = {0x5a, 0x13, 0xc7, 0x2e};
    frame_.push_back(static_cast<char>(0x81));
    frame_.push_back(static_cast<char>(0x80 | payload.size()));
    frame_.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
      frame_.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
    net::async_write(socket_, net::buffer(frame_),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->fail();
                       self->do_read();
                     });
  }
  void do_read() {
    // Keep the unparsed tail at the front; the buffer never moves or gets zeroed.
    if (used_ > 0) {
      std::memmove(inbox_.get(), inbox_.get() + used_, filled_ - used_);
      filled_ -= used_;
      used_ = 0;
    }
    if (filled_ == inbox_bytes) return fail();  // a frame larger than the buffer
    socket_.async_read_some(net::buffer(inbox_.get() + filled_, inbox_bytes - filled_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->filled_ += n;
                              if (!ec) self->on_read();
                            });
  }
  void on_read() {
    std::int64_t now = bench::system_micros();
    std::string_view data(inbox_.get(), filled_);
    for (;;) {
      std::string_view rest = data.substr(used_);
      if (rest.size() < 2) break;
      std::size_t header = 2;
      std::uint64_t length = static_cast<std::uint8_t>(rest[1]) & 0x7F;
      if (length == 126) {
        if (rest.size() < 4) break;
        length = (std::uint64_t{static_cast<std::uint8_t>(rest[2])} << 8) |
                 static_cast<std::uint8_t>(rest[3]);
        header = 4;
      } else if (length == 127) {
        if (rest.size() < 10) break;
        length = 0;
        for (std::size_t i = 2; i < 10; ++i)
          length = (length << 8) | static_cast<std::uint8_t>(rest[i]);
        header = 10;
      }
      if (rest.size() < header + length) break;
      on_message(rest.substr(header, static_cast<std::size_t>(length)), now);
      used_ += header + static_cast<std::size_t>(length);
    }
    do_read();
  }
  void on_message(std::string_view text, std::int64_t now) {
    if (text.rfind(R"({"op":"event")", 0) == 0) {
      std::int64_t recorded = bench::parse_event_time(bench::after_key(text, R"("time":")"));
      auto position =
          static_cast<position_t>(bench::leading_number(bench::after_key(text, R"("position":)")));
      // Unclamped: the commit figure subtracts the ack's offset from it later.
      std::int64_t us = recorded < 0 ? 0
                                     : std::clamp<std::int64_t>(
                                           now - recorded, std::numeric_limits<std::int32_t>::min(),
                                           std::numeric_limits<std::int32_t>::max());
      if (position > totals_.base &&
          position - totals_.base <= std::numeric_limits<std::uint32_t>::max())
        totals_.samples.add(
            {static_cast<std::uint32_t>(position - totals_.base), static_cast<std::int32_t>(us)});
      else
        ++totals_.unexpected_positions;
      ++totals_.deliveries;
      if (position <= last_.load(std::memory_order_relaxed)) ++totals_.out_of_order;
      if (totals_.first_receipt == 0) totals_.first_receipt = now;
      totals_.last_receipt = now;
      last_.store(position, std::memory_order_release);
    } else if (text.rfind(R"({"op":"caught_up")", 0) == 0) {
      totals_.caught_up.fetch_add(1);
    }
  }
  void fail() { totals_.failed.fetch_add(1); }

  std::unique_ptr<websocket::stream<tcp::socket>> handshake_;
  tcp::socket socket_;
  client_totals& totals_;
  std::string token_;
  std::string frame_;
  static constexpr std::size_t inbox_bytes = 64 * 1024;
  std::unique_ptr<char[]> inbox_ = std::make_unique_for_overwrite<char[]>(inbox_bytes);
  std::size_t filled_ = 0;
  std::size_t used_ = 0;
  unsigned short port_ = 0;
  std::atomic<position_t> last_{0};
};

// The child: reads "PORT TOKEN BASE", connects, says "ready" once all are caught up, then reads
// "measure FROM" (answers "ok") and "end LAST EVENTS", waits for the deliveries and says
// "delivered"; then reads the ack table ("acks none" in --peer-port mode) and answers with one
// line of JSON fields, or "error: ..." when the table does not validate.
int run_clients(int from_parent, int to_parent, std::size_t subscribers, unsigned threads) {
  bench::line_reader parent(from_parent);
  std::string line;
  if (!parent.read(line, control_line_max)) return 1;
  unsigned port = 0;
  char token[128] = {};
  unsigned long long base = 0;
  if (std::sscanf(line.c_str(), "%u %127s %llu", &port, token, &base) != 3) return 1;

  threads = std::max(1u, threads);
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<std::unique_ptr<client_totals>> totals;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (unsigned i = 0; i < threads; ++i) {
    contexts.push_back(std::make_unique<net::io_context>(1));
    totals.push_back(std::make_unique<client_totals>(base));
    guards.push_back(net::make_work_guard(*contexts.back()));
  }
  std::vector<std::shared_ptr<fan_client>> clients;
  clients.reserve(subscribers);
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      ::pthread_setname_np(::pthread_self(), "fan-client");
      contexts[i]->run();
    });
  for (std::size_t i = 0; i < subscribers; ++i) {
    clients.push_back(std::make_shared<fan_client>(*contexts[i % threads], *totals[i % threads]));
    clients.back()->start(static_cast<unsigned short>(port), token);
    if (i % 100 == 99) std::this_thread::sleep_for(5ms);  // stay inside the listen backlog
  }
  auto count = [&](auto member) {
    std::size_t n = 0;
    for (auto& t : totals)
      n += ((*t).*member).load();
    return n;
  };
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (count(&client_totals::caught_up) + count(&client_totals::failed) < subscribers &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  std::size_t ready = count(&client_totals::caught_up);
  std::size_t failed = count(&client_totals::failed);
  write_line(to_parent, "ready " + std::to_string(ready) + " " + std::to_string(failed));

  unsigned long long last = 0, events = 0, from = 0;
  // The parent is gone or confused: nothing to report to, and the I/O threads cannot be joined.
  if (!parent.read(line, control_line_max) || std::sscanf(line.c_str(), "measure %llu", &from) != 1)
    ::_exit(1);
  write_line(to_parent, "ok");
  if (!parent.read(line, control_line_max) ||
      std::sscanf(line.c_str(), "end %llu %llu", &last, &events) != 2 || last < base)
    ::_exit(1);
  deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = std::all_of(clients.begin(), clients.end(),
                           [&](const auto& c) { return c->last() >= last; });
    if (all) break;
    std::this_thread::sleep_for(10ms);
  }
  for (auto& c : contexts)
    c->stop();
  for (auto& t : pool)
    t.join();
  write_line(to_parent, "delivered");

  // The ack table: one entry at most per position the parent said it appended, above the base.
  const std::size_t max_entries = static_cast<std::size_t>(
      std::min<unsigned long long>(last - base, bench::ack_table_max_entries));
  if (!parent.read(line, std::max(control_line_max, bench::ack_line_max_bytes(max_entries))))
    ::_exit(1);
  std::optional<bench::ack_table> acks;
  if (line != "acks none") {
    auto decoded = bench::decode_ack_table(line, {base + 1, last, max_entries});
    if (!decoded) {
      write_line(to_parent, "error: the ack table: " + decoded.err().message);
      ::_exit(1);
    }
    acks = std::move(*decoded);
  }

  std::vector<const bench::sample_log*> logs;
  std::uint64_t deliveries = 0, out_of_order = 0, unexpected = 0;
  std::int64_t first_receipt = std::numeric_limits<std::int64_t>::max(), last_receipt = 0;
  for (auto& t : totals) {
    logs.push_back(&t->samples);
    deliveries += t->deliveries;
    out_of_order += t->out_of_order;
    unexpected += t->unexpected_positions;
    if (t->deliveries > 0) {
      first_receipt = std::min(first_receipt, t->first_receipt);
      last_receipt = std::max(last_receipt, t->last_receipt);
    }
  }
  const bench::fanout_latency latency =
      bench::summarize_fanout(logs, base, from, acks ? &*acks : nullptr);
  std::uint64_t expected = static_cast<std::uint64_t>(ready) * events;
  double span = deliveries > 0 ? static_cast<double>(last_receipt - first_receipt) / 1e6 : 0;
  char out[1024];
  std::snprintf(
      out, sizeof out,
      "\"subscribers_ready\":%zu,\"subscribers_failed\":%zu,\"deliveries\":%llu,"
      "\"missing\":%lld,\"out_of_order\":%llu,\"unexpected_positions\":%llu,"
      "\"deliveries_per_sec\":%.0f,\"latency_from\":\"%s\","
      "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
      "\"warmup_p99_ms\":%.3f,\"warmup_max_ms\":%.3f",
      ready, failed, static_cast<unsigned long long>(deliveries),
      static_cast<long long>(expected) - static_cast<long long>(deliveries),
      static_cast<unsigned long long>(out_of_order), static_cast<unsigned long long>(unexpected),
      span > 0 ? static_cast<double>(deliveries) / span : 0.0, acks ? "commit" : "publish_due",
      latency.primary.p50_ms, latency.primary.p90_ms, latency.primary.p99_ms,
      latency.primary.max_ms, latency.primary_warmup.p99_ms, latency.primary_warmup.max_ms);
  std::string result = out;
  if (acks) {
    std::snprintf(out, sizeof out,
                  ",\"from_recorded_at_p50_ms\":%.3f,\"from_recorded_at_p99_ms\":%.3f,"
                  "\"from_recorded_at_max_ms\":%.3f,\"deliveries_before_ack\":%llu,"
                  "\"before_ack_max_ms\":%.3f,\"deliveries_without_ack\":%llu",
                  latency.from_time.p50_ms, latency.from_time.p99_ms, latency.from_time.max_ms,
                  static_cast<unsigned long long>(latency.before_ack), latency.before_ack_max_ms,
                  static_cast<unsigned long long>(latency.without_ack));
    result += out;
  }
  write_line(to_parent, result);
  std::fflush(nullptr);
  ::_exit(0);  // the clients' sockets close with the process
}

// ---- the server (parent process)

int fail_with(const char* what, const std::string& message) {
  std::fprintf(stderr, "kakehashi bench fanout: %s: %s\n", what, message.c_str());
  return 1;
}

// After "delivered": sends the ack table (or "acks none") and reads the child's JSON fields into
// `results`; false, with the reason in `results`, when the child failed or refused the table.
bool collect_results(int to_child, bench::line_reader& from_child, const std::string& acks_line,
                     std::string& results) {
  if (!write_line(to_child, acks_line) || !from_child.read(results, control_line_max)) {
    results = "no results from the client process";
    return false;
  }
  return results.rfind("error: ", 0) != 0;
}

// The ack table line for positions base+1..head: per appended event, its append's committed_at
// minus its recorded_at, read back from the store; "-" for a position without an
// ack. An ack before its own event's recorded_at means the system clock went back during the
// run, and then no figure of it means anything: that fails.
result<std::string> ack_table_line(const event_store& store, position_t base, position_t head,
                                   const std::vector<std::pair<position_t, std::int64_t>>& acks) {
  if (head < base || head - base > bench::ack_table_max_entries)
    return make_error(errc::too_large, "too_many_events", "more events than an ack table holds");
  bench::ack_table table;
  table.first = base + 1;
  table.offset_us.assign(head - base, bench::ack_table::none);
  std::vector<std::int64_t> recorded(head - base, -1);
  auto scanned = store.scan(base + 1, [&](const recorded_event& e) {
    if (e.position > head) return false;
    recorded[e.position - base - 1] = e.recorded_at;
    return true;
  });
  if (!scanned) return scanned.err();
  for (const auto& [position, ack_us] : acks) {
    if (position <= base || position > head) continue;  // a refused append has position 0
    const std::int64_t at = recorded[position - base - 1];
    if (at < 0) continue;
    const std::int64_t offset = ack_us - at;
    if (offset < 0 || offset > std::numeric_limits<std::int32_t>::max())
      return make_error(errc::internal, "clock",
                        "an append acknowledged " + std::to_string(offset) +
                            " us after its recorded_at: the system clock moved");
    table.offset_us[position - base - 1] = static_cast<std::int32_t>(offset);
  }
  return bench::encode_ack_table(table);
}

// The other side of --peer-port: instead of a Kakehashi server, a broadcast server on 127.0.0.1
// that sends every message published on /publish on to its subscribers. The child's clients
// connect to it as they would to Kakehashi; this process publishes the message Kakehashi would
// have delivered for `seed`, once per due time, with "time" that due time.
struct peer_config {
  unsigned short port = 0;
  std::string pid;  // empty: no resident-set figures
  std::string name;
  std::uint64_t subscribers = 0, rate = 0, seconds = 0, warmup = 0, client_threads = 1;
};

int publish_to_peer(const peer_config& c, int to_child, bench::line_reader& from_child,
                    const recorded_event& seed, event_store& store) {
  auto object = api::cloud_event(seed, store, api::delivery::full);
  if (!object) return fail_with("encode", object.err().message);
  boost::json::object event = std::move(*object);

  net::io_context ioc;
  websocket::stream<tcp::socket> publisher(ioc);
  beast::error_code ec;
  publisher.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), c.port), ec);
  if (!ec) publisher.handshake("127.0.0.1:" + std::to_string(c.port), "/publish", ec);
  if (ec) return fail_with("peer", "cannot connect to /publish: " + ec.message());
  publisher.text(true);
  publisher.next_layer().set_option(tcp::no_delay(true));

  const pid_t peer = c.pid.empty() ? 0 : static_cast<pid_t>(std::stol(c.pid));
  double rss_idle = peer == 0 ? 0 : bench::rss_mb(peer);
  // No token; positions count from 1, so the base is 0.
  write_line(to_child, std::to_string(c.port) + " none 0");
  std::string line;
  if (!from_child.read(line, control_line_max))
    return fail_with("clients", "the client process ended early");

  std::atomic<double> rss_peak{rss_idle};
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (peer != 0 && sampling.load()) {
      double now = bench::rss_mb(peer);
      if (now > rss_peak.load()) rss_peak.store(now);
      std::this_thread::sleep_for(100ms);
    }
  });
  auto stop_sampling = [&] {
    sampling = false;
    sampler.join();
  };

  const std::string head = api::ws::event_message_head("all");
  const auto period = std::chrono::nanoseconds(1'000'000'000 / c.rate);
  position_t position = 0;
  std::uint64_t refused = 0;
  // Publishes `count` messages at the rate; records how long each send took (due to sent).
  auto publish = [&](std::uint64_t count, std::vector<std::uint64_t>* send_ns) {
    auto start = std::chrono::steady_clock::now();
    const std::int64_t start_us = now_micros();
    for (std::uint64_t i = 0; i < count; ++i) {
      auto due = start + period * i;
      std::this_thread::sleep_until(due);
      event["id"] = new_uuid_v7().to_string();
      event["position"] = ++position;
      // The due time, not the send time: a server too slow to read its publisher's socket makes
      // the sends late, and that lateness belongs in its latency.
      event["time"] = api::rfc3339(
          start_us + std::chrono::duration_cast<std::chrono::microseconds>(period * i).count());
      std::string text = head + boost::json::serialize(event);
      text += api::ws::event_message_tail;
      publisher.write(net::buffer(text), ec);
      if (ec) ++refused;
      if (send_ns)
        (*send_ns)[i] =
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - due)
                                           .count());
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const std::uint64_t warm_total = c.rate * c.warmup, total = c.rate * c.seconds;
  publish(warm_total, nullptr);
  write_line(to_child, "measure " + std::to_string(position + 1));
  if (!from_child.read(line, control_line_max)) {
    stop_sampling();
    return fail_with("clients", "the client process ended early");
  }
  std::vector<std::uint64_t> send_ns(total, 0);
  double seconds = publish(total, &send_ns);
  write_line(to_child, "end " + std::to_string(position) + " " + std::to_string(position));
  bool got = from_child.read(line, control_line_max) && line == "delivered";
  stop_sampling();
  publisher.close(websocket::close_code::normal, ec);
  if (!got) return fail_with("clients", "no results from the client process");
  // The latency starts at "time", the due time of the publish: no table to subtract.
  if (!collect_results(to_child, from_child, "acks none", line)) return fail_with("clients", line);
  std::sort(send_ns.begin(), send_ns.end());
  auto send_q = [&](double q) {
    return total == 0 ? 0.0
                      : static_cast<double>(
                            send_ns[static_cast<std::size_t>(q * static_cast<double>(total - 1))]) /
                            1e6;
  };
  std::printf(
      "{\"bench\":\"fanout\",\"server\":\"%s\",\"subscribers\":%llu,\"rate\":%llu,\"seconds\":%llu,"
      "\"warmup_seconds\":%llu,\"events\":%llu,\"publish_refused\":%llu,\"publish_seconds\":%.2f,"
      "\"publish_p50_ms\":%.2f,\"publish_p99_ms\":%.2f,%s,\"server_rss_mb\":%.1f,"
      "\"server_rss_idle_mb\":%.1f,\"client_threads\":%llu}\n",
      c.name.c_str(), static_cast<unsigned long long>(c.subscribers),
      static_cast<unsigned long long>(c.rate), static_cast<unsigned long long>(c.seconds),
      static_cast<unsigned long long>(c.warmup), static_cast<unsigned long long>(total),
      static_cast<unsigned long long>(refused), seconds, send_q(0.5), send_q(0.99), line.c_str(),
      rss_peak.load(), rss_idle, static_cast<unsigned long long>(c.client_threads));
  std::fflush(stdout);
  return refused ? 1 : 0;
}

}  // namespace

int bench_fanout(const args& a) {
  auto subscribers = a.get_u64("subscribers", 1000);
  auto rate = a.get_u64("rate", 500);
  auto seconds = a.get_u64("seconds", 10);
  auto warmup = a.get_u64("warmup", 2);
  auto client_threads = a.get_u64("client-threads", 1);
  // The server's own default unless asked otherwise: the benchmark measures what ships.
  auto coalesce_ms = a.get_u64(
      "coalesce-ms", static_cast<std::uint64_t>(api::websocket_options{}.coalesce_delay.count()));
  auto server_threads = a.get_u64("server-threads", 2);
  auto peer_port = a.get_u64("peer-port", 0);
  auto peer_pid = a.get_u64("peer-pid", 0);
  if (!subscribers || !rate || !seconds || !client_threads || !server_threads || !coalesce_ms ||
      !warmup || !peer_port || !peer_pid || *rate == 0 || *seconds == 0 || *subscribers == 0 ||
      *peer_port > 65535) {
    std::fputs(fanout_usage, stderr);
    return 2;
  }
  // The child keeps every delivery and the ack table has an entry per event: bounded.
  if (*warmup + *seconds > bench::ack_table_max_entries / *rate) {
    std::fprintf(stderr,
                 "kakehashi bench fanout: at most %zu events a run ((warmup + seconds) x rate)\n",
                 bench::ack_table_max_entries);
    return 2;
  }

  int to_child[2], to_parent[2];
  if (::pipe(to_child) != 0 || ::pipe(to_parent) != 0)
    return fail_with("pipe", std::strerror(errno));
  std::fflush(nullptr);
  // A client process that died must show up as a failed read, not kill us on the next write.
  std::signal(SIGPIPE, SIG_IGN);
  pid_t child = ::fork();
  if (child < 0) return fail_with("fork", std::strerror(errno));
  if (child == 0) {
    ::pthread_setname_np(::pthread_self(), "fan-child");
    ::close(to_child[1]);
    ::close(to_parent[0]);
    return run_clients(to_child[0], to_parent[1], *subscribers,
                       static_cast<unsigned>(*client_threads));
  }
  ::close(to_child[0]);
  ::close(to_parent[1]);
  struct reap {
    pid_t pid;
    int fd_out, fd_in;
    ~reap() {
      ::close(fd_out);
      ::close(fd_in);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  } reaper{child, to_child[1], to_parent[0]};

  // The store, in a temporary directory unless --data.
  std::string dir;
  bool temporary = false;
  if (auto d = a.get("data")) {
    dir = *d;
  } else {
    std::string tmpl = (fs::temp_directory_path() / "kakehashi-fanout-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return fail_with("mkdtemp", std::strerror(errno));
    dir = tmpl;
    temporary = true;
  }
  struct cleanup {
    std::string dir;
    bool temporary;
    ~cleanup() {
      std::error_code ec;
      if (temporary) fs::remove_all(dir, ec);
    }
  } cleaner{dir, temporary};

  store_options store_opts;
  store_opts.path = dir;
  auto store = event_store::open(store_opts);
  if (!store) return fail_with("open", store.err().message);
  auto service = command_service::create(**store);
  if (auto listed = list_reference_municipalities(*service, now_micros()); !listed)
    return fail_with("seed", listed.err().message);
  // One real event whose payload the appends copy: a need opened in Shibuya.
  command_request opened;
  opened.type = "NeedOpened";
  opened.body_json =
      R"({"lg_code":"131130","origin":"municipality_request","department":"情報政策課","problem":"窓口業務のデジタル化とRPAによる定型業務の自動化"})";
  opened.who = actor{"bench", "coordinator", ""};
  auto model = service->execute(opened);
  if (!model) return fail_with("seed", model.err().message);
  auto model_events = (*store)->read_stream(model->stream, 0, read_direction::forward, 1);
  if (!model_events || model_events->empty())
    return fail_with("seed", "cannot read the seed event");
  const event_ptr seed = (*model_events)[0];

  if (*peer_port != 0) {
    peer_config peer{static_cast<unsigned short>(*peer_port),
                     *peer_pid ? std::to_string(*peer_pid) : std::string(),
                     a.get_or("peer-name", "peer"),
                     *subscribers,
                     *rate,
                     *seconds,
                     *warmup,
                     *client_threads};
    bench::line_reader from_child(reaper.fd_in);
    return publish_to_peer(peer, reaper.fd_out, from_child, *seed, **store);
  }

  auto token = api::token_store(dir).issue({access_role::admin, "", "bench fanout"});
  if (!token) return fail_with("token", token.err().message);

  projection_runner projections(**store);
  if (auto started = projections.start(); !started)
    return fail_with("projections", started.err().message);
  std::thread projector([&projections] { projections.run(); });

  auto stats = std::make_shared<api::websocket_stats>();
  api::server_options options;
  options.data_dir = dir;
  options.listen = "127.0.0.1:0";
  options.handle_signals = false;
  options.threads = static_cast<unsigned>(*server_threads);
  options.access_log = [](std::string_view) {};
  options.websocket.stats = stats;
  options.websocket.coalesce_delay = std::chrono::milliseconds(*coalesce_ms);
  auto server =
      api::server::create(options, api::backend{store->get(), service.get(), &projections});
  if (!server) {
    projections.stop();
    projector.join();
    return fail_with("server", server.err().message);
  }
  std::thread serving([&server] { (*server)->run(); });
  auto finish = [&] {
    (*server)->stop();
    serving.join();
    server->reset();
    projections.stop();
    projector.join();
  };
  double rss_idle = bench::rss_mb();

  auto port = (*server)->url().substr((*server)->url().rfind(':') + 1);
  // Every delivery is of an event appended from here on: above this position.
  const position_t base = (*store)->head_position();
  write_line(reaper.fd_out, port + " " + token->bearer + " " + std::to_string(base));
  bench::line_reader from_child(reaper.fd_in);
  std::string line;
  if (!from_child.read(line, control_line_max)) {
    finish();
    return fail_with("clients", "the client process ended early");
  }
  std::size_t ready = 0, failed = 0;
  std::sscanf(line.c_str(), "ready %zu %zu", &ready, &failed);

  // Appending, open loop: event i is due at start + i / rate.
  std::atomic<std::uint64_t> acked{0}, refused{0};
  std::atomic<double> rss_peak{bench::rss_mb()};
  const std::uint64_t total = *rate * *seconds;
  const auto period = std::chrono::nanoseconds(1'000'000'000 / *rate);
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling.load()) {
      double now = bench::rss_mb();
      if (now > rss_peak.load()) rss_peak.store(now);
      std::this_thread::sleep_for(100ms);
    }
  });
  // Append latency (due time to acknowledgement), for telling the commit's share of the
  // delivery latency from the fan-out's.
  std::vector<std::uint64_t> append_ns(total, 0);
  // The warm-up: the same load for --warmup seconds, delivered and checked but kept out of the
  // latency figures (the first second of a thousand connections going live pays for growing
  // buffers and TCP windows once). Then the measured part starts at a known position.
  const std::uint64_t warm_total = *rate * *warmup;
  // Per append, in the order issued: its position and committed_at (system clock, the clock of
  // recorded_at and of the clients' receipts). Each slot is written once, on the
  // committer thread, before `acked` counts it.
  std::vector<std::pair<position_t, std::int64_t>> acks(warm_total + total, {0, 0});
  auto append_one = [&](std::uint64_t ordinal, std::uint64_t* slot,
                        std::chrono::steady_clock::time_point due) {
    new_event e;
    e.type = seed->type;
    e.who = seed->who;
    e.payload = seed->payload;
    append_request request;
    request.streams.push_back(stream_append{
        "need-" + new_uuid_v7().to_string(), expected_version::no_stream(), {std::move(e)}});
    (*store)->append_async(std::move(request), [&, ordinal, slot, due](result<append_result> r) {
      if (r) acks[ordinal] = {r->first_position, r->committed_at};
      if (slot)
        *slot = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::steady_clock::now() - due)
                                               .count());
      (r ? acked : refused).fetch_add(1);
    });
  };
  auto warm_start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < warm_total; ++i) {
    auto due = warm_start + period * i;
    std::this_thread::sleep_until(due);
    append_one(i, nullptr, due);
  }
  while (acked.load() + refused.load() < warm_total)
    std::this_thread::sleep_for(1ms);
  write_line(reaper.fd_out, "measure " + std::to_string((*store)->head_position() + 1));
  if (!from_child.read(line, control_line_max)) {
    sampling = false;
    sampler.join();
    finish();
    return fail_with("clients", "the client process ended early");
  }
  auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < total; ++i) {
    auto due = start + period * i;
    std::this_thread::sleep_until(due);
    append_one(warm_total + i, &append_ns[i], due);
  }
  while (acked.load() + refused.load() < warm_total + total)
    std::this_thread::sleep_for(1ms);
  double append_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const position_t head = (*store)->head_position();
  write_line(reaper.fd_out, "end " + std::to_string(head) + " " + std::to_string(acked.load()));
  bool got = from_child.read(line, control_line_max) && line == "delivered";
  sampling = false;
  sampler.join();
  // Read back once the clients are done, so it costs the deliveries nothing.
  if (got) {
    auto table = ack_table_line(**store, base, head, acks);
    if (!table) {
      finish();
      return fail_with("acks", table.err().message);
    }
    if (!collect_results(reaper.fd_out, from_child, *table, line)) {
      finish();
      return fail_with("clients", line);
    }
  }
  double rss_peak_mb = rss_peak.load();
  std::sort(append_ns.begin(), append_ns.end());
  auto append_q = [&](double q) {
    return static_cast<double>(
               append_ns[static_cast<std::size_t>(q * static_cast<double>(total - 1))]) /
           1e6;
  };
  finish();
  if (!got) return fail_with("clients", "no results from the client process");

  std::printf(
      "{\"bench\":\"fanout\",\"server\":\"kakehashi\",\"subscribers\":%llu,\"rate\":%llu,"
      "\"seconds\":%llu,"
      "\"warmup_seconds\":%llu,"
      "\"events\":%llu,\"append_refused\":%llu,\"append_seconds\":%.2f,"
      "\"append_p50_ms\":%.2f,\"append_p99_ms\":%.2f,%s,"
      "\"server_rss_mb\":%.1f,\"server_rss_idle_mb\":%.1f,\"backpressure_pauses\":%llu,"
      "\"encode_cache_misses\":%llu,\"server_threads\":%llu,\"client_threads\":%llu,"
      "\"coalesce_ms\":%llu}\n",
      static_cast<unsigned long long>(*subscribers), static_cast<unsigned long long>(*rate),
      static_cast<unsigned long long>(*seconds), static_cast<unsigned long long>(*warmup),
      static_cast<unsigned long long>(acked.load() - warm_total),
      static_cast<unsigned long long>(refused.load()), append_seconds, append_q(0.5),
      append_q(0.99), line.c_str(), rss_peak_mb, rss_idle,
      static_cast<unsigned long long>(stats->backpressure_pauses.load()),
      static_cast<unsigned long long>(stats->encode_cache_misses.load()),
      static_cast<unsigned long long>(*server_threads),
      static_cast<unsigned long long>(*client_threads),
      static_cast<unsigned long long>(*coalesce_ms));
  std::fflush(stdout);
  return 0;
}

}  // namespace kakehashi::cli
