// event_store::repair: the gap a power cut can leave in the log (a lost unsynced append with
// later ones kept) is refused on open as `log_gap` and repaired by dropping what follows it;
// every other defect is refused and left alone.
#include <sys/wait.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "tests/engine/disk_support.h"

namespace kakehashi::test {
namespace {

// What an event wrote besides its log record.
struct stored_event {
  std::string stream;
  std::uint64_t version = 0;
  uuid id;
};

// Appends `total` single events to `streams` streams in turn; returns them by position - 1.
std::vector<stored_event> write_events(const store_options& options, position_t total,
                                       int streams = 3) {
  std::vector<stored_event> written;
  auto store = open_store(options);
  for (position_t p = 1; p <= total; ++p) {
    auto stream = "repair-" + std::to_string(p % static_cast<position_t>(streams));
    const uuid id = new_uuid_v7();
    auto appended =
        must_append(*store, single(stream, expected_version::any(),
                                   make_event("Noted", "{\"n\":" + std::to_string(p) + "}", id)));
    REQUIRE(appended.first_position == p);
    written.push_back({stream, appended.streams.at(0).last_version, id});
  }
  return written;
}

std::string stream_key(const stored_event& e) {
  return e.stream + std::string(1, '\0') + big_endian(e.version);
}

// Loses the append at `position` as a power cut does: its whole WriteBatch (log record, stream
// and id entries) is gone while later ones stay.
void lose_append(const temp_dir& dir, const std::vector<stored_event>& events,
                 position_t position) {
  raw_db raw(dir.db_path());
  const auto& lost = events[position - 1];
  raw.erase("log", big_endian(position));
  raw.erase("streams", stream_key(lost));
  raw.erase("dedupe", std::string(lost.id.as_bytes()));
}

error open_error(const temp_dir& dir) {
  auto opened = event_store::open(options_for(dir));
  REQUIRE_FALSE(opened.ok());
  return opened.err();
}

// What verify() finds in a store that open refuses: read-only, with no tail check on open.
verify_report verify_damaged(const temp_dir& dir) {
  store_options inspect = options_for(dir);
  inspect.read_only = true;
  inspect.verify_tail_on_open = 0;
  return open_store(inspect)->verify();
}

TEST_CASE("a gap among the last records is refused on open as log_gap, naming the repair") {
  temp_dir dir;
  auto events = write_events(options_for(dir), 30);
  lose_append(dir, events, 27);
  auto err = open_error(dir);
  INFO(describe(err));
  CHECK(err.kind == errc::corruption);
  CHECK(err.code == "log_gap");
  CHECK(err.message.find("position 27 is missing") != std::string::npos);
  CHECK(err.message.find("kakehashi repair --data " + dir.db_path()) != std::string::npos);

  auto report = verify_damaged(dir);
  CHECK_FALSE(report.ok);
  CHECK(report.missing);
  CHECK(report.first_bad_position == 27);
  CHECK(report.checked == 26);
}

TEST_CASE("repair drops the records after the gap with their index entries, and appends go on") {
  temp_dir dir;
  auto events = write_events(options_for(dir), 30);
  lose_append(dir, events, 27);
  // Either way the report is the same, but for whether it was applied.
  auto repair_reported = [&](bool dry_run) {
    auto report = event_store::repair(options_for(dir), dry_run);
    REQUIRE_MESSAGE(report.ok(), describe(report.err()));
    CHECK(report->verified == 26);
    CHECK(report->first_missing == 27);
    CHECK(report->dropped == 3);
    CHECK(report->last_dropped == 30);
    CHECK(report->applied == !dry_run);
  };

  SUBCASE("a dry run reports and changes nothing") {
    repair_reported(true);
    CHECK(open_error(dir).code == "log_gap");
    raw_db raw(dir.db_path());
    CHECK(raw.get("log", big_endian(28)));
    CHECK(raw.get("streams", stream_key(events[29])));
  }

  SUBCASE("the repair") {
    repair_reported(false);
    {
      raw_db raw(dir.db_path());
      for (position_t p = 28; p <= 30; ++p) {
        CAPTURE(p);
        CHECK_FALSE(raw.get("log", big_endian(p)));
        CHECK_FALSE(raw.get("streams", stream_key(events[p - 1])));
        CHECK_FALSE(raw.get("dedupe", std::string(events[p - 1].id.as_bytes())));
      }
      for (position_t p = 1; p <= 26; ++p) {
        CAPTURE(p);
        CHECK(raw.get("log", big_endian(p)));
        CHECK(raw.get("streams", stream_key(events[p - 1])) == big_endian(p));
        CHECK(raw.get("dedupe", std::string(events[p - 1].id.as_bytes())) == big_endian(p));
      }
      auto head = raw.get("meta", "chain_head");
      REQUIRE(head);
      CHECK(head->substr(0, 8) == big_endian(26));
    }

    auto store = open_store(dir);
    CHECK(store->head_position() == 26);
    CHECK(store->verify().ok);
    // Each stream's head is its last kept event again.
    for (int s = 0; s < 3; ++s) {
      std::optional<std::uint64_t> last;
      for (position_t p = 1; p <= 26; ++p)
        if (events[p - 1].stream == "repair-" + std::to_string(s)) last = events[p - 1].version;
      CHECK(store->stream_version("repair-" + std::to_string(s)) == last);
    }
    // A dropped event was never acknowledged: retried with its id, it is a new append at the
    // next position, and with an exact expectation on the kept stream head.
    const auto& retried = events[27];  // position 28
    CHECK_FALSE(store->read_event(retried.id).ok());
    auto again =
        must_append(*store, single(retried.stream, expected_version::exact(retried.version - 1),
                                   make_event("Noted", "{\"n\":28}", retried.id)));
    CHECK(again.first_position == 27);
    CHECK_FALSE(again.duplicate);
    CHECK(store->verify().ok);
    CHECK(store->verify().checked == 27);
  }

  SUBCASE("a repaired store has nothing left to repair") {
    REQUIRE(event_store::repair(options_for(dir), false).ok());
    auto second = event_store::repair(options_for(dir), false);
    REQUIRE(second.ok());
    CHECK(second->first_missing == 0);
    CHECK(second->dropped == 0);
    CHECK(second->verified == 26);
    CHECK_FALSE(second->applied);
  }
}

TEST_CASE("repair of a gap at position 1 leaves an empty log that appends start again") {
  temp_dir dir;
  auto events = write_events(options_for(dir), 4);
  lose_append(dir, events, 1);
  CHECK(open_error(dir).code == "log_gap");
  auto repaired = event_store::repair(options_for(dir), false);
  REQUIRE_MESSAGE(repaired.ok(), describe(repaired.err()));
  CHECK(repaired->first_missing == 1);
  CHECK(repaired->dropped == 3);
  CHECK(repaired->verified == 0);
  {
    raw_db raw(dir.db_path());
    CHECK_FALSE(raw.get("meta", "chain_head"));
  }
  auto store = open_store(dir);
  CHECK(store->head_position() == 0);
  auto first =
      must_append(*store, single("fresh", expected_version::no_stream(), make_event("Noted")));
  CHECK(first.first_position == 1);
  CHECK(store->verify().ok);
}

TEST_CASE("repair refuses a record that does not verify and changes nothing") {
  temp_dir dir;
  auto events = write_events(options_for(dir), 12);
  {
    raw_db raw(dir.db_path());
    auto value = raw.get("log", big_endian(9));
    REQUIRE(value);
    (*value)[value->size() / 2] = static_cast<char>((*value)[value->size() / 2] ^ 0x01);
    raw.put("log", big_endian(9), *value);
  }
  lose_append(dir, events, 11);  // a gap after the damage does not make it repairable
  for (bool dry_run : {true, false}) {
    CAPTURE(dry_run);
    auto refused = event_store::repair(options_for(dir), dry_run);
    REQUIRE_FALSE(refused.ok());
    INFO(describe(refused.err()));
    CHECK(refused.err().code == "not_repairable");
    CHECK(refused.err().message.find("position 9") != std::string::npos);
  }
  raw_db raw(dir.db_path());
  CHECK(raw.get("log", big_endian(10)));
  CHECK(raw.get("log", big_endian(12)));
}

TEST_CASE("repair refuses more records after a gap than a crash can leave unsynced") {
  // With one event per group and per append, at most (2 * 64 + 2) * 2 = 260 events can be
  // written but unsynced at once.
  auto small = [](const temp_dir& dir) {
    store_options options = options_for(dir);
    options.max_group_events = 1;
    options.limits.max_events_per_append = 1;
    return options;
  };
  temp_dir far, near;
  auto far_events = write_events(small(far), 300, 1);
  lose_append(far, far_events, 20);  // 280 records follow
  auto refused = event_store::repair(small(far), false);
  REQUIRE_FALSE(refused.ok());
  INFO(describe(refused.err()));
  CHECK(refused.err().code == "not_repairable");
  {
    raw_db raw(far.db_path());
    CHECK(raw.get("log", big_endian(300)));
  }

  auto near_events = write_events(small(near), 300, 1);
  lose_append(near, near_events, 41);  // 259 records follow
  auto repaired = event_store::repair(small(near), false);
  REQUIRE_MESSAGE(repaired.ok(), describe(repaired.err()));
  CHECK(repaired->dropped == 259);
}

TEST_CASE("repair needs an existing store that is not open elsewhere") {
  temp_dir dir;
  auto missing = event_store::repair(options_for(dir), false);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.err().code == "no_store");

  auto store = open_store(dir);
  must_append(*store, single("locked", expected_version::any(), make_event("Noted")));
  auto locked = event_store::repair(options_for(dir), false);
  REQUIRE_FALSE(locked.ok());
  CHECK(locked.err().code == "store_locked");
}

struct cli_run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

cli_run run_cli(const std::string& args) {
  std::string command = std::string(KAKEHASHI_BIN) + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  cli_run run;
  char chunk[256];
  while (std::size_t n = std::fread(chunk, 1, sizeof chunk, pipe))
    run.output.append(chunk, n);
  const int status = ::pclose(pipe);
  REQUIRE(WIFEXITED(status));
  run.exit_code = WEXITSTATUS(status);
  return run;
}

TEST_CASE("the kakehashi binary: serve refuses a gap, repair --dry-run reports, repair fixes") {
  temp_dir dir;
  auto events = write_events(options_for(dir), 10);
  lose_append(dir, events, 8);
  const std::string data = " --data " + dir.db_path();

  auto serve = run_cli("serve" + data + " --listen 127.0.0.1:0");
  INFO(serve.output);
  CHECK(serve.exit_code != 0);
  CHECK(serve.output.find("position 8 is missing") != std::string::npos);
  CHECK(serve.output.find("kakehashi repair --data " + dir.db_path()) != std::string::npos);

  auto dry = run_cli("repair" + data + " --dry-run");
  INFO(dry.output);
  CHECK(dry.exit_code == 0);
  CHECK(dry.output.find("position 8 is missing; 2 records after it (up to position 10) were "
                        "never acknowledged") != std::string::npos);
  CHECK(dry.output.find("dry run: nothing changed") != std::string::npos);
  auto broken = run_cli("verify" + data);
  CHECK(broken.exit_code == 1);
  CHECK(broken.output.find("chain broken at position 8") != std::string::npos);
  CHECK(broken.output.find("kakehashi repair --data " + dir.db_path()) != std::string::npos);

  auto fixed = run_cli("repair" + data);
  INFO(fixed.output);
  CHECK(fixed.exit_code == 0);
  CHECK(fixed.output.find("the log ends at position 7 and its 7 events verify") !=
        std::string::npos);
  auto verified = run_cli("verify" + data);
  CHECK(verified.exit_code == 0);
  CHECK(verified.output.find("chain intact: 7 events verified") != std::string::npos);

  auto again = run_cli("repair" + data);
  CHECK(again.exit_code == 0);
  CHECK(again.output.find("nothing to repair") != std::string::npos);

  auto usage = run_cli("repair");
  CHECK(usage.exit_code == 2);
  auto absent = run_cli("repair --data " + dir.db_path() + "/absent");
  CHECK(absent.exit_code == 1);
  CHECK(absent.output.find("no event store") != std::string::npos);
}

TEST_CASE("records removed from the end of the log are refused on open and found by verify") {
  temp_dir dir;
  auto events = write_events(options_for(dir), 10);
  position_t kept = 0;
  SUBCASE("the last three") {
    kept = 7;
  }
  SUBCASE("all of them") {
    kept = 0;
  }
  CAPTURE(kept);
  for (position_t p = 10; p > kept; --p)
    lose_append(dir, events, p);
  const std::string missing = "position " + std::to_string(kept + 1) + " is missing";

  // Not an open store with a shorter log, taking appends over the missing positions.
  auto err = open_error(dir);
  INFO(describe(err));
  CHECK(err.kind == errc::corruption);
  CHECK(err.code == "chain_truncated");
  CHECK(err.message.find(missing) != std::string::npos);
  CHECK(err.message.find("chain head names position 10") != std::string::npos);

  auto report = verify_damaged(dir);
  CHECK_FALSE(report.ok);
  CHECK(report.first_bad_position == kept + 1);
  CHECK(report.checked == kept);
  CHECK_FALSE(report.missing);  // not the gap repair removes
  CHECK(report.problem.find(missing) != std::string::npos);

  auto verified = run_cli("verify --data " + dir.db_path());
  INFO(verified.output);
  CHECK(verified.exit_code == 1);
  CHECK(verified.output.find("chain broken at position " + std::to_string(kept + 1)) !=
        std::string::npos);
  CHECK(verified.output.find("kakehashi repair") == std::string::npos);

  auto repaired = event_store::repair(options_for(dir), false);
  REQUIRE_FALSE(repaired.ok());
  CHECK(repaired.err().code == "not_repairable");
  CHECK(open_error(dir).code == "chain_truncated");
}

TEST_CASE("a last record that is not the one the chain head names is refused and found") {
  temp_dir dir;
  write_events(options_for(dir), 10);
  {
    raw_db raw(dir.db_path());
    raw.put("meta", "chain_head", big_endian(10) + std::string(32, '\x5a'));
  }
  auto err = open_error(dir);
  INFO(describe(err));
  CHECK(err.code == "chain_broken");
  CHECK(err.message.find("position 10 is not the one the chain head names") != std::string::npos);
  auto report = verify_damaged(dir);
  CHECK_FALSE(report.ok);
  CHECK(report.first_bad_position == 10);
  CHECK(report.checked == 9);
}

}  // namespace
}  // namespace kakehashi::test
