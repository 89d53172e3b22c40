// kakehashi token issue  --data DIR --role ROLE [--municipality LG_CODE] [--name NAME]
// kakehashi token revoke --data DIR --id ID
// kakehashi token list   --data DIR
// Works on DIR/tokens.tsv only, never on the RocksDB store, so it runs while a server holds the
// store; the server sees the change on its next request (api/authenticator.h).
// `issue` prints the new bearer token, and nothing else, on stdout: it is shown this once.
// Exit 0 on success, 1 when the file cannot be written or read, 2 for bad usage.
#include <cstdio>
#include <string>

#include "api/access_log.h"
#include "api/token_store.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace kakehashi::cli {

namespace {

constexpr const char* token_usage =
    "usage: kakehashi token issue  --data DIR --role ROLE [--municipality LG_CODE] [--name NAME]\n"
    "       kakehashi token revoke --data DIR --id ID\n"
    "       kakehashi token list   --data DIR\n"
    "roles: admin, coordinator, municipality (with --municipality), auditor, dashboard\n";

int usage_error(const std::string& message) {
  if (!message.empty()) std::fprintf(stderr, "kakehashi token: %s\n", message.c_str());
  std::fputs(token_usage, stderr);
  return 2;
}

int failed(const error& err) {
  std::fprintf(stderr, "kakehashi token: %s\n", err.message.c_str());
  return err.kind == errc::invalid_argument ? 2 : 1;
}

int issue(const args& a, const api::token_store& store) {
  auto role_text = a.get("role");
  if (!role_text) return usage_error("--role is required");
  auto role = parse_access_role(*role_text);
  if (!role) return usage_error("unknown role '" + *role_text + "'");
  api::token_grant grant;
  grant.role = *role;
  grant.lg_code = a.get_or("municipality", "");
  grant.name = a.get_or("name", "");
  auto issued = store.issue(grant);
  if (!issued) return failed(issued.err());
  std::printf("%s\n", issued->bearer.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "kakehashi token: issued %s (%s)\n", issued->record.id.to_string().c_str(),
               std::string(to_string(grant.role)).c_str());
  return 0;
}

int revoke(const args& a, const api::token_store& store) {
  auto id_text = a.get("id");
  if (!id_text) return usage_error("--id is required");
  auto id = parse_uuid(*id_text);
  if (!id) return usage_error("--id must be a token id (a UUID)");
  auto revoked = store.revoke(*id);
  if (!revoked) return failed(revoked.err());
  std::printf("revoked %s\n", revoked->id.to_string().c_str());
  return 0;
}

int list(const api::token_store& store) {
  auto table = store.load();
  if (!table) return failed(table.err());
  std::printf("id\trole\tlg_code\tname\tcreated_at\tstatus\n");
  for (const auto& r : table->records())
    std::printf("%s\t%s\t%s\t%s\t%s\t%s\n", r.id.to_string().c_str(),
                std::string(to_string(r.role)).c_str(), r.lg_code.empty() ? "-" : r.lg_code.c_str(),
                r.name.c_str(), api::format_utc_time(r.created_at).c_str(),
                r.revoked ? "revoked" : "active");
  return 0;
}

}  // namespace

int run_token(int argc, char** argv, int first) {
  auto parsed = args::parse(argc, argv, first);
  if (!parsed) return usage_error(parsed.err().message);
  if (parsed->positional().size() != 1) return usage_error("");
  auto data = parsed->get("data");
  if (!data || data->empty()) return usage_error("--data is required");
  api::token_store store(*data);
  const std::string& action = parsed->positional()[0];
  if (action == "issue") return issue(*parsed, store);
  if (action == "revoke") return revoke(*parsed, store);
  if (action == "list") return list(store);
  return usage_error("unknown action '" + action + "'");
}

}  // namespace kakehashi::cli
