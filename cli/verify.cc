// kakehashi verify, and kakehashi repair for the gap a power cut can leave in the log.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "engine/event_store.h"

namespace kakehashi::cli {

int run_verify(int argc, char** argv, int first) {
  auto parsed = args::parse(argc, argv, first);
  if (!parsed || !parsed->has("data")) {
    std::fputs("usage: kakehashi verify --data DIR\n", stderr);
    return 2;
  }
  store_options options;
  options.path = *parsed->get("data");
  options.create_if_missing = false;
  options.read_only = true;
  options.verify_tail_on_open = 0;  // verify walks everything itself and names the bad position
  auto store = event_store::open(options);
  if (!store) {
    std::fprintf(stderr, "kakehashi verify: cannot open %s: %s\n", options.path.c_str(),
                 store.err().message.c_str());
    return 1;
  }
  verify_report report = (*store)->verify();
  if (report.ok) {
    std::printf("chain intact: %llu events verified, head position %llu\n",
                static_cast<unsigned long long>(report.checked),
                static_cast<unsigned long long>((*store)->head_position()));
    return 0;
  }
  std::printf("chain broken at position %llu: %s (%llu events verified before it)\n",
              static_cast<unsigned long long>(report.first_bad_position), report.problem.c_str(),
              static_cast<unsigned long long>(report.checked));
  if (report.missing)
    std::printf(
        "a gap is what a power cut can leave among unacknowledged appends: "
        "`kakehashi repair --data %s` removes the events after it\n",
        options.path.c_str());
  return 1;
}

namespace {
unsigned long long ull(std::uint64_t v) {
  return static_cast<unsigned long long>(v);
}
}  // namespace

int run_repair(int argc, char** argv, int first) {
  auto parsed = args::parse(argc, argv, first, {"dry-run"});
  if (!parsed || !parsed->has("data")) {
    std::fputs("usage: kakehashi repair --data DIR [--dry-run]\n", stderr);
    return 2;
  }
  store_options options;
  options.path = *parsed->get("data");
  const bool dry_run = parsed->has("dry-run");
  auto repaired = event_store::repair(options, dry_run);
  if (!repaired) {
    std::fprintf(stderr, "kakehashi repair: %s: %s\n", options.path.c_str(),
                 repaired.err().message.c_str());
    return 1;
  }
  const repair_report& r = *repaired;
  if (r.first_missing == 0) {
    std::printf("chain intact: %llu events verified; nothing to repair\n", ull(r.verified));
    return 0;
  }
  std::printf(
      "position %llu is missing; %llu record%s after it (up to position %llu) %s never "
      "acknowledged: a power cut lost an unsynced write and kept later ones\n",
      ull(r.first_missing), ull(r.dropped), r.dropped == 1 ? "" : "s", ull(r.last_dropped),
      r.dropped == 1 ? "was" : "were");
  if (!r.applied) {
    std::printf(
        "dry run: nothing changed; without --dry-run they are removed and the log ends at "
        "position %llu (%llu events verified)\n",
        ull(r.first_missing - 1), ull(r.verified));
    return 0;
  }
  // Proof that the store opens again, with the same check of its tail that serve makes.
  options.create_if_missing = false;
  auto reopened = event_store::open(options);
  if (!reopened) {
    std::fprintf(stderr, "kakehashi repair: removed them, but the store still does not open: %s\n",
                 reopened.err().message.c_str());
    return 1;
  }
  std::printf("removed them; the log ends at position %llu and its %llu events verify\n",
              ull((*reopened)->head_position()), ull(r.verified));
  return 0;
}

}  // namespace kakehashi::cli
