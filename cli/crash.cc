// The SIGKILL crash test: nothing the store acknowledged may be lost, positions stay gap-free,
// multi-stream appends are all-or-nothing and the hash chain verifies after every crash.
//
//   crash-writer --data DIR --ack FILE [--writers 16] [--seed S] [--seconds T] [--ready-fd N]
//                [--commit-mode adaptive|batch|overlap]
//       Appends from many threads until killed (or for T seconds): exact expectations on streams
//       the thread owns, `any` and `no_stream` appends, and atomic appends over 2-3 streams.
//       With --ready-fd it writes one byte to (inherited) file descriptor N once its first ack
//       line is durable, and closes it.
//       Before each append it writes an intent line (the event ids) to FILE; after the store
//       acknowledges it, an ack line (id, stream, version, position of every event), fdatasync'd
//       before the thread continues. A store that breaks an expectation ends the writer (exit 3).
//   crash-check --data DIR --ack FILE
//       Opens the store (which verifies the chain tail), then checks every acked event is at its
//       acked position with the same id, stream and version, read_all gives 1..head without a gap,
//       stream versions are contiguous, intents are all-or-nothing, and verify() passes.
//   crash-test [--iterations N] [--seed S] [--writers 16] [--keep]
//       Runs the writer (this binary, via /proc/self/exe) on one data directory reused across
//       iterations, SIGKILLs it a random 20-400 ms after it reported its first acknowledged
//       append (from the second iteration on, one in four counts from its start instead, so
//       some kills land inside the store's open and recovery), checks, and ends with the line
//       `N passed, M failed`. Exits non-zero if any iteration failed, or if no iteration saw an
//       acknowledged append (a run that tested nothing). The writers take the commit modes in
//       turn (adaptive, batch, overlap: engine/commit_mode.h), so each is crashed.
//   crash-test --power-loss [--iterations N] [--seed S] [--writers 4] [--keep]
//       The power-loss test instead (cli/power_loss.h): in process, on the fault-injecting file
//       system, N simulated power cuts that drop or tear unsynced data; same last line.
//
// Ack file lines, each ending in " ." so a line torn by the kill never parses:
//   I <tx> <n> <id>...                          intent, before the append
//   A <tx> <n> (<id> <stream> <version> <position>)...   acknowledged
//   R <tx>                                      rejected (the writer then exits with an error)
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/power_loss.h"
#include "engine/event_store.h"

namespace kakehashi::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* crash_usage =
    "usage: kakehashi crash-test   [--iterations 20] [--seed S] [--writers 16] [--keep]\n"
    "       kakehashi crash-test   --power-loss [--iterations 200] [--seed S] [--writers 4] "
    "[--keep]\n"
    "       kakehashi crash-writer --data DIR --ack FILE [--writers 16] [--seed S] [--seconds T]\n"
    "                              [--ready-fd N] [--commit-mode adaptive|batch|overlap]\n"
    "       kakehashi crash-check  --data DIR --ack FILE\n";

constexpr const char* event_type = "CrashTested";
// How long crash-test waits for a writer's first acknowledged append; generous for sanitizers.
constexpr int writer_ready_timeout_ms = 120'000;
constexpr int own_streams_per_thread = 4;
constexpr int shared_streams = 8;

// The payload is a function of the event id, so the check can tell a damaged one.
std::string payload_for(const uuid& id) {
  std::size_t length = static_cast<std::size_t>(id.bytes[15] % 64) * 8;
  std::string hex = id.to_string();
  std::string out;
  out.reserve(length);
  while (out.size() < length)
    out += hex;
  out.resize(length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// writer

// Appends lines to the ack file. `write_synced` returns once the line (and everything written
// before it) has been fdatasync'd; concurrent callers share one fdatasync (group sync). After the
// first such sync, one byte goes to the ready descriptor, if set, which is then closed.
class ack_file {
 public:
  static std::unique_ptr<ack_file> open(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return nullptr;
    // A previous writer may have been killed mid-line: start on a fresh line.
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      char last = '\n';
      if (rfd >= 0) {
        if (::pread(rfd, &last, 1, st.st_size - 1) != 1) last = '\n';
        ::close(rfd);
      }
      if (last != '\n' && ::write(fd, "\n", 1) != 1) {
        ::close(fd);
        return nullptr;
      }
    }
    return std::unique_ptr<ack_file>(new ack_file(fd));
  }

  // Takes ownership of `fd`; call before any write_synced.
  void set_ready_fd(int fd) { ready_fd_ = fd; }

  bool write(const std::string& line) {
    std::lock_guard lock(mu_);
    return write_all(line);
  }

  bool write_synced(const std::string& line) {
    std::unique_lock lock(mu_);
    if (!write_all(line)) return false;
    std::uint64_t mine = ++written_;
    while (synced_ < mine) {
      if (syncing_) {
        cv_.wait(lock);
        continue;
      }
      syncing_ = true;
      std::uint64_t target = written_;
      lock.unlock();
      int rc = ::fdatasync(fd_);
      lock.lock();
      syncing_ = false;
      if (rc != 0) {
        cv_.notify_all();
        return false;
      }
      synced_ = target;
      if (ready_fd_ >= 0) {
        while (::write(ready_fd_, "r", 1) < 0 && errno == EINTR) {
        }
        ::close(ready_fd_);
        ready_fd_ = -1;
      }
      cv_.notify_all();
    }
    return true;
  }

 private:
  explicit ack_file(int fd) : fd_(fd) {}

  bool write_all(const std::string& line) {
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    return true;
  }

  int fd_;
  int ready_fd_ = -1;  // guarded by mu_
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t written_ = 0, synced_ = 0;
  bool syncing_ = false;
};

[[noreturn]] void writer_fail(const std::string& what) {
  std::fprintf(stderr, "kakehashi crash-writer: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(3);
}

// Ack lines are built word by word (GCC 12 warns falsely, -Wrestrict, on chained operator+).
void add_word(std::string& line, std::string_view word) {
  line.push_back(' ');
  line.append(word);
}

struct own_stream {
  std::string name;
  std::optional<std::uint64_t> version;  // nullopt: the stream does not exist yet
};

void writer_thread(event_store& store, ack_file& acks, const std::string& run_id, int tid,
                   std::uint64_t seed, std::chrono::steady_clock::time_point stop_at, bool timed) {
  std::mt19937_64 rng(seed);
  std::vector<own_stream> own;
  for (int k = 0; k < own_streams_per_thread; ++k) {
    own_stream s{"crash-t" + std::to_string(tid) + "-" + std::to_string(k), std::nullopt};
    s.version = store.stream_version(s.name);  // heads recovered from the last crash
    own.push_back(std::move(s));
  }
  const std::string tx_prefix = run_id + "." + std::to_string(tid) + ".";
  for (std::uint64_t seq = 0;; ++seq) {
    if (timed && std::chrono::steady_clock::now() >= stop_at) return;
    append_request req;
    std::vector<int> own_used;  // index into `own` per request stream, -1 when not owned
    auto add_stream = [&](std::string name, expected_version ev, int own_index) {
      stream_append sa{std::move(name), ev, {}};
      int n = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < n; ++i) {
        new_event e;
        e.id = new_uuid_v7();
        e.type = event_type;
        e.who = actor{"crash", "admin", ""};
        e.payload = payload_for(e.id);
        sa.events.push_back(std::move(e));
      }
      req.streams.push_back(std::move(sa));
      own_used.push_back(own_index);
    };
    auto own_expected = [&](int k) {
      return own[k].version ? expected_version::exact(*own[k].version)
                            : expected_version::no_stream();
    };
    unsigned pick = static_cast<unsigned>(rng() % 100);
    if (pick < 40) {  // one owned stream, exact expectation
      int k = static_cast<int>(rng() % own_streams_per_thread);
      add_stream(own[k].name, own_expected(k), k);
    } else if (pick < 60) {  // a shared stream, any
      add_stream("crashshared-" + std::to_string(rng() % shared_streams), expected_version::any(),
                 -1);
    } else if (pick < 65) {  // a new stream, no_stream
      add_stream("crashnew-" + new_uuid_v7().to_string(), expected_version::no_stream(), -1);
    } else {  // atomic over 2-3 streams: owned (exact) and shared (any)
      int count = 2 + static_cast<int>(rng() % 2);
      int k1 = static_cast<int>(rng() % own_streams_per_thread);
      add_stream(own[k1].name, own_expected(k1), k1);
      if (count == 3 || rng() % 2) {
        int k2 = (k1 + 1 + static_cast<int>(rng() % (own_streams_per_thread - 1))) %
                 own_streams_per_thread;
        add_stream(own[k2].name, own_expected(k2), k2);
      }
      int s = static_cast<int>(rng() % shared_streams);
      while (static_cast<int>(req.streams.size()) < count) {
        add_stream("crashshared-" + std::to_string(s), expected_version::any(), -1);
        s = (s + 1) % shared_streams;
      }
    }

    std::string tx = tx_prefix + std::to_string(seq);
    std::size_t total = 0;
    for (const auto& sa : req.streams)
      total += sa.events.size();
    std::string intent = "I";
    add_word(intent, tx);
    add_word(intent, std::to_string(total));
    for (const auto& sa : req.streams)
      for (const auto& e : sa.events)
        add_word(intent, e.id.to_string());
    intent += " .\n";
    if (!acks.write(intent)) writer_fail("cannot write the ack file");

    append_request sent = req;  // kept to describe the ack
    auto r = store.append(std::move(req));
    if (!r) {
      (void)acks.write("R " + tx + " .\n");
      writer_fail("append " + tx + " rejected: " + r.err().code + ": " + r.err().message);
    }
    const append_result& res = *r;
    if (res.duplicate) writer_fail("append " + tx + " reported as a duplicate");
    if (res.last_position - res.first_position + 1 != total || res.event_ids.size() != total ||
        res.streams.size() != sent.streams.size())
      writer_fail("append " + tx + ": result does not match the request");

    std::string line = "A " + tx + " " + std::to_string(total);
    position_t pos = res.first_position;
    std::size_t idx = 0;
    for (std::size_t s = 0; s < sent.streams.size(); ++s) {
      const auto& sa = sent.streams[s];
      const auto& as = res.streams[s];
      if (as.stream != sa.stream || as.last_version - as.first_version + 1 != sa.events.size())
        writer_fail("append " + tx + ": stream result does not match the request");
      if (sa.expected.kind == expected_version::mode::exact &&
          as.first_version != sa.expected.version + 1)
        writer_fail("append " + tx + ": exact expectation " + std::to_string(sa.expected.version) +
                    " on " + sa.stream + " but first version " + std::to_string(as.first_version));
      if (sa.expected.kind == expected_version::mode::no_stream && as.first_version != 0)
        writer_fail("append " + tx + ": no_stream on " + sa.stream + " but first version " +
                    std::to_string(as.first_version));
      for (std::size_t i = 0; i < sa.events.size(); ++i, ++idx, ++pos) {
        if (res.event_ids[idx] != sa.events[i].id)
          writer_fail("append " + tx + ": event ids out of request order");
        add_word(line, sa.events[i].id.to_string());
        add_word(line, sa.stream);
        add_word(line, std::to_string(as.first_version + i));
        add_word(line, std::to_string(pos));
      }
      if (own_used[s] >= 0) own[own_used[s]].version = as.last_version;
    }
    line += " .\n";
    if (!acks.write_synced(line)) writer_fail("cannot write or sync the ack file");
  }
}

int run_writer(const args& a) {
  auto data = a.get("data");
  auto ack = a.get("ack");
  auto writers = a.get_u64("writers", 16);
  auto seed = a.get_u64("seed", std::random_device{}());
  auto seconds = a.get_u64("seconds", 0);
  auto ready_fd = a.get_u64("ready-fd", 0);
  auto commit = parse_commit_policy(a.get("commit-mode").value_or("adaptive"));
  if (!data || !ack || !writers || !seed || !seconds || !ready_fd || *writers == 0 ||
      *ready_fd > 1024 || !commit) {
    std::fputs(crash_usage, stderr);
    return 2;
  }
  auto acks = ack_file::open(*ack);
  if (!acks) {
    std::fprintf(stderr, "kakehashi crash-writer: cannot open %s: %s\n", ack->c_str(),
                 std::strerror(errno));
    return 1;
  }
  if (a.has("ready-fd")) acks->set_ready_fd(static_cast<int>(*ready_fd));
  store_options options;
  options.path = *data;
  options.commit = *commit;
  auto store = event_store::open(options);
  if (!store) {
    std::fprintf(stderr, "kakehashi crash-writer: cannot open the store: %s\n",
                 store.err().message.c_str());
    return 1;
  }
  auto stop_at = std::chrono::steady_clock::now() + std::chrono::seconds(*seconds);
  // Names this process's appends in the ack file; unique across the runs on one directory.
  char run_id[32];
  std::snprintf(run_id, sizeof run_id, "%d-%08x", static_cast<int>(::getpid()),
                std::random_device{}());
  std::vector<std::thread> threads;
  for (int t = 0; t < static_cast<int>(*writers); ++t)
    threads.emplace_back(writer_thread, std::ref(**store), std::ref(*acks), std::string(run_id), t,
                         *seed * 1000003 + static_cast<std::uint64_t>(t), stop_at, *seconds > 0);
  for (auto& t : threads)
    t.join();
  return 0;
}

// ---------------------------------------------------------------------------------------------
// check

struct acked_event {
  uuid id;
  std::string stream;
  std::uint64_t version = 0;
  position_t position = 0;
};

struct ack_record {
  std::vector<uuid> intent;        // from the I line
  std::vector<acked_event> acked;  // from the A line; empty when not acknowledged
  bool rejected = false;
};

struct parsed_acks {
  std::map<std::string, ack_record> txs;
  std::uint64_t torn_lines = 0;
};

bool parse_line(const std::string& line, parsed_acks& out) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w);
  if (words.size() < 3 || words.back() != ".") return false;
  words.pop_back();
  const std::string& kind = words[0];
  const std::string& tx = words[1];
  if (kind == "R") {
    if (words.size() != 2) return false;
    out.txs[tx].rejected = true;
    return true;
  }
  std::size_t n = 0;
  try {
    n = std::stoull(words[2]);
  } catch (...) {
    return false;
  }
  if (kind == "I") {
    if (words.size() != 3 + n) return false;
    std::vector<uuid> ids;
    for (std::size_t i = 0; i < n; ++i) {
      auto id = parse_uuid(words[3 + i]);
      if (!id) return false;
      ids.push_back(*id);
    }
    out.txs[tx].intent = std::move(ids);
    return true;
  }
  if (kind == "A") {
    if (words.size() != 3 + 4 * n) return false;
    std::vector<acked_event> events;
    try {
      for (std::size_t i = 0; i < n; ++i) {
        auto id = parse_uuid(words[3 + 4 * i]);
        if (!id) return false;
        events.push_back(acked_event{*id, words[4 + 4 * i], std::stoull(words[5 + 4 * i]),
                                     std::stoull(words[6 + 4 * i])});
      }
    } catch (...) {
      return false;
    }
    out.txs[tx].acked = std::move(events);
    return true;
  }
  return false;
}

parsed_acks read_acks(const std::string& path) {
  parsed_acks out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (!parse_line(line, out)) ++out.torn_lines;
  }
  return out;
}

struct check_report {
  bool ok = true;
  std::vector<std::string> problems;
  position_t head = 0;
  std::uint64_t acked_appends = 0;
  std::uint64_t acked_events = 0;
  std::uint64_t unacked_intents = 0;  // appends in flight at the kill
  std::uint64_t unacked_written = 0;  // ... of which the store had made durable
  std::uint64_t torn_lines = 0;

  void fail(std::string problem) {
    ok = false;
    if (problems.size() < 20) problems.push_back(std::move(problem));
  }
};

struct logged_event {
  std::string stream;
  std::uint64_t version = 0;
  position_t position = 0;
};

check_report check_store(const std::string& data, const std::string& ack_path) {
  check_report report;
  parsed_acks acks = read_acks(ack_path);
  report.torn_lines = acks.torn_lines;
  for (const auto& [tx, rec] : acks.txs) {
    if (!rec.acked.empty()) {
      ++report.acked_appends;
      report.acked_events += rec.acked.size();
    }
  }
  // Killed before the store was ever created: nothing can have been acknowledged.
  if (!fs::exists(fs::path(data) / "CURRENT")) {
    if (report.acked_appends > 0) report.fail("acked appends but no store at " + data);
    return report;
  }

  store_options options;
  options.path = data;
  options.create_if_missing = false;
  auto opened = event_store::open(options);
  if (!opened) {
    report.fail("reopen failed: " + opened.err().code + ": " + opened.err().message);
    return report;
  }
  event_store& store = **opened;
  report.head = store.head_position();

  // The whole log through read_all: positions 1..head, no gap, stream versions contiguous.
  std::unordered_map<uuid, logged_event, uuid_hash> by_id;
  std::unordered_map<std::string, std::uint64_t> next_version;
  position_t expect = 1, from = 1;
  for (;;) {
    auto page = store.read_all(from, 10000, event_filter{});
    if (!page) {
      report.fail("read_all(" + std::to_string(from) + ") failed: " + page.err().message);
      return report;
    }
    for (const auto& e : page->events) {
      if (e->position != expect) {
        report.fail("gap or disorder: expected position " + std::to_string(expect) + ", got " +
                    std::to_string(e->position));
        return report;
      }
      ++expect;
      auto& nv = next_version[e->stream];
      if (e->version != nv)
        report.fail("stream " + e->stream + ": version " + std::to_string(e->version) +
                    " at position " + std::to_string(e->position) + ", expected " +
                    std::to_string(nv));
      nv = e->version + 1;
      if (e->type == event_type && e->payload != payload_for(e->id))
        report.fail("payload of event at position " + std::to_string(e->position) + " damaged");
      if (!by_id.emplace(e->id, logged_event{e->stream, e->version, e->position}).second)
        report.fail("event id " + e->id.to_string() + " appears twice (position " +
                    std::to_string(e->position) + ")");
    }
    if (page->end_of_log) break;
    if (page->next_position <= from) {
      report.fail("read_all made no progress at position " + std::to_string(from));
      return report;
    }
    from = page->next_position;
  }
  if (expect - 1 != report.head)
    report.fail("read_all ended at position " + std::to_string(expect - 1) + " but head is " +
                std::to_string(report.head));
  for (const auto& [stream, nv] : next_version) {
    auto v = store.stream_version(stream);
    if (!v || *v + 1 != nv)
      report.fail("stream_version(" + stream + ") = " + (v ? std::to_string(*v) : "none") +
                  ", log says " + std::to_string(nv - 1));
  }

  // Every acknowledged event where the ack said; every intent all-or-nothing.
  for (const auto& [tx, rec] : acks.txs) {
    for (const auto& a : rec.acked) {
      auto it = by_id.find(a.id);
      if (it == by_id.end()) {
        report.fail("acked event " + a.id.to_string() + " (" + tx + ", position " +
                    std::to_string(a.position) + ") is missing");
      } else if (it->second.position != a.position || it->second.stream != a.stream ||
                 it->second.version != a.version) {
        report.fail("acked event " + a.id.to_string() + " (" + tx + ") acked as " + a.stream + "@" +
                    std::to_string(a.version) + " position " + std::to_string(a.position) +
                    ", stored as " + it->second.stream + "@" + std::to_string(it->second.version) +
                    " position " + std::to_string(it->second.position));
      }
    }
    if (rec.intent.empty()) continue;
    std::size_t present = 0;
    for (const auto& id : rec.intent)
      present += by_id.count(id);
    if (present != 0 && present != rec.intent.size())
      report.fail("append " + tx + " is partly stored: " + std::to_string(present) + " of " +
                  std::to_string(rec.intent.size()) + " events");
    if (!rec.acked.empty() && rec.acked.size() != rec.intent.size())
      report.fail("append " + tx + ": ack and intent disagree on the event count");
    if (rec.rejected && present != 0) report.fail("rejected append " + tx + " was stored");
    if (rec.acked.empty() && !rec.rejected) {
      ++report.unacked_intents;
      if (present) ++report.unacked_written;
    }
  }

  verify_report v = store.verify();
  if (!v.ok)
    report.fail("verify: chain broken at position " + std::to_string(v.first_bad_position) + ": " +
                v.problem);
  else if (v.checked != report.head)
    report.fail("verify checked " + std::to_string(v.checked) + " events, head is " +
                std::to_string(report.head));
  return report;
}

std::string summarize(const check_report& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "head %llu, %llu acked appends (%llu events), %llu unacked in flight at "
                "kills (%llu of them stored)",
                static_cast<unsigned long long>(r.head),
                static_cast<unsigned long long>(r.acked_appends),
                static_cast<unsigned long long>(r.acked_events),
                static_cast<unsigned long long>(r.unacked_intents),
                static_cast<unsigned long long>(r.unacked_written));
  std::string s = buf;
  if (r.torn_lines) s += ", " + std::to_string(r.torn_lines) + " torn ack lines";
  return s;
}

int run_check(const args& a) {
  auto data = a.get("data");
  auto ack = a.get("ack");
  if (!data || !ack) {
    std::fputs(crash_usage, stderr);
    return 2;
  }
  check_report r = check_store(*data, *ack);
  for (const auto& p : r.problems)
    std::printf("  %s\n", p.c_str());
  std::printf("%s: %s\n", r.ok ? "ok" : "FAILED", summarize(r).c_str());
  return r.ok ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// test drivers

int run_power_loss(const args& a) {
  auto iterations = a.get_u64("iterations", 200);
  auto seed = a.get_u64("seed", std::random_device{}());
  auto writers = a.get_u64("writers", 4);
  if (!iterations || !seed || !writers || *writers == 0 || *writers > 64) {
    std::fputs(crash_usage, stderr);
    return 2;
  }
  power_loss::config config;
  config.iterations = *iterations;
  config.seed = *seed;
  config.appenders = static_cast<int>(*writers);
  config.keep = a.has("keep");
  config.log = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  std::printf("crash-test --power-loss: %llu crash points, seed %llu, %llu appenders\n",
              static_cast<unsigned long long>(*iterations), static_cast<unsigned long long>(*seed),
              static_cast<unsigned long long>(*writers));
  std::fflush(stdout);
  auto result = power_loss::run(config);
  std::printf("%s\n", power_loss::describe(result).c_str());
  std::fflush(stdout);
  return result.ok() ? 0 : 1;
}

int run_test(const args& a) {
  if (a.has("power-loss")) return run_power_loss(a);
  auto iterations = a.get_u64("iterations", 20);
  auto seed = a.get_u64("seed", std::random_device{}());
  auto writers = a.get_u64("writers", 16);
  if (!iterations || !seed || !writers) {
    std::fputs(crash_usage, stderr);
    return 2;
  }
  std::error_code ec;
  std::string self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) {
    std::fprintf(stderr, "kakehashi crash-test: cannot find my own binary: %s\n",
                 ec.message().c_str());
    return 1;
  }
  std::string tmpl = (fs::temp_directory_path() / "kakehashi-crash-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    std::perror("kakehashi crash-test: mkdtemp");
    return 1;
  }
  const std::string dir = tmpl, data = dir + "/data", ack = dir + "/acks";
  std::printf("crash-test: %llu iterations, seed %llu, %llu writers, in %s\n",
              static_cast<unsigned long long>(*iterations), static_cast<unsigned long long>(*seed),
              static_cast<unsigned long long>(*writers), dir.c_str());
  std::fflush(stdout);

  std::mt19937_64 rng(*seed);
  std::uint64_t passed = 0, failed = 0, acked_appends = 0;
  position_t last_head = 0;
  for (std::uint64_t i = 1; i <= *iterations; ++i) {
    int delay_ms = 20 + static_cast<int>(rng() % 381);
    // The delay counts from the writer's first acknowledged append: a sanitizer build takes a
    // second or more to start, so a delay from the fork alone killed every writer before that
    // and the test passed having tested nothing. From the second iteration on, one in four
    // counts from the fork instead, so some kills land inside the store's open and recovery.
    const bool from_start = rng() % 4 == 0 && i > 1;
    std::string writer_seed = std::to_string(rng() >> 1);
    std::string writer_count = std::to_string(*writers);
    const std::string commit_mode(commit_policy_name(power_loss::commit_policy_for_iteration(i)));
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) {
      std::perror("kakehashi crash-test: pipe");
      return 1;
    }
    std::string ready_fd = std::to_string(ready[1]);
    std::vector<const char*> argv_child = {
        "kakehashi",     "crash-writer",      "--data",     data.c_str(),
        "--ack",         ack.c_str(),         "--writers",  writer_count.c_str(),
        "--seed",        writer_seed.c_str(), "--ready-fd", ready_fd.c_str(),
        "--commit-mode", commit_mode.c_str(), nullptr};
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("kakehashi crash-test: fork");
      return 1;
    }
    if (pid == 0) {
      // Never outlive the driver (Ctrl-C, a CTest timeout): the writer loops until killed.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) std::_Exit(127);
      // The write end alone survives the exec.
      ::fcntl(ready[1], F_SETFD, 0);
      ::execv(self.c_str(), const_cast<char* const*>(argv_child.data()));
      std::_Exit(127);
    }
    ::close(ready[1]);
    std::string writer_problem;
    if (!from_start) {
      // A byte after the first durable ack; end of file if the writer died first (reported
      // below).
      pollfd p{ready[0], POLLIN, 0};
      int n;
      while ((n = ::poll(&p, 1, writer_ready_timeout_ms)) < 0 && errno == EINTR) {
      }
      if (n == 0)
        writer_problem = "writer acknowledged no append within " +
                         std::to_string(writer_ready_timeout_ms / 1000) + " s";
    }
    if (writer_problem.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGKILL);
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    // Closed only now: a writer that wrote its byte to a closed pipe would die of SIGPIPE.
    ::close(ready[0]);
    if (writer_problem.empty() && !(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL))
      writer_problem =
          WIFEXITED(wstatus)
              ? "writer exited by itself with status " + std::to_string(WEXITSTATUS(wstatus))
              : "writer died of signal " + std::to_string(WTERMSIG(wstatus));

    check_report r = check_store(data, ack);
    if (!writer_problem.empty()) r.fail(writer_problem);
    bool ok = r.ok;
    (ok ? passed : failed)++;
    acked_appends += r.acked_appends;
    std::printf("iteration %llu/%llu (%s): killed %d ms after %s: %s, +%llu events: %s\n",
                static_cast<unsigned long long>(i), static_cast<unsigned long long>(*iterations),
                commit_mode.c_str(), delay_ms, from_start ? "start" : "its first ack",
                summarize(r).c_str(),
                static_cast<unsigned long long>(r.head >= last_head ? r.head - last_head : 0),
                ok ? "ok" : "FAILED");
    for (const auto& p : r.problems)
      std::printf("    %s\n", p.c_str());
    std::fflush(stdout);
    last_head = r.head;
  }
  if (acked_appends == 0) {
    // Every writer died before its first append: nothing was tested.
    std::printf("no iteration acknowledged an append: the test checked nothing\n");
    ++failed;
  }
  if (failed == 0 && !a.has("keep")) {
    fs::remove_all(dir, ec);
  } else {
    std::printf("kept %s for inspection (crash-check --data %s --ack %s)\n", dir.c_str(),
                data.c_str(), ack.c_str());
  }
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(passed),
              static_cast<unsigned long long>(failed));
  std::fflush(stdout);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int run_crash(int argc, char** argv, int first) {
  if (first >= argc) {
    std::fputs(crash_usage, stderr);
    return 2;
  }
  std::string which = argv[first];
  auto parsed = args::parse(argc, argv, first + 1, {"keep", "power-loss"});
  if (!parsed) {
    std::fprintf(stderr, "kakehashi %s: %s\n%s", which.c_str(), parsed.err().message.c_str(),
                 crash_usage);
    return 2;
  }
  if (which == "crash-writer") return run_writer(*parsed);
  if (which == "crash-check") return run_check(*parsed);
  if (which == "crash-test") return run_test(*parsed);
  std::fputs(crash_usage, stderr);
  return 2;
}

}  // namespace kakehashi::cli
