// The withdrawal process manager (invariant 8): archives open candidacies, flags (does not end)
// active appointments, and never acts twice, also across restarts.
#include "engine/process_manager.h"

#include "domain_support.h"

using namespace kakehashi;
using namespace kakehashi::test;

TEST_CASE("a withdrawal archives open candidacies and flags active appointments, once") {
  domain_fixture f;
  auto talent = f.talent();
  auto need_a = f.defined_need(1);
  auto need_b = f.defined_need(1);
  auto open_candidacy = f.identify(talent, need_b);
  // An idea taken up is archived like any candidacy of its need.
  auto idea = f.idea(talent);
  auto idea_need = f.idea_need();
  REQUIRE(f.attach(idea, idea_need).ok());
  auto arranged = f.arrange(f.accepted_candidacy(talent, need_a));
  REQUIRE(arranged.ok());
  auto appointment = arranged->ids.front().second;
  f.must("AppointmentStarted", appointment, "{}");
  // Someone else's candidacy is left alone.
  auto other = f.identify(f.talent("other@example.jp"), need_b);

  f.must("TalentWithdrew", talent, R"({"reason":"busy"})");
  {
    process_manager manager(*f.store, *f.service);
    REQUIRE(manager.poll().ok());
    CHECK(manager.commands_sent() == 3);
  }
  auto i = f.service->candidacy(idea);
  REQUIRE(i.ok());
  CHECK(i->stage == candidacy_stage::archived);
  CHECK(i->need_id == idea_need);
  auto c = f.service->candidacy(open_candidacy);
  REQUIRE(c.ok());
  CHECK(c->stage == candidacy_stage::archived);
  auto a = f.service->appointment(appointment);
  REQUIRE(a.ok());
  CHECK(a->status == appointment_status::active);  // flagged, not ended
  CHECK(a->flags == 1);
  auto o = f.service->candidacy(other);
  REQUIRE(o.ok());
  CHECK(o->stage == candidacy_stage::identified);
  // The reactions name the withdrawal as their cause.
  auto archived = read_stream_all(*f.store, "candidacy-" + open_candidacy).back();
  auto withdrawal = read_stream_all(*f.store, "talent-" + talent).back();
  CHECK(archived->causation_id == withdrawal->id);
  CHECK(archived->who.role == "system");

  // A restarted manager replays the log and appends nothing.
  auto head = f.store->head_position();
  process_manager restarted(*f.store, *f.service);
  REQUIRE(restarted.poll().ok());
  CHECK(restarted.commands_sent() == 0);
  CHECK(f.store->head_position() == head);
}

TEST_CASE("erasing a talent withdraws them first, so the process manager still acts") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.defined_need();
  auto candidacy = f.identify(talent, need);
  REQUIRE(erase_talent(*f.service, *f.store, talent, "APPI request", actor{"a", "admin", ""}).ok());
  process_manager manager(*f.store, *f.service);
  REQUIRE(manager.poll().ok());
  auto c = f.service->candidacy(candidacy);
  REQUIRE(c.ok());
  CHECK(c->stage == candidacy_stage::archived);
  auto t = f.service->talent(talent);
  REQUIRE(t.ok());
  CHECK(t->erased);
  CHECK(t->status == talent_status::withdrawn);
  // Erasing again is allowed (it re-checks the key is gone) and appends nothing.
  auto head = f.store->head_position();
  CHECK(erase_talent(*f.service, *f.store, talent, "again", actor{"a", "admin", ""}).ok());
  CHECK(f.store->head_position() == head);
}
