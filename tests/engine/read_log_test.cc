// The personal-data read log: each read becomes a PersonalDataRead event in the day's audit
// stream, with who read what; bad input is refused and appends nothing.
#include "engine/read_log.h"

#include <future>

#include "engine/event_json.h"
#include "test_support.h"

using namespace kakehashi;
using namespace kakehashi::test;

TEST_CASE("a read of personal data is recorded in the audit stream") {
  temp_dir dir;
  auto store = open_store(dir);
  std::promise<status> recorded;
  record_personal_data_read(*store,
                            {"token-1",
                             "coordinator",
                             "佐藤さん",
                             {"talent-0192f000-0000-7000-8000-000000000001"},
                             "GET /v1/talents/{id}"},
                            [&](status s) { recorded.set_value(std::move(s)); });
  REQUIRE(recorded.get_future().get().ok());
  auto all = read_everything(*store);
  REQUIRE(all.size() == 1);
  CHECK(all[0]->type == "PersonalDataRead");
  CHECK(all[0]->stream.rfind("audit-", 0) == 0);
  CHECK(all[0]->who.id == "token-1");
  auto json = payload_json(*all[0], store->keys(), personal_access::hidden);
  REQUIRE(json.ok());
  CHECK(json->find("talent-0192f000-0000-7000-8000-000000000001") != std::string::npos);
  CHECK(json->find("GET /v1/talents/{id}") != std::string::npos);
}

TEST_CASE("an incomplete read record is refused and appends nothing") {
  temp_dir dir;
  auto store = open_store(dir);
  std::promise<status> recorded;
  record_personal_data_read(*store, {"token-1", "coordinator", "", {}, ""},
                            [&](status s) { recorded.set_value(std::move(s)); });
  auto outcome = recorded.get_future().get();
  REQUIRE_FALSE(outcome.ok());
  CHECK(outcome.err().kind == errc::invalid_argument);
  CHECK(store->head_position() == 0);
}
