// Personal data through the command path (APPI): a registration's personal fields are sealed
// with the talent's own key, never written in plaintext; readers with the right see them;
// `erase_talent` makes every read show "[erased]", removes the key bytes from every file, and
// leaves the hash chain verifiable.
#include "domain_support.h"
#include "engine/event_json.h"
#include "tests/engine/disk_support.h"
#include "tests/version_1_payloads.h"

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

namespace {

std::string paused_version_1() {
  return from_hex(paused_v1_hex);
}
std::string suspended_version_1() {
  return from_hex(suspended_v1_hex);
}

std::string shown(domain_fixture& f, const recorded_event& e) {
  auto json = payload_json(e, f.store->keys(), personal_access::shown);
  if (!json) FAIL(e.type << ": " << describe(json.err()));
  return *json;
}

std::string hidden(domain_fixture& f, const recorded_event& e) {
  auto json = payload_json(e, f.store->keys(), personal_access::hidden);
  if (!json) FAIL(e.type << ": " << describe(json.err()));
  return *json;
}

}  // namespace

TEST_CASE("a talent's reasons are sealed with their key, shown to the right roles, erased") {
  domain_fixture f;
  auto talent = f.talent();
  const std::string stream = "talent-" + talent;
  // Written before the reason was personal: plaintext in the log for good.
  new_event old = make_event("TalentPaused", paused_version_1());
  old.schema_version = 1;
  must_append(*f.store, single(stream, expected_version::any(), std::move(old)));
  f.must("TalentResumed", talent, R"({"reason":"保育園が決まった"})");
  auto candidacy = f.identify(talent, f.defined_need());
  f.must("InterestDeclined", candidacy, R"({"reason":"介護と両立できない"})");

  auto events = read_stream_all(*f.store, stream);
  REQUIRE(events.size() == 3);
  const event_ptr paused_ptr = events[1], resumed_ptr = events[2],
                  declined_ptr = read_stream_all(*f.store, "candidacy-" + candidacy).back();
  const auto &paused = *paused_ptr, &resumed = *resumed_ptr, &declined = *declined_ptr;
  CHECK(paused.schema_version == 1);
  CHECK(resumed.schema_version == 2);
  CHECK(declined.schema_version == 2);
  // Sealed: the stored records do not hold the new reasons' bytes.
  CHECK(resumed.payload.find("保育園が決まった") == std::string::npos);
  CHECK(declined.payload.find("介護と両立できない") == std::string::npos);

  // Roles with the right see every reason, the old one exactly as before; others see none.
  CHECK(shown(f, paused) == R"({"reason":"育児のため一時休止"})");
  CHECK(shown(f, resumed) == R"({"reason":"保育園が決まった"})");
  CHECK(shown(f, declined) == R"({"reason":"介護と両立できない"})");
  for (const auto* e : {&paused, &resumed, &declined})
    CHECK(hidden(f, *e) == "{}");

  REQUIRE(
      erase_talent(*f.service, *f.store, talent, "本人の請求", actor{"admin", "admin", ""}).ok());
  // After erasure every reason about the talent reads "[erased]"; the version 1 bytes are still
  // in the log (the chain covers them), they are just no longer shown.
  CHECK(shown(f, paused) == R"({"reason":"[erased]"})");
  CHECK(paused.payload.find("育児のため一時休止") != std::string::npos);
  CHECK(shown(f, resumed) == R"({"reason":"[erased]"})");
  CHECK(shown(f, declined) == R"({"reason":"[erased]"})");
  // The withdrawal erasure appends too; the erasure's own reason stays readable.
  events = read_stream_all(*f.store, stream);
  REQUIRE(events.size() == 5);
  CHECK(events[3]->type == "TalentWithdrew");
  CHECK(shown(f, *events[3]) == R"({"reason":"[erased]"})");
  CHECK(events[4]->type == "TalentPersonalDataErased");
  CHECK(shown(f, *events[4]) == R"({"reason":"本人の請求"})");
  CHECK(f.store->verify().ok);
}

namespace {

// A command whose first attempt was recorded before the upgrade, as a version 1 `type` event
// whose id is the idempotency key: retried with the same text it is that duplicate; with
// another it is refused, the stored text compared through the upcaster.
void check_version_1_retry(domain_fixture& f, const std::string& type, const std::string& stream,
                           const std::string& target, std::string version_1_payload,
                           const std::string& same_body, const std::string& other_body) {
  const uuid key = new_uuid_v7();
  new_event old = make_event(type, std::move(version_1_payload), key);
  old.schema_version = 1;
  old.who = domain_fixture::coordinator();
  must_append(*f.store, single(stream, expected_version::any(), std::move(old)));
  auto retry = [&](const std::string& body) {
    auto request = domain_fixture::request(type, target, body);
    request.idempotency_key = key;
    return f.service->execute(std::move(request));
  };
  auto same = retry(same_body);
  REQUIRE_MESSAGE(same.ok(), describe(same.err()));
  CHECK(same->duplicate);
  auto other = retry(other_body);
  REQUIRE_FALSE(other.ok());
  CHECK(other.err().code == "idempotency_key_reused");
}

}  // namespace

TEST_CASE("a command retried with the key of a version 1 event compares the reason it stored") {
  domain_fixture f;
  auto talent = f.talent();
  check_version_1_retry(f, "TalentPaused", "talent-" + talent, talent, paused_version_1(),
                        R"({"reason":"育児のため一時休止"})", R"({"reason":"介護のため"})");
}

namespace {

// An active appointment of `talent`; its id.
std::string started_appointment(domain_fixture& f, const std::string& talent) {
  auto arranged = f.arrange(f.accepted_candidacy(talent, f.defined_need()));
  if (!arranged) FAIL("arranging failed: " << describe(arranged.err()));
  auto appointment = arranged->ids.front().second;
  f.must("AppointmentStarted", appointment, "{}");
  return appointment;
}

}  // namespace

TEST_CASE("an appointment's free texts are sealed with the talent's key, shown, erased") {
  domain_fixture f;
  auto talent = f.talent();
  auto appointment = started_appointment(f, talent);
  const std::string stream = "appointment-" + appointment;
  // Written before the texts were personal: plaintext in the log for good.
  new_event old = make_event("AppointmentSuspended", suspended_version_1());
  old.schema_version = 1;
  must_append(*f.store, single(stream, expected_version::any(), std::move(old)));
  f.must("AppointmentResumed", appointment, R"({"reason":"主治医の許可が出た"})");
  const std::string issue = new_uuid_v7().to_string();
  f.must("IssueRaised", appointment,
         R"({"issue_id":")" + issue + R"(","summary":"通院で欠勤が続く"})");
  f.must("IssueResolved", appointment,
         R"({"issue_id":")" + issue + R"(","resolution":"勤務日を火曜に変更"})");

  auto events = read_stream_all(*f.store, stream);
  REQUIRE(events.size() == 6);  // arranged, started, suspended (v1), resumed, raised, resolved
  const auto &suspended = *events[2], &resumed = *events[3], &raised = *events[4],
             &resolved = *events[5];
  CHECK(suspended.schema_version == 1);
  for (const auto* e : {&resumed, &raised, &resolved})
    CHECK(e->schema_version == 2);
  // Sealed: neither the payload nor the whole stored record holds the new texts.
  for (const auto* text : {"主治医の許可が出た", "通院で欠勤が続く", "勤務日を火曜に変更"})
    for (const auto* e : {&resumed, &raised, &resolved})
      CHECK(e->payload.find(text) == std::string::npos);

  // Roles with the right see every text, the old one exactly as before; others see none.
  CHECK(shown(f, suspended) == R"({"reason":"体調不良のため休職"})");
  CHECK(shown(f, resumed) == R"({"reason":"主治医の許可が出た"})");
  CHECK(shown(f, raised) == R"({"issue_id":")" + issue + R"(","summary":"通院で欠勤が続く"})");
  CHECK(shown(f, resolved) ==
        R"({"issue_id":")" + issue + R"(","resolution":"勤務日を火曜に変更"})");
  CHECK(hidden(f, suspended) == "{}");
  CHECK(hidden(f, resumed) == "{}");
  CHECK(hidden(f, raised) == R"({"issue_id":")" + issue + R"("})");
  CHECK(hidden(f, resolved) == R"({"issue_id":")" + issue + R"("})");

  REQUIRE(
      erase_talent(*f.service, *f.store, talent, "本人の請求", actor{"admin", "admin", ""}).ok());
  // Sealed texts read "[erased]". The version 1 record names no talent: through the store the
  // reader finds the appointment's talent in its first event; with the vault alone it cannot.
  auto through_store = [&](const recorded_event& e) {
    auto json = payload_json(e, *f.store, personal_access::shown);
    if (!json) FAIL(e.type << ": " << describe(json.err()));
    return *json;
  };
  CHECK(through_store(suspended) == R"({"reason":"[erased]"})");
  CHECK(suspended.payload.find("体調不良のため休職") != std::string::npos);  // still in the log
  CHECK(shown(f, suspended) == R"({"reason":"体調不良のため休職"})");
  CHECK(through_store(resumed) == R"({"reason":"[erased]"})");
  CHECK(shown(f, resumed) == R"({"reason":"[erased]"})");
  CHECK(through_store(raised) == R"({"issue_id":")" + issue + R"(","summary":"[erased]"})");
  CHECK(through_store(resolved) == R"({"issue_id":")" + issue + R"(","resolution":"[erased]"})");

  // The placement can still be wound up: steps without text are sealed with the municipality's
  // key; a text would be the erased talent's personal data, which nothing new is sealed for.
  auto with_reason = f.run("AppointmentSuspended", appointment, R"({"reason":"連絡が取れない"})");
  REQUIRE_FALSE(with_reason.ok());
  CHECK(with_reason.err().code == "subject_erased");
  f.must("AppointmentSuspended", appointment, "{}");
  auto ended_with_reason =
      f.run("AppointmentEnded", appointment, R"({"kind":"early","reason":"本人の退職"})");
  REQUIRE_FALSE(ended_with_reason.ok());
  CHECK(ended_with_reason.err().code == "subject_erased");
  f.must("AppointmentEnded", appointment, R"({"kind":"early"})");
  auto ended = read_stream_all(*f.store, stream).back();
  CHECK(ended->type == "AppointmentEnded");
  CHECK(through_store(*ended) == R"({"kind":"early"})");
  CHECK(f.store->verify().ok);

  // Closed: no file holds the sealed texts, while the version 1 text is still on disk.
  f.service.reset();
  f.store.reset();
  for (const auto* text : {"主治医の許可が出た", "通院で欠勤が続く", "勤務日を火曜に変更"}) {
    CAPTURE(text);
    CHECK(files_containing(f.dir.db_path(), text).empty());
  }
  CHECK_FALSE(files_containing(f.dir.db_path(), "体調不良のため休職").empty());
}

TEST_CASE("a command retried with the key of a version 1 appointment event compares its text") {
  domain_fixture f;
  auto appointment = started_appointment(f, f.talent());
  check_version_1_retry(f, "AppointmentSuspended", "appointment-" + appointment, appointment,
                        suspended_version_1(), R"({"reason":"体調不良のため休職"})",
                        R"({"reason":"家族の介護のため"})");
}

TEST_CASE("read through the store, a version 1 decline reads [erased] once its talent is erased") {
  // A candidacy stream's record does not name its talent; its first event does.
  domain_fixture f;
  auto talent = f.talent();
  auto candidacy = f.identify(talent, f.defined_need());
  new_event old = make_event("InterestDeclined", paused_version_1());  // same layout: a reason
  old.schema_version = 1;
  must_append(*f.store, single("candidacy-" + candidacy, expected_version::any(), std::move(old)));
  auto declined = read_stream_all(*f.store, "candidacy-" + candidacy).back();
  auto read = [&](personal_access access) {
    auto json = payload_json(*declined, *f.store, access);
    if (!json) FAIL(describe(json.err()));
    return *json;
  };
  CHECK(read(personal_access::shown) == R"({"reason":"育児のため一時休止"})");
  CHECK(read(personal_access::hidden) == "{}");
  REQUIRE(
      erase_talent(*f.service, *f.store, talent, "本人の請求", actor{"admin", "admin", ""}).ok());
  CHECK(read(personal_access::shown) == R"({"reason":"[erased]"})");
  CHECK(shown(f, *declined) == R"({"reason":"育児のため一時休止"})");  // the vault alone: as stored
}

TEST_CASE("a consent revocation's reason is sealed with the talent's key and erased with them") {
  domain_fixture f;
  auto talent = f.talent();
  f.must("TalentConsentRevoked", talent, R"({"reason":"家族の反対があったため"})");
  auto revoked = read_stream_all(*f.store, "talent-" + talent).back();
  REQUIRE(revoked->type == "TalentConsentRevoked");
  CHECK(revoked->schema_version == 2);
  CHECK(revoked->payload.find("家族の反対") == std::string::npos);
  CHECK(shown(f, *revoked).find("家族の反対があったため") != std::string::npos);
  CHECK(hidden(f, *revoked).find("reason") == std::string::npos);
  REQUIRE(
      erase_talent(*f.service, *f.store, talent, "本人の請求", actor{"admin", "admin", ""}).ok());
  CHECK(shown(f, *revoked).find(R"("reason":"[erased]")") != std::string::npos);
}
