// The demo history: seeded through the command service, deterministic, and with the seeds'
// headline as of 2025-12-01: 888 registrants, 22 appointments in 18 municipalities; talent-driven
// ideas taken up on the way.
#include "cli/demo_history.h"

#include <map>
#include <set>

#include "domain_support.h"
#include "engine/event_json.h"
#include "events/domain.capnp.h"
#include "events/payload_io.h"

using namespace kakehashi;
using namespace kakehashi::test;

namespace {

struct headline {
  std::size_t registrants = 0, appointments = 0;
  std::set<std::string> municipalities;
  std::set<std::string> attached_ideas;  // candidacy streams of ideas taken up
  std::size_t appointed_ideas = 0;       // appointments from those
};

headline count_as_of(const event_store& store, std::int64_t cutoff) {
  headline h;
  auto status = store.scan(1, [&](const recorded_event& e) {
    if (e.occurred_at > cutoff) return true;
    if (e.type == "TalentRegistered") ++h.registrants;
    if (e.type == "CandidacyAttachedToNeed") h.attached_ideas.insert(e.stream);
    if (e.type == "AppointmentArranged") {
      ++h.appointments;
      payload_reader reader(e.payload);
      auto arranged = reader.root<schema::AppointmentArranged>();
      h.municipalities.insert(std::string(text_view(arranged.getLgCode())));
      h.appointed_ideas +=
          h.attached_ideas.count("candidacy-" + std::string(text_view(arranged.getCandidacyId())));
    }
    return true;
  });
  REQUIRE(status.ok());
  return h;
}

}  // namespace

TEST_CASE("the demo history gives the seeds' headline as of 2025-12-01 and is deterministic") {
  const std::int64_t until = now_micros();
  domain_fixture first;
  auto seeded = demo::seed(*first.store, *first.service, until);
  if (!seeded) FAIL("seeding failed: " << describe(seeded.err()));
  MESSAGE("demo: " << seeded->commands << " commands, " << seeded->events << " events in "
                   << seeded->seconds << " s");

  auto h = count_as_of(*first.store, demo::headline_cutoff_micros);
  CHECK(h.registrants == 888);
  CHECK(h.appointments == 22);
  CHECK(h.municipalities.size() == 18);
  // The history goes on after the headline date.
  auto later = count_as_of(*first.store, until);
  CHECK(later.registrants > 888);
  CHECK(later.appointments > 22);
  // Talent-driven ideas are taken up: attached to the needs opened for them, one appointed.
  CHECK(h.attached_ideas.size() == 2);
  CHECK(h.appointed_ideas == 0);  // arranged after the headline date
  CHECK(later.appointed_ideas == 1);
  CHECK(first.store->verify().ok);

  // What is written about placements is sealed: in no stored payload, read back through the
  // talent's key by roles with personal-data rights.
  const std::string texts[] = {"本業の異動により継続困難", "任期満了",
                               "庁内ネットワークへのアクセス権限が未付与",
                               "情報政策課がアカウントを発行"};
  std::map<std::string, std::size_t> shown;
  REQUIRE(first.store
              ->scan(1,
                     [&](const recorded_event& e) {
                       for (const auto& text : texts)
                         CHECK(e.payload.find(text) == std::string::npos);
                       if (e.type != "AppointmentEnded" && e.type != "IssueRaised" &&
                           e.type != "IssueResolved")
                         return true;
                       auto json = payload_json(e, *first.store, personal_access::shown);
                       REQUIRE(json.ok());
                       for (const auto& text : texts)
                         if (json->find(text) != std::string::npos) ++shown[text];
                       return true;
                     })
              .ok());
  for (const auto& text : texts) {
    CAPTURE(text);
    CHECK(shown[text] > 0);
  }

  // The same seed gives the same history: ids, streams and types, event by event.
  domain_fixture second;
  auto again = demo::seed(*second.store, *second.service, until);
  REQUIRE(again.ok());
  REQUIRE(second.store->head_position() == first.store->head_position());
  std::vector<std::string> a, b;
  auto collect = [](const event_store& store, std::vector<std::string>& out) {
    REQUIRE(store
                .scan(63,
                      [&](const recorded_event& e) {
                        out.push_back(e.id.to_string() + " " + e.stream + " " + e.type);
                        return true;
                      })
                .ok());
  };
  collect(*first.store, a);
  collect(*second.store, b);
  CHECK(a == b);
}

TEST_CASE("the demo refuses a directory that already has a history") {
  domain_fixture f;
  f.talent();
  auto seeded = demo::seed(*f.store, *f.service, now_micros());
  REQUIRE_FALSE(seeded.ok());
  CHECK(seeded.err().code == "not_empty");
}
