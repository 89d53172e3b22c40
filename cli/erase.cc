// kakehashi erase-talent --data DIR --talent ID --reason TEXT
// Crypto-shreds a talent's personal data (APPI): records TalentPersonalDataErased and destroys
// the talent's key so it is physically gone from the data directory; the log and its hash chain
// stay intact, and every read shows "[erased]". Needs the data directory to itself (stop the
// server first, or use POST /v1/talents/{id}/erase).
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "engine/command_service.h"
#include "engine/event_store.h"
#include "events/ids.h"

namespace kakehashi::cli {

int run_erase_talent(int argc, char** argv, int first) {
  constexpr const char* usage =
      "usage: kakehashi erase-talent --data DIR --talent ID --reason TEXT\n";
  auto parsed = args::parse(argc, argv, first);
  if (!parsed || !parsed->has("data") || !parsed->has("talent") || !parsed->has("reason")) {
    std::fputs(usage, stderr);
    return 2;
  }
  auto talent = *parsed->get("talent");
  if (!parse_uuid(talent)) {
    std::fprintf(stderr, "kakehashi erase-talent: --talent must be a talent id (a UUID)\n");
    return 2;
  }
  store_options options;
  options.path = *parsed->get("data");
  options.create_if_missing = false;
  auto store = event_store::open(options);
  if (!store) {
    std::fprintf(stderr, "kakehashi erase-talent: cannot open %s: %s\n", options.path.c_str(),
                 store.err().message.c_str());
    return 1;
  }
  auto service = command_service::create(**store);
  auto erased =
      erase_talent(*service, **store, talent, *parsed->get("reason"), actor{"cli", "admin", ""});
  if (!erased) {
    std::fprintf(stderr, "kakehashi erase-talent: %s: %s\n", erased.err().code.c_str(),
                 erased.err().message.c_str());
    return 1;
  }
  std::printf("talent %s: personal data erased; the key is gone from %s\n", talent.c_str(),
              options.path.c_str());
  return 0;
}

}  // namespace kakehashi::cli
