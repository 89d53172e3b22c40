// kakehashi serve --data DIR [--listen 127.0.0.1:8080] [--allow-origin URL ...]
// kakehashi demo  --data DIR [--listen ...] [--no-serve]
// Opens the store, lists the shipped municipalities not listed yet, runs the withdrawal process
// manager and the read-model runner on their own threads and serves the HTTP API until
// SIGINT/SIGTERM; then stops the server before the process manager and the store (both are borrowed
// by what runs before them). `demo` first seeds the demo history into an empty directory. Exit 1
// when the store or the port cannot be had, 2 for bad usage.
#include <algorithm>
#include <cstdio>
#include <thread>

#include "api/server.h"
#include "api/token_store.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/demo_history.h"
#include "engine/command_service.h"
#include "engine/event_store.h"
#include "engine/process_manager.h"
#include "projections/runner.h"

namespace kakehashi::cli {

namespace {

constexpr const char* serve_usage =
    "usage: kakehashi serve --data DIR [--listen 127.0.0.1:8080] [--allow-origin URL ...]\n"
    "       kakehashi demo  --data DIR [--listen 127.0.0.1:8080] [--allow-origin URL ...] "
    "[--no-serve]\n";

int serve(const char* name, int argc, char** argv, int first, bool seed_demo) {
  auto parsed = args::parse(argc, argv, first, {"no-serve"});
  if (!parsed) {
    std::fprintf(stderr, "kakehashi %s: %s\n%s", name, parsed.err().message.c_str(), serve_usage);
    return 2;
  }
  if (!parsed->has("data") || !parsed->positional().empty()) {
    std::fputs(serve_usage, stderr);
    return 2;
  }

  store_options store_opts;
  store_opts.path = *parsed->get("data");
  store_opts.create_if_missing = true;
  auto store = event_store::open(store_opts);
  if (!store) {
    std::fprintf(stderr, "kakehashi %s: cannot open store at %s: %s\n", name,
                 store_opts.path.c_str(), store.err().message.c_str());
    return 1;
  }
  auto service = command_service::create(**store);
  if (seed_demo && (*store)->head_position() == 0) {
    std::fprintf(stderr, "kakehashi demo: seeding the demo history into %s ...\n",
                 store_opts.path.c_str());
    auto seeded = demo::seed(**store, *service, now_micros());
    if (!seeded) {
      std::fprintf(stderr, "kakehashi demo: seeding failed: %s\n", seeded.err().message.c_str());
      return 1;
    }
    std::fprintf(stderr, "kakehashi demo: %llu commands, %llu events in %.1f s\n",
                 static_cast<unsigned long long>(seeded->commands),
                 static_cast<unsigned long long>(seeded->events), seeded->seconds);
  }
  if (auto listed = list_reference_municipalities(*service, now_micros()); !listed) {
    std::fprintf(stderr, "kakehashi %s: cannot list the municipalities: %s\n", name,
                 listed.err().message.c_str());
    return 1;
  }
  if (parsed->has("no-serve")) return 0;

  api::server_options server_opts;
  server_opts.data_dir = store_opts.path;
  server_opts.listen = parsed->get_or("listen", server_opts.listen);
  server_opts.allow_origins = parsed->get_all("allow-origin");
  // Every route but /healthz needs a token: say how to get the first one.
  bool no_tokens = false;
  if (auto table = api::token_store(store_opts.path).load(); table) {
    no_tokens = std::none_of(table->records().begin(), table->records().end(),
                             [](const api::token_record& r) { return !r.revoked; });
  }
  server_opts.on_running = [no_tokens, data = store_opts.path](const std::string& url) {
    // Scripts and tests wait for this exact line, so it goes out whole and at once.
    std::printf("kakehashi listening on %s\n", url.c_str());
    std::fflush(stdout);
    if (no_tokens)
      std::fprintf(stderr,
                   "kakehashi serve: no active tokens; issue one with: kakehashi token issue "
                   "--data %s --role admin\n",
                   data.c_str());
  };
  projection_runner projections(**store);
  if (auto started = projections.start(); !started) {
    std::fprintf(stderr, "kakehashi %s: cannot load the read model: %s\n", name,
                 started.err().message.c_str());
    return 1;
  }
  auto server = api::server::create(std::move(server_opts),
                                    api::backend{store->get(), service.get(), &projections});
  if (!server) {
    std::fprintf(stderr, "kakehashi %s: %s\n", name, server.err().message.c_str());
    return 1;
  }
  process_manager manager(**store, *service);
  std::thread follower([&manager] { manager.run(); });
  std::thread projector([&projections] { projections.run(); });
  (*server)->run();
  server->reset();  // every connection is closed before anything it borrows goes away
  manager.stop();
  projections.stop();
  follower.join();
  projector.join();
  // The manager and the runner hold store subscriptions, which must go before the store does
  // (engine/event_store.h): leaving the scope destroys them first, then the service, then the
  // store, which waits for queued appends and closes the database.
  return 0;
}

}  // namespace

int run_serve(int argc, char** argv, int first) {
  return serve("serve", argc, argv, first, false);
}
int run_demo(int argc, char** argv, int first) {
  return serve("demo", argc, argv, first, true);
}

}  // namespace kakehashi::cli
