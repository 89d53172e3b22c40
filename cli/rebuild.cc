// kakehashi rebuild --data DIR [--projection read_model]
// Deletes the stored snapshots and replays the whole log into the read model, then stores a
// fresh snapshot. Needs the data directory to itself (stop the server first).
#include <chrono>
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "projections/runner.h"

namespace kakehashi::cli {

int run_rebuild(int argc, char** argv, int first) {
  constexpr const char* usage = "usage: kakehashi rebuild --data DIR [--projection read_model]\n";
  auto parsed = args::parse(argc, argv, first);
  if (!parsed || !parsed->has("data") || !parsed->positional().empty()) {
    std::fputs(usage, stderr);
    return 2;
  }
  auto name = parsed->get_or("projection", "read_model");
  if (name != "read_model") {
    std::fprintf(stderr, "kakehashi rebuild: unknown projection '%s' (known: read_model)\n",
                 name.c_str());
    return 2;
  }
  store_options options;
  options.path = *parsed->get("data");
  options.create_if_missing = false;
  auto store = event_store::open(options);
  if (!store) {
    std::fprintf(stderr, "kakehashi rebuild: cannot open %s: %s\n", options.path.c_str(),
                 store.err().message.c_str());
    return 1;
  }
  projection_runner runner(**store);
  auto started = std::chrono::steady_clock::now();
  if (auto rebuilt = runner.rebuild(); !rebuilt) {
    std::fprintf(stderr, "kakehashi rebuild: %s\n", rebuilt.err().message.c_str());
    return 1;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("rebuilt %s: %llu events in %.2f s\n", name.c_str(),
              static_cast<unsigned long long>(runner.position()), seconds);
  return 0;
}

}  // namespace kakehashi::cli
