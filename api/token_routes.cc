// Token administration over HTTP (admin only):
//   POST   /v1/tokens        {role, lg_code?, name?}  -> 201 {id, token, role, lg_code, name,
//   created_at} GET    /v1/tokens                                 -> 200 {tokens: [...]} (never
//   secrets) DELETE /v1/tokens/{id}                            -> 200 {id, revoked: true,
//   revoked_at}
// The handlers write the token file themselves (a short append and fsync, rare and admin-only),
// then refresh the authenticator so the change counts for the very next request.
#include <boost/json/object.hpp>

#include "api/access_log.h"
#include "api/auth.h"
#include "api/input.h"
#include "api/routes.h"

namespace kakehashi::api {

namespace {

boost::json::object describe(const token_record& r) {
  boost::json::object out;
  out["id"] = r.id.to_string();
  out["role"] = to_string(r.role);
  if (r.lg_code.empty())
    out["lg_code"] = nullptr;
  else
    out["lg_code"] = r.lg_code;
  out["name"] = r.name;
  out["created_at"] = format_utc_time(r.created_at);
  out["revoked"] = r.revoked;
  if (r.revoked) out["revoked_at"] = format_utc_time(r.revoked_at);
  return out;
}

http_response bad_input(std::string_view code, std::string_view message, std::string_view field) {
  return error_response(http::status::bad_request, code, message, field);
}

// A string member of `body`: nullopt when absent or null, an error response when not a string.
result<std::optional<std::string>> optional_string(const boost::json::object& body,
                                                   std::string_view key) {
  auto it = body.find(key);
  if (it == body.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string())
    return make_error(errc::invalid_argument, "invalid_field",
                      std::string(key) + " must be a string", std::string(key));
  return std::optional<std::string>(std::string(it->value().as_string()));
}

result<token_grant> parse_grant(std::string_view text) {
  // The strict parser every route uses: a repeated key ({"role":"dashboard","role":"admin"})
  // is duplicate_field, never whichever one a lenient parser keeps.
  auto parsed = parse_json_object(text);
  if (!parsed) return parsed.take_err();
  const boost::json::object& body = *parsed;
  for (const auto& member : body) {
    std::string_view key = member.key();
    if (key != "role" && key != "lg_code" && key != "name")
      return make_error(errc::invalid_argument, "unknown_field", "unknown field", std::string(key));
  }
  token_grant grant;
  auto role_text = optional_string(body, "role");
  if (!role_text) return role_text.take_err();
  if (!*role_text)
    return make_error(errc::invalid_argument, "missing_field", "role is required", "role");
  auto role = parse_access_role(**role_text);
  if (!role)
    return make_error(errc::invalid_argument, "invalid_role",
                      "role must be admin, coordinator, municipality, auditor or dashboard",
                      "role");
  grant.role = *role;
  auto lg_code = optional_string(body, "lg_code");
  if (!lg_code) return lg_code.take_err();
  grant.lg_code = lg_code->value_or("");
  auto name = optional_string(body, "name");
  if (!name) return name.take_err();
  grant.name = name->value_or("");
  return grant;
}

}  // namespace

void add_token_routes(router& routes, std::shared_ptr<authenticator> auth) {
  routes.add(http::verb::post, "/v1/tokens",
             authenticated(auth, [auth](const request_view& req, const principal& who, reply done) {
               if (!can_manage_tokens(who))
                 return done(forbidden_response("only an admin may issue tokens"));
               auto grant = parse_grant(req.message->body());
               if (!grant) return done(error_response(grant.err()));
               auto issued = auth->tokens().issue(*grant);
               if (!issued) return done(error_response(issued.err()));
               static_cast<void>(auth->refresh());  // the next request sees it either way
               boost::json::object body = describe(issued->record);
               body["token"] = issued->bearer;
               done(json_response(http::status::created, body));
             }));

  routes.add(http::verb::get, "/v1/tokens",
             authenticated(auth, [auth](const request_view&, const principal& who, reply done) {
               if (!can_manage_tokens(who))
                 return done(forbidden_response("only an admin may list tokens"));
               auto table = auth->tokens().load();
               if (!table) return done(error_response(table.err()));
               boost::json::array list;
               for (const auto& r : table->records())
                 list.push_back(describe(r));
               boost::json::object body;
               body["tokens"] = std::move(list);
               done(json_response(http::status::ok, body));
             }));

  routes.add(http::verb::delete_, "/v1/tokens/{id}",
             authenticated(auth, [auth](const request_view& req, const principal& who, reply done) {
               if (!can_manage_tokens(who))
                 return done(forbidden_response("only an admin may revoke tokens"));
               auto id = parse_uuid(req.param("id"));
               if (!id) return done(bad_input("invalid_id", "id must be a UUID", "id"));
               auto revoked = auth->tokens().revoke(*id);
               if (!revoked) return done(error_response(revoked.err()));
               static_cast<void>(auth->refresh());
               boost::json::object body;
               body["id"] = revoked->id.to_string();
               body["revoked"] = true;
               body["revoked_at"] = format_utc_time(revoked->revoked_at);
               done(json_response(http::status::ok, body));
             }));
}

}  // namespace kakehashi::api
