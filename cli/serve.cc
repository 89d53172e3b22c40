// kakehashi serve --data DIR [--listen 127.0.0.1:8080] [--allow-origin URL ...]
// Opens the store, serves the HTTP API until SIGINT/SIGTERM, then closes the server before the
// store (the handlers borrow it) and exits 0. Exit 1 when the store or the port cannot be had,
// 2 for bad usage.
#include <cstdio>

#include "api/server.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "engine/event_store.h"

namespace kakehashi::cli {

namespace {

constexpr const char* serve_usage =
    "usage: kakehashi serve --data DIR [--listen 127.0.0.1:8080] [--allow-origin URL ...]\n";

}  // namespace

int run_serve(int argc, char** argv, int first) {
  auto parsed = args::parse(argc, argv, first);
  if (!parsed) {
    std::fprintf(stderr, "kakehashi serve: %s\n%s", parsed.err().message.c_str(), serve_usage);
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
    std::fprintf(stderr, "kakehashi serve: cannot open store at %s: %s\n", store_opts.path.c_str(),
                 store.err().message.c_str());
    return 1;
  }

  api::server_options server_opts;
  server_opts.data_dir = store_opts.path;
  server_opts.listen = parsed->get_or("listen", server_opts.listen);
  server_opts.allow_origins = parsed->get_all("allow-origin");
  server_opts.on_running = [](const std::string& url) {
    // Scripts and tests wait for this exact line, so it goes out whole and at once.
    std::printf("kakehashi listening on %s\n", url.c_str());
    std::fflush(stdout);
  };
  auto server = api::server::create(std::move(server_opts), **store);
  if (!server) {
    std::fprintf(stderr, "kakehashi serve: %s\n", server.err().message.c_str());
    return 1;
  }
  (*server)->run();
  server->reset();  // every connection is closed before the store goes away
  store->reset();   // waits for queued appends and closes the database
  return 0;
}

}  // namespace kakehashi::cli
