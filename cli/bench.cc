// `kakehashi bench append|raw-append|replay`: benchmarks that print one JSON object per run on
// stdout. They measure; they assert nothing about time. scripts/bench runs the standard set.
//
//   append      W single-event appenders, durable. Default: a closed loop over append_async (each
//               completion submits that writer's next append, so 64 writers need no 64 threads);
//               --threads uses W real threads with blocking append(); --rate R is an open loop at
//               R appends/s (latency measured from the scheduled time). --compare-raw also runs
//               the raw RocksDB baseline with the same bytes per event. Also reports the WAL
//               syncs of the run (syncs, events_per_sync, sync_ms_mean, sync_ms_max, and
//               sync_share: the part of the run's time spent syncing), so a figure can be told
//               apart into the disk's share and the engine's, and how the store committed:
//               commit_mode (--commit-mode adaptive|batch|overlap, engine/commit_mode.h) and
//               overlapped_share, the syncs run in overlap mode.
//   raw-append  raw RocksDB synced WriteBatches from W threads (its own group commit), one put
//               each, or --puts-per-batch B each. --compare-raw runs it twice: W threads with one
//               put per batch (RocksDB's group commit across threads, the baseline of
//               ratio_to_raw), and one thread writing batches of W puts (every sync carries W
//               events with no thread handoffs: ratio_to_raw_batched, the stricter floor).
//   replay      event_store::scan over the whole log (decoding every record), filling an empty
//               store with --events first; also a raw RocksDB scan of the `log` column family.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "engine/event_store.h"
#include "engine/raw_rocksdb_bench.h"

namespace kakehashi::cli {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

constexpr const char* bench_usage =
    "usage: kakehashi bench append     --data DIR [--writers 64] [--events N] [--payload-bytes "
    "300]\n"
    "                                  [--threads | --rate R] [--compare-raw] [--no-wal-spares]\n"
    "                                  [--commit-mode adaptive|batch|overlap] [--json]\n"
    "       kakehashi bench raw-append --data DIR [--writers 64] [--events N] [--value-bytes V]\n"
    "                                  [--puts-per-batch 1] [--payload-bytes 300] [--json]\n"
    "       kakehashi bench replay     --data DIR [--events 1000000] [--no-raw] [--json]\n"
    "       kakehashi bench rebuild    [--data DIR] [--events 200000] [--follow] [--json]\n"
    "       kakehashi bench fanout     [--subscribers 1000] [--rate 500] [--seconds 10] [--json]\n"
    "       kakehashi bench load       --url URL --token ADMIN [--server-pid PID] [--seconds 60]\n"
    "                                  [--subscribers 200] ... [--json]   (see scripts/load)\n"
    "  Without --data a temporary directory is used and removed afterwards.\n";

std::uint64_t ns_since(clock_type::time_point start) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - start).count());
}

double quantile_ms(std::vector<std::uint64_t>& ns, double q) {
  if (ns.empty()) return 0;
  auto k = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1));
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(k), ns.end());
  return static_cast<double>(ns[k]) / 1e6;
}

std::string random_text(std::size_t bytes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(bytes, '\0');
  for (auto& c : out)
    c = static_cast<char>('a' + rng() % 26);
  return out;
}

// A short random tag so repeated runs on one directory use fresh streams.
std::string run_tag() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", rd());
  return buf;
}

// The data directory of a run: --data, or a temporary one removed at the end.
class work_dir {
 public:
  explicit work_dir(const args& a) {
    if (auto d = a.get("data")) {
      path_ = *d;
      return;
    }
    std::string tmpl = (fs::temp_directory_path() / "kakehashi-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::perror("kakehashi bench: mkdtemp");
      std::exit(1);
    }
    path_ = tmpl;
    temporary_ = true;
  }
  ~work_dir() {
    std::error_code ec;
    if (temporary_) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  bool temporary() const { return temporary_; }

 private:
  std::string path_;
  bool temporary_ = false;
};

int fail(const char* what, const error& e) {
  std::fprintf(stderr, "kakehashi bench: %s: %s (%s)\n", what, e.message.c_str(), e.code.c_str());
  return 1;
}

result<std::unique_ptr<event_store>> open_store(const std::string& path, bool wal_spares = true,
                                                commit_policy commit = commit_policy::adaptive) {
  store_options options;
  options.path = path;
  options.create_if_missing = true;
  options.wal_spares = wal_spares;
  options.commit = commit;
  return event_store::open(options);
}

new_event bench_event(const std::string& payload) {
  new_event e;
  e.type = "BenchAppended";
  e.who = actor{"bench", "admin", ""};
  e.payload = payload;
  return e;
}

append_request single_append(const std::string& stream, const std::string& payload) {
  append_request req;
  req.streams.push_back(stream_append{stream, expected_version::any(), {bench_event(payload)}});
  return req;
}

// Average stored record size of the last (up to) 1000 events in the log.
double stored_bytes_per_event(const event_store& store) {
  position_t head = store.head_position();
  if (head == 0) return 0;
  position_t from = head > 1000 ? head - 999 : 1;
  auto page = store.read_all(from, 1000, event_filter{});
  if (!page || page->events.empty()) return 0;
  double total = 0;
  for (const auto& e : page->events)
    total += static_cast<double>(e->stored_bytes);
  return total / static_cast<double>(page->events.size());
}

// What the store stores for one event with a payload of `payload_bytes`, measured on a scratch
// store: the default value size of the raw baseline.
result<std::size_t> probe_stored_bytes(std::size_t payload_bytes) {
  std::string tmpl = (fs::temp_directory_path() / "kakehashi-probe-XXXXXX").string();
  if (!mkdtemp(tmpl.data()))
    return make_error(errc::io_error, "mkdtemp", "cannot create a scratch directory");
  std::size_t bytes = 0;
  {
    auto store = open_store(tmpl + "/data");
    if (!store) return store.take_err();
    std::string payload = random_text(payload_bytes, 1);
    auto r = (*store)->append(single_append("bench-probe00-0", payload));
    if (!r) return r.take_err();
    bytes = static_cast<std::size_t>(stored_bytes_per_event(**store) + 0.5);
  }
  std::error_code ec;
  fs::remove_all(tmpl, ec);
  return bytes;
}

struct append_config {
  std::size_t writers = 64;
  std::uint64_t events = 200000;
  std::size_t payload_bytes = 300;
  double rate = 0;  // > 0: open loop at this many appends per second
};

struct append_outcome {
  std::uint64_t events = 0;
  std::uint64_t errors = 0;
  std::string first_error;
  double seconds = 0;
  std::vector<std::uint64_t> latencies_ns;
};

// The closed loop over append_async: W logical writers, each with one append in flight; the
// completion (on the sequencer thread) records the latency and submits that writer's next append.
class async_loop {
 public:
  async_loop(event_store& store, const append_config& config, std::string tag)
      : store_(store), config_(config), slots_(config.writers) {
    for (std::size_t w = 0; w < config.writers; ++w) {
      slots_[w].stream = "bench-" + tag + "-" + std::to_string(w);
      slots_[w].payload = random_text(config.payload_bytes, w + 1);
      slots_[w].latencies.reserve(config.events / config.writers + 2);
    }
  }

  append_outcome run() {
    auto start = clock_type::now();
    std::size_t started = 0;
    for (std::size_t w = 0; w < config_.writers; ++w) {
      if (claim()) {
        ++started;
        submit(w);
      } else {
        finish_writer();
      }
    }
    {
      std::unique_lock lock(mu_);
      done_cv_.wait(lock, [&] { return finished_ == config_.writers; });
    }
    append_outcome out;
    out.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    for (auto& s : slots_) {
      out.latencies_ns.insert(out.latencies_ns.end(), s.latencies.begin(), s.latencies.end());
      out.errors += s.errors;
      if (out.first_error.empty()) out.first_error = s.first_error;
    }
    out.events = out.latencies_ns.size();
    return out;
  }

 private:
  struct slot {
    std::string stream;
    std::string payload;
    clock_type::time_point submitted;
    std::vector<std::uint64_t> latencies;
    std::uint64_t errors = 0;
    std::string first_error;
  };

  bool claim() { return issued_.fetch_add(1, std::memory_order_relaxed) < config_.events; }

  void submit(std::size_t w) {
    slot& s = slots_[w];
    s.submitted = clock_type::now();
    store_.append_async(single_append(s.stream, s.payload),
                        [this, w](result<append_result> r) { on_done(w, std::move(r)); });
  }

  void on_done(std::size_t w, result<append_result> r) {
    slot& s = slots_[w];
    if (!r) {
      // Stop this writer: resubmitting from an immediate failure would recurse.
      if (s.errors++ == 0) s.first_error = r.err().code + ": " + r.err().message;
      finish_writer();
      return;
    }
    s.latencies.push_back(ns_since(s.submitted));
    if (claim())
      submit(w);
    else
      finish_writer();
  }

  void finish_writer() {
    std::lock_guard lock(mu_);
    if (++finished_ == config_.writers) done_cv_.notify_all();
  }

  event_store& store_;
  const append_config& config_;
  std::vector<slot> slots_;
  std::atomic<std::uint64_t> issued_{0};
  std::mutex mu_;
  std::condition_variable done_cv_;
  std::size_t finished_ = 0;
};

// W real threads, each doing blocking append() calls.
append_outcome run_threads(event_store& store, const append_config& config,
                           const std::string& tag) {
  std::atomic<std::uint64_t> issued{0};
  std::vector<append_outcome> per(config.writers);
  auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < config.writers; ++w) {
    threads.emplace_back([&, w] {
      std::string stream = "bench-" + tag + "-" + std::to_string(w);
      std::string payload = random_text(config.payload_bytes, w + 1);
      auto& out = per[w];
      out.latencies_ns.reserve(config.events / config.writers + 2);
      while (issued.fetch_add(1, std::memory_order_relaxed) < config.events) {
        auto t0 = clock_type::now();
        auto r = store.append(single_append(stream, payload));
        if (!r) {
          if (out.errors++ == 0) out.first_error = r.err().code + ": " + r.err().message;
          break;
        }
        out.latencies_ns.push_back(ns_since(t0));
      }
    });
  }
  for (auto& t : threads)
    t.join();
  append_outcome all;
  all.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  for (auto& o : per) {
    all.latencies_ns.insert(all.latencies_ns.end(), o.latencies_ns.begin(), o.latencies_ns.end());
    all.errors += o.errors;
    if (all.first_error.empty()) all.first_error = o.first_error;
  }
  all.events = all.latencies_ns.size();
  return all;
}

// An open loop: one submitter issues appends at `rate` per second over `writers` streams, however
// slowly they complete; latency counts from the scheduled time (no coordinated omission).
append_outcome run_open_loop(event_store& store, const append_config& config,
                             const std::string& tag) {
  struct shared_state {
    std::mutex mu;
    std::condition_variable cv;
    std::uint64_t completed = 0;
    std::vector<std::uint64_t> latencies;
    std::uint64_t errors = 0;
    std::string first_error;
  } st;
  st.latencies.reserve(config.events);
  std::vector<std::string> streams, payloads;
  for (std::size_t w = 0; w < config.writers; ++w) {
    streams.push_back("bench-" + tag + "-" + std::to_string(w));
    payloads.push_back(random_text(config.payload_bytes, w + 1));
  }
  auto start = clock_type::now();
  auto interval = std::chrono::duration<double>(1.0 / config.rate);
  for (std::uint64_t i = 0; i < config.events; ++i) {
    auto due =
        start + std::chrono::duration_cast<clock_type::duration>(interval * static_cast<double>(i));
    // Sleep in ticks of at least 200 µs, then submit everything due: waking once per append
    // would cost a context switch each, on the cores the sequencer needs.
    if (auto now = clock_type::now(); now < due)
      std::this_thread::sleep_until(std::max(due, now + std::chrono::microseconds(200)));
    std::size_t w = i % config.writers;
    store.append_async(single_append(streams[w], payloads[w]),
                       [&st, due, total = config.events](result<append_result> r) {
                         std::uint64_t ns = ns_since(due);
                         std::lock_guard lock(st.mu);
                         if (r) {
                           st.latencies.push_back(ns);
                         } else if (st.errors++ == 0) {
                           st.first_error = r.err().code + ": " + r.err().message;
                         }
                         if (++st.completed == total) st.cv.notify_all();
                       });
  }
  std::unique_lock lock(st.mu);
  st.cv.wait(lock, [&] { return st.completed == config.events; });
  append_outcome out;
  out.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  out.latencies_ns = std::move(st.latencies);
  out.events = out.latencies_ns.size();
  out.errors = st.errors;
  out.first_error = st.first_error;
  return out;
}

struct raw_config {
  std::size_t writers = 64;
  std::uint64_t events = 200000;
  std::size_t value_bytes = 0;
  std::size_t puts_per_batch = 1;
};

result<raw_bench_report> run_raw(const std::string& path, const raw_config& c) {
  raw_bench_options options;
  options.path = path;
  options.writers = c.writers;
  options.events = c.events;
  options.value_bytes = c.value_bytes;
  options.puts_per_batch = c.puts_per_batch;
  return run_raw_rocksdb_append(options);
}

int bench_append(const args& a) {
  append_config config;
  auto writers = a.get_u64("writers", 64);
  auto events = a.get_u64("events", 200000);
  auto payload = a.get_u64("payload-bytes", 300);
  auto rate = a.get_u64("rate", 0);
  if (!writers || !events || !payload || !rate) {
    std::fputs(bench_usage, stderr);
    return 2;
  }
  config.writers = std::max<std::uint64_t>(1, *writers);
  config.events = *events;
  config.payload_bytes = *payload;
  config.rate = static_cast<double>(*rate);
  bool threads = a.has("threads");
  const char* mode = config.rate > 0 ? "open_loop" : threads ? "threads" : "async";
  const std::string commit_mode = a.get("commit-mode").value_or("adaptive");
  const auto commit = parse_commit_policy(commit_mode);
  if (!commit) {
    std::fprintf(stderr, "kakehashi bench: --commit-mode is adaptive, batch or overlap\n%s",
                 bench_usage);
    return 2;
  }

  work_dir dir(a);
  std::string store_path = dir.temporary() ? dir.path() + "/store" : dir.path();
  append_outcome out;
  double stored = 0;
  commit_stats commits;
  {
    auto store = open_store(store_path, !a.has("no-wal-spares"), *commit);
    if (!store) return fail("open", store.err());
    auto before = (*store)->commit_statistics();
    std::string tag = run_tag();
    if (config.rate > 0)
      out = run_open_loop(**store, config, tag);
    else if (threads)
      out = run_threads(**store, config, tag);
    else
      out = async_loop(**store, config, tag).run();
    stored = stored_bytes_per_event(**store);
    commits = (*store)->commit_statistics();
    commits.syncs -= before.syncs;
    commits.overlapped_syncs -= before.overlapped_syncs;
    commits.events -= before.events;
    commits.sync_time -= before.sync_time;
  }
  if (out.errors)
    std::fprintf(stderr, "kakehashi bench append: %llu appends failed, first: %s\n",
                 static_cast<unsigned long long>(out.errors), out.first_error.c_str());
  double eps = out.seconds > 0 ? static_cast<double>(out.events) / out.seconds : 0;
  double max_ms = out.latencies_ns.empty()
                      ? 0
                      : static_cast<double>(
                            *std::max_element(out.latencies_ns.begin(), out.latencies_ns.end())) /
                            1e6;
  double p99 = quantile_ms(out.latencies_ns, 0.99);
  double p50 = quantile_ms(out.latencies_ns, 0.50);

  std::string extra;
  if (a.has("compare-raw")) {
    raw_config rc{config.writers, config.events,
                  static_cast<std::size_t>(a.get_u64("value-bytes", 0).value())};
    if (rc.value_bytes == 0) rc.value_bytes = static_cast<std::size_t>(stored + 0.5);
    std::string raw_path = dir.temporary() ? dir.path() + "/raw" : dir.path() + "-raw";
    auto raw = run_raw(raw_path, rc);
    if (!raw) return fail("raw baseline", raw.err());
    std::error_code ec;
    fs::remove_all(raw_path, ec);
    raw_config batched = rc;
    batched.writers = 1;
    batched.puts_per_batch = config.writers;
    auto raw_batched = run_raw(raw_path, batched);
    if (!raw_batched) return fail("raw batched baseline", raw_batched.err());
    fs::remove_all(raw_path, ec);
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  ",\"raw_events_per_sec\":%.0f,\"raw_p99_ms\":%.3f,\"ratio_to_raw\":%.3f"
                  ",\"raw_batched_events_per_sec\":%.0f,\"ratio_to_raw_batched\":%.3f",
                  raw->events_per_sec, raw->p99_ms,
                  raw->events_per_sec > 0 ? eps / raw->events_per_sec : 0,
                  raw_batched->events_per_sec,
                  raw_batched->events_per_sec > 0 ? eps / raw_batched->events_per_sec : 0);
    extra = buf;
  }
  if (config.rate > 0) extra += ",\"target_rate\":" + std::to_string(*rate);
  {
    // The disk's share: the time appends waited on WAL syncs, against the engine's own work.
    double sync_ms = static_cast<double>(commits.sync_time.count()) / 1e6;
    double syncs = static_cast<double>(commits.syncs);
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  ",\"syncs\":%llu,\"events_per_sync\":%.1f,\"sync_ms_mean\":%.3f,"
                  "\"sync_ms_max\":%.3f,\"sync_share\":%.3f,\"wal_files_over_spares\":%llu,"
                  "\"wal_files_created\":%llu,\"commit_mode\":\"%s\",\"overlapped_share\":%.3f",
                  static_cast<unsigned long long>(commits.syncs),
                  syncs > 0 ? static_cast<double>(commits.events) / syncs : 0,
                  syncs > 0 ? sync_ms / syncs : 0,
                  static_cast<double>(commits.slowest_sync.count()) / 1e6,
                  out.seconds > 0 ? sync_ms / 1e3 / out.seconds : 0,
                  static_cast<unsigned long long>(commits.wal_files_over_spares),
                  static_cast<unsigned long long>(commits.wal_files_created), commit_mode.c_str(),
                  syncs > 0 ? static_cast<double>(commits.overlapped_syncs) / syncs : 0);
    extra += buf;
  }

  std::printf(
      "{\"bench\":\"append\",\"mode\":\"%s\",\"events\":%llu,\"writers\":%zu,\"payload_bytes\":%zu,"
      "\"stored_bytes_per_event\":%.1f,\"events_per_sec\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
      "\"max_ms\":%.3f,\"seconds\":%.3f,\"errors\":%llu%s}\n",
      mode, static_cast<unsigned long long>(out.events), config.writers, config.payload_bytes,
      stored, eps, p50, p99, max_ms, out.seconds, static_cast<unsigned long long>(out.errors),
      extra.c_str());
  std::fflush(stdout);
  return out.errors ? 1 : 0;
}

int bench_raw_append(const args& a) {
  auto writers = a.get_u64("writers", 64);
  auto events = a.get_u64("events", 200000);
  auto payload = a.get_u64("payload-bytes", 300);
  auto value = a.get_u64("value-bytes", 0);
  auto per_batch = a.get_u64("puts-per-batch", 1);
  if (!writers || !events || !payload || !value || !per_batch) {
    std::fputs(bench_usage, stderr);
    return 2;
  }
  raw_config rc{std::max<std::uint64_t>(1, *writers), *events, *value,
                std::max<std::uint64_t>(1, *per_batch)};
  if (rc.value_bytes == 0) {
    auto probed = probe_stored_bytes(*payload);
    if (!probed) return fail("probe stored bytes", probed.err());
    rc.value_bytes = *probed;
  }
  work_dir dir(a);
  auto report = run_raw(dir.path(), rc);
  if (!report) return fail("raw-append", report.err());
  std::printf(
      "{\"bench\":\"raw-append\",\"events\":%llu,\"writers\":%zu,\"puts_per_batch\":%zu,"
      "\"payload_bytes\":%llu,\"value_bytes\":%zu,\"stored_bytes_per_event\":%zu,\"events_per_"
      "sec\":%.0f,\"p50_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"seconds\":%.3f}\n",
      static_cast<unsigned long long>(report->events), rc.writers, rc.puts_per_batch,
      static_cast<unsigned long long>(*payload), rc.value_bytes, rc.value_bytes,
      report->events_per_sec, report->p50_ms, report->p99_ms, report->max_ms, report->seconds);
  std::fflush(stdout);
  return 0;
}

// Fills the store with `events` events quickly: atomic appends of 10 streams x 100 events, 16 in
// flight so group commit shares the fsyncs. Not timed.
status fill_store(event_store& store, std::uint64_t events, std::size_t payload_bytes) {
  constexpr std::size_t streams_per_append = 10, events_per_stream = 100, in_flight = 16;
  std::string payload = random_text(payload_bytes, 7);
  std::string tag = run_tag();
  std::mutex mu;
  std::condition_variable cv;
  std::size_t outstanding = 0;
  std::optional<error> failure;
  std::uint64_t written = 0, stream_no = 0;
  while (written < events) {
    append_request req;
    for (std::size_t s = 0; s < streams_per_append && written < events; ++s) {
      stream_append sa{
          "replay-" + tag + "-" + std::to_string(stream_no++), expected_version::any(), {}};
      for (std::size_t i = 0; i < events_per_stream && written < events; ++i, ++written)
        sa.events.push_back(bench_event(payload));
      req.streams.push_back(std::move(sa));
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return outstanding < in_flight; });
    if (failure) break;
    ++outstanding;
    lock.unlock();
    store.append_async(std::move(req), [&](result<append_result> r) {
      std::lock_guard g(mu);
      if (!r && !failure) failure = r.err();
      --outstanding;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return outstanding == 0; });
  if (failure) return *failure;
  return {};
}

int bench_replay(const args& a) {
  auto events = a.get_u64("events", 1000000);
  auto payload = a.get_u64("payload-bytes", 300);
  if (!events || !payload) {
    std::fputs(bench_usage, stderr);
    return 2;
  }
  work_dir dir(a);
  std::string store_path = dir.temporary() ? dir.path() + "/store" : dir.path();
  bool filled = false;
  {
    auto store = open_store(store_path);
    if (!store) return fail("open", store.err());
    if ((*store)->head_position() == 0) {
      auto t0 = clock_type::now();
      auto st = fill_store(**store, *events, *payload);
      if (!st) return fail("fill", st.err());
      filled = true;
      std::fprintf(stderr, "kakehashi bench replay: filled %llu events in %.1f s\n",
                   static_cast<unsigned long long>(*events),
                   std::chrono::duration<double>(clock_type::now() - t0).count());
    }
  }
  // Reopen, so the replay reads what a fresh process would.
  std::uint64_t seen = 0, payload_bytes = 0;
  double seconds = 0;
  {
    auto store = open_store(store_path);
    if (!store) return fail("reopen", store.err());
    auto t0 = clock_type::now();
    position_t expect = 1;
    bool in_order = true;
    auto st = (*store)->scan(1, [&](const recorded_event& e) {
      if (e.position != expect) in_order = false;
      ++expect;
      ++seen;
      payload_bytes += e.payload.size();
      return true;
    });
    seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (!st) return fail("scan", st.err());
    if (!in_order) {
      std::fputs("kakehashi bench replay: scan returned positions out of order\n", stderr);
      return 1;
    }
  }
  double eps = seconds > 0 ? static_cast<double>(seen) / seconds : 0;
  std::string extra;
  if (!a.has("no-raw")) {
    auto raw = run_raw_rocksdb_scan(store_path, "log");
    if (!raw) return fail("raw scan", raw.err());
    char buf[160];
    std::snprintf(buf, sizeof buf, ",\"raw_scan_events_per_sec\":%.0f,\"ratio\":%.3f",
                  raw->entries_per_sec, raw->entries_per_sec > 0 ? eps / raw->entries_per_sec : 0);
    extra = buf;
  }
  std::printf(
      "{\"bench\":\"replay\",\"events\":%llu,\"events_per_sec\":%.0f,\"seconds\":%.3f,"
      "\"payload_bytes_read\":%llu,\"filled\":%s%s}\n",
      static_cast<unsigned long long>(seen), eps, seconds,
      static_cast<unsigned long long>(payload_bytes), filled ? "true" : "false", extra.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

int run_bench(int argc, char** argv, int first) {
  if (first >= argc) {
    std::fputs(bench_usage, stderr);
    return 2;
  }
  std::string which = argv[first];
  auto parsed =
      args::parse(argc, argv, first + 1,
                  {"json", "threads", "compare-raw", "no-raw", "no-wal-spares", "follow"});
  if (!parsed) {
    std::fprintf(stderr, "kakehashi bench: %s\n%s", parsed.err().message.c_str(), bench_usage);
    return 2;
  }
  if (which == "append") return bench_append(*parsed);
  if (which == "raw-append") return bench_raw_append(*parsed);
  if (which == "replay") return bench_replay(*parsed);
  if (which == "rebuild") return bench_rebuild(*parsed);
  if (which == "fanout") return bench_fanout(*parsed);
  if (which == "load") return bench_load(*parsed);
  std::fprintf(stderr, "kakehashi bench: unknown benchmark '%s'\n%s", which.c_str(), bench_usage);
  return 2;
}

}  // namespace kakehashi::cli
