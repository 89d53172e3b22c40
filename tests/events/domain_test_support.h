// Test support for the domain deciders: commands built from JSON through the real codec, and an
// in-memory set of streams that decisions are applied to and states are folded from, so a test
// drives an aggregate through its life the way the command service will. Pure, no IO.
// A `scenario` is a single-threaded value owned by one test case.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/domain.h"
#include "events/event_codec.h"

namespace kakehashi::test {

// Tokyo codes with valid check digits: 千代田区, 豊島区, 多摩市.
inline constexpr const char* chiyoda = "131016";
inline constexpr const char* toshima = "131164";
inline constexpr const char* tama = "132241";

inline const actor coordinator{"coordinator-1", "coordinator", ""};
inline const actor officer{"officer-1", "municipality", ""};
inline const actor system_actor{"system", "system", ""};

// A canonical UUID text for fixed test ids: id(1) = "00000000-0000-7000-8000-000000000001".
inline std::string id(unsigned n, unsigned prefix = 0) {
  char text[40];
  std::snprintf(text, sizeof text, "%08x-0000-7000-8000-%012x", prefix, n);
  return text;
}

// The payload through the real codec; fails the test if it does not validate.
inline encoded_payload encode(std::string_view type, std::string_view json) {
  auto encoded = encode_payload(type, json);
  if (!encoded)
    FAIL(type << " " << json << ": " << encoded.err().code << " " << encoded.err().message);
  return std::move(encoded).value();
}

inline command make_command(std::string type, std::string_view json, const actor& who = coordinator,
                            std::int64_t occurred_at = 0) {
  auto encoded = encode(type, json);
  return {std::move(type), std::move(encoded.public_bytes), std::move(encoded.personal_bytes), who,
          occurred_at};
}

// The decided payload (public bytes) as JSON, personal fields left out.
inline std::string public_json(const decided_event& event) {
  auto json = decode_payload_json(event.type, event.payload, std::nullopt, personal_view::redacted);
  if (!json) FAIL(event.type << ": " << json.err().code << " " << json.err().message);
  return *json;
}

// Checks that `d` is an error of this kind and code.
#define CHECK_REJECTED(d, expected_kind, expected_code)      \
  do {                                                       \
    const auto& rejected_decision_ = (d);                    \
    REQUIRE_FALSE(rejected_decision_.ok());                  \
    CHECK(rejected_decision_.err().code == (expected_code)); \
    CHECK(rejected_decision_.err().kind == (expected_kind)); \
  } while (false)

// One stream's stored events, owning the bytes the event_views point into.
class stream_log {
 public:
  struct stored {
    std::string id, type, payload;
    std::int64_t occurred_at = 0;
  };

  void append(stored event) { events_.push_back(std::move(event)); }
  std::vector<event_view> views() const {
    std::vector<event_view> out;
    std::uint64_t version = 0;
    for (const auto& e : events_)
      out.push_back({e.id, e.type, e.payload, e.occurred_at, ++version});
    return out;
  }
  const std::deque<stored>& events() const { return events_; }

 private:
  std::deque<stored> events_;
};

template <class State>
State fold_or_fail(const std::vector<event_view>& events) {
  auto state = fold<State>(events);
  if (!state) FAIL("fold: " << state.err().code << " " << state.err().message);
  return std::move(state).value();
}

// Streams by name, and the deciders run against states folded from them with the contexts the
// command service would load.
class scenario {
 public:
  // Appends each decided event to its stream (event ids are fresh UUIDs) and returns the ids.
  std::vector<std::string> apply(const decision& d, std::int64_t occurred_at = 0) {
    if (!d) FAIL("decision rejected: " << d.err().code << " " << d.err().message);
    std::vector<std::string> ids;
    for (const auto& e : *d) {
      ids.push_back(id(++next_event_, 0xe0000000u));
      streams_[e.stream].append({ids.back(), e.type, e.payload, occurred_at});
    }
    return ids;
  }
  // Requires the decision, applies it, returns its events.
  std::vector<decided_event> accept(const decision& d, std::int64_t occurred_at = 0) {
    apply(d, occurred_at);
    return *d;
  }
  const stream_log& stream(const std::string& name) { return streams_[name]; }

  talent_state talent(const std::string& t) { return folded<talent_state>("talent-" + t); }
  municipality_state municipality(const std::string& lg) {
    return folded<municipality_state>("municipality-" + lg);
  }
  need_state need(const std::string& n) { return folded<need_state>("need-" + n); }
  candidacy_state candidacy(const std::string& c) {
    return folded<candidacy_state>("candidacy-" + c);
  }
  appointment_state appointment(const std::string& a) {
    return folded<appointment_state>("appointment-" + a);
  }

  // ---- deciding against the folded states ----
  decision on_talent(const std::string& t, const command& cmd) {
    return decide_talent(cmd, talent(t), t);
  }
  decision on_municipality(const std::string& lg, const command& cmd) {
    return decide_municipality(cmd, municipality(lg), lg);
  }
  // `lg` is the municipality NeedOpened names (the service reads it from the payload).
  decision on_need(const std::string& n, const command& cmd, const std::string& lg = chiyoda) {
    auto m = municipality(lg);
    return decide_need(cmd, need(n), n, need_context{&m});
  }
  // For CandidateIdentified pass the payload's talent and need; later commands use the
  // candidacy's own.
  decision on_candidacy(const std::string& c, const command& cmd, std::string talent_id = {},
                        std::string need_id = {}, std::size_t other_open = 0) {
    auto state = candidacy(c);
    if (talent_id.empty()) talent_id = state.talent_id;
    if (need_id.empty()) need_id = state.need_id;
    auto t = talent(talent_id);
    auto n = need(need_id);
    candidacy_context context{&t, need_id.empty() ? nullptr : &n, other_open};
    return decide_candidacy(cmd, state, c, context);
  }
  // For AppointmentArranged pass the payload's candidacy; later commands use the appointment's.
  decision on_appointment(const std::string& a, const command& cmd, std::string candidacy_id = {}) {
    auto state = appointment(a);
    if (candidacy_id.empty()) candidacy_id = state.candidacy_id;
    auto c = candidacy(candidacy_id);
    auto n = need(c.need_id);
    auto t = talent(c.talent_id);
    appointment_context context{&c, c.need_id.empty() ? nullptr : &n, &t};
    return decide_appointment(cmd, state, a, context);
  }

  // ---- the usual paths, each step through a decider ----
  void register_talent(const std::string& t) {
    apply(on_talent(t, make_command("TalentRegistered", R"({
      "display_name": "山田 花子", "email": "hanako@example.jp", "residence_area": "131164",
      "skills": ["rpa", "training"], "role_categories": ["rpa_specialist", "trainer"],
      "tiers": ["hands_on"], "availability": {"hours_per_week": 8, "work_forms": ["remote", "spot"],
      "areas": ["131016", "132241"]}, "consent_version": "2024-04"})")));
  }
  void list_municipality(const std::string& lg) {
    apply(on_municipality(
        lg, make_command("MunicipalityListed", R"({"lg_code": ")" + lg +
                                                   R"(", "name_ja": "テスト区", "name_en": "Test",
                                               "kind": "ward", "region": "23区"})")));
  }
  // A listed municipality and an open need there.
  void open_need(const std::string& n, const std::string& lg = chiyoda) {
    if (municipality(lg).events == 0) list_municipality(lg);
    apply(on_need(n,
                  make_command("NeedOpened", R"({"lg_code": ")" + lg +
                                                 R"(", "origin": "municipality_request",
                                                 "problem": "RPA was bought and nobody uses it"})"),
                  lg));
  }
  // Returns the HearingRecorded event id.
  std::string record_hearing(const std::string& n, const std::string& hearing_id) {
    return apply(on_need(n, make_command("HearingRecorded", R"({"hearing_id": ")" + hearing_id +
                                                                R"(", "held_on": "2025-05-12",
                                                                "notes": "two staff present"})")))
        .front();
  }
  void define_requirements(const std::string& n, unsigned openings = 1) {
    apply(on_need(n, make_command("RequirementsDefined",
                                  R"({"role_category": "rpa_specialist", "tier": "hands_on",
                                  "openings": )" +
                                      std::to_string(openings) + "}")));
  }
  // A need that is ready for proposals: opened, heard, requirements defined, sourcing by scout.
  void ready_need(const std::string& n, unsigned openings = 1, const std::string& lg = chiyoda) {
    open_need(n, lg);
    record_hearing(n, id(900 + next_event_, 0x40000000u));
    define_requirements(n, openings);
    apply(on_need(n, make_command("SourcingModeChosen", R"({"mode": "scout"})")));
  }
  command identify_command(const std::string& t, const std::string& n) {
    return make_command("CandidateIdentified", R"({"talent_id": ")" + t + R"(", "need_id": ")" + n +
                                                   R"(", "direction": "need_driven",
                                                   "source": "scout", "match_score": 0.75})");
  }
  void identify(const std::string& c, const std::string& t, const std::string& n) {
    apply(on_candidacy(c, identify_command(t, n), t, n));
  }
  // Identified, contacted, interested and proposed.
  void propose(const std::string& c, const std::string& t, const std::string& n) {
    identify(c, t, n);
    apply(on_candidacy(c, make_command("TalentContacted", "{}")));
    apply(on_candidacy(c, make_command("InterestConfirmed", "{}")));
    apply(on_candidacy(c, make_command("ProposalSubmitted", "{}")));
  }
  void accept_candidacy(const std::string& c, const std::string& t, const std::string& n) {
    propose(c, t, n);
    apply(on_candidacy(
        c, make_command("MunicipalDecisionRecorded",
                        R"({"accepted": true, "decided_by": "情報政策課長"})", officer)));
  }
  command arrange_command(const std::string& c) {
    return make_command("AppointmentArranged", R"({"candidacy_id": ")" + c + R"(",
      "form": "hybrid", "starts_on": "2025-04-01", "ends_on": "2026-03-31",
      "hours_per_week": 8, "scope": "RPA training for staff"})");
  }
  // An accepted candidacy on a ready need, arranged as appointment `a`.
  void arrange(const std::string& a, const std::string& c, const std::string& t,
               const std::string& n) {
    accept_candidacy(c, t, n);
    apply(on_appointment(a, arrange_command(c), c));
  }

 private:
  template <class State>
  State folded(const std::string& name) {
    return fold_or_fail<State>(streams_[name].views());
  }

  std::map<std::string, stream_log> streams_;
  unsigned next_event_ = 0;
};

}  // namespace kakehashi::test
