// Personal data through the command path (APPI): a registration's personal fields are sealed
// with the talent's own key, never written in plaintext; readers with the right see them;
// `erase_talent` makes every read show "[erased]", removes the key bytes from every file, and
// leaves the hash chain verifiable.
#include "domain_support.h"
#include "engine/event_json.h"
#include "tests/engine/disk_support.h"

using namespace kakehashi;
using namespace kakehashi::test;

TEST_CASE("a talent's personal data is sealed, readable by the right roles, and erasable") {
  const std::string email = "hanako.known@example.jp";
  const std::string phone = "090-1234-5678";
  temp_dir dir;
  std::string talent;
  {
    auto store = open_store(dir);
    auto service = command_service::create(*store);
    REQUIRE(list_reference_municipalities(*service, now_micros()).ok());
    auto done = service->execute(command_request{
        .type = "TalentRegistered",
        .body_json = R"({"display_name":"山田 花子","email":")" + email + R"(","phone":")" + phone +
                     R"(","employer":"Example KK","consent_version":"2024-04"})",
        .who = actor{"self", "talent", ""}});
    REQUIRE(done.ok());
    talent = done->ids.front().second;
    auto registered = read_stream_all(*store, "talent-" + talent).front();
    auto shown = payload_json(*registered, store->keys(), personal_access::shown);
    REQUIRE(shown.ok());
    CHECK(shown->find(email) != std::string::npos);
    auto hidden = payload_json(*registered, store->keys(), personal_access::hidden);
    REQUIRE(hidden.ok());
    CHECK(hidden->find(email) == std::string::npos);
    CHECK(hidden->find("display_name") == std::string::npos);
  }
  // Closed (memtables flushed or in the WAL): the plaintext is in no file either way.
  CHECK(files_containing(dir.db_path(), email).empty());
  CHECK(files_containing(dir.db_path(), phone).empty());
  const std::string key = raw_key(dir.db_path(), "talent-" + talent);

  {
    auto store = open_store(dir);
    auto service = command_service::create(*store);
    REQUIRE(
        erase_talent(*service, *store, talent, "APPI request", actor{"admin", "admin", ""}).ok());
    auto registered = read_stream_all(*store, "talent-" + talent).front();
    auto shown = payload_json(*registered, store->keys(), personal_access::shown);
    REQUIRE(shown.ok());
    CHECK(shown->find(email) == std::string::npos);
    CHECK(shown->find(R"("email":"[erased]")") != std::string::npos);
    // Nothing new can be recorded about an erased talent.
    auto again = service->execute(command_request{.type = "TalentProfileUpdated",
                                                  .target_id = talent,
                                                  .body_json = R"({"email":"new@example.jp"})",
                                                  .who = actor{"c", "coordinator", ""}});
    REQUIRE_FALSE(again.ok());
    CHECK(again.err().code == "talent_erased");
  }
  INFO("files still holding the key: " << joined(files_containing(dir.db_path(), key)));
  CHECK(files_containing(dir.db_path(), key).empty());
  auto store = open_store(dir);
  CHECK(store->verify().ok);
}

TEST_CASE("after erasure a check-in without notes is still recorded on the talent's appointment") {
  domain_fixture f;
  auto talent = f.talent();
  auto arranged = f.arrange(f.accepted_candidacy(talent, f.defined_need()));
  REQUIRE(arranged.ok());
  auto appointment = arranged->ids.front().second;
  f.must("AppointmentStarted", appointment, "{}");
  REQUIRE(
      erase_talent(*f.service, *f.store, talent, "APPI request", actor{"admin", "admin", ""}).ok());
  // Retention support goes on: the municipality's rating carries nothing personal.
  f.must("CheckInCompleted", appointment, R"({"party":"municipality","rating":4})");
  auto completed = read_stream_all(*f.store, "appointment-" + appointment).back();
  auto shown = payload_json(*completed, f.store->keys(), personal_access::shown);
  REQUIRE(shown.ok());
  CHECK(shown->find("[erased]") == std::string::npos);
  CHECK(shown->find(R"("rating":4)") != std::string::npos);
  // Notes would be the erased talent's personal data: nothing new is sealed for them.
  auto with_notes =
      f.run("CheckInCompleted", appointment, R"({"party":"talent","rating":3,"notes":"順調"})");
  REQUIRE_FALSE(with_notes.ok());
  CHECK(with_notes.err().code == "subject_erased");
}
