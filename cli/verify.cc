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
  return 1;
}

}  // namespace kakehashi::cli
