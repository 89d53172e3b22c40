// Shared helpers for the engine tests: temporary directories, event construction, opening a
// store and reading the whole log.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/event_store.h"
#include "events/ids.h"
#include "events/result.h"

namespace kakehashi::test {

// A fresh directory under /tmp, removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir() {
    char tmpl[] = "/tmp/kakehashi-engine-test-XXXXXX";
    char* made = ::mkdtemp(tmpl);
    REQUIRE_MESSAGE(made != nullptr, "mkdtemp failed");
    path_ = made;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  // Where the store's database lives inside the directory.
  std::string db_path() const { return path_ + "/db"; }

 private:
  std::string path_;
};

inline std::string describe(const error& err) {
  return std::string(to_string(err.kind)) + "/" + err.code + ": " + err.message +
         (err.field.empty() ? "" : " (field " + err.field + ")");
}

// Every field of two recorded events is equal, stored_bytes included (zero where the event was
// not read from the store).
inline void check_same_event(const recorded_event& a, const recorded_event& b) {
  CAPTURE(a.position);
  CHECK(a.id == b.id);
  CHECK(a.stream == b.stream);
  CHECK(a.version == b.version);
  CHECK(a.position == b.position);
  CHECK(a.type == b.type);
  CHECK(a.schema_version == b.schema_version);
  CHECK(a.occurred_at == b.occurred_at);
  CHECK(a.recorded_at == b.recorded_at);
  CHECK(a.who.id == b.who.id);
  CHECK(a.who.role == b.who.role);
  CHECK(a.who.on_behalf_of == b.who.on_behalf_of);
  CHECK(a.correlation_id == b.correlation_id);
  CHECK(a.causation_id == b.causation_id);
  CHECK(a.prev_hash == b.prev_hash);
  CHECK(a.hash == b.hash);
  CHECK(a.payload == b.payload);
  CHECK(a.stored_bytes == b.stored_bytes);
}

inline store_options options_for(const temp_dir& dir) {
  store_options options;
  options.path = dir.db_path();
  return options;
}

inline std::unique_ptr<event_store> open_store(const store_options& options) {
  auto opened = event_store::open(options);
  if (!opened) FAIL("event_store::open failed: " << describe(opened.err()));
  return std::move(opened).value();
}

inline std::unique_ptr<event_store> open_store(const temp_dir& dir) {
  return open_store(options_for(dir));
}

inline new_event make_event(std::string type, std::string payload = "{}", uuid id = {}) {
  new_event ev;
  ev.id = id;
  ev.type = std::move(type);
  ev.payload = std::move(payload);
  ev.who = actor{"tester", "admin", ""};
  return ev;
}

// `count` events of `type`, each with a nil id (the store assigns one).
inline std::vector<new_event> make_events(std::size_t count, const std::string& type = "Noted",
                                          const std::string& payload = "{}") {
  std::vector<new_event> events;
  for (std::size_t i = 0; i < count; ++i)
    events.push_back(make_event(type, payload));
  return events;
}

inline append_request single(std::string stream, expected_version expected,
                             std::vector<new_event> events) {
  append_request request;
  request.streams.push_back(stream_append{std::move(stream), expected, std::move(events)});
  return request;
}

inline append_request single(std::string stream, expected_version expected, new_event event) {
  std::vector<new_event> events;
  events.push_back(std::move(event));
  return single(std::move(stream), expected, std::move(events));
}

// Appends and requires success.
inline append_result must_append(event_store& store, append_request request) {
  auto appended = store.append(std::move(request));
  if (!appended) FAIL("append failed: " << describe(appended.err()));
  return std::move(appended).value();
}

// Every committed event from position 1, through read_all in pages.
inline std::vector<event_ptr> read_everything(const event_store& store,
                                              const event_filter& filter = {},
                                              std::size_t page = 97) {
  std::vector<event_ptr> out;
  position_t from = 1;
  for (int guard = 0; guard < 1000000; ++guard) {
    auto read = store.read_all(from, page, filter);
    if (!read) FAIL("read_all failed: " << describe(read.err()));
    for (auto& ev : read->events)
      out.push_back(ev);
    if (read->end_of_log) break;
    REQUIRE_MESSAGE(read->next_position > from, "read_all made no progress");
    from = read->next_position;
  }
  return out;
}

inline std::vector<event_ptr> read_stream_all(const event_store& store, std::string_view stream) {
  auto read = store.read_stream(stream, 0, read_direction::forward, 1000000);
  if (!read) FAIL("read_stream failed: " << describe(read.err()));
  return std::move(read).value();
}

}  // namespace kakehashi::test

// Checks that `res` (a result) failed with the given kind and code.
#define CHECK_FAILS_WITH(res, expected_kind, expected_code)           \
  do {                                                                \
    const auto& check_res_ = (res);                                   \
    REQUIRE_FALSE(check_res_.ok());                                   \
    INFO("error: " << ::kakehashi::test::describe(check_res_.err())); \
    CHECK(check_res_.err().kind == (expected_kind));                  \
    CHECK(check_res_.err().code == (expected_code));                  \
  } while (false)
