// kakehashi serve --data DIR [--listen 127.0.0.1:8080] [--allow-origin URL ...]
// Opens the store, serves the HTTP API until SIGINT/SIGTERM, then closes the server before the
// store (the handlers borrow it) and exits 0. Exit 1 when the store or the port cannot be had,
// 2 for bad usage.
#include <algorithm>
#include <cstdio>

#include "api/server.h"
#include "api/token_store.h"
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
