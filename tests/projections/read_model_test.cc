// The read model: any position's model equals a fresh fold up to it, the runner resumes from its
// snapshot exactly, voids are honoured, and the demo's headline holds as of 2025-12-01.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "cli/demo_history.h"
#include "domain_support.h"
#include "engine/fault_injection.h"
#include "events/domain.capnp.h"
#include "events/payload_io.h"
#include "projections/runner.h"
#include "projections/views.h"

using namespace kakehashi;
using namespace kakehashi::test;

namespace {

// Every event from 1 to `position`, applied to an empty model: the definition of "as of".
read_model fresh_fold(const event_store& store, position_t position) {
  read_model model;
  auto read = store_reader(store);
  status failed;
  auto scanned = store.scan(1, [&](const recorded_event& e) {
    if (e.position > position) return false;
    failed = model.apply(e, read);
    return failed.ok();
  });
  REQUIRE(scanned.ok());
  if (!failed) FAIL(describe(failed.err()));
  return model;
}

// The model as of business time `micros` by its definition, folded from position 1: each stream
// up to its first event that occurred after `micros`.
read_model fresh_time_fold(const event_store& store, std::int64_t micros) {
  read_model model;
  std::set<std::string> cut;
  auto read = store_reader(store);
  status failed;
  auto scanned = store.scan(1, [&](const recorded_event& e) {
    if (cut.count(e.stream)) return true;
    if (e.occurred_at > micros) {
      cut.insert(e.stream);
      return true;
    }
    failed = model.apply(e, read);
    return failed.ok();
  });
  REQUIRE(scanned.ok());
  if (!failed) FAIL(describe(failed.err()));
  return model;
}

// The model as the domain layer defines it, computed without read_model::apply: every
// aggregate is fold<State>() of its own stream's events up to `position` (voids honoured),
// last_activity is the business time of each stream's latest event (a need's CandidateAttached
// aside: that is its candidacy's activity), and the position and latest
// business time are those of the events read. The fast paths (store scan, stream index, hinted
// inserts, refold on a void) must give exactly this.
read_model oracle(const event_store& store, position_t position) {
  read_model model;
  std::map<std::string, std::vector<recorded_event>> streams;
  auto scanned = store.scan(1, [&](const recorded_event& e) {
    if (e.position > position) return false;
    model.position = e.position;
    model.last_occurred_at = std::max(model.last_occurred_at, e.occurred_at);
    streams[e.stream].push_back(e);
    return true;
  });
  REQUIRE(scanned.ok());
  for (const auto& [stream, events] : streams) {
    auto dash = stream.find('-');
    if (dash == std::string::npos) continue;
    const std::string category = stream.substr(0, dash), id = stream.substr(dash + 1);
    std::vector<std::string> ids;
    std::vector<event_view> views;
    for (const auto& e : events)
      ids.push_back(e.id.to_string());
    for (std::size_t i = 0; i < events.size(); ++i)
      views.push_back(
          {ids[i], events[i].type, events[i].payload, events[i].occurred_at, events[i].version});
    auto put = [&](auto& states, auto folded) {
      REQUIRE(folded.ok());
      states[id] = std::move(*folded);
      for (const auto& e : events)
        if (category != "need" || e.type != "CandidateAttached")
          model.last_activity[stream] = e.occurred_at;
    };
    if (category == "talent")
      put(model.talents, fold<talent_state>(views));
    else if (category == "need")
      put(model.needs, fold<need_state>(views));
    else if (category == "candidacy")
      put(model.candidacies, fold<candidacy_state>(views));
    else if (category == "appointment")
      put(model.appointments, fold<appointment_state>(views));
    else if (category == "municipality")
      put(model.municipalities, fold<municipality_state>(views));
  }
  return model;
}

// A canonical UUID text for a small number.
std::string id_text(unsigned n) {
  char text[37];
  std::snprintf(text, sizeof text, "0192f000-0000-7000-8000-%012x", n);
  return text;
}

// A small placement history with a void in it.
void small_history(domain_fixture& f) {
  auto need = f.defined_need(2);
  auto arranged = f.arrange(f.accepted_candidacy(f.talent("a@example.jp"), need));
  REQUIRE(arranged.ok());
  auto appointment = arranged->ids.front().second;
  f.must("AppointmentStarted", appointment, "{}");
  f.must(
      "CheckInScheduled", appointment,
      R"({"check_in_id":"0192f000-0000-7000-8000-000000000001","due_on":"2025-07-01","party":"talent"})");
  auto missed = f.run(
      "CheckInMissed", appointment,
      R"({"check_in_id":"0192f000-0000-7000-8000-000000000001","due_on":"2025-07-01","party":"talent"})");
  REQUIRE(missed.ok());
  command_request void_it;
  void_it.type = "EventVoided";
  void_it.aggregate = "appointment";
  void_it.target_id = appointment;
  void_it.body_json =
      R"({"voided_event_id":")" + missed->event_id + R"(","reason":"entered in error"})";
  void_it.who = domain_fixture::coordinator();
  REQUIRE(f.service->execute(void_it).ok());
  f.identify(f.talent("b@example.jp"), need);
  // A talent-driven idea taken up: attached to the need opened for it.
  REQUIRE(f.attach(f.idea(f.talent("c@example.jp")), f.idea_need()).ok());
}

}  // namespace

TEST_CASE("a candidate attached to a need moves its candidacy's last activity, not the need's") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.defined_need();
  const position_t defined = f.store->head_position();
  auto candidacy = f.identify(talent, need);
  auto model = fresh_fold(*f.store, f.store->head_position());
  auto occurred = [&](position_t p) {
    std::int64_t at = 0;
    auto scanned = f.store->scan(p, [&](const recorded_event& e) {
      at = e.occurred_at;
      return false;
    });
    REQUIRE(scanned.ok());
    return at;
  };
  // The need's last event is the CandidateAttached the identification appended to it.
  REQUIRE(f.store->stream_version("need-" + need) == 3);
  CHECK(model.last_activity.at("need-" + need) == occurred(defined));
  CHECK(model.last_activity.at("candidacy-" + candidacy) == occurred(f.store->head_position()));
  CHECK(occurred(f.store->head_position()) > occurred(defined));
}

TEST_CASE("an idea attached to its need is on that need's board, as any candidacy of it") {
  domain_fixture f;
  auto idea = f.idea(f.talent());
  auto need = f.idea_need();
  const position_t before = f.store->head_position();
  REQUIRE(f.attach(idea, need).ok());
  auto cards = [&](const read_model& m, bool proposed_only) {
    auto board = views::pipeline(m, shibuya, "2025-12-01", {}, proposed_only);
    std::vector<std::string> out;
    for (const auto& [stage, needs] : board.at("columns").as_object())
      for (const auto& card : needs.as_array())
        if (card.at("need_id").as_string() == need)
          for (const auto& c : card.at("candidacies").as_array())
            out.push_back(std::string(c.at("candidacy_id").as_string()) + " " +
                          std::string(c.at("direction").as_string()));
    return out;
  };
  auto then = fresh_fold(*f.store, before);
  CHECK(then.candidacies.at(idea).need_id.empty());
  CHECK(cards(then, false).empty());
  auto now = fresh_fold(*f.store, f.store->head_position());
  CHECK(now.candidacies.at(idea).need_id == need);
  CHECK(now.needs.at(need).candidacies.at(idea) == now.candidacies.at(idea).talent_id);
  CHECK(cards(now, false) == std::vector<std::string>{idea + " talent_driven"});
  CHECK(cards(now, true).empty());  // a municipality's board: not before the proposal
  // The need's side of the attachment is no activity of the need, as at identification.
  CHECK(now.last_activity.at("need-" + need) == then.last_activity.at("need-" + need));
}

TEST_CASE("skills stored as free text, before they had to be taxonomy codes, fold and match") {
  domain_fixture f;
  auto talent = f.talent();
  auto need = f.defined_need();
  // What a coordinator could record then: a tool's name on both sides, not a taxonomy code.
  auto store_raw = [&](const std::string& stream, std::string type, std::string payload) {
    new_event e;
    e.type = std::move(type);
    e.payload = std::move(payload);
    e.who = domain_fixture::coordinator();
    must_append(*f.store, single(stream, expected_version::any(), std::move(e)));
  };
  store_raw("talent-" + talent, "TalentProfileUpdated",
            build_payload<schema::TalentProfileUpdated>([](auto p) {
              p.setSealed(kj::StringPtr("sealed").asBytes());  // never opened by the read model
              auto skills = p.initSkills(2);
              skills.set(0, "UiPath");
              skills.set(1, "Excel");
            }));
  store_raw("need-" + need, "RequirementsDefined",
            build_payload<schema::RequirementsDefined>([](auto r) {
              r.setRevision(2);
              r.setRoleCategory("rpa_specialist");
              r.setTier(schema::Tier::HANDS_ON);
              r.initSkills(1).set(0, "UiPath");
              r.setOpenings(1);
            }));
  auto model = fresh_fold(*f.store, f.store->head_position());
  CHECK(model.talents.at(talent).skills == std::vector<std::string>{"UiPath", "Excel"});
  CHECK(model.needs.at(need).requirements->skills == std::vector<std::string>{"UiPath"});
  auto matches = views::matches(model, need, 10);
  REQUIRE(matches.ok());
  const auto& first = matches->at("matches").at(0);
  CHECK(first.at("talent_id").as_string() == talent);
  std::vector<std::string> reasons;
  for (const auto& r : first.at("reasons").as_array())
    reasons.emplace_back(r.at("reason").as_string());
  CHECK(std::count(reasons.begin(), reasons.end(), "skill: UiPath") == 1);
  CHECK(views::talents(model, "UiPath", false).at("talents").as_array().size() == 1);
}

TEST_CASE("a void is honoured by the live model as by a fresh fold") {
  domain_fixture f;
  small_history(f);
  projection_runner runner(*f.store);
  REQUIRE(runner.start().ok());
  REQUIRE(runner.catch_up().ok());
  runner.read([&](const read_model& m) {
    REQUIRE(m.appointments.size() == 1);
    const auto& a = m.appointments.begin()->second;
    auto ci = a.check_ins.find("0192f000-0000-7000-8000-000000000001");
    REQUIRE(ci != a.check_ins.end());
    CHECK_FALSE(ci->second.missed);  // the miss was voided
    CHECK(m.save() == fresh_fold(*f.store, f.store->head_position()).save());
  });
}

TEST_CASE("as of any position the model equals a fresh fold, with or without snapshots") {
  domain_fixture f;
  auto seeded =
      demo::seed(*f.store, *f.service, demo::headline_cutoff_micros + 90LL * 86'400'000'000LL);
  REQUIRE(seeded.ok());
  const auto head = f.store->head_position();
  runner_options options;
  options.snapshot_every = 257;  // many snapshots, so most positions start from one
  projection_runner runner(*f.store, options);
  REQUIRE(runner.start().ok());
  REQUIRE(runner.catch_up().ok());
  CHECK(runner.position() == head);
  CHECK(runner.lag() == 0);

  std::mt19937_64 rng(7);
  std::vector<position_t> positions{1, 62, 63, head};
  for (int i = 0; i < 40; ++i)
    positions.push_back(1 + rng() % head);
  for (auto p : positions) {
    INFO("position " << p);
    auto as_of = model_at_position(*f.store, p);
    REQUIRE(as_of.ok());
    CHECK(as_of->position == p);
    const auto image = as_of->save();
    CHECK(image == fresh_fold(*f.store, p).save());
    CHECK(image == oracle(*f.store, p).save());
  }
  runner.read([&](const read_model& m) { CHECK(m.save() == oracle(*f.store, head).save()); });

  // The runner's snapshot header holds the latest business time it folds. With images along
  // the log, as of any time the fold that may start from one of them equals the one from
  // position 1.
  auto images = f.store->snapshots().list(read_model_snapshot_kind);
  REQUIRE(images.ok());
  REQUIRE_FALSE(images->empty());
  for (const auto& image : *images)
    CHECK(image.last_occurred_at == fresh_fold(*f.store, image.position).last_occurred_at);
  for (position_t p = head / 13; p < head; p += head / 13) {
    auto model = fresh_fold(*f.store, p);
    REQUIRE(f.store->snapshots()
                .save(read_model_snapshot_kind, p, model.last_occurred_at, model.save())
                .ok());
  }
  std::vector<std::int64_t> times{demo::headline_cutoff_micros, 0};
  for (int i = 0; i < 30; ++i) {
    auto event = f.store->read_all(1 + rng() % head, 1, event_filter{});
    REQUIRE(event.ok());
    REQUIRE_FALSE(event->events.empty());
    times.push_back(event->events.front()->occurred_at - static_cast<std::int64_t>(i % 3));
  }
  for (auto t : times) {
    INFO("time " << t);
    auto as_of = model_at_time(*f.store, t);
    REQUIRE(as_of.ok());
    CHECK(as_of->save() == fresh_time_fold(*f.store, t).save());
  }

  // The seeds' headline, as of the date.
  auto then = model_at_time(*f.store, demo::headline_cutoff_micros);
  REQUIRE(then.ok());
  auto h = views::headline(*then).as_object();
  CHECK(h.at("registrants").to_number<int>() == 888);
  CHECK(h.at("appointments").to_number<int>() == 22);
  CHECK(h.at("municipalities_with_appointments").to_number<int>() == 18);

  // A restarted runner resumes from its snapshot at the same state.
  projection_runner restarted(*f.store, options);
  REQUIRE(restarted.start().ok());
  CHECK(restarted.position() == head);
  restarted.read(
      [&](const read_model& m) { CHECK(m.save() == fresh_fold(*f.store, head).save()); });

  // Views over the live model.
  runner.read([&](const read_model& m) {
    auto today = views::tokyo_date(demo::headline_cutoff_micros + 90LL * 86'400'000'000LL);
    auto board = views::pipeline(m, "", today).as_object();
    CHECK(board.at("total").to_number<int>() > 50);
    auto coverage = views::coverage(m).as_object();
    CHECK(coverage.at("municipalities").to_number<int>() == 62);
    auto queue = views::work_queue(m, today).as_object();
    CHECK(queue.contains("check_ins_due"));
    // Ideas only for municipalities with no open need, each with reasons.
    auto ideas = views::ideas(m).as_object().at("ideas").as_array();
    REQUIRE_FALSE(ideas.empty());
    for (const auto& idea : ideas) {
      auto lg = std::string(idea.as_object().at("lg_code").as_string());
      for (const auto& [id, n] : m.needs)
        CHECK_FALSE((n.open() && n.lg_code == lg));
      CHECK_FALSE(idea.as_object().at("talents").as_array().empty());
    }
    auto funnel = views::funnel(m, today).as_object();
    CHECK(funnel.at("registered").to_number<int>() > 888);
    // Suggestions exclude talents already on the need and say why they rank.
    for (const auto& [id, n] : m.needs) {
      if (!n.requirements || n.candidacies.empty() || !n.open()) continue;
      auto found = views::matches(m, id);
      REQUIRE(found.ok());
      auto list = found->as_object().at("matches").as_array();
      REQUIRE_FALSE(list.empty());
      for (const auto& s : list) {
        CHECK(n.candidacies.end() ==
              std::find_if(n.candidacies.begin(), n.candidacies.end(), [&](const auto& kv) {
                return kv.second == s.as_object().at("talent_id").as_string();
              }));
        CHECK_FALSE(s.as_object().at("reasons").as_array().empty());
      }
      break;
    }
  });
}

constexpr std::int64_t day = 86'400'000'000LL;

// Runs a command that happened at business time `when`; returns the id it answers first.
std::string execute_at(command_service& service, std::string type, std::string target,
                       std::string body, std::int64_t when) {
  command_request request;
  request.type = std::move(type);
  request.target_id = std::move(target);
  request.body_json = std::move(body);
  request.who = domain_fixture::coordinator();
  request.occurred_at = when;
  auto done = service.execute(std::move(request));
  if (!done) FAIL(describe(done.err()));
  return done->ids.front().second;
}

TEST_CASE("as of a time, a backdated event never comes before its stream's earlier events") {
  domain_fixture f;
  const std::int64_t base = demo::headline_cutoff_micros;
  auto at = [&](std::string type, std::string target, std::string body, std::int64_t when) {
    return execute_at(*f.service, std::move(type), std::move(target), std::move(body), when);
  };
  auto need = at("NeedOpened", "", need_opening_body(shibuya), base + 10 * day);
  // Entered late with the date it really happened: before the opening in business time, after
  // it in the stream.
  at("NeedPutOnHold", need, R"({"reason":"budget"})", base + 5 * day);
  const auto today = views::tokyo_date(base + 30 * day);

  auto before_opening = model_at_time(*f.store, base + 7 * day);
  REQUIRE(before_opening.ok());
  CHECK(before_opening->needs.count(need) == 0);
  CHECK(views::pipeline(*before_opening, "", today).as_object().at("total") == 0);

  auto after_opening = model_at_time(*f.store, base + 12 * day);
  REQUIRE(after_opening.ok());
  REQUIRE(after_opening->needs.count(need) == 1);
  CHECK(after_opening->needs.at(need).stage == need_stage::consulted);
  CHECK(after_opening->needs.at(need).on_hold);
}

// Saves, as the snapshot at the head, the model folded up to it with a marker need added: a model
// no fold gives, so an as-of read that has it started from this image. The header's time is the
// model's unless `header_time` says otherwise.
std::string save_marked_image(event_store& store, std::optional<std::int64_t> header_time = {}) {
  const auto head = store.head_position();
  auto model = fresh_fold(store, head);
  const auto marker = new_uuid_v7().to_string();
  model.needs[marker] = need_state{};
  REQUIRE(store.snapshots()
              .save(read_model_snapshot_kind, head, header_time.value_or(model.last_occurred_at),
                    model.save())
              .ok());
  return marker;
}

TEST_CASE("as of a time, the fold starts from the newest snapshot no later event went into") {
  const std::int64_t base = demo::headline_cutoff_micros;
  temp_dir dir;
  auto store = open_store(dir);
  auto service = command_service::create(*store);
  REQUIRE(list_reference_municipalities(*service, base - day).ok());
  auto open_on = [&](int d) {
    return execute_at(*service, "NeedOpened", "", need_opening_body(shibuya), base + d * day);
  };
  const auto first = open_on(1);
  open_on(2);
  const auto marked_2 = save_marked_image(*store);  // folds days 1 and 2
  const auto third = open_on(3);
  const auto fourth = open_on(4);
  // Entered late: day 0 in business time, after day 4 in the log.
  execute_at(*service, "NeedPutOnHold", first, R"({"reason":"budget"})", base);
  const auto marked_4 = save_marked_image(*store);  // folds days 0 to 4
  auto as_of = [&](std::int64_t micros) {
    auto model = model_at_time(*store, micros);
    REQUIRE(model.ok());
    return std::move(*model);
  };

  auto day_1 = as_of(base + day + 1);  // before the first image's latest event: from scratch
  CHECK(day_1.needs.count(marked_2) == 0);
  CHECK(day_1.needs.size() == 1);
  CHECK(day_1.needs.at(first).on_hold);  // the backdated hold, folded from position 1

  auto day_3 = as_of(base + 3 * day);  // the second image folds day 4: the first image
  CHECK(day_3.needs.count(marked_2) == 1);
  CHECK(day_3.needs.count(marked_4) == 0);
  CHECK(day_3.needs.count(third) == 1);
  CHECK(day_3.needs.count(fourth) == 0);
  CHECK(day_3.needs.at(first).on_hold);  // folded after the image

  auto day_4 = as_of(base + 4 * day);
  CHECK(day_4.needs.count(marked_4) == 1);
  CHECK(day_4.needs.count(marked_2) == 0);

  // A header that says less than its model: the model loaded is checked, so the image is not
  // used for an earlier time and the fold starts from position 1.
  open_on(5);
  const auto lying = save_marked_image(*store, base + day);
  auto day_1_again = as_of(base + day + 1);
  CHECK(day_1_again.needs.count(lying) == 0);
  CHECK(day_1_again.save() == day_1.save());
  CHECK(as_of(base + 5 * day).needs.count(lying) == 1);
}

TEST_CASE("the pipeline leaves out a need it has no column for rather than failing") {
  read_model m;
  m.needs["0192f000-0000-7000-8000-000000000001"] = need_state{};  // no NeedOpened
  auto board = views::pipeline(m, "", "2025-12-01").as_object();
  CHECK(board.at("total") == 0);
}

TEST_CASE("the model folded from the store equals per-stream domain folds, voids included") {
  domain_fixture f;
  small_history(f);
  projection_runner runner(*f.store);
  REQUIRE(runner.start().ok());
  REQUIRE(runner.catch_up().ok());
  const auto head = f.store->head_position();
  runner.read([&](const read_model& m) { CHECK(m.save() == oracle(*f.store, head).save()); });
  for (position_t p = 1; p <= head; ++p) {
    INFO("position " << p);
    CHECK(fresh_fold(*f.store, p).save() == oracle(*f.store, p).save());
  }
  // A rebuild starts from nothing and gets the same model.
  REQUIRE(runner.rebuild().ok());
  CHECK(runner.position() == head);
  runner.read([&](const read_model& m) { CHECK(m.save() == oracle(*f.store, head).save()); });
  // Following live after a catch-up picks up exactly the events after it.
  auto more = f.talent("c@example.jp");
  std::thread follower([&] { runner.run(); });
  CHECK(runner.wait_for(f.store->head_position(), std::chrono::seconds(10)));
  runner.stop();
  follower.join();
  runner.read([&](const read_model& m) {
    CHECK(m.talents.count(more) == 1);
    CHECK(m.save() == oracle(*f.store, f.store->head_position()).save());
  });
}

TEST_CASE("streams arriving in any key order all land in the model, and again from a snapshot") {
  temp_dir dir;
  auto store = open_store(dir);
  // Ids in shuffled order with runs of neighbours (as ids made in one millisecond are), every
  // category, some streams more than once.
  std::mt19937_64 rng(5);
  std::vector<std::string> ids;
  for (unsigned i = 0; i < 400; ++i)
    ids.push_back(id_text(i * 7 % 400));
  for (std::size_t i = 0; i + 1 < ids.size(); i += 1 + rng() % 5)
    std::shuffle(ids.begin() + i, ids.begin() + std::min(ids.size(), i + 1 + rng() % 12), rng);
  const std::string empty_message(8, '\0');  // a valid Cap'n Proto message with no root
  const char* categories[] = {"talent",      "need",         "candidacy",
                              "appointment", "municipality", "other"};
  std::map<std::string, std::int64_t> expected_activity;
  std::int64_t when = 1'700'000'000'000'000;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string stream = std::string(categories[i % 6]) + "-" + ids[(i * 13) % ids.size()];
    auto event = make_event("Noted", empty_message);
    event.occurred_at = ++when;
    must_append(*store, single(stream, expected_version::any(), std::move(event)));
    if (i % 6 != 5) expected_activity[stream] = when;
  }
  read_model model;
  auto read = store_reader(*store);
  auto scanned = store->scan(1, [&](const recorded_event& e) {
    REQUIRE(model.apply(e, read).ok());
    return true;
  });
  REQUIRE(scanned.ok());
  CHECK(std::map<std::string, std::int64_t>(model.last_activity.begin(),
                                            model.last_activity.end()) == expected_activity);
  CHECK(model.save() == oracle(*store, store->head_position()).save());
  // A model loaded from a snapshot (an empty index) folds more events into the same entries.
  auto loaded = read_model::load(model.save());
  REQUIRE(loaded.ok());
  read_model copy = model;  // a copy starts with an empty index too
  REQUIRE_FALSE(model.talents.empty());
  const std::string talent = std::next(model.talents.begin(), 3)->first;
  const auto before = model.talents.at(talent).events;
  for (auto* m : {&*loaded, &copy}) {
    auto event = make_event("Noted", empty_message);
    event.occurred_at = ++when;
    must_append(*store, single("talent-" + talent, expected_version::any(), std::move(event)));
    auto events =
        store->read_stream("talent-" + talent, ~std::uint64_t{0}, read_direction::backward, 1);
    REQUIRE(events.ok());
    REQUIRE(m->apply(*events->back(), read).ok());
    CHECK(m->last_activity.at("talent-" + talent) == when);
    CHECK(m->talents.at(talent).events == before + 1);
    CHECK(m->talents.size() == model.talents.size());
    CHECK(m->last_activity.size() == model.last_activity.size());
  }
  // A moved-from model used again starts afresh and leaves the one it moved into alone.
  read_model target = std::move(copy);
  const auto target_image = target.save();
  const std::string fresh = id_text(999);  // a talent the model has not seen
  for (const auto& stream : {"talent-" + talent, "talent-" + fresh}) {
    auto event = make_event("Noted", empty_message);
    event.occurred_at = ++when;
    must_append(*store, single(stream, expected_version::any(), std::move(event)));
    auto last = store->read_stream(stream, ~std::uint64_t{0}, read_direction::backward, 1);
    REQUIRE(last.ok());
    REQUIRE(copy.apply(*last->back(), read).ok());
  }
  CHECK(target.save() == target_image);
  CHECK(copy.talents.size() == 2);
  CHECK(copy.talents.at(talent).events == 1);
  CHECK(copy.last_activity.at("talent-" + fresh) == when);
}

TEST_CASE("a long catch-up, read on a helper thread, equals the oracle while readers look on") {
  temp_dir dir;
  auto store = open_store(dir);
  const std::string empty_message(8, '\0');
  const char* categories[] = {"talent", "need", "candidacy", "appointment"};
  std::int64_t when = 1'700'000'000'000'000;
  for (unsigned batch = 0; batch < 120; ++batch) {  // 6,000 events: past the inline threshold
    append_request request;
    for (unsigned s = 0; s < 5; ++s) {
      const unsigned n = (batch * 5 + s) % 400;
      std::vector<new_event> events;
      for (unsigned i = 0; i < 10; ++i) {
        events.push_back(make_event("Noted", empty_message));
        events.back().occurred_at = ++when;
      }
      request.streams.push_back(stream_append{std::string(categories[n % 4]) + "-" + id_text(n),
                                              expected_version::any(), std::move(events)});
    }
    must_append(*store, std::move(request));
  }
  const auto head = store->head_position();
  REQUIRE(head == 6000);
  projection_runner runner(*store);
  REQUIRE(runner.start().ok());
  std::atomic<bool> done{false};
  std::thread follower([&] { runner.run(); });
  std::thread reader([&] {
    while (!done) {
      runner.read([&](const read_model& m) {
        CHECK(m.position <= head);
        return m.talents.size();
      });
      std::this_thread::yield();
    }
  });
  CHECK(runner.wait_for(head, std::chrono::seconds(30)));
  done = true;
  reader.join();
  runner.stop();
  follower.join();
  runner.read([&](const read_model& m) { CHECK(m.save() == oracle(*store, head).save()); });
  // A rebuild on this thread gets the same.
  REQUIRE(runner.rebuild().ok());
  runner.read([&](const read_model& m) { CHECK(m.save() == oracle(*store, head).save()); });
}

TEST_CASE("a snapshot keeps every string exactly, packed UUIDs or not") {
  read_model m;
  const std::vector<std::string> texts{
      "",
      "0192f000-0000-7000-8000-000000000001",         // a UUID: packed
      "talent-0192f000-0000-7000-8000-0000000000ff",  // a stream: prefix + packed UUID
      "0192F000-0000-7000-8000-000000000001",         // upper case: kept as text
      "0192f000-0000-7000-8000-00000000000g",         // not hex
      "0192f000+0000-7000-8000-000000000001",         // misplaced separator
      "0192f000-0000-7000-8000-00000000001",          // 35 characters
      "x0192f000-0000-7000-8000-000000000001",        // 37, packed after one byte of text
      std::string(300, 'z'),
  };
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto& t = m.talents[texts[i]];
    t.skills = texts;
    t.consent_version = texts[i];
    t.entries.not_voidable = {0, 1, ~std::uint64_t{0}, 0x8000000000000000ULL};
    m.last_activity[texts[i]] = -static_cast<std::int64_t>(i);
  }
  auto image = m.save();
  auto loaded = read_model::load(image);
  REQUIRE(loaded.ok());
  CHECK(loaded->save() == image);
  REQUIRE(loaded->talents.size() == texts.size());
  for (const auto& text : texts) {
    INFO(text);
    REQUIRE(loaded->talents.count(text) == 1);
    CHECK(loaded->talents.at(text).skills == texts);
    CHECK(loaded->talents.at(text).consent_version == text);
    CHECK(loaded->talents.at(text).entries.not_voidable == m.talents.at(text).entries.not_voidable);
  }
  CHECK(loaded->last_activity == m.last_activity);
  // A packed UUID takes 16 bytes, not 36.
  read_model one;
  one.talents[texts[1]];
  read_model other;
  other.talents[texts[3]];
  CHECK(one.save().size() + 20 == other.save().size());
}

TEST_CASE("a large model, encoded on two threads, loads back exactly") {
  read_model m;
  m.position = 123456;
  m.last_occurred_at = 1'700'000'000'000'000;
  for (unsigned i = 0; i < 6000; ++i) {
    const std::string id = id_text(i);
    m.talents[id].skills = {"python", std::to_string(i)};
    m.needs[id].candidacies[id_text(i + 1)] = id;
    m.candidacies[id].entered_at[3] = i;
    m.appointments[id].check_ins[id_text(i + 2)].due_on = "2025-07-01";
    m.appointments[id].entries.by_id.insert(id_text(i + 3));
    m.last_activity["talent-" + id] = i;
  }
  REQUIRE(m.talents.size() + m.needs.size() + m.candidacies.size() + m.appointments.size() +
              m.last_activity.size() >
          (1u << 14));
  const auto image = m.save();
  auto loaded = read_model::load(image);
  REQUIRE(loaded.ok());
  CHECK(loaded->save() == image);
  CHECK(loaded->position == m.position);
  CHECK(loaded->talents.at(id_text(77)).skills.back() == "77");
  CHECK(loaded->appointments.at(id_text(5999)).check_ins.count(id_text(6001)) == 1);
  CHECK(loaded->appointments.at(id_text(5999)).entries.by_id.count(id_text(6002)) == 1);
  CHECK(loaded->last_activity.at("talent-" + id_text(4321)) == 4321);
  // Just past the threshold with almost everything in the second half.
  read_model small;
  small.appointments[id_text(1)];
  read_model big = small;
  for (unsigned i = 0; i < (1u << 14); ++i)
    big.last_activity["need-" + id_text(i)] = i;
  auto big_loaded = read_model::load(big.save());
  REQUIRE(big_loaded.ok());
  CHECK(big_loaded->appointments.size() == 1);
  CHECK(big_loaded->last_activity == big.last_activity);
}

TEST_CASE("a snapshot of another version is discarded and the model rebuilt") {
  domain_fixture f;
  small_history(f);
  // A snapshot as an older build would have left it.
  std::string stale(8, '\0');
  stale[0] = 99;
  REQUIRE(f.store->snapshots().save(read_model_snapshot_kind, 5, 0, stale).ok());
  projection_runner runner(*f.store);
  REQUIRE(runner.start().ok());
  CHECK(runner.position() == 0);
  auto left = f.store->snapshots().list(read_model_snapshot_kind);
  REQUIRE(left.ok());
  CHECK(left->empty());  // discarded
  REQUIRE(runner.catch_up().ok());
  runner.read([&](const read_model& m) {
    CHECK(m.save() == fresh_fold(*f.store, f.store->head_position()).save());
  });
  CHECK_FALSE(read_model::load(stale).ok());
}

TEST_CASE("a malformed snapshot is refused, never crashes") {
  std::mt19937_64 rng(11);
  read_model m;
  m.talents["x"].skills = {"a", "b"};
  auto image = m.save();
  for (std::size_t cut = 0; cut < image.size(); ++cut)
    CHECK_FALSE(read_model::load(image.substr(0, cut)).ok());
  for (int i = 0; i < 2000; ++i) {
    auto bad = image;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    (void)read_model::load(bad);  // may or may not parse; must not crash or over-allocate
  }
  CHECK(read_model::load(image).ok());
}

TEST_CASE("a following runner spaces its snapshots so they store no more bytes than the log") {
  domain_fixture f;
  runner_options options;
  options.snapshot_every = 1;  // the event count alone would snapshot after every batch
  projection_runner runner(*f.store, options);
  REQUIRE(runner.start().ok());
  std::thread follower([&] { runner.run(); });
  // One event per batch of the live feed: each is a chance to snapshot.
  for (int i = 0; i < 400; ++i) {
    f.talent(std::to_string(i) + "@example.jp");
    REQUIRE(runner.wait_for(f.store->head_position(), std::chrono::seconds(10)));
  }
  runner.stop();
  follower.join();

  auto listed = f.store->snapshots().list(read_model_snapshot_kind);
  REQUIRE(listed.ok());
  std::vector<std::pair<position_t, std::size_t>> snapshots;  // position, image bytes
  for (const auto& entry : *listed) {
    auto image = f.store->snapshots().load(read_model_snapshot_kind, entry.position);
    REQUIRE(image.ok());
    REQUIRE(image->has_value());
    REQUIRE((*image)->position == entry.position);
    auto loaded = read_model::load((*image)->bytes);
    REQUIRE(loaded.ok());
    CHECK(loaded->position == entry.position);
    CHECK(entry.bytes == (*image)->bytes.size());
    snapshots.emplace_back(loaded->position, (*image)->bytes.size());
  }
  REQUIRE(snapshots.size() >= 3);  // still taken as the log grows
  for (std::size_t i = 1; i < snapshots.size(); ++i) {
    const auto [from, image_bytes] = snapshots[i - 1];
    const auto to = snapshots[i].first;
    std::uint64_t logged = 0;
    REQUIRE(f.store
                ->scan(from + 1,
                       [&](const recorded_event& e) {
                         if (e.position > to) return false;
                         logged += e.stored_bytes;
                         return true;
                       })
                .ok());
    INFO("snapshots at " << from << " and " << to);
    CHECK(logged >= image_bytes);
  }
}

TEST_CASE("reading your writes: wait_for returns once the model reached a position, or times out") {
  domain_fixture f;
  projection_runner runner(*f.store);
  REQUIRE(runner.start().ok());
  std::thread follower([&] { runner.run(); });
  auto talent = f.talent();
  auto head = f.store->head_position();
  CHECK(runner.wait_for(head, std::chrono::seconds(10)));
  runner.read([&](const read_model& m) { CHECK(m.talents.count(talent) == 1); });
  CHECK_FALSE(runner.wait_for(head + 1000, std::chrono::milliseconds(100)));
  runner.stop();
  follower.join();
}

TEST_CASE("snapshots an earlier version kept in the projection store are deleted at start") {
  domain_fixture f;
  small_history(f);
  const auto head = f.store->head_position();
  // A snapshot where earlier versions stored them, through the append WAL.
  const auto legacy = fresh_fold(*f.store, head - 1).save();
  REQUIRE(f.store->projections().write({{read_model_snapshot_key(head - 1), legacy}}).ok());
  f.service.reset();
  f.store.reset();
  f.store = open_store(f.dir);
  {
    projection_runner runner(*f.store);
    REQUIRE(runner.start().ok());
    CHECK(runner.position() == 0);  // from an image file or from position 1, never the legacy one
    auto left = f.store->projections().keys(read_model_snapshot_prefix, 10);
    REQUIRE(left.ok());
    CHECK(left->empty());
    REQUIRE(runner.catch_up().ok());
    runner.read([&](const read_model& m) { CHECK(m.save() == fresh_fold(*f.store, head).save()); });
  }
  // As of any position, from the image files only.
  auto as_of = model_at_position(*f.store, head - 1);
  REQUIRE(as_of.ok());
  CHECK(as_of->save() == legacy);
}

TEST_CASE("a read-only store's runner and as-of queries read images and write nothing") {
  domain_fixture f;
  small_history(f);
  const auto head = f.store->head_position();
  {
    projection_runner runner(*f.store);
    REQUIRE(runner.start().ok());
    REQUIRE(runner.catch_up().ok());
  }
  REQUIRE(f.store->projections().write({{read_model_snapshot_key(1), "legacy"}}).ok());
  f.service.reset();
  f.store.reset();
  store_options options;
  options.path = f.dir.db_path();
  options.read_only = true;
  f.store = open_store(options);
  projection_runner runner(*f.store);
  REQUIRE(runner.start().ok());
  CHECK(runner.position() == head);  // from the image
  auto left = f.store->projections().keys(read_model_snapshot_prefix, 10);
  REQUIRE(left.ok());
  CHECK(left->size() == 1);  // not deleted by a read-only store
  auto rebuilt = runner.rebuild();
  REQUIRE_FALSE(rebuilt.ok());
  CHECK(f.store->snapshots().list(read_model_snapshot_kind)->size() == 1);
  auto as_of = model_at_position(*f.store, head);
  REQUIRE(as_of.ok());
  CHECK(as_of->save() == fresh_fold(*f.store, head).save());
}

TEST_CASE("a runner whose snapshot images cannot be written goes on following the log") {
  domain_fixture f;
  small_history(f);
  // The same data directory, now on a disk where every snapshot file write fails.
  auto faults = fault_injector::create(17);
  faults->add_rule({fault_op::write, fault_file::snapshot});
  store_options options;
  options.path = f.dir.db_path();
  options.faults = faults;
  f.service.reset();
  f.store.reset();
  f.store = open_store(options);
  f.service = command_service::create(*f.store);
  runner_options spaced;
  spaced.snapshot_every = 1;
  projection_runner runner(*f.store, spaced);
  REQUIRE(runner.start().ok());
  auto caught_up = runner.catch_up();  // its closing snapshot fails: said so, the model is there
  REQUIRE_FALSE(caught_up.ok());
  CHECK(caught_up.err().kind == errc::io_error);
  CHECK(runner.position() == f.store->head_position());
  std::thread follower([&] { runner.run(); });
  for (int i = 0; i < 5; ++i) {
    auto talent = f.talent(std::to_string(i) + "@example.jp");
    REQUIRE(runner.wait_for(f.store->head_position(), std::chrono::seconds(30)));
    runner.read([&](const read_model& m) { CHECK(m.talents.count(talent) == 1); });
  }
  runner.stop();
  follower.join();
  CHECK_FALSE(f.store->writes_failed());  // the log is not fenced by an image
  CHECK(f.store->snapshots().list(read_model_snapshot_kind)->empty());
  runner.read([&](const read_model& m) {
    CHECK(m.save() == fresh_fold(*f.store, f.store->head_position()).save());
  });
}
