// kakehashi bench rebuild [--data DIR] [--events N] [--follow] [--json]
// Writes a generated log of about N domain events (placements: registration, case, hearing,
// requirements, candidacy steps, appointment, check-ins, ending) straight into an empty store,
// then rebuilds the read model from position 1 and reports the rate. The events skip the
// deciders (they are consistent by construction) so that writing them does not dominate.
// Timed: what `kakehashi rebuild` does, from dropping the stored snapshots to the new one
// (every view is computed from this one model) written and synced.
// With --follow, a runner with the default options follows the log live while it is generated,
// as a server's does, and the report is what that cost instead: the snapshots it stored (count,
// bytes, against the log's bytes) and the slowest append meanwhile (snapshot images are files
// written outside the append path, engine/snapshot_store.h; before that, a snapshot's synced
// write held the appends behind it), then how long an as-of read halfway through the log takes,
// by position and by business time.
#include <stdlib.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "events/event_codec.h"
#include "projections/runner.h"

namespace kakehashi::cli {
namespace {

struct generated {
  std::string stream, type, json;
};

// One placement's events, every id fresh.
std::vector<generated> placement(std::size_t n) {
  const std::string talent = new_uuid_v7().to_string(), need = new_uuid_v7().to_string(),
                    candidacy = new_uuid_v7().to_string(), appointment = new_uuid_v7().to_string();
  const std::string lg = n % 2 ? "131130" : "132241";
  std::vector<generated> out{
      {"talent-" + talent, "TalentRegistered",
       R"({"display_name":"x","email":"x@example.jp","residence_area":"132241","role_categories":["engineer"],"skills":["python","sql"],"tiers":["hands_on"],"availability":{"hours_per_week":8,"work_forms":["remote"],"areas":["132241"]},"consent_version":"2024-04"})"},
      {"need-" + need, "NeedOpened",
       R"({"lg_code":")" + lg + R"(","origin":"municipality_request","problem":"RPA"})"},
      {"need-" + need, "HearingRecorded",
       R"({"hearing_id":")" + new_uuid_v7().to_string() +
           R"(","held_on":"2025-05-01","notes":"n"})"},
      {"need-" + need, "RequirementsDefined",
       R"({"revision":1,"role_category":"engineer","tier":"hands_on","skills":["python"],"openings":1})"},
      {"candidacy-" + candidacy, "CandidateIdentified",
       R"({"talent_id":")" + talent + R"(","need_id":")" + need +
           R"(","direction":"need_driven","lg_code":")" + lg + R"("})"},
      {"need-" + need, "CandidateAttached",
       R"({"candidacy_id":")" + candidacy + R"(","talent_id":")" + talent + R"("})"},
      {"candidacy-" + candidacy, "TalentContacted", "{}"},
      {"candidacy-" + candidacy, "InterestConfirmed", "{}"},
      {"candidacy-" + candidacy, "ProposalSubmitted", "{}"},
      {"candidacy-" + candidacy, "MunicipalDecisionRecorded",
       R"({"accepted":true,"decided_by":"o"})"},
      {"appointment-" + appointment, "AppointmentArranged",
       R"({"candidacy_id":")" + candidacy + R"(","talent_id":")" + talent + R"(","need_id":")" +
           need + R"(","lg_code":")" + lg +
           R"(","form":"remote","starts_on":"2025-06-01","ends_on":"2026-03-31","hours_per_week":8,"scope":"s"})"},
      {"candidacy-" + candidacy, "CandidacyAppointed",
       R"({"appointment_id":")" + appointment + R"("})"},
      {"need-" + need, "OpeningFilled",
       R"({"appointment_id":")" + appointment + R"(","candidacy_id":")" + candidacy +
           R"(","talent_id":")" + talent + R"("})"},
      {"appointment-" + appointment, "AppointmentStarted", "{}"}};
  for (int month = 0; month < 3; ++month) {
    auto check = new_uuid_v7().to_string();
    out.push_back({"appointment-" + appointment, "CheckInScheduled",
                   R"({"check_in_id":")" + check + R"(","due_on":"2025-07-01","party":"talent"})"});
    out.push_back({"appointment-" + appointment, "CheckInCompleted",
                   R"({"check_in_id":")" + check + R"(","party":"talent","rating":4})"});
  }
  out.push_back({"appointment-" + appointment, "AppointmentEnded", R"({"kind":"completed"})"});
  return out;
}

double ms_since(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
      .count();
}

// Appends about `events` events; the slowest append's time goes to `slowest_ms`.
status generate(event_store& store, std::size_t events, double& slowest_ms) {
  std::size_t written = 0;
  for (std::size_t n = 0; written < events; ++n) {
    append_request request;
    std::map<std::string, std::size_t> part;
    for (std::size_t k = 0; k < 40 && written < events; ++k) {
      for (auto& g : placement(n * 40 + k)) {
        auto encoded = encode_payload(g.type, g.json);
        if (!encoded) return encoded.take_err();
        new_event e;
        e.type = g.type;
        e.who = actor{"bench", "system", ""};
        e.payload = std::move(encoded->public_bytes);
        auto [it, added] = part.emplace(g.stream, request.streams.size());
        if (added) request.streams.push_back(stream_append{g.stream, expected_version::any(), {}});
        request.streams[it->second].events.push_back(std::move(e));
        ++written;
      }
    }
    auto started = std::chrono::steady_clock::now();
    if (auto done = store.append(std::move(request)); !done) return done.take_err();
    slowest_ms = std::max(slowest_ms, ms_since(started));
  }
  return {};
}

struct as_of_timing {
  double position_ms = 0, time_ms = 0;
};

// An auditor's two as-of reads halfway through the log: by position, and by the business time
// of the event there (the generated events occurred when they were written).
result<as_of_timing> time_as_of(const event_store& store) {
  const position_t middle = std::max<position_t>(1, store.head_position() / 2);
  auto page = store.read_all(middle, 1, event_filter{});
  if (!page) return page.take_err();
  if (page->events.empty())
    return make_error(errc::internal, "empty_log", "no event halfway through the log");
  as_of_timing timing;
  auto started = std::chrono::steady_clock::now();
  if (auto model = model_at_position(store, middle); !model) return model.take_err();
  timing.position_ms = ms_since(started);
  started = std::chrono::steady_clock::now();
  if (auto model = model_at_time(store, page->events.front()->occurred_at); !model)
    return model.take_err();
  timing.time_ms = ms_since(started);
  return timing;
}

// Generates the log while a runner follows it, then reports the snapshots it stored and how
// long as-of reads take with them.
int follow(event_store& store, std::size_t events) {
  projection_runner runner(store);
  if (auto started = runner.start(); !started) {
    std::fprintf(stderr, "kakehashi bench rebuild: %s\n", started.err().message.c_str());
    return 1;
  }
  std::thread follower([&] { runner.run(); });
  double slowest_ms = 0;
  auto made = generate(store, events, slowest_ms);
  const bool caught_up = made && runner.wait_for(store.head_position(), std::chrono::minutes(10));
  runner.stop();
  follower.join();
  if (!made || !caught_up) {
    std::fprintf(stderr, "kakehashi bench rebuild: %s\n",
                 made ? "the runner did not catch up" : made.err().message.c_str());
    return 1;
  }
  std::uint64_t snapshots = 0, snapshot_bytes = 0, log_bytes = 0;
  auto images = store.snapshots().list(read_model_snapshot_kind);
  if (!images) return 1;
  for (const auto& image : *images) {
    ++snapshots;
    snapshot_bytes += image.bytes;
  }
  auto scanned = store.scan(1, [&](const recorded_event& e) {
    log_bytes += e.stored_bytes;
    return true;
  });
  if (!scanned) return 1;
  auto as_of = time_as_of(store);
  if (!as_of) {
    std::fprintf(stderr, "kakehashi bench rebuild: as of: %s\n", as_of.err().message.c_str());
    return 1;
  }
  std::printf(
      "{\"bench\":\"follow\",\"events\":%llu,\"snapshots\":%llu,\"snapshot_bytes\":%llu,"
      "\"log_bytes\":%llu,\"slowest_append_ms\":%.1f,\"as_of_position_ms\":%.1f,"
      "\"as_of_time_ms\":%.1f}\n",
      static_cast<unsigned long long>(store.head_position()),
      static_cast<unsigned long long>(snapshots), static_cast<unsigned long long>(snapshot_bytes),
      static_cast<unsigned long long>(log_bytes), slowest_ms, as_of->position_ms, as_of->time_ms);
  return 0;
}

double process_cpu_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Generates the log unless the store has one, then times its rebuild.
int time_rebuild(event_store& store, std::size_t events) {
  double slowest_ms = 0;
  if (store.head_position() == 0)
    if (auto made = generate(store, events, slowest_ms); !made) {
      std::fprintf(stderr, "kakehashi bench rebuild: generating: %s\n", made.err().message.c_str());
      return 1;
    }
  projection_runner runner(store, runner_options{.snapshot_every = ~std::size_t{0} >> 1});
  auto started = std::chrono::steady_clock::now();
  const double cpu_started = process_cpu_seconds();
  auto rebuilt = runner.rebuild();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // On a shared machine the wall time depends on what else runs; the CPU time spent (every
  // thread of the process, RocksDB's included) much less so.
  const double cpu_seconds = process_cpu_seconds() - cpu_started;
  if (!rebuilt) {
    std::fprintf(stderr, "kakehashi bench rebuild: %s\n", rebuilt.err().message.c_str());
    return 1;
  }
  auto n = runner.position();
  std::printf(
      "{\"bench\":\"rebuild\",\"events\":%llu,\"events_per_sec\":%.0f,\"seconds\":%.3f,"
      "\"cpu_seconds\":%.3f}\n",
      static_cast<unsigned long long>(n), static_cast<double>(n) / seconds, seconds, cpu_seconds);
  return 0;
}

}  // namespace

int bench_rebuild(const args& a) {
  auto events = a.get_u64("events", 200000);
  if (!events || *events == 0) {
    std::fputs("kakehashi bench rebuild: --events takes a positive number\n", stderr);
    return 2;
  }
  std::string path = a.get_or("data", "");
  bool temporary = path.empty();
  if (temporary) {
    char tmpl[] = "/tmp/kakehashi-bench-rebuild-XXXXXX";
    if (!::mkdtemp(tmpl)) return 1;
    path = tmpl;
  }
  int rc = 0;
  {
    store_options options;
    options.path = path;
    auto store = event_store::open(options);
    if (!store) {
      std::fprintf(stderr, "kakehashi bench rebuild: %s\n", store.err().message.c_str());
      return 1;
    }
    if (a.has("follow")) {
      if ((*store)->head_position() == 0) {
        rc = follow(**store, *events);
      } else {
        std::fputs("kakehashi bench rebuild: --follow needs an empty store\n", stderr);
        rc = 2;
      }
    } else {
      rc = time_rebuild(**store, *events);
    }
  }
  if (temporary) std::filesystem::remove_all(path);
  return rc;
}

}  // namespace kakehashi::cli
