// The power-loss test (cli/power_loss.h).
#include "cli/power_loss.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "engine/command_service.h"
#include "engine/event_store.h"
#include "engine/fault_injection.h"
#include "projections/read_model.h"
#include "projections/runner.h"

namespace kakehashi::power_loss {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

constexpr const char* raw_type = "PowerLossTested";
constexpr int own_streams_per_appender = 3;
constexpr int shared_streams = 6;
constexpr std::size_t max_payload = 300;
constexpr std::size_t max_problems = 20;
constexpr std::size_t snapshot_every = 25;  // often, so crashes hit snapshot writes
// A crash falls at a random change among about this many milliseconds' worth, or after a random
// delay up to this long, whichever comes first.
constexpr std::uint64_t crash_window_ms = 60;

std::string fmt_u64(std::uint64_t v) {
  return std::to_string(v);
}

// What a check expects of one event.
struct expected_event {
  std::string stream;
  std::uint64_t version = 0;
  position_t position = 0;
  bool content_known = false;  // appended directly; commands' payloads are the service's
  std::string type;
  std::string payload;
  actor who;
};

// An append sent and not acknowledged (yet).
struct pending_append {
  std::vector<uuid> ids;
  append_request request;  // as sent, for the retry after the reopen
};

// Everything the store acknowledged, and the appends it has not (yet). Thread-safe.
class ledger {
 public:
  std::uint64_t begin(const append_request& request) {
    pending_append p{{}, request};
    for (const auto& part : request.streams)
      for (const auto& e : part.events)
        p.ids.push_back(e.id);
    std::lock_guard lock(mu_);
    pending_[++next_] = std::move(p);
    return next_;
  }
  void acknowledged(std::uint64_t token, std::vector<std::pair<uuid, expected_event>> events) {
    std::lock_guard lock(mu_);
    pending_.erase(token);
    ++acked_appends_;
    for (auto& [id, e] : events)
      acked_.insert_or_assign(id, std::move(e));
  }
  void acknowledged_command(const uuid& id, expected_event e) {
    std::lock_guard lock(mu_);
    ++acked_appends_;
    acked_.insert_or_assign(id, std::move(e));
  }
  void failed() {
    std::lock_guard lock(mu_);
    ++failed_appends_;
  }
  void problem(std::string what) {
    std::lock_guard lock(mu_);
    if (problems_.size() < max_problems) problems_.push_back(std::move(what));
    ++problem_count_;
  }
  void add_talent(std::string id) {
    std::lock_guard lock(mu_);
    talents_.push_back(std::move(id));
  }
  void add_need(std::string id) {
    std::lock_guard lock(mu_);
    needs_.push_back(std::move(id));
  }
  std::optional<std::string> pick_need(std::uint64_t r) {
    std::lock_guard lock(mu_);
    if (needs_.empty()) return std::nullopt;
    return needs_[r % needs_.size()];
  }
  std::optional<std::string> take_talent(std::uint64_t r) {
    std::lock_guard lock(mu_);
    if (talents_.empty()) return std::nullopt;
    std::swap(talents_[r % talents_.size()], talents_.back());
    auto id = std::move(talents_.back());
    talents_.pop_back();
    return id;
  }

  // Only between runs of the workload (no thread appends).
  std::unordered_map<uuid, expected_event, uuid_hash>& acked() { return acked_; }
  std::map<std::uint64_t, pending_append>& pending() { return pending_; }
  std::unordered_set<uuid, uuid_hash>& dropped() { return dropped_; }
  std::vector<std::string> take_problems() {
    std::lock_guard lock(mu_);
    problem_count_ = 0;
    return std::exchange(problems_, {});
  }
  std::uint64_t problem_count() const {
    std::lock_guard lock(mu_);
    return problem_count_;
  }
  std::uint64_t acked_appends() const {
    std::lock_guard lock(mu_);
    return acked_appends_;
  }
  std::uint64_t failed_appends() const {
    std::lock_guard lock(mu_);
    return failed_appends_;
  }

 private:
  mutable std::mutex mu_;
  std::uint64_t next_ = 0;
  std::unordered_map<uuid, expected_event, uuid_hash> acked_;
  std::map<std::uint64_t, pending_append> pending_;  // begun, not acknowledged
  std::unordered_set<uuid, uuid_hash> dropped_;      // unacknowledged and found absent
  std::vector<std::string> problems_;
  std::uint64_t problem_count_ = 0;
  std::uint64_t acked_appends_ = 0;
  std::uint64_t failed_appends_ = 0;
  std::vector<std::string> talents_;
  std::vector<std::string> needs_;
};

// The events an append's result says were stored where, checked against the request: the
// result's shape, and exact and no_stream expectations. nullopt when they disagree.
std::optional<std::vector<std::pair<uuid, expected_event>>> acknowledged_events(
    const append_request& sent, const append_result& done) {
  std::size_t count = 0;
  for (const auto& part : sent.streams)
    count += part.events.size();
  if (done.streams.size() != sent.streams.size() ||
      done.last_position - done.first_position + 1 != count || done.event_ids.size() != count)
    return std::nullopt;
  std::vector<std::pair<uuid, expected_event>> events;
  position_t position = done.first_position;
  std::size_t index = 0;
  for (std::size_t s = 0; s < sent.streams.size(); ++s) {
    const auto& part = sent.streams[s];
    const auto& result = done.streams[s];
    if (result.stream != part.stream ||
        result.last_version - result.first_version + 1 != part.events.size())
      return std::nullopt;
    if (part.expected.kind == expected_version::mode::exact &&
        result.first_version != part.expected.version + 1)
      return std::nullopt;
    if (part.expected.kind == expected_version::mode::no_stream && result.first_version != 0)
      return std::nullopt;
    for (std::size_t i = 0; i < part.events.size(); ++i, ++index) {
      const auto& e = part.events[i];
      if (done.event_ids[index] != e.id) return std::nullopt;
      events.emplace_back(e.id, expected_event{part.stream, result.first_version + i, position++,
                                               true, e.type, e.payload, e.who});
    }
  }
  return events;
}

bool keep_going(const std::atomic<bool>& stop, const fault_injector& faults,
                const event_store& store) {
  return !stop.load() && !faults.crashed() && !store.writes_failed();
}

// Appends until the crash: exact expectations on its own streams, `any` on shared ones,
// `no_stream` on new ones and atomic appends over 2-3 streams.
void appender(event_store& store, ledger& book, const fault_injector& faults, int tid,
              std::uint64_t seed, const std::atomic<bool>& stop) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> own;
  std::vector<std::optional<std::uint64_t>> own_version;
  for (int k = 0; k < own_streams_per_appender; ++k) {
    own.push_back("pl-t" + std::to_string(tid) + "-" + std::to_string(k));
    own_version.push_back(store.stream_version(own.back()));  // as recovered
  }
  const actor who{"appender-" + std::to_string(tid), "admin", ""};
  while (keep_going(stop, faults, store)) {
    append_request request;
    std::vector<int> owned;  // per request stream: index into own, or -1
    auto add_stream = [&](std::string name, expected_version expected, int own_index) {
      stream_append part{std::move(name), expected, {}};
      const int n = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < n; ++i) {
        new_event e;
        e.id = new_uuid_v7();
        e.type = raw_type;
        e.who = who;
        e.payload.resize(rng() % max_payload);
        for (auto& c : e.payload)
          c = static_cast<char>(rng());
        part.events.push_back(std::move(e));
      }
      request.streams.push_back(std::move(part));
      owned.push_back(own_index);
    };
    auto own_expected = [&](int k) {
      return own_version[k] ? expected_version::exact(*own_version[k])
                            : expected_version::no_stream();
    };
    const unsigned pick = static_cast<unsigned>(rng() % 100);
    if (pick < 35) {
      const int k = static_cast<int>(rng() % own_streams_per_appender);
      add_stream(own[k], own_expected(k), k);
    } else if (pick < 55) {
      add_stream("plshared-" + std::to_string(rng() % shared_streams), expected_version::any(), -1);
    } else if (pick < 62) {
      add_stream("plnew-" + new_uuid_v7().to_string(), expected_version::no_stream(), -1);
    } else {
      // Atomic over 2-3 streams: one or two owned (exact), the rest shared (any).
      const int count = 2 + static_cast<int>(rng() % 2);
      const int k1 = static_cast<int>(rng() % own_streams_per_appender);
      add_stream(own[k1], own_expected(k1), k1);
      if (count == 3 && rng() % 2) {
        const int k2 = (k1 + 1) % own_streams_per_appender;
        add_stream(own[k2], own_expected(k2), k2);
      }
      int s = static_cast<int>(rng() % shared_streams);
      while (static_cast<int>(request.streams.size()) < count) {
        add_stream("plshared-" + std::to_string(s), expected_version::any(), -1);
        s = (s + 1) % shared_streams;
      }
    }

    const std::uint64_t token = book.begin(request);
    append_request sent = request;
    auto done = store.append(std::move(request));
    if (!done) {
      book.failed();
      // Only the crash may fail an append here; a broken expectation is a store bug.
      if (done.err().kind == errc::conflict)
        book.problem("appender " + std::to_string(tid) + ": " + done.err().code + ": " +
                     done.err().message);
      return;
    }
    auto events = acknowledged_events(sent, *done);
    if (!events || done->duplicate) {
      book.problem("appender " + std::to_string(tid) + ": the append's result does not match " +
                   "its request or expectations");
      return;
    }
    for (std::size_t s = 0; s < sent.streams.size(); ++s)
      if (owned[s] >= 0) own_version[owned[s]] = done->streams[s].last_version;
    // An acknowledgement that arrives after the crash never reached a client: the process died at
    // the crash. (From then on WAL syncs report success without making anything durable.)
    if (faults.crashed()) return;
    book.acknowledged(token, std::move(*events));
  }
}

// Domain commands through the command service: talents (sealing personal data under new data
// keys), needs, hearings, and now and then an erasure (a flush and a compaction).
void commander(event_store& store, command_service& service, ledger& book,
               const fault_injector& faults, std::uint64_t seed, bool may_erase,
               const std::atomic<bool>& stop) {
  std::mt19937_64 rng(seed);
  const actor who{"coord-pl", "coordinator", ""};
  while (keep_going(stop, faults, store)) {
    const unsigned pick = static_cast<unsigned>(rng() % 100);
    if (pick >= 92 && may_erase) {
      may_erase = false;
      if (auto talent = book.take_talent(rng()))
        (void)erase_talent(service, store, *talent, "power-loss test", who);
      continue;
    }
    command_request request;
    request.who = who;
    if (pick < 40) {
      request.type = "TalentRegistered";
      request.body_json =
          R"({"display_name":"停電 試験","email":"pl-)" + std::to_string(rng() % 1000000) +
          R"(@example.jp","phone":"090-0000-0000","employer":"Example KK",)"
          R"("residence_area":"132241","role_categories":["ui_ux_designer"],"skills":["figma"],)"
          R"("tiers":["hands_on"],"availability":{"hours_per_week":8,"work_forms":["remote"],)"
          R"("areas":["132241"]},"consent_version":"2024-04"})";
    } else if (pick < 70) {
      request.type = "NeedOpened";
      request.body_json = std::string(R"({"lg_code":")") + (rng() % 2 ? "131130" : "132241") +
                          R"(","origin":"municipality_request","problem":"RPA"})";
    } else {
      auto need = book.pick_need(rng());
      if (!need) continue;
      request.type = "HearingRecorded";
      request.target_id = *need;
      request.body_json =
          R"({"held_on":"2025-05-01","attendees":["課長"],"notes":"n","findings":"f"})";
    }
    const std::string type = request.type;
    auto done = service.execute(std::move(request));
    if (!done) {
      if (faults.crashed() || store.writes_failed()) {
        book.failed();
        return;
      }
      // An acknowledged need must exist: not_found means one was lost.
      if (done.err().kind == errc::not_found)
        book.problem("command " + type + ": " + done.err().code + ": " + done.err().message);
      continue;
    }
    if (faults.crashed()) return;  // acknowledged after the crash: never reached a client
    auto id = parse_uuid(done->event_id);
    if (!id) {
      book.problem("command " + type + " returned event id '" + done->event_id + "'");
      return;
    }
    book.acknowledged_command(
        *id, expected_event{done->stream, done->version, done->position, false, type, {}, {}});
    if (type == "TalentRegistered") book.add_talent(done->ids.front().second);
    if (type == "NeedOpened") book.add_need(done->ids.front().second);
  }
}

// The projection runner, saving snapshots every few events while the appends go on.
void projector(event_store& store, const fault_injector& faults, const std::atomic<bool>& stop) {
  runner_options options;
  options.snapshot_every = snapshot_every;
  options.batch_events = 64;
  projection_runner runner(store, options);
  if (!runner.start()) return;  // the crash came first
  while (keep_going(stop, faults, store)) {
    (void)runner.catch_up();  // fails once the crash has come
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

struct check_report {
  std::vector<std::string> problems;
  std::uint64_t events_checked = 0;
  std::uint64_t losses = 0;
  std::uint64_t survived = 0;  // unacknowledged appends stored whole
  std::uint64_t dropped = 0;   // unacknowledged appends not stored
  position_t head = 0;

  void fail(std::string what) {
    if (problems.size() < max_problems) problems.push_back(std::move(what));
  }
};

std::string where(const uuid& id, const expected_event& e) {
  return "event " + id.to_string() + " (" + e.stream + "@" + fmt_u64(e.version) + ", position " +
         fmt_u64(e.position) + ")";
}

// The projections agree with the log: the runner restarted from its latest snapshot and caught
// up, model_at_position at the head, and a fresh fold from position 1 are the same model.
void check_projections(event_store& store, check_report& report) {
  runner_options options;
  options.snapshot_every = snapshot_every;
  projection_runner runner(store, options);
  if (auto started = runner.start(); !started) {
    report.fail("projection runner does not start: " + started.err().message);
    return;
  }
  if (auto caught_up = runner.catch_up(); !caught_up) {
    report.fail("projection runner does not catch up: " + caught_up.err().message);
    return;
  }
  if (runner.position() != report.head)
    report.fail("projection runner at position " + fmt_u64(runner.position()) + ", head is " +
                fmt_u64(report.head));
  const std::string live = runner.read([](const read_model& m) { return m.save(); });

  read_model fresh;
  auto read = store_reader(store);
  status applied;
  auto scanned = store.scan(1, [&](const recorded_event& e) {
    applied = fresh.apply(e, read);
    return applied.ok();
  });
  if (!scanned || !applied) {
    report.fail("a fresh fold of the log fails: " +
                (!scanned ? scanned.err().message : applied.err().message));
    return;
  }
  if (fresh.save() != live)
    report.fail("the projection runner's model differs from a fresh fold of the log (runner at " +
                fmt_u64(runner.position()) + ", fold at " + fmt_u64(fresh.position) + ")");
  auto at_head = model_at_position(store, report.head);
  if (!at_head)
    report.fail("model_at_position(head) fails: " + at_head.err().message);
  else if (at_head->save() != live)
    report.fail("model_at_position(head) differs from a fresh fold of the log");
}

check_report check(event_store& store, ledger& book) {
  check_report report;
  report.head = store.head_position();

  // The whole log: 1..head without a gap, ids unique, stream versions contiguous.
  std::unordered_map<uuid, event_ptr, uuid_hash> by_id;
  std::unordered_map<std::string, std::uint64_t> next_version;
  position_t expect = 1;
  for (position_t from = 1;;) {
    auto page = store.read_all(from, 4096, event_filter{});
    if (!page) {
      report.fail("read_all(" + fmt_u64(from) + ") fails: " + page.err().message);
      return report;
    }
    for (const auto& e : page->events) {
      if (e->position != expect) {
        report.fail("gap: position " + fmt_u64(expect) + " expected, " + fmt_u64(e->position) +
                    " found");
        return report;
      }
      ++expect;
      auto& nv = next_version[e->stream];
      if (e->version != nv)
        report.fail("stream " + e->stream + " has version " + fmt_u64(e->version) +
                    " at position " + fmt_u64(e->position) + ", expected " + fmt_u64(nv));
      nv = e->version + 1;
      if (!by_id.emplace(e->id, e).second)
        report.fail("event id " + e->id.to_string() + " appears twice");
    }
    if (page->end_of_log) break;
    if (page->next_position <= from) {
      report.fail("read_all makes no progress at " + fmt_u64(from));
      return report;
    }
    from = page->next_position;
  }
  if (expect - 1 != report.head)
    report.fail("the log ends at " + fmt_u64(expect - 1) + ", head_position() is " +
                fmt_u64(report.head));
  for (const auto& [stream, nv] : next_version) {
    auto v = store.stream_version(stream);
    if (!v || *v + 1 != nv)
      report.fail("stream_version(" + stream + ") is " + (v ? fmt_u64(*v) : "none") +
                  ", the log says " + fmt_u64(nv - 1));
  }

  // Every acknowledged (or earlier recovered) event, where and as it was.
  for (const auto& [id, want] : book.acked()) {
    ++report.events_checked;
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      ++report.losses;
      report.fail("LOST: acknowledged " + where(id, want) + " is missing");
      continue;
    }
    const recorded_event& got = *it->second;
    bool same =
        got.stream == want.stream && got.version == want.version && got.position == want.position;
    if (same && want.content_known)
      same = got.type == want.type && got.payload == want.payload && got.who.id == want.who.id &&
             got.who.role == want.who.role && got.who.on_behalf_of == want.who.on_behalf_of;
    if (!same) {
      ++report.losses;
      report.fail("CHANGED: acknowledged " + where(id, want) + " is stored as " + got.stream + "@" +
                  fmt_u64(got.version) + ", position " + fmt_u64(got.position) +
                  (want.content_known ? " (or its content differs)" : ""));
    }
  }

  // Unacknowledged appends: whole, at consecutive positions, or not at all. What survived is
  // committed from now on; what did not must never appear later.
  for (const auto& [token, p] : book.pending()) {
    const auto& ids = p.ids;
    std::vector<position_t> positions;
    for (const auto& id : ids)
      if (auto it = by_id.find(id); it != by_id.end()) positions.push_back(it->second->position);
    if (positions.empty()) {
      ++report.dropped;
      for (const auto& id : ids)
        book.dropped().insert(id);
      continue;
    }
    if (positions.size() != ids.size()) {
      report.fail("TORN: an unacknowledged append is partly stored: " + fmt_u64(positions.size()) +
                  " of " + fmt_u64(ids.size()) + " events");
      continue;
    }
    std::sort(positions.begin(), positions.end());
    if (positions.back() - positions.front() + 1 != positions.size())
      report.fail("an unacknowledged append is stored at non-consecutive positions");
    ++report.survived;
    for (const auto& id : ids) {
      const auto& e = *by_id.at(id);
      book.acked().insert_or_assign(
          id, expected_event{e.stream, e.version, e.position, true, e.type, e.payload, e.who});
    }
  }
  for (const auto& id : book.dropped())
    if (by_id.count(id))
      report.fail("event " + id.to_string() + " of an append found absent earlier reappeared");

  auto verified = store.verify();
  if (!verified.ok)
    report.fail("the hash chain breaks at position " + fmt_u64(verified.first_bad_position) + ": " +
                verified.problem);
  else if (verified.checked != report.head)
    report.fail("verify() checked " + fmt_u64(verified.checked) + " events, head is " +
                fmt_u64(report.head));

  check_projections(store, report);
  return report;
}

// Sends again, with the same event ids, every append the crash left unacknowledged, as a client
// would after the restart: the store must answer with the stored original's positions when it
// survived (duplicate), and append it now when it did not (its expectations still hold: only
// its own appender writes its own streams). Runs between check() and the next workload.
void retry_unacknowledged(event_store& store, ledger& book, check_report& report,
                          std::uint64_t& retried, std::uint64_t& duplicates) {
  auto pending = std::exchange(book.pending(), {});
  for (auto& [token, p] : pending) {
    const bool survived = book.acked().count(p.ids.front()) != 0;
    for (const auto& id : p.ids)
      book.dropped().erase(id);
    const std::uint64_t again = book.begin(p.request);
    auto done = store.append(p.request);
    if (!done) {
      report.fail("the retry of an unacknowledged append failed: " + done.err().code + ": " +
                  done.err().message);
      continue;
    }
    ++retried;
    auto events = acknowledged_events(p.request, *done);
    if (!events) {
      report.fail("the retry's result does not match its request or expectations");
      continue;
    }
    if (done->duplicate != survived) {
      report.fail(std::string("the retry of an append that was ") +
                  (survived ? "stored" : "not stored") +
                  " came back with duplicate = " + (done->duplicate ? "true" : "false"));
      continue;
    }
    if (done->duplicate) {
      ++duplicates;
      for (const auto& [id, e] : *events) {
        const auto& stored = book.acked().at(id);
        if (stored.position != e.position || stored.stream != e.stream ||
            stored.version != e.version)
          report.fail("the retry of " + where(id, stored) + " reports it at " + e.stream + "@" +
                      fmt_u64(e.version) + ", position " + fmt_u64(e.position));
      }
    }
    book.acknowledged(again, std::move(*events));
  }
}

std::string describe_cut(const power_loss_report& r) {
  std::string s = fmt_u64(r.files_with_unsynced_data) + " files unsynced: " + fmt_u64(r.files_cut) +
                  " cut, " + fmt_u64(r.files_torn) + " torn";
  if (r.files_garbled) s += " (" + fmt_u64(r.files_garbled) + " garbled)";
  if (r.files_reordered)
    s += ", " + fmt_u64(r.files_reordered) + " overwritten with a page kept past lost bytes";
  if (r.entries_lost) s += ", " + fmt_u64(r.entries_lost) + " new files lost";
  if (r.renames_undone) s += ", " + fmt_u64(r.renames_undone) + " renames undone";
  return s;
}

}  // namespace

summary run(const config& options) {
  summary out;
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  std::string dir = options.directory;
  const bool temporary = dir.empty();
  if (temporary) {
    std::string tmpl = (fs::temp_directory_path() / "kakehashi-power-loss-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      out.failed = 1;
      out.problems.push_back("cannot create a temporary directory");
      return out;
    }
    dir = tmpl;
  }
  std::mt19937_64 rng(options.seed);
  auto faults = fault_injector::create(options.seed * 0x9e3779b97f4a7c15ULL + 1);
  store_options store_config;
  store_config.path = dir + "/data";
  store_config.faults = faults;
  // Small memtables flush and compact every few dozen appends, so crashes also fall inside
  // table writes, MANIFEST updates and WAL switches.
  store_config.memtable_bytes = 64 << 10;

  ledger book;
  bool listed = false;
  std::uint64_t unchecked = 0;  // crash points since the last check
  std::vector<std::string> unchecked_lines;
  std::vector<std::string> unchecked_damage;  // what the cuts did to which file, for failures
  std::uint64_t max_changes = 400;            // recalibrated to about crash_window_ms of changes

  auto record_cut = [&](const power_loss_report& cut, std::string line) {
    ++out.iterations;
    ++unchecked;
    out.files_cut += cut.files_cut;
    out.files_torn += cut.files_torn;
    out.files_garbled += cut.files_garbled;
    out.files_reordered += cut.files_reordered;
    out.entries_lost += cut.entries_lost;
    out.renames_undone += cut.renames_undone;
    out.bytes_lost += cut.bytes_lost;
    unchecked_lines.push_back(std::move(line) + "; " + describe_cut(cut));
    for (const auto& f : cut.files)
      unchecked_damage.push_back(f);
  };

  auto record_check = [&](const check_report& report) {
    const bool ok = report.problems.empty() && report.losses == 0;
    (ok ? out.passed : out.failed) += unchecked;
    out.events_checked += report.events_checked;
    out.losses += report.losses;
    out.unacked_survived += report.survived;
    out.acked_events = book.acked().size();
    out.head = report.head;
    for (const auto& line : unchecked_lines)
      log(line + " -> reopened: head " + fmt_u64(report.head) + ", " +
          fmt_u64(report.events_checked) + " acked events checked, " + fmt_u64(report.survived) +
          " unacked appends stored whole, " + fmt_u64(report.dropped) +
          " dropped: " + (ok ? "ok" : "FAILED"));
    for (const auto& p : report.problems) {
      log("    " + p);
      if (out.problems.size() < max_problems) out.problems.push_back(p);
    }
    if (!ok)
      for (const auto& line : unchecked_damage)
        log("    power cut: " + line);
    unchecked = 0;
    unchecked_lines.clear();
    unchecked_damage.clear();
  };

  for (std::uint64_t it = 1;; ++it) {
    const bool last = it > options.iterations;  // only the check of the last crash is left
    // Now and then the crash falls while the store opens and recovers.
    const bool crash_in_open = !last && it > 1 && rng() % 8 == 0;
    if (crash_in_open) faults->crash_after(1 + rng() % 60);
    store_config.commit = commit_policy_for_iteration(it);
    auto opened = event_store::open(store_config);
    faults->crash_after(0);
    // What an operator does about a gap (README, "Power loss"); the check that follows proves
    // that nothing acknowledged went with the events the repair dropped.
    if (!opened && !faults->crashed() && opened.err().code == "log_gap") {
      auto repaired = event_store::repair(store_config, false);
      if (!repaired) {
        out.failed += unchecked + 1;
        out.problems.push_back("repair failed: " + repaired.err().code + ": " +
                               repaired.err().message);
        for (const auto& line : unchecked_lines)
          log(line + " -> reopen refused with a gap, repair FAILED");
        break;
      }
      ++out.gaps_repaired;
      out.repair_dropped += repaired->dropped;
      const std::string repair_line =
          "log_gap on reopen: position " + fmt_u64(repaired->first_missing) +
          " lost, repair dropped the " + fmt_u64(repaired->dropped) + " events after it";
      if (unchecked_lines.empty()) {
        log("    " + repair_line);
      } else {
        unchecked_lines.back() += "; " + repair_line;
      }
      opened = event_store::open(store_config);
    }
    if (faults->crashed() || !opened) {
      if (!faults->crashed()) {
        out.failed += unchecked + 1;
        out.problems.push_back("reopen failed: " + opened.err().code + ": " + opened.err().message);
        for (const auto& line : unchecked_lines)
          log(line + " -> reopen FAILED");
        log("    " + opened.err().message);
        for (const auto& line : unchecked_damage)
          log("    power cut: " + line);
        break;
      }
      opened = error{};  // a crashed store is abandoned, like any other
      const std::string crash_point = faults->stats().crash_point;
      ++out.crash_points[crash_point];
      auto cut = faults->lose_power();
      if (!cut) {
        out.failed += unchecked + 1;
        out.problems.push_back("power cut failed: " + cut.err().message);
        break;
      }
      ++out.crashes_during_open;
      record_cut(*cut, "crash " + fmt_u64(it) + "/" + fmt_u64(options.iterations) +
                           ": during reopen at " + crash_point);
      continue;
    }
    std::unique_ptr<event_store> store = std::move(opened).value();

    if (it > 1) {
      auto report = check(*store, book);
      ++out.projection_checks;
      if (!last) retry_unacknowledged(*store, book, report, out.retried, out.retried_duplicates);
      record_check(report);
    }
    if (last) break;

    auto service = command_service::create(*store);
    if (!listed) {
      // Needs are opened in listed municipalities; listed without faults, once.
      if (auto l = list_reference_municipalities(*service, now_micros()); !l) {
        out.failed += 1;
        out.problems.push_back("listing municipalities failed: " + l.err().message);
        break;
      }
      listed = true;
    }

    // The workload, until the crash: at a random change, or after a random delay.
    const std::uint64_t acked_before = book.acked_appends();
    const std::uint64_t changes_before = faults->stats().changes;
    // Half the crashes fall on any change (mostly WAL appends and syncs, the bulk of them); the
    // rest are aimed inside flushes and compactions (table files, MANIFEST updates, directory
    // syncs) and inside the projector's snapshot image writes. Aimed crashes wait longer for
    // their change to come.
    const unsigned aim = static_cast<unsigned>(rng() % 100);
    const fault_file target = aim < 50   ? fault_file::any
                              : aim < 72 ? fault_file::table
                              : aim < 85 ? fault_file::manifest
                              : aim < 93 ? fault_file::directory
                                         : fault_file::snapshot;
    const std::uint64_t crash_at = target == fault_file::any     ? 1 + rng() % max_changes
                                   : target == fault_file::table ? 1 + rng() % 40
                                                                 : 1 + rng() % 8;
    const auto delay = std::chrono::milliseconds(
        1 + rng() % (target == fault_file::any ? crash_window_ms : 3 * crash_window_ms));
    faults->crash_after(crash_at, target);
    const auto started = clock_type::now();
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < options.appenders; ++t)
      threads.emplace_back(appender, std::ref(*store), std::ref(book), std::cref(*faults), t, rng(),
                           std::cref(stop));
    threads.emplace_back(commander, std::ref(*store), std::ref(*service), std::ref(book),
                         std::cref(*faults), rng(), rng() % 2 == 0, std::cref(stop));
    threads.emplace_back(projector, std::ref(*store), std::cref(*faults), std::cref(stop));
    const bool by_change = faults->wait_for_crash(delay);
    if (!by_change) faults->crash();
    const auto elapsed_ms = std::max<std::int64_t>(
        1,
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started).count());
    if (target == fault_file::any) {
      const std::uint64_t changes = faults->stats().changes - changes_before;
      max_changes = std::max<std::uint64_t>(
          20, changes * crash_window_ms / static_cast<std::uint64_t>(elapsed_ms));
    }
    stop = true;
    for (auto& t : threads)
      t.join();
    const std::uint64_t in_flight = book.pending().size();
    const std::string crash_point = faults->stats().crash_point;
    ++out.crash_points[crash_point];
    // Abandon the store: everything it still holds in memory stays there, since the file
    // system refuses every change from the crash on.
    const auto commits = store->commit_statistics();
    out.wal_files_over_spares += commits.wal_files_over_spares;
    out.wal_files_created += commits.wal_files_created;
    service.reset();
    store.reset();
    auto cut = faults->lose_power();
    if (!cut) {
      out.failed += unchecked + 1;
      out.problems.push_back("power cut failed: " + cut.err().message);
      break;
    }
    record_cut(*cut, "crash " + fmt_u64(it) + "/" + fmt_u64(options.iterations) + ": " +
                         (by_change ? "at " + crash_point + " (change " + fmt_u64(crash_at) + ")"
                                    : "after " + fmt_u64(elapsed_ms) + " ms") +
                         ", " + fmt_u64(book.acked_appends() - acked_before) + " appends acked, " +
                         fmt_u64(in_flight) + " unacked");
    if (auto count = book.problem_count(); count > 0) {
      for (const auto& line : unchecked_lines)
        log(line + " -> FAILED during the workload");
      for (auto& p : book.take_problems()) {
        log("    " + p);
        if (out.problems.size() < max_problems) out.problems.push_back(p);
      }
      out.failed += unchecked;
      unchecked = 0;
      unchecked_lines.clear();
      unchecked_damage.clear();
    }
  }
  out.acked_appends = book.acked_appends();
  out.failed_appends = book.failed_appends();
  if (out.ok() && temporary && !options.keep) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  } else {
    out.directory = dir;
  }
  return out;
}

std::string describe(const summary& s) {
  std::string text;
  text += "power-loss: " + fmt_u64(s.iterations) + " crash points (" +
          fmt_u64(s.crashes_during_open) + " during reopen and recovery)\n";
  text += "  acknowledged: " + fmt_u64(s.acked_appends) + " appends, " + fmt_u64(s.acked_events) +
          " events (with those recovered); " + fmt_u64(s.events_checked) +
          " acked-event checks over all reopens\n";
  text += "  unacknowledged: " + fmt_u64(s.failed_appends) + " appends failed by crashes, " +
          fmt_u64(s.unacked_survived) + " in-flight appends recovered whole, none partly; " +
          fmt_u64(s.retried) + " retried with the same ids after the reopen (" +
          fmt_u64(s.retried_duplicates) + " answered as duplicates of the stored original)\n";
  text += "  crash points:";
  bool first = true;
  for (const auto& [where, count] : s.crash_points) {
    text += std::string(first ? " " : ", ") + fmt_u64(count) + " " + where;
    first = false;
  }
  text += "\n";
  text += "  power cuts: " + fmt_u64(s.files_cut) + " files cut to their last sync, " +
          fmt_u64(s.files_torn) + " torn (" + fmt_u64(s.files_garbled) + " ending in garbage), " +
          fmt_u64(s.entries_lost) + " unsynced new files lost, " + fmt_u64(s.renames_undone) +
          " renames undone, " + fmt_u64(s.bytes_lost) + " unsynced bytes dropped, " +
          fmt_u64(s.files_reordered) + " WAL spares with a page kept past lost bytes\n";
  text += "  WAL files written over zero-filled spares: " + fmt_u64(s.wal_files_over_spares) +
          " (" + fmt_u64(s.wal_files_created) + " created as usual)\n";
  text += "  log gaps repaired: " + fmt_u64(s.gaps_repaired) + " (" + fmt_u64(s.repair_dropped) +
          " unacknowledged events after them dropped)\n";
  text += "  projections checked against a fresh fold: " + fmt_u64(s.projection_checks) +
          " times; final head " + fmt_u64(s.head) + "\n";
  text += "  losses: " + fmt_u64(s.losses) + "\n";
  if (!s.directory.empty()) text += "  kept " + s.directory + " for inspection\n";
  text += fmt_u64(s.passed) + " passed, " + fmt_u64(s.failed) + " failed";
  return text;
}

}  // namespace kakehashi::power_loss
