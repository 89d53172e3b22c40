// Bad input and size limits: every invalid append returns an error and writes nothing.
#include <chrono>
#include <functional>
#include <future>
#include <limits>
#include <string>
#include <vector>

#include "engine/record_codec.h"
#include "events/names.h"
#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

constexpr std::size_t mib = 1 << 20;

struct bad_case {
  const char* name;
  std::function<append_request()> build;
  std::vector<errc> allowed;  // acceptable error kinds
};

append_request with_event(std::string stream, new_event ev) {
  return single(std::move(stream), expected_version::any(), std::move(ev));
}

std::vector<bad_case> bad_cases() {
  const auto invalid = std::vector<errc>{errc::invalid_argument};
  const auto too_large = std::vector<errc>{errc::too_large};
  const auto either = std::vector<errc>{errc::too_large, errc::invalid_argument};
  return {
      {"stream name with a space", [] { return with_event("bad name", make_event("Ok")); },
       invalid},
      {"stream $all", [] { return with_event("$all", make_event("Ok")); }, invalid},
      {"stream $ce-valid", [] { return with_event("$ce-valid", make_event("Ok")); }, invalid},
      {"empty stream name", [] { return with_event("", make_event("Ok")); }, invalid},
      {"201-byte stream name", [] { return with_event(std::string(201, 's'), make_event("Ok")); },
       invalid},
      {"type starting with a digit", [] { return with_event("valid-1", make_event("1Bad")); },
       invalid},
      {"empty type", [] { return with_event("valid-1", make_event("")); }, invalid},
      {"type with a dash", [] { return with_event("valid-1", make_event("Bad-Type")); }, invalid},
      {"payload over 1 MiB",
       [] { return with_event("valid-1", make_event("Big", std::string(mib + 1, 'p'))); },
       too_large},
      {"no events",
       [] { return single("valid-1", expected_version::any(), std::vector<new_event>{}); },
       invalid},
      {"no streams", [] { return append_request{}; }, invalid},
      {"1001 events", [] { return single("valid-1", expected_version::any(), make_events(1001)); },
       either},
      {"actor id over 256 bytes",
       [] {
         new_event ev = make_event("Ok");
         ev.who.id = std::string(257, 'a');
         return with_event("valid-1", std::move(ev));
       },
       either},
      {"append over 8 MiB in total",
       [] {
         std::vector<new_event> events;
         for (int i = 0; i < 9; ++i)
           events.push_back(make_event("Big", std::string(mib - 64, 'q')));
         return single("valid-1", expected_version::any(), std::move(events));
       },
       too_large},
      {"one bad event among good ones",
       [] {
         std::vector<new_event> events = make_events(3, "Ok");
         events[1].type = "bad type";
         return single("valid-1", expected_version::any(), std::move(events));
       },
       invalid},
      {"bad second stream of a multi-stream append",
       [] {
         append_request request;
         request.streams.push_back({"valid-1", expected_version::any(), make_events(1, "Ok")});
         request.streams.push_back({"$bad", expected_version::any(), make_events(1, "Ok")});
         return request;
       },
       invalid},
      {"empty second stream of a multi-stream append",
       [] {
         append_request request;
         request.streams.push_back({"valid-1", expected_version::any(), make_events(1, "Ok")});
         request.streams.push_back({"valid-2", expected_version::any(), {}});
         return request;
       },
       invalid},
  };
}

bool allowed_kind(errc kind, const std::vector<errc>& allowed) {
  for (auto k : allowed)
    if (k == kind) return true;
  return false;
}

TEST_CASE("invalid appends are rejected and write nothing") {
  temp_dir dir;
  auto store = open_store(dir);
  must_append(*store, single("valid-1", expected_version::no_stream(), make_events(1, "Ok")));
  const position_t head = store->head_position();

  for (const auto& c : bad_cases()) {
    CAPTURE(c.name);
    auto appended = store->append(c.build());
    REQUIRE_FALSE(appended.ok());
    INFO("error: " << describe(appended.err()));
    CHECK(allowed_kind(appended.err().kind, c.allowed));
    CHECK_FALSE(appended.err().message.empty());

    // append_async reports the same rejection.
    std::promise<result<append_result>> done;
    auto future = done.get_future();
    store->append_async(c.build(),
                        [&done](result<append_result> r) { done.set_value(std::move(r)); });
    REQUIRE(future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    auto async_result = future.get();
    REQUIRE_FALSE(async_result.ok());
    CHECK(async_result.err().kind == appended.err().kind);

    CHECK(store->head_position() == head);
    CHECK(store->stream_version("valid-1") == std::optional<std::uint64_t>(0));
    CHECK_FALSE(store->stream_version("valid-2").has_value());
    CHECK(read_everything(*store).size() == head);
  }
  CHECK_FALSE(store->writes_failed());
  // The store still accepts good appends afterwards.
  auto appended =
      must_append(*store, single("valid-1", expected_version::exact(0), make_events(1)));
  CHECK(appended.first_position == head + 1);
}

TEST_CASE("appends at the limits are accepted") {
  temp_dir dir;
  auto store = open_store(dir);

  auto big = must_append(*store, with_event("edge-1", make_event("Big", std::string(mib, 'p'))));
  CHECK(big.first_position == 1);
  auto stored = read_stream_all(*store, "edge-1");
  REQUIRE(stored.size() == 1);
  CHECK(stored[0]->payload.size() == mib);

  auto many = must_append(*store, single("edge-2", expected_version::any(), make_events(1000)));
  CHECK(many.first_position == 2);
  CHECK(many.last_position == 1001);
  CHECK(many.event_ids.size() == 1000);
  CHECK(store->stream_version("edge-2") == std::optional<std::uint64_t>(999));

  const std::string long_name(200, 'n');
  must_append(*store, with_event(long_name, make_event("Ok")));
  CHECK(store->stream_version(long_name) == std::optional<std::uint64_t>(0));

  new_event ev = make_event("Ok");
  ev.who.id = std::string(256, 'a');
  must_append(*store, with_event("edge-3", std::move(ev)));
  CHECK(store->head_position() == 1003);
}

TEST_CASE("smaller configured limits are enforced") {
  temp_dir dir;
  store_options options = options_for(dir);
  options.limits.max_payload_bytes = 100;
  options.limits.max_events_per_append = 5;
  auto store = open_store(options);
  must_append(*store, with_event("small-1", make_event("Ok", std::string(100, 'p'))));
  auto big = store->append(with_event("small-1", make_event("Ok", std::string(101, 'p'))));
  REQUIRE_FALSE(big.ok());
  CHECK(big.err().kind == errc::too_large);
  must_append(*store, single("small-1", expected_version::any(), make_events(5)));
  auto many = store->append(single("small-1", expected_version::any(), make_events(6)));
  REQUIRE_FALSE(many.ok());
  CHECK(allowed_kind(many.err().kind, {errc::too_large, errc::invalid_argument}));
  CHECK(store->head_position() == 6);
}

TEST_CASE("limits are raised only as far as a stored record can hold, and such records read back") {
  temp_dir dir;
  store_options options = options_for(dir);
  options.limits.max_append_bytes = 4 * mib;
  const std::size_t room = detail::max_record_bytes - detail::record_envelope_bytes -
                           max_stream_name_bytes - max_type_name_bytes;
  auto refused = [&](std::size_t payload, std::size_t actor_field) {
    CAPTURE(payload);
    CAPTURE(actor_field);
    store_options raised = options;
    raised.limits.max_payload_bytes = payload;
    raised.limits.max_actor_field_bytes = actor_field;
    auto opened = event_store::open(raised);
    CHECK_FAILS_WITH(opened, errc::invalid_argument, "limits_too_large");
  };
  refused(room - 3 * 256 + 1, 256);
  refused(2 * mib, 256);
  refused(1024, room);
  refused(std::numeric_limits<std::size_t>::max(), std::numeric_limits<std::size_t>::max() / 2);

  // The largest event the highest limits let through is stored, and read back after a reopen.
  options.limits.max_payload_bytes = room - 3 * 256;
  const std::string stream(max_stream_name_bytes, 's');
  new_event largest = make_event(std::string(max_type_name_bytes, 'T'),
                                 std::string(options.limits.max_payload_bytes, 'p'));
  largest.who = actor{std::string(256, 'i'), std::string(256, 'r'), std::string(256, 'o')};
  largest.correlation_id = new_uuid_v7();
  largest.causation_id = new_uuid_v7();
  largest.id = new_uuid_v7();
  {
    auto store = open_store(options);
    must_append(*store, with_event(stream, largest));
  }
  auto store = open_store(options);
  auto stored = read_stream_all(*store, stream);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0]->payload.size() == options.limits.max_payload_bytes);
  CHECK(stored[0]->who.on_behalf_of == largest.who.on_behalf_of);
  CHECK(store->verify().ok);
}

}  // namespace
}  // namespace kakehashi::test
