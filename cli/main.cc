#include <cstdio>
#include <cstring>
#include <string_view>

#include "cli/commands.h"

namespace {

constexpr const char* usage =
    "usage: kakehashi <command> [options]\n"
    "  serve   --data DIR [--listen 127.0.0.1:8080] [--allow-origin URL ...]\n"
    "  demo    --data DIR [--listen ...] [--no-serve]   seed the demo history, then serve\n"
    "  erase-talent --data DIR --talent ID --reason TEXT   crypto-shred a talent's personal data\n"
    "  token   issue --data DIR --role ROLE [--municipality LG_CODE] [--name NAME]\n"
    "          revoke --data DIR --id ID | list --data DIR\n"
    "  verify  --data DIR                 walk the hash chain; exit 0 only if intact\n"
    "  repair  --data DIR [--dry-run]     remove the unacknowledged events after a gap a power "
    "cut left\n"
    "  rebuild --data DIR [--projection read_model]   replay the log into the read model\n"
    "  bench   append|raw-append|replay|rebuild|fanout|load ... --json\n"
    "  crash-test [--iterations N]        SIGKILL a writer repeatedly, check nothing acked is "
    "lost\n"
    "  crash-test --power-loss [--iterations N]   simulated power cuts that drop or tear "
    "unsynced data\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace kakehashi::cli;
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  std::string_view command = argv[1];
  if (command == "serve") return run_serve(argc, argv, 2);
  if (command == "demo") return run_demo(argc, argv, 2);
  if (command == "erase-talent") return run_erase_talent(argc, argv, 2);
  if (command == "rebuild") return run_rebuild(argc, argv, 2);
  if (command == "token") return run_token(argc, argv, 2);
  if (command == "verify") return run_verify(argc, argv, 2);
  if (command == "repair") return run_repair(argc, argv, 2);
  if (command == "bench") return run_bench(argc, argv, 2);
  if (command == "crash-test" || command == "crash-writer" || command == "crash-check")
    return run_crash(argc, argv, 1);
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(usage, stdout);
    return 0;
  }
  std::fprintf(stderr, "kakehashi: unknown command '%s'\n%s", argv[1], usage);
  return 2;
}
