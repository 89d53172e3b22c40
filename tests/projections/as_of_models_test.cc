// As-of models shared between reads (projections/as_of_models.h): one fold per point however
// many ask for it at once, a new fold for a time once an event dated before it is appended, and
// the same model a fold of its own gives.
#include "projections/as_of_models.h"

#include <latch>
#include <thread>
#include <vector>

#include "cli/demo_history.h"
#include "domain_support.h"

using namespace kakehashi;
using namespace kakehashi::test;

namespace {

constexpr std::int64_t day = 86'400'000'000LL;
const std::int64_t base = demo::headline_cutoff_micros;

// A store whose municipalities were listed before `base`, so that times after it see them.
struct dated_store {
  temp_dir dir;
  std::unique_ptr<event_store> store = open_store(dir);
  std::unique_ptr<command_service> service = command_service::create(*store);

  dated_store() { REQUIRE(list_reference_municipalities(*service, base - day).ok()); }

  std::string open_need_on(std::int64_t when) {
    auto request = domain_fixture::request("NeedOpened", "", need_opening_body(shibuya));
    request.occurred_at = when;
    auto done = service->execute(std::move(request));
    if (!done) FAIL(describe(done.err()));
    return done->ids.front().second;
  }
};

TEST_CASE("as-of reads of one position share one fold, which another position replaces") {
  dated_store s;
  s.open_need_on(base + day);
  s.open_need_on(base + 2 * day);
  const auto head = s.store->head_position();
  as_of_models models(*s.store);

  auto first = models.at_position(head);
  REQUIRE(first.ok());
  auto again = models.at_position(head);
  REQUIRE(again.ok());
  CHECK(again->get() == first->get());
  CHECK((*first)->save() == model_at_position(*s.store, head)->save());
  CHECK(models.statistics().computed == 1);
  CHECK(models.statistics().shared == 1);

  auto earlier = models.at_position(head - 1);
  REQUIRE(earlier.ok());
  CHECK((*earlier)->position == head - 1);
  CHECK((*earlier)->needs.size() == 1);
  auto back = models.at_position(head);  // only the last model is kept
  REQUIRE(back.ok());
  CHECK(back->get() != first->get());
  CHECK((*back)->save() == (*first)->save());
  CHECK(models.statistics().computed == 3);
}

TEST_CASE(
    "an as-of read of a time folds afresh only for an event appended since that is dated before "
    "it") {
  dated_store s;
  s.open_need_on(base + 10 * day);
  as_of_models models(*s.store);
  const std::int64_t then = base + 20 * day;
  auto first = models.at_time(then);
  REQUIRE(first.ok());
  CHECK((*first)->needs.size() == 1);
  auto again = models.at_time(then);
  REQUIRE(again.ok());
  CHECK(again->get() == first->get());

  // Entered after `then`, dated after it: cut by the fold, so the kept model still answers.
  s.open_need_on(base + 30 * day);
  auto later = models.at_time(then);
  REQUIRE(later.ok());
  CHECK(later->get() == first->get());
  CHECK(models.statistics().computed == 1);

  // Entered now, dated before `then`: the answer as of `then` changes.
  s.open_need_on(base + 5 * day);
  auto after = models.at_time(then);
  REQUIRE(after.ok());
  CHECK((*after)->needs.size() == 2);
  CHECK((*after)->save() == model_at_time(*s.store, then)->save());
  CHECK(models.statistics().computed == 2);
}

TEST_CASE("reads of one point at once run one fold and get one model") {
  domain_fixture f;
  auto seeded = demo::seed(*f.store, *f.service, demo::headline_cutoff_micros);
  REQUIRE(seeded.ok());
  as_of_models models(*f.store);
  constexpr int readers = 8;
  std::latch start(readers);
  std::vector<as_of_models::model_ptr> got(readers);
  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i)
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto model = models.at_time(demo::headline_cutoff_micros);
      if (model) got[static_cast<std::size_t>(i)] = *model;
    });
  for (auto& t : threads)
    t.join();
  for (const auto& model : got) {
    REQUIRE(model);
    CHECK(model.get() == got.front().get());
  }
  CHECK(models.statistics().computed == 1);
  CHECK(models.statistics().shared == readers - 1);
  CHECK(got.front()->save() == model_at_time(*f.store, demo::headline_cutoff_micros)->save());
}

}  // namespace
