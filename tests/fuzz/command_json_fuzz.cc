// Fuzz target: a command body as the API receives it, through the codec and the deciders.
//
// Input: byte 0 picks the event type (the registry's catalog, modulo its size); byte 1 holds
// flags (bit 0: decide against a live aggregate instead of an empty one; bit 1: give the decider
// its context; bit 2: act as a municipality officer instead of a coordinator); the rest is the
// JSON body. The body goes through encode_payload (validation against the schema, the personal
// split); what it accepts is decoded back in every personal_view, sealed, and handed to the
// aggregate's decider as the command service would; the events decided are evolved into the
// aggregate's state.
//
// Findings besides ASan/UBSan: an encoded payload that does not decode, a decode that is not
// stable under re-encoding, `sealed` not round-tripping, a decided event its own aggregate
// cannot evolve, an error without a code.
#include <kj/exception.h>

#include <boost/json/parse.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/domain.h"
#include "events/event_codec.h"
#include "fuzz_support.h"

namespace kakehashi::fuzz {
namespace {

constexpr std::string_view talent_id = fixed_talent;
constexpr std::string_view need_id = fixed_need;
constexpr std::string_view candidacy_id = fixed_candidacy;
constexpr std::string_view appointment_id = fixed_appointment;

// Aggregates in the middle of a placement, folded from payloads the codec encoded.
struct live_states {
  municipality_state municipality;
  talent_state talent;
  need_state need;
  candidacy_state candidacy;
  appointment_state appointment;
};

struct canned_event {
  std::string id;
  std::string type;
  std::string payload;
};

canned_event canned(int n, std::string type, const std::string& json) {
  auto encoded = encode_payload(type, json);
  if (!encoded) fail("a canned " + type + " does not encode: " + encoded.err().message);
  std::string id = std::to_string(1000 + n);  // 4 digits for n < 9000
  id = "01920000-0000-7000-8000-0000000e" + id;
  return {id, std::move(type), std::move(encoded->public_bytes)};
}

template <class State>
State fold_canned(const std::vector<canned_event>& events) {
  std::vector<event_view> views;
  std::uint64_t version = 0;
  for (const auto& e : events)
    views.push_back({e.id, e.type, e.payload, 1700000000000000 + static_cast<std::int64_t>(version),
                     version++});
  auto state = fold<State>(views);
  if (!state) fail("canned events do not fold: " + state.err().message);
  return *state;
}

live_states make_live_states() {
  const std::string talent(talent_id), need(need_id), candidacy(candidacy_id);
  live_states s;
  s.municipality = fold_canned<municipality_state>({canned(
      1, "MunicipalityListed",
      R"({"lg_code":"131016","name_ja":"千代田区","name_en":"Chiyoda","kind":"ward","region":"23区"})")});
  s.talent = fold_canned<talent_state>({canned(
      2, "TalentRegistered",
      R"({"display_name":"山田 花子","email":"hanako@example.jp","residence_area":"131016",)"
      R"("role_categories":["rpa_specialist"],"skills":["figma"],"tiers":["hands_on"],)"
      R"("availability":{"hours_per_week":8,"work_forms":["remote"],"areas":["131016"]},)"
      R"("consent_version":"2024-04"})")});
  s.need = fold_canned<need_state>({
      canned(3, "NeedOpened",
             R"({"lg_code":"131016","origin":"municipality_request","problem":"RPA"})"),
      canned(4, "HearingRecorded",
             R"({"hearing_id":")" + std::string(fixed_hearing) +
                 R"(","held_on":"2025-05-01","attendees":["課長"],"notes":"n"})"),
      canned(5, "RequirementsDefined",
             R"({"revision":1,"role_category":"rpa_specialist","tier":"hands_on","openings":2})"),
  });
  s.candidacy = fold_canned<candidacy_state>({
      canned(6, "CandidateIdentified",
             R"({"talent_id":")" + talent + R"(","need_id":")" + need +
                 R"(","direction":"need_driven","source":"scout","lg_code":"131016"})"),
      canned(7, "TalentContacted", "{}"),
      canned(8, "InterestConfirmed", "{}"),
      canned(9, "ProposalSubmitted", "{}"),
      canned(10, "MunicipalDecisionRecorded", R"({"accepted":true,"decided_by":"officer"})"),
  });
  s.appointment = fold_canned<appointment_state>({
      canned(11, "AppointmentArranged",
             R"({"candidacy_id":")" + candidacy + R"(","talent_id":")" + talent +
                 R"(","need_id":")" + need +
                 R"(","lg_code":"131016","form":"remote","starts_on":"2025-06-01",)"
                 R"("ends_on":"2026-03-31","hours_per_week":8,"scope":"RPA support"})"),
      canned(12, "AppointmentStarted", "{}"),
      canned(13, "IssueRaised",
             R"({"issue_id":"01920000-0000-7000-8000-0000000e9999","summary":"s"})"),
  });
  return s;
}

const live_states& live() {
  static const live_states states = make_live_states();
  return states;
}

void check_error(const error& err) {
  if (err.code.empty()) fail("an error without a code: " + err.message);
}

std::string decode_or_fail(std::string_view type, std::string_view bytes,
                           std::optional<std::string_view> personal, personal_view view,
                           const char* what) {
  auto json = decode_payload_json(type, bytes, personal, view);
  if (!json) fail(std::string(what) + " does not decode: " + json.err().message);
  boost::system::error_code ec;
  auto parsed = boost::json::parse(*json, ec);
  if (ec || !parsed.is_object()) fail(std::string(what) + " decodes to invalid JSON: " + *json);
  return *json;
}

// Evolves `state` by every decided event on `stream`; the decider's own output must fold.
template <class State>
void evolve_decided(State state, const std::vector<decided_event>& events,
                    const std::string& stream) {
  std::uint64_t version = state.events;
  for (const auto& e : events) {
    if (e.stream != stream) continue;
    event_view view{"01920000-0000-7000-8000-0000000effff", e.type, e.payload, 1800000000000000,
                    version++};
    try {
      evolve(state, view);
    } catch (const kj::Exception& ex) {
      fail("a decided " + e.type + " does not evolve: " + ex.getDescription().cStr());
    }
  }
}

void decide_all(const event_type_info& info, const command& cmd, std::uint8_t flags) {
  const live_states& s = live();
  const bool use_live = flags & 1;
  const bool with_context = flags & 2;
  auto pick = [&](const auto& live_state) {
    return use_live ? live_state : std::decay_t<decltype(live_state)>{};
  };
  const std::string_view category = info.category;
  auto run = [&](std::string_view want) { return category.empty() || category == want; };

  if (run("talent")) {
    auto state = pick(s.talent);
    auto decided = decide_talent(cmd, state, talent_id);
    if (decided)
      evolve_decided(state, *decided, stream_name("talent", talent_id));
    else
      check_error(decided.err());
  }
  if (run("municipality")) {
    auto state = pick(s.municipality);
    auto decided = decide_municipality(cmd, state, fixed_lg_code);
    if (decided)
      evolve_decided(state, *decided, stream_name("municipality", fixed_lg_code));
    else
      check_error(decided.err());
  }
  if (run("need")) {
    auto state = pick(s.need);
    need_context context;
    if (with_context) context.municipality = &s.municipality;
    auto decided = decide_need(cmd, state, need_id, context);
    if (decided)
      evolve_decided(state, *decided, stream_name("need", need_id));
    else
      check_error(decided.err());
  }
  if (run("candidacy")) {
    auto state = pick(s.candidacy);
    candidacy_context context;
    if (with_context) {
      context.talent = &s.talent;
      context.need = &s.need;
    }
    auto decided = decide_candidacy(cmd, state, candidacy_id, context);
    if (decided)
      evolve_decided(state, *decided, stream_name("candidacy", candidacy_id));
    else
      check_error(decided.err());
  }
  if (run("appointment")) {
    auto state = pick(s.appointment);
    appointment_context context;
    if (with_context) {
      context.candidacy = &s.candidacy;
      context.need = &s.need;
    }
    auto decided = decide_appointment(cmd, state, appointment_id, context);
    if (decided)
      evolve_decided(state, *decided, stream_name("appointment", appointment_id));
    else
      check_error(decided.err());
  }
}

}  // namespace
}  // namespace kakehashi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kakehashi;
  using namespace kakehashi::fuzz;
  if (size < 2) return 0;
  const auto types = event_types();
  const event_type_info& info = types[data[0] % types.size()];
  const std::uint8_t flags = data[1];
  std::string_view json(reinterpret_cast<const char*>(data) + 2, size - 2);

  auto encoded = encode_payload(info.type, json);
  if (!encoded) {
    check_error(encoded.err());
    return 0;
  }
  const std::string& pub = encoded->public_bytes;
  const std::string& personal = encoded->personal_bytes;
  if (info.personal_schema.has_value() == personal.empty())
    fail("personal bytes present exactly when the type has personal fields");
  std::optional<std::string_view> personal_arg;
  if (!personal.empty()) personal_arg = personal;

  std::string full = decode_or_fail(info.type, pub, personal_arg, personal_view::full, "payload");
  decode_or_fail(info.type, pub, std::nullopt, personal_view::redacted, "redacted payload");
  decode_or_fail(info.type, pub, std::nullopt, personal_view::erased, "erased payload");

  // Decoding is a fixed point: what decodes re-encodes (when the encoder accepts its own
  // defaults) to the same JSON.
  if (auto again = encode_payload(info.type, full)) {
    std::optional<std::string_view> again_personal;
    if (!again->personal_bytes.empty()) again_personal = again->personal_bytes;
    std::string second = decode_or_fail(info.type, again->public_bytes, again_personal,
                                        personal_view::full, "re-encoded payload");
    if (second != full) fail("decode(encode(decode(x))) differs:\n" + full + "\n" + second);
  }

  if (info.personal_schema) {
    const std::string ciphertext = "\x01\x04test-sealed-bytes";
    auto sealed = set_sealed(info.type, pub, ciphertext);
    if (!sealed) fail("set_sealed failed: " + sealed.err().message);
    auto back = get_sealed(info.type, *sealed);
    if (!back || *back != ciphertext) fail("sealed bytes do not round-trip");
    std::string redacted =
        decode_or_fail(info.type, pub, std::nullopt, personal_view::redacted, "redacted payload");
    if (decode_or_fail(info.type, *sealed, std::nullopt, personal_view::redacted,
                       "sealed payload") != redacted)
      fail("sealing changed the public fields");
  }

  command cmd;
  cmd.type = std::string(info.type);
  cmd.payload = pub;
  cmd.personal = personal;
  cmd.who = (flags & 4) ? actor{"fuzz-officer", "municipality", ""}
                        : actor{"fuzz-coordinator", "coordinator", "municipality:131016"};
  cmd.occurred_at = 1800000000000000;
  decide_all(info, cmd, flags);
  return 0;
}
