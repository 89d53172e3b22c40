// Schema evolution (events/SCHEMA.md): records written today must read forever, and records
// written by a newer schema must read with today's.
//
// The fixtures are Cap'n Proto bytes as the current schema writes them, generated once with
// encode_payload (sealed with the placeholder ciphertext "sealed:<Type>" where the type has
// personal fields) and committed as hex. Never regenerate them to make a test pass: a fixture that
// stops decoding to its JSON means a field was renumbered, retyped or removed.
#include <capnp/message.h>
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/domain.capnp.h"
#include "events/domain.h"
#include "events/event_codec.h"
#include "events/payload_io.h"
#include "tests/events/domain_test_support.h"
#include "tests/events/evolution_test.capnp.h"
#include "tests/version_1_payloads.h"

namespace kakehashi {
namespace {

using test::from_hex;
using test::issue_v1_hex;
using test::paused_v1_hex;
using test::suspended_v1_hex;

struct fixture {
  std::string_view type;
  std::string_view public_hex;
  std::string_view personal_hex;   // "" when the type has no personal fields
  std::string_view redacted_json;  // the public fields
  std::string_view full_json;      // with the personal fields; "" when there are none
};

// clang-format off
constexpr fixture fixtures[] = {
    {"TalentRegistered",
        "000000001e000000000000000000070065000000ba000000150000003a0000001500000016000000"
        "250000000e0000002d000000130000002c0000000100020049000000420000003133313136340000"
        "0500000022000000050000004a0000007270610000000000747261696e696e670000000000000000"
        "010000007a0000007270615f7370656369616c697374000000000100000000000800000000000000"
        "050000001300000005000000160000000100030000000000050000003a000000050000003a000000"
        "31333130313600003133323234310000323032342d3034007365616c65643a54616c656e74526567"
        "6973746572656400",
        "000000001000000000000000000004000d0000007200000011000000920000001900000072000000"
        "1d000000ca000000e5b1b1e794b020e88ab1e5ad9000000068616e616b6f406578616d706c652e6a"
        "70000000000000003039302d303030302d30303030000000e6a0aae5bc8fe4bc9ae7a4bee382b5e3"
        "83b3e38397e383ab0000000000000000",
        R"({"residence_area":"131164","skills":["rpa","training"],"role_categories":["rpa_specialist"],"tiers":["hands_on","cio_advisor"],"availability":{"hours_per_week":8,"work_forms":["remote","spot"],"areas":["131016","132241"]},"consent_version":"2024-04"})",
        R"({"residence_area":"131164","skills":["rpa","training"],"role_categories":["rpa_specialist"],"tiers":["hands_on","cio_advisor"],"availability":{"hours_per_week":8,"work_forms":["remote","spot"],"areas":["131016","132241"]},"consent_version":"2024-04","display_name":"山田 花子","email":"hanako@example.jp","phone":"090-0000-0000","employer":"株式会社サンプル"})"},
    {"NeedOpened",
        "000000000e00000000000000010003000000000000000000090000003a0000000900000062000000"
        "0d0000005a01000031333232343100004458e68ea8e980b2e8aab20000000000525041e38292e5b0"
        "8ee585a5e38197e3819fe3818ce4bdbfe38184e38193e381aae3819be381aae38184000000000000",
        "",
        R"({"lg_code":"132241","origin":"municipality_request","department":"DX推進課","problem":"RPAを導入したが使いこなせない"})", ""},
    {"HearingRecorded",
        "0000000011000000000000000000040031000000b2000000090000002a010000190000005a000000"
        "1d0000008200000030303030303030302d303030302d373030302d383030302d3030303030303030"
        "3030613100000000323032352d30352d3132000000000000e7a094e4bfaee3818ce5bf85e8a68100"
        "7365616c65643a48656172696e675265636f726465640000",
        "000000000b0000000000000000000200050000001600000011000000e2000000050000003a000000"
        "050000003a000000e8aab2e995b70000e4bf82e995b70000e4ba8ce59b9ee79baee381aee38392e3"
        "82a2e383aae383b3e382b00000000000",
        R"({"hearing_id":"00000000-0000-7000-8000-0000000000a1","held_on":"2025-05-12","findings":"研修が必要"})",
        R"({"hearing_id":"00000000-0000-7000-8000-0000000000a1","held_on":"2025-05-12","findings":"研修が必要","attendees":["課長","係長"],"notes":"二回目のヒアリング"})"},
    {"RequirementsDefined",
        "000000000a0000000000000002000300010000000000040006000200000000000900000042000000"
        "090000000e0000000d00000013000000747261696e65720001000000220000007270610000000000"
        "0300010000000000",
        "",
        R"({"revision":1,"role_category":"trainer","tier":"hands_on","skills":["rpa"],"work_forms":["spot","remote"],"hours_per_week":4,"duration_months":6,"openings":2})", ""},
    {"SourcingModeChosen",
        "000000000200000000000000010000000100000000000000",
        "",
        R"({"mode":"public_posting"})", ""},
    {"CandidateIdentified",
        "000000001300000000000000020004000000000000000000000000000000e83f0d0000002a010000"
        "1d0000002a0100002d000000320000002d0000003a00000030303030303030302d303030302d3730"
        "30302d383030302d3030303030303030303030310000000030303030303030302d303030302d3730"
        "30302d383030302d3030303030303030303030320000000073636f75740000003133323234310000",
        "",
        R"({"talent_id":"00000000-0000-7000-8000-000000000001","need_id":"00000000-0000-7000-8000-000000000002","direction":"need_driven","source":"scout","match_score":0.75,"lg_code":"132241"})", ""},
    {"MunicipalDecisionRecorded",
        "000000000a000000000000000100020003000000000000000d000000020100000100000082000000"
        "e7b58ce9a893e3818ce59088e38186007365616c65643a4d756e69636970616c4465636973696f6e"
        "5265636f72646564",
        "00000000050000000000000000000100010000009a000000e68385e5a0b1e694bfe7ad96e8aab2e9"
        "95b7000000000000",
        R"({"accepted":true,"reason":"経験が合う","entered_on_behalf":true})",
        R"({"accepted":true,"reason":"経験が合う","entered_on_behalf":true,"decided_by":"情報政策課長"})"},
    {"AppointmentArranged",
        "000000002000000000000000010007000300040000000000190000002a010000290000002a010000"
        "390000002a010000490000003a000000490000005a0000004d0000005a00000051000000b2000000"
        "30303030303030302d303030302d373030302d383030302d30303030303030303030303300000000"
        "30303030303030302d303030302d373030302d383030302d30303030303030303030303100000000"
        "30303030303030302d303030302d373030302d383030302d30303030303030303030303200000000"
        "3133323234310000323032352d30362d3031000000000000323032362d30332d3331000000000000"
        "e881b7e593a1e59091e38191525041e7a094e4bfae000000",
        "",
        R"({"candidacy_id":"00000000-0000-7000-8000-000000000003","talent_id":"00000000-0000-7000-8000-000000000001","need_id":"00000000-0000-7000-8000-000000000002","lg_code":"132241","form":"spot","starts_on":"2025-06-01","ends_on":"2026-03-31","hours_per_week":4,"scope":"職員向けRPA研修"})", ""},
    {"AppointmentAmended",
        "00000000170000000000000001000300000000000000000041000000ca000000050000005a000000"
        "0800000001000300323032352d31302d30310000000000000600000000000000090000005a000000"
        "0d000000ca0000001900000082000000323032362d30392d3330000000000000e7a094e4bfaee381"
        "a8e38384e383bce383abe4bf9de5ae880000000000000000e4bf9de5ae88e38292e8bfbde58aa000"
        "7365616c65643a4170706f696e746d656e74416d656e64656400000000000000",
        "0000000006000000000000000000010001000000ca000000e5a49ae691a9e5b882204458e68ea8e9"
        "80b2e8aab2e995b70000000000000000",
        R"({"kind":"scope_expansion","effective_on":"2025-10-01","changes":{"ends_on":"2026-09-30","hours_per_week":6,"scope":"研修とツール保守","summary":"保守を追加"}})",
        R"({"kind":"scope_expansion","effective_on":"2025-10-01","changes":{"ends_on":"2026-09-30","hours_per_week":6,"scope":"研修とツール保守","summary":"保守を追加"},"approved_by":"多摩市 DX推進課長"})"},
    {"EventVoided",
        "000000000a0000000000000000000200050000002a010000150000006a0000003030303030303030"
        "2d303030302d373030302d383030302d30303030303030303030623100000000e585a5e58a9be383"
        "9fe382b900000000",
        "",
        R"({"voided_event_id":"00000000-0000-7000-8000-0000000000b1","reason":"入力ミス"})", ""}
};
// clang-format on

const fixture& fixture_of(std::string_view type) {
  for (const auto& f : fixtures)
    if (f.type == type) return f;
  FAIL("no fixture " << type);
  return fixtures[0];
}

std::string public_bytes(std::string_view type) {
  return from_hex(fixture_of(type).public_hex);
}

TEST_CASE("fixtures written by the current schema still decode to the same JSON") {
  for (const auto& f : fixtures) {
    CAPTURE(f.type);
    auto bytes = from_hex(f.public_hex);
    REQUIRE(bytes.size() % 8 == 0);
    auto redacted = decode_payload_json(f.type, bytes, std::nullopt, personal_view::redacted);
    REQUIRE(redacted.ok());
    CHECK(*redacted == f.redacted_json);
    if (f.personal_hex.empty()) continue;
    auto personal = from_hex(f.personal_hex);
    auto full = decode_payload_json(f.type, bytes, std::string_view(personal), personal_view::full);
    REQUIRE(full.ok());
    CHECK(*full == f.full_json);
    auto sealed = get_sealed(f.type, bytes);
    REQUIRE(sealed.ok());
    CHECK(*sealed == "sealed:" + std::string(f.type));
  }
}

TEST_CASE("the current schema still writes the fixtures byte for byte") {
  // A layout change (a renumbered or retyped field) shows here before any record is stored.
  for (const auto& f : fixtures) {
    CAPTURE(f.type);
    auto json = f.full_json.empty() ? f.redacted_json : f.full_json;
    auto encoded = test::encode(f.type, json);
    std::string written = encoded.public_bytes;
    if (!f.personal_hex.empty()) {
      CHECK(encoded.personal_bytes == from_hex(f.personal_hex));
      auto sealed = set_sealed(f.type, written, "sealed:" + std::string(f.type));
      REQUIRE(sealed.ok());
      written = *sealed;
    }
    CHECK(written == from_hex(f.public_hex));
  }
}

// Stored events from the fixtures, ids chosen by the test.
struct stored_stream {
  std::vector<std::string> ids, types, payloads;
  void add(std::string id, std::string_view type) {
    ids.push_back(std::move(id));
    types.emplace_back(type);
    payloads.push_back(public_bytes(type));
  }
  std::vector<event_view> views() const {
    std::vector<event_view> out;
    for (std::size_t i = 0; i < ids.size(); ++i)
      out.push_back(
          {ids[i], types[i], payloads[i], static_cast<std::int64_t>(i + 1) * 1000, i + 1});
    return out;
  }
};

TEST_CASE("fixtures fold into the states they describe") {
  stored_stream need;
  need.add(test::id(1, 0xe0), "NeedOpened");
  need.add(test::id(2, 0xe0), "HearingRecorded");
  need.add(test::id(3, 0xe0), "RequirementsDefined");
  need.add(test::id(4, 0xe0), "SourcingModeChosen");
  auto n = fold<need_state>(need.views());
  REQUIRE(n.ok());
  CHECK(n->events == 4);
  CHECK(n->stage == need_stage::sourcing);
  CHECK(n->lg_code == "132241");
  CHECK(n->origin == 0);
  CHECK(n->opened_at == 1000);
  CHECK(n->hearings.at("00000000-0000-7000-8000-0000000000a1") == test::id(2, 0xe0));
  REQUIRE(n->requirements.has_value());
  CHECK(n->requirements->revision == 1);
  CHECK(n->requirements->role_category == "trainer");
  CHECK(n->requirements->work_forms == std::vector<std::uint16_t>{3, 1});
  CHECK(n->requirements->openings == 2);
  CHECK(n->unfilled() == 2);
  CHECK(n->sourcing_mode == std::optional<std::uint16_t>(1));

  stored_stream talent;
  talent.add(test::id(5, 0xe0), "TalentRegistered");
  auto t = fold<talent_state>(talent.views());
  REQUIRE(t.ok());
  CHECK(t->status == talent_status::active);
  CHECK(t->consent);
  CHECK(t->consent_version == "2024-04");
  CHECK(t->skills == std::vector<std::string>{"rpa", "training"});
  CHECK(t->tiers == std::vector<std::uint16_t>{0, 1});
  CHECK(t->hours_per_week == 8);
  CHECK(t->areas == std::vector<std::string>{"131016", "132241"});

  stored_stream candidacy;
  candidacy.add(test::id(6, 0xe0), "CandidateIdentified");
  candidacy.add(test::id(7, 0xe0), "MunicipalDecisionRecorded");
  auto c = fold<candidacy_state>(candidacy.views());
  REQUIRE(c.ok());
  CHECK(c->stage == candidacy_stage::accepted);
  CHECK(c->talent_id == "00000000-0000-7000-8000-000000000001");
  CHECK(c->need_id == "00000000-0000-7000-8000-000000000002");
  CHECK(c->lg_code == "132241");
  CHECK(c->stage_since == 2000);

  // The EventVoided fixture voids event ...b1: the amendment here.
  stored_stream appointment;
  appointment.add(test::id(8, 0xe0), "AppointmentArranged");
  appointment.add("00000000-0000-7000-8000-0000000000b1", "AppointmentAmended");
  auto amended = fold<appointment_state>(appointment.views());
  REQUIRE(amended.ok());
  CHECK(amended->status == appointment_status::arranged);
  CHECK(amended->ends_on == "2026-09-30");
  CHECK(amended->hours_per_week == 6);
  CHECK(amended->scope == "研修とツール保守");
  appointment.add(test::id(9, 0xe0), "EventVoided");
  auto voided = fold<appointment_state>(appointment.views());
  REQUIRE(voided.ok());
  CHECK(voided->events == 3);
  CHECK(voided->ends_on == "2026-03-31");
  CHECK(voided->hours_per_week == 4);
  CHECK(voided->scope == "職員向けRPA研修");
  CHECK(voided->entries.voided.count("00000000-0000-7000-8000-0000000000b1") == 1);
}

// ---- a newer writer ----

TEST_CASE("a record with fields added by a newer schema reads and folds with today's") {
  capnp::MallocMessageBuilder message;
  auto newer = message.initRoot<evolution_test::NeedOpened>();
  newer.setLgCode("132241");
  newer.setOrigin(evolution_test::Origin::TALENT_DRIVEN);
  newer.setProblem("研修");
  newer.setPriority(3);
  auto tags = newer.initTags(2);
  tags.set(0, "rpa");
  tags.set(1, "研修");
  auto bytes = message_bytes(message);

  auto json = decode_payload_json("NeedOpened", bytes, std::nullopt, personal_view::full);
  REQUIRE(json.ok());
  CHECK(*json == R"({"lg_code":"132241","origin":"talent_driven","problem":"研修"})");

  auto state = fold<need_state>({{test::id(1), "NeedOpened", bytes, 5, 1}});
  REQUIRE(state.ok());
  CHECK(state->stage == need_stage::consulted);
  CHECK(state->lg_code == "132241");
  CHECK(state->origin == 1);
}

TEST_CASE("an enum value added by a newer schema reads as its number") {
  capnp::MallocMessageBuilder message;
  auto newer = message.initRoot<evolution_test::NeedOpened>();
  newer.setLgCode("131016");
  newer.setOrigin(evolution_test::Origin::REFERRAL);
  newer.setProblem("p");
  auto json =
      decode_payload_json("NeedOpened", message_bytes(message), std::nullopt, personal_view::full);
  REQUIRE(json.ok());
  CHECK(*json == R"({"lg_code":"131016","origin":2,"problem":"p"})");
}

TEST_CASE("set_sealed keeps the fields a newer schema wrote") {
  capnp::MallocMessageBuilder message;
  auto newer = message.initRoot<evolution_test::HearingRecorded>();
  newer.setHearingId("00000000-0000-7000-8000-0000000000a1");
  newer.setHeldOn("2025-05-12");
  newer.setFindings("研修が必要");
  newer.setRoom("第二会議室");
  newer.setDurationMinutes(90);
  auto bytes = message_bytes(message);

  auto sealed = set_sealed("HearingRecorded", bytes, "ciphertext");
  REQUIRE(sealed.ok());
  auto read = get_sealed("HearingRecorded", *sealed);
  REQUIRE(read.ok());
  CHECK(*read == "ciphertext");

  payload_reader reader(*sealed);
  auto after = reader.root<evolution_test::HearingRecorded>();
  CHECK(text_view(after.getRoom()) == "第二会議室");
  CHECK(after.getDurationMinutes() == 90);
  CHECK(text_view(after.getHearingId()) == "00000000-0000-7000-8000-0000000000a1");
  CHECK(text_view(after.getFindings()) == "研修が必要");
  CHECK(after.getSealed().size() == 10);

  auto json =
      decode_payload_json("HearingRecorded", *sealed, std::nullopt, personal_view::redacted);
  REQUIRE(json.ok());
  CHECK(*json == R"({"hearing_id":"00000000-0000-7000-8000-0000000000a1","held_on":"2025-05-12",)"
                 R"("findings":"研修が必要"})");
}

TEST_CASE("a newer schema reads today's records with defaults for its added fields") {
  const std::string bytes = public_bytes("NeedOpened");
  payload_reader reader(bytes);
  auto old = reader.root<evolution_test::NeedOpened>();
  CHECK(text_view(old.getLgCode()) == "132241");
  CHECK(old.getOrigin() == evolution_test::Origin::MUNICIPALITY_REQUEST);
  CHECK(old.getPriority() == 0);
  CHECK_FALSE(old.hasTags());
}

// ---- an older writer: schema_version 1 of the reasons that became personal ----

constexpr std::string_view moved_types[] = {"TalentPaused", "TalentResumed", "TalentWithdrew",
                                            "InterestDeclined"};

// The public bytes version 1 wrote: the reason in the event struct, nothing sealed.
std::string version_1(std::optional<std::string_view> reason) {
  capnp::MallocMessageBuilder message;
  auto old = message.initRoot<evolution_test::ReasonV1>();
  if (reason) old.setReason(std::string(*reason));
  return message_bytes(message);
}

TEST_CASE("the version 1 helper writes what version 1 stored") {
  CHECK(version_1("育児のため一時休止") == from_hex(paused_v1_hex));
}

TEST_CASE("a version 1 reason reads as it did, now as a personal field") {
  const std::string reason = "育児のため一時休止";
  for (auto type : moved_types) {
    CAPTURE(type);
    REQUIRE(find_event_type(type)->schema_version == 2);
    auto up = upcast_payload(type, 1, version_1(reason));
    REQUIRE(up.ok());
    REQUIRE(up->personal_bytes.has_value());
    CHECK(up->public_bytes.find(reason) == std::string::npos);  // moved, not copied
    auto full =
        decode_payload_json(type, up->public_bytes, *up->personal_bytes, personal_view::full);
    REQUIRE(full.ok());
    CHECK(*full == R"({"reason":"育児のため一時休止"})");  // what version 1 always showed
    auto redacted =
        decode_payload_json(type, up->public_bytes, std::nullopt, personal_view::redacted);
    REQUIRE(redacted.ok());
    CHECK(*redacted == "{}");
    auto erased = decode_payload_json(type, up->public_bytes, std::nullopt, personal_view::erased);
    REQUIRE(erased.ok());
    CHECK(*erased == R"({"reason":"[erased]"})");

    // Without a reason: nothing to show, as before.
    auto bare = upcast_payload(type, 1, version_1(std::nullopt));
    REQUIRE(bare.ok());
    auto bare_json =
        decode_payload_json(type, bare->public_bytes, *bare->personal_bytes, personal_view::full);
    REQUIRE(bare_json.ok());
    CHECK(*bare_json == "{}");

    // A version 2 record is already current: unchanged, its personal part is sealed.
    auto v2 = test::encode(type, R"({"reason":"育児のため一時休止"})");
    CHECK(v2.public_bytes.find(reason) == std::string::npos);
    CHECK(v2.personal_bytes.find(reason) != std::string::npos);
    auto current = upcast_payload(type, 2, v2.public_bytes);
    REQUIRE(current.ok());
    CHECK(current->public_bytes == v2.public_bytes);
    CHECK_FALSE(current->personal_bytes.has_value());
  }
  CHECK(upcast_payload("NoSuchEvent", 1, version_1(reason)).err().code == "unknown_event_type");
  CHECK(upcast_payload("TalentPaused", 1, "garbage!").err().code == "invalid_payload");
  // Types that never moved a field come back as stored, whatever their version.
  auto plain = upcast_payload("NeedOpened", 1, public_bytes("NeedOpened"));
  REQUIRE(plain.ok());
  CHECK(plain->public_bytes == public_bytes("NeedOpened"));
  CHECK_FALSE(plain->personal_bytes.has_value());
}

TEST_CASE("version 1 reasons fold as they did") {
  const std::string paused = version_1("育児のため一時休止");
  const std::string resumed = version_1("再開");
  const std::string withdrew = version_1("本業が多忙になったため");
  stored_stream talent;
  talent.add(test::id(5, 0xe0), "TalentRegistered");
  auto views = talent.views();
  views.push_back({test::id(6, 0xe0), "TalentPaused", paused, 2000, 2});
  auto t = fold<talent_state>(views);
  REQUIRE(t.ok());
  CHECK(t->status == talent_status::paused);
  views.push_back({test::id(7, 0xe0), "TalentResumed", resumed, 3000, 3});
  views.push_back({test::id(8, 0xe0), "TalentWithdrew", withdrew, 4000, 4});
  t = fold<talent_state>(views);
  REQUIRE(t.ok());
  CHECK(t->status == talent_status::withdrawn);

  const std::string declined = version_1("日程が合わない");
  stored_stream candidacy;
  candidacy.add(test::id(9, 0xe0), "CandidateIdentified");
  auto cviews = candidacy.views();
  cviews.push_back({test::id(10, 0xe0), "InterestDeclined", declined, 2000, 2});
  auto c = fold<candidacy_state>(cviews);
  REQUIRE(c.ok());
  CHECK(c->stage == candidacy_stage::declined);
  CHECK(c->stage_since == 2000);
}

// ---- schema_version 1 of the placement texts that became personal ----

// IssueRaised (summary) or IssueResolved (resolution) as version 1 stored them.
std::string issue_version_1(const std::string& issue, std::optional<std::string_view> text) {
  capnp::MallocMessageBuilder message;
  auto old = message.initRoot<evolution_test::IssueV1>();
  old.setIssueId(issue);
  if (text) old.setText(std::string(*text));
  return message_bytes(message);
}

// AppointmentEnded as version 1 stored it; kind 1 is `early`.
std::string ended_version_1(std::uint16_t kind, std::optional<std::string_view> reason) {
  capnp::MallocMessageBuilder message;
  auto old = message.initRoot<evolution_test::EndedV1>();
  old.setKind(kind);
  if (reason) old.setReason(std::string(*reason));
  return message_bytes(message);
}

const std::string issue_e1 = "00000000-0000-7000-8000-0000000000e1";

TEST_CASE("the placement text helpers write what version 1 stored") {
  CHECK(version_1("体調不良のため休職") == from_hex(suspended_v1_hex));
  CHECK(issue_version_1(issue_e1, "通院で欠勤が続く") == from_hex(issue_v1_hex));
}

TEST_CASE("version 1 placement texts read as they did, now as personal fields") {
  struct old_record {
    std::string_view type;
    std::string bytes, bare;  // with the text, and version 1 without it
    std::string_view text;
    std::string_view full, redacted, erased;
  };
  const std::string issue = issue_e1;
  const old_record records[] = {
      {"AppointmentSuspended", from_hex(suspended_v1_hex), version_1(std::nullopt),
       "体調不良のため休職", R"({"reason":"体調不良のため休職"})", "{}",
       R"({"reason":"[erased]"})"},
      {"AppointmentResumed", version_1("復職"), version_1(std::nullopt), "復職",
       R"({"reason":"復職"})", "{}", R"({"reason":"[erased]"})"},
      {"IssueRaised", from_hex(issue_v1_hex), issue_version_1(issue, std::nullopt),
       "通院で欠勤が続く",
       R"({"issue_id":"00000000-0000-7000-8000-0000000000e1","summary":"通院で欠勤が続く"})",
       R"({"issue_id":"00000000-0000-7000-8000-0000000000e1"})",
       R"({"issue_id":"00000000-0000-7000-8000-0000000000e1","summary":"[erased]"})"},
      {"IssueResolved", issue_version_1(issue, "勤務日を変更"),
       issue_version_1(issue, std::nullopt), "勤務日を変更",
       R"({"issue_id":"00000000-0000-7000-8000-0000000000e1","resolution":"勤務日を変更"})",
       R"({"issue_id":"00000000-0000-7000-8000-0000000000e1"})",
       R"({"issue_id":"00000000-0000-7000-8000-0000000000e1","resolution":"[erased]"})"},
      {"AppointmentEnded", ended_version_1(1, "本業の異動により継続困難"),
       ended_version_1(1, std::nullopt), "本業の異動により継続困難",
       R"({"kind":"early","reason":"本業の異動により継続困難"})", R"({"kind":"early"})",
       R"({"kind":"early","reason":"[erased]"})"},
  };
  for (const auto& r : records) {
    CAPTURE(r.type);
    REQUIRE(find_event_type(r.type)->schema_version == 2);
    const std::string text(r.text);
    auto up = upcast_payload(r.type, 1, r.bytes);
    REQUIRE(up.ok());
    REQUIRE(up->personal_bytes.has_value());
    CHECK(up->public_bytes.find(text) == std::string::npos);  // moved, not copied
    auto full =
        decode_payload_json(r.type, up->public_bytes, *up->personal_bytes, personal_view::full);
    REQUIRE(full.ok());
    CHECK(*full == r.full);  // what version 1 always showed
    auto redacted =
        decode_payload_json(r.type, up->public_bytes, std::nullopt, personal_view::redacted);
    REQUIRE(redacted.ok());
    CHECK(*redacted == r.redacted);
    auto erased =
        decode_payload_json(r.type, up->public_bytes, std::nullopt, personal_view::erased);
    REQUIRE(erased.ok());
    CHECK(*erased == r.erased);

    // Without the text: nothing personal to show, as before.
    auto bare = upcast_payload(r.type, 1, r.bare);
    REQUIRE(bare.ok());
    auto bare_json =
        decode_payload_json(r.type, bare->public_bytes, *bare->personal_bytes, personal_view::full);
    REQUIRE(bare_json.ok());
    CHECK(*bare_json == r.redacted);

    // Version 2 input: the text only in the personal part, which is sealed; the record is current.
    auto v2 = test::encode(r.type, std::string(r.full));
    CHECK(v2.public_bytes.find(text) == std::string::npos);
    CHECK(v2.personal_bytes.find(text) != std::string::npos);
    auto current = upcast_payload(r.type, 2, v2.public_bytes);
    REQUIRE(current.ok());
    CHECK(current->public_bytes == v2.public_bytes);
    CHECK_FALSE(current->personal_bytes.has_value());
  }
  // The summary is still required, now in the personal part.
  auto missing = encode_payload("IssueRaised", R"({"issue_id":")" + issue + R"("})");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.err().code == "missing_field");
  CHECK(missing.err().field == "summary");
}

TEST_CASE("version 1 placement texts fold as they did") {
  stored_stream appointment;
  appointment.add(test::id(11, 0xe0), "AppointmentArranged");
  auto views = appointment.views();
  const std::string started = build_payload<kakehashi::schema::AppointmentStarted>([](auto) {});
  const std::string suspended = from_hex(suspended_v1_hex), resumed = version_1("復職");
  const std::string raised = from_hex(issue_v1_hex);
  const std::string resolved = issue_version_1(issue_e1, "勤務日を変更");
  const std::string ended = ended_version_1(1, "本業の異動により継続困難");
  views.push_back({test::id(12, 0xe0), "AppointmentStarted", started, 2000, 2});
  views.push_back({test::id(13, 0xe0), "AppointmentSuspended", suspended, 3000, 3});
  auto a = fold<appointment_state>(views);
  REQUIRE(a.ok());
  CHECK(a->status == appointment_status::suspended);
  views.push_back({test::id(14, 0xe0), "AppointmentResumed", resumed, 4000, 4});
  views.push_back({test::id(15, 0xe0), "IssueRaised", raised, 5000, 5});
  a = fold<appointment_state>(views);
  REQUIRE(a.ok());
  CHECK(a->status == appointment_status::active);
  CHECK(a->open_issues.count(issue_e1) == 1);
  views.push_back({test::id(16, 0xe0), "IssueResolved", resolved, 6000, 6});
  views.push_back({test::id(17, 0xe0), "AppointmentEnded", ended, 7000, 7});
  a = fold<appointment_state>(views);
  REQUIRE(a.ok());
  CHECK(a->open_issues.empty());
  CHECK(a->status == appointment_status::ended);
  CHECK(a->end_kind == 1);
  CHECK(a->ended_at == 7000);
}

TEST_CASE("a version 1 consent revocation's reason reads and folds as it did") {
  // Version 1 stored consent_version then reason, the layout of IssueV1.
  const std::string old = issue_version_1("2024-04", "家族の反対があったため");
  REQUIRE(find_event_type("TalentConsentRevoked")->schema_version == 2);
  auto up = upcast_payload("TalentConsentRevoked", 1, old);
  REQUIRE(up.ok());
  REQUIRE(up->personal_bytes.has_value());
  CHECK(up->public_bytes.find("家族の反対") == std::string::npos);
  auto full = decode_payload_json("TalentConsentRevoked", up->public_bytes, *up->personal_bytes,
                                  personal_view::full);
  REQUIRE(full.ok());
  CHECK(*full == R"({"consent_version":"2024-04","reason":"家族の反対があったため"})");
  auto redacted = decode_payload_json("TalentConsentRevoked", up->public_bytes, std::nullopt,
                                      personal_view::redacted);
  REQUIRE(redacted.ok());
  CHECK(*redacted == R"({"consent_version":"2024-04"})");
  auto v2 = test::encode("TalentConsentRevoked", R"({"reason":"家族の反対があったため"})");
  CHECK(v2.public_bytes.find("家族の反対") == std::string::npos);

  stored_stream talent;
  talent.add(test::id(18, 0xe0), "TalentRegistered");
  auto views = talent.views();
  views.push_back({test::id(19, 0xe0), "TalentConsentRevoked", old, 2000, 2});
  auto t = fold<talent_state>(views);
  REQUIRE(t.ok());
  CHECK_FALSE(t->consent);
}

}  // namespace
}  // namespace kakehashi
