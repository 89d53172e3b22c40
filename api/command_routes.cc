// The command routes of API.md: each maps a request to the event type it asks the command
// service for, decodes the request into a command_request, and encodes the outcome. The rules
// (may this happen now?) are the deciders'; the routes decide only who may ask (events/roles.h).
//
// Conventions every command route shares (documented in /v1/openapi.json too):
// - The body is the event's fields (DOMAIN.md); an empty body is `{}`. Two envelope members
//   are taken out of it first: `id` (creating routes only: the client's UUID for the new
//   aggregate) and `occurred_at` (RFC 3339 business time, default now, at most 5 minutes ahead).
// - `If-Match: "<n>"` is the target stream's expected version; `Idempotency-Key: <uuid>` makes a
//   retry return the first outcome (same status and ids) without appending.
// - The actor is {id: the token's id, role: the token's role, on_behalf_of: the
//   `X-On-Behalf-Of` header}. A coordinator entering a municipal decision must name whom they
//   enter it for there (a reference such as "municipality:131016", never a person's name: the
//   envelope is not encrypted). A municipality token may name only its own municipality there.
// - Read-only roles (auditor, dashboard) get 403 on every command; a municipality may act only
//   on its own municipality, needs, candidacies (once proposed to it) and appointments, never on
//   talents, and never chooses candidates (identifies them or attaches an idea to a need): 403
//   before anything is looked up. A need, candidacy or appointment it may not see
//   answers 404 exactly as one that does not exist.
// - 201 for creating routes, 200 otherwise, with {stream, version, position, event_id, ids...};
//   `ETag: "<version>"` so the next command can send it back as If-Match.
//
// Routes that are not one event each:
// - PATCH /v1/talents/{id}: a body with only `availability` is TalentAvailabilityChanged;
//   without `availability` it is TalentProfileUpdated; both together are refused (422
//   `mixed_update`: send two requests) so one request is always one event.
// - POST /v1/needs/{id}/sourcing {mode, url?, closes_on?}: SourcingModeChosen{mode}, then, when
//   `url` is given (only with mode public_posting), PublicPostingPublished{url, closes_on} on the
//   same stream, expecting the version the first one produced. Two appends: if the second is
//   refused the first stays (the answer is the second's error).
// - POST /v1/appointments/{id}/check-ins: with `rating` CheckInCompleted; with `"missed": true`
//   CheckInMissed; otherwise CheckInScheduled (a `check_in_id` is made when absent and
//   answered).
#include <sodium.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <map>

#include "api/event_access.h"
#include "api/input.h"
#include "api/route_context.h"
#include "api/routes.h"
#include "engine/command_service.h"
#include "engine/event_json.h"
#include "events/event_codec.h"
#include "events/text_formats.h"

namespace kakehashi::api {

namespace {

namespace json = boost::json;

constexpr std::int64_t max_future_micros = 5LL * 60 * 1'000'000;

struct step {
  std::string type;
  json::object body;
};

// What a route makes of one request: the aggregate it targets and the events to ask for, in
// order.
struct plan {
  std::string category;   // talent | need | candidacy | appointment | municipality
  std::string target_id;  // "" for a creation without a client id
  bool creates = false;
  std::vector<step> steps;
  std::vector<std::pair<std::string, std::string>> ids;  // made here, answered as well
};

using planner = std::function<result<plan>(const request_view&, json::object body)>;

error bad_input(std::string code, std::string message, std::string field) {
  return make_error(errc::invalid_argument, std::move(code), std::move(message), std::move(field));
}

// Well-formed bodies a composite route cannot turn into commands answer 422 (errc has no kind
// for it, so respond_error knows these codes).
constexpr std::string_view mixed_update = "mixed_update";
constexpr std::string_view posting_needs_public_posting = "posting_needs_public_posting";

error unprocessable(std::string_view code, std::string message, std::string field = {}) {
  return make_error(errc::invalid_argument, std::string(code), std::move(message),
                    std::move(field));
}

http_response respond_error(const error& err) {
  if (err.kind == errc::invalid_argument &&
      (err.code == mixed_update || err.code == posting_needs_public_posting))
    return error_response(http::status::unprocessable_entity, err.code, err.message, err.field);
  return error_response(err);
}

// The path's aggregate id as the store spells it (lowercase canonical UUID).
result<std::string> path_uuid(const request_view& req, std::string_view name) {
  auto id = parse_uuid(req.param(name));
  if (!id) return bad_input("invalid_id", std::string(name) + " must be a UUID", std::string(name));
  return id->to_string();
}

// Sets `field` from the path; a body that names another value is contradictory.
status inject(json::object& body, std::string_view field, const std::string& value) {
  if (auto* v = body.if_contains(field); v && !(v->is_string() && v->as_string() == value))
    return bad_input("invalid_value", std::string(field) + " differs from the one in the path",
                     std::string(field));
  body[field] = value;
  return {};
}

std::string string_member(const json::object& body, std::string_view key) {
  auto* v = body.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// A route asking for one event on the aggregate named by the path's {id}.
planner on_path(std::string category, std::string type) {
  return [category, type](const request_view& req, json::object body) -> result<plan> {
    auto id = path_uuid(req, "id");
    if (!id) return id.take_err();
    plan p{category, *id, false, {}, {}};
    p.steps.push_back({type, std::move(body)});
    return p;
  };
}

// A route creating an aggregate; the body may carry the client's own `id`.
planner creating(std::string category, std::string type) {
  return [category, type](const request_view&, json::object body) -> result<plan> {
    plan p{category, "", true, {}, {}};
    if (auto* v = body.if_contains("id")) {
      auto id = v->is_string() ? parse_uuid(v->as_string()) : std::nullopt;
      if (!id || id->is_nil()) return bad_input("invalid_value", "id must be a UUID", "id");
      p.target_id = id->to_string();
      body.erase("id");
    }
    p.steps.push_back({type, std::move(body)});
    return p;
  };
}

planner talent_patch() {
  return [](const request_view& req, json::object body) -> result<plan> {
    auto id = path_uuid(req, "id");
    if (!id) return id.take_err();
    if (body.empty())
      return bad_input("empty_update", "a PATCH names at least one field to change", "");
    plan p{"talent", *id, false, {}, {}};
    bool availability = body.contains("availability");
    if (availability && body.size() > 1)
      return unprocessable(mixed_update,
                           "change availability on its own: a PATCH with availability must not "
                           "carry profile fields",
                           "availability");
    p.steps.push_back(
        {availability ? "TalentAvailabilityChanged" : "TalentProfileUpdated", std::move(body)});
    return p;
  };
}

planner hearing_correction() {
  return [](const request_view& req, json::object body) -> result<plan> {
    auto id = path_uuid(req, "id");
    if (!id) return id.take_err();
    auto hearing = path_uuid(req, "hearing_id");
    if (!hearing) return hearing.take_err();
    if (auto s = inject(body, "hearing_id", *hearing); !s) return s.take_err();
    plan p{"need", *id, false, {}, {}};
    p.steps.push_back({"HearingNoteCorrected", std::move(body)});
    return p;
  };
}

planner sourcing() {
  return [](const request_view& req, json::object body) -> result<plan> {
    auto id = path_uuid(req, "id");
    if (!id) return id.take_err();
    plan p{"need", *id, false, {}, {}};
    json::object posting;
    for (const char* key : {"url", "closes_on"}) {
      if (auto* v = body.if_contains(key)) {
        posting[key] = *v;
        body.erase(key);
      }
    }
    if (!posting.empty() && !posting.contains("url"))
      return bad_input("missing_field", "closes_on comes with the posting's url", "url");
    if (!posting.empty() && string_member(body, "mode") != "public_posting")
      return unprocessable(posting_needs_public_posting,
                           "a posting url is given only with mode public_posting", "url");
    p.steps.push_back({"SourcingModeChosen", std::move(body)});
    if (!posting.empty()) p.steps.push_back({"PublicPostingPublished", std::move(posting)});
    return p;
  };
}

planner check_ins() {
  return [](const request_view& req, json::object body) -> result<plan> {
    auto id = path_uuid(req, "id");
    if (!id) return id.take_err();
    plan p{"appointment", *id, false, {}, {}};
    std::string type = "CheckInScheduled";
    if (auto* missed = body.if_contains("missed")) {
      if (!missed->is_bool() || !missed->as_bool())
        return bad_input("invalid_value", "missed, when given, is true", "missed");
      body.erase("missed");
      type = "CheckInMissed";
    } else if (body.contains("rating")) {
      type = "CheckInCompleted";
    }
    if (type == "CheckInScheduled" && !body.contains("check_in_id")) {
      auto made = new_uuid_v7().to_string();
      body["check_in_id"] = made;
      p.ids.emplace_back("check_in_id", made);
    }
    p.steps.push_back({type, std::move(body)});
    return p;
  };
}

planner issue_resolution() {
  return [](const request_view& req, json::object body) -> result<plan> {
    auto id = path_uuid(req, "id");
    if (!id) return id.take_err();
    auto issue = path_uuid(req, "issue_id");
    if (!issue) return issue.take_err();
    if (auto s = inject(body, "issue_id", *issue); !s) return s.take_err();
    plan p{"appointment", *id, false, {}, {}};
    p.steps.push_back({"IssueResolved", std::move(body)});
    return p;
  };
}

planner municipality_contact() {
  return [](const request_view& req, json::object body) -> result<plan> {
    std::string lg(req.param("lg_code"));
    if (!is_valid_lg_code(lg))
      return bad_input("invalid_id", "lg_code must be a local government code", "lg_code");
    plan p{"municipality", lg, false, {}, {}};
    p.steps.push_back({"MunicipalityContactAssigned", std::move(body)});
    return p;
  };
}

// The municipality of the case a plan names, as a municipality token may know it: "" when the
// plan names no single municipality, and also when the aggregate it names does not exist or is
// one the token may not see (a candidacy before it was proposed, as the read side hides it). So
// what a municipality is told about an id it may not see never depends on that id's state.
result<std::string> visible_lg_code(command_service& service, const plan& p) {
  const json::object& body = p.steps.front().body;
  auto of_need = [&](const std::string& id) -> result<std::string> {
    auto n = service.need(id);
    if (!n) return n.take_err();
    return n->events == 0 ? std::string() : n->lg_code;
  };
  auto of_candidacy = [&](const std::string& id) -> result<std::string> {
    if (id.empty()) return std::string();
    auto c = service.candidacy(id);
    if (!c) return c.take_err();
    return c->events == 0 || !shown_to_municipality(*c) ? std::string() : c->lg_code;
  };
  auto of_appointment = [&](const std::string& id) -> result<std::string> {
    auto a = service.appointment(id);
    if (!a) return a.take_err();
    return a->events == 0 ? std::string() : a->lg_code;
  };
  if (p.category == "municipality") return p.target_id;
  if (p.category == "need")
    return p.creates ? string_member(body, "lg_code") : of_need(p.target_id);
  if (p.category == "candidacy" && !p.creates) return of_candidacy(p.target_id);
  if (p.category == "appointment") {
    if (!p.creates) return of_appointment(p.target_id);
    auto candidacy = parse_uuid(string_member(body, "candidacy_id"));
    return of_candidacy(candidacy ? candidacy->to_string() : std::string());
  }
  return std::string();
}

status authorize(command_service& service, const principal& who, const plan& p) {
  if (is_read_only(who)) return make_error(errc::forbidden, "forbidden", "this token is read-only");
  if (p.category == "talent" && !can_write(who, ""))
    return make_error(errc::forbidden, "forbidden", "this token may not act on talents");
  if (who.role != access_role::municipality) return {};  // admin, coordinator: anywhere
  // Choosing a talent for a need is the coordinator's work; a municipality decides on what is
  // proposed to it. Refused before the talent (or the idea to attach, which it may not see before
  // a proposal) is looked up: the answer must not describe them, so it is the same for any id.
  if (p.category == "candidacy" && (p.creates || p.steps.front().type == "CandidacyAttachedToNeed"))
    return make_error(errc::forbidden, "forbidden",
                      "a municipality token may not choose candidates; it decides on proposals");
  auto lg = visible_lg_code(service, p);
  if (!lg) return lg.take_err();
  if (can_write(who, *lg)) return {};
  // An aggregate named by the path that the token may not see answers as one that does not
  // exist, word for word, so that it tells nothing of another municipality's cases.
  if (!p.creates && p.category != "municipality")
    return make_error(errc::not_found, p.category + "_not_found", "no such " + p.category);
  return make_error(errc::forbidden, "forbidden",
                    "this token may act only on its own municipality's cases");
}

// The second command of a composite route gets its own idempotency key, derived from the
// request's, so a retry of the whole request replays both.
uuid derived_key(const uuid& key, std::size_t step) {
  if (step == 0) return key;
  uuid out;
  unsigned char in[17];
  std::memcpy(in, key.bytes.data(), 16);
  in[16] = static_cast<unsigned char>(step);
  static constexpr unsigned char context[] = "kakehashi-http-step";
  crypto_generichash(out.bytes.data(), out.bytes.size(), in, sizeof in, context,
                     sizeof context - 1);
  out.bytes[6] = (out.bytes[6] & 0x0f) | 0x80;  // version 8: custom
  out.bytes[8] = (out.bytes[8] & 0x3f) | 0x80;
  return out;
}

// A retried command's outcome carries no ids: recover them from the stream's name and the
// recorded event's public fields.
void recover_ids(const event_store& store, command_outcome& outcome, const std::string& category) {
  auto dash = outcome.stream.find('-');
  if (dash != std::string::npos)
    outcome.ids.emplace_back(category + "_id", outcome.stream.substr(dash + 1));
  auto id = parse_uuid(outcome.event_id);
  if (!id) return;
  auto event = store.read_event(*id);
  if (!event) return;
  auto data =
      payload_json(**event, const_cast<event_store&>(store).keys(), personal_access::hidden);
  if (!data) return;
  json::error_code ec;
  auto parsed = json::parse(*data, ec);
  if (ec || !parsed.is_object()) return;
  for (const char* key : {"hearing_id", "issue_id", "check_in_id"})
    if (auto* v = parsed.as_object().if_contains(key); v && v->is_string())
      outcome.ids.emplace_back(key, std::string(v->as_string()));
}

json::object describe(const command_outcome& outcome,
                      const std::vector<std::pair<std::string, std::string>>& ids) {
  json::object out;
  out["stream"] = outcome.stream;
  out["version"] = outcome.version;
  out["position"] = outcome.position;
  out["event_id"] = outcome.event_id;
  for (const auto& [key, value] : ids)
    out[key] = value;
  return out;
}

actor actor_of(const principal& who, std::string on_behalf_of) {
  return actor{who.token_id.to_string(), std::string(to_string(who.role)), std::move(on_behalf_of)};
}

// Decodes the headers and envelope members every command shares.
struct envelope {
  std::optional<std::uint64_t> expected_version;
  std::optional<uuid> idempotency_key;
  std::string on_behalf_of;
  std::int64_t occurred_at = 0;
};

result<envelope> decode_envelope(const request_view& req, json::object& body) {
  envelope e;
  auto expected = parse_if_match(*req.message);
  if (!expected) return expected.take_err();
  e.expected_version = *expected;
  auto key = parse_idempotency_key(*req.message);
  if (!key) return key.take_err();
  e.idempotency_key = *key;
  auto behalf = parse_on_behalf_of(*req.message);
  if (!behalf) return behalf.take_err();
  e.on_behalf_of = std::move(*behalf);
  if (auto* v = body.if_contains("occurred_at")) {
    auto t = v->is_string() ? parse_rfc3339(v->as_string()) : std::nullopt;
    if (!t)
      return bad_input("invalid_value", "occurred_at must be an RFC 3339 time", "occurred_at");
    if (*t <= 0)
      return bad_input("invalid_value", "occurred_at must be after 1970-01-01T00:00:00Z",
                       "occurred_at");
    if (*t > now_micros() + max_future_micros)
      return bad_input("invalid_value", "occurred_at must not lie in the future", "occurred_at");
    e.occurred_at = *t;
    body.erase("occurred_at");
  }
  return e;
}

status check_on_behalf_of(const principal& who, const std::string& on_behalf_of) {
  if (can_act_on_behalf_of(who, on_behalf_of)) return {};
  return make_error(errc::forbidden, "on_behalf_of_not_allowed",
                    "a municipality token acts only for its own municipality: X-On-Behalf-Of is "
                    "absent or municipality:" +
                        who.lg_code,
                    "X-On-Behalf-Of");
}

void run_plan(const route_context& ctx, const request_view& req, const principal& who,
              const planner& make, reply done) {
  command_service& service = *ctx.parts.commands;
  auto body = parse_json_object(req.message->body());
  if (!body) return done(respond_error(body.err()));
  auto env = decode_envelope(req, *body);
  if (!env) return done(respond_error(env.err()));
  if (auto behalf = check_on_behalf_of(who, env->on_behalf_of); !behalf)
    return done(respond_error(behalf.err()));
  auto p = make(req, std::move(*body));
  if (!p) return done(respond_error(p.err()));
  if (auto allowed = authorize(service, who, *p); !allowed)
    return done(respond_error(allowed.err()));

  // The first step's body is checked by its own execute, before anything is appended; a later
  // step's only after the steps before it were appended. So later bodies are checked here first:
  // malformed input must change nothing. (A domain refusal of a later step may still leave the
  // earlier ones, as documented.)
  for (std::size_t i = 1; i < p->steps.size(); ++i)
    if (auto valid = encode_payload(p->steps[i].type, json::serialize(p->steps[i].body)); !valid)
      return done(respond_error(valid.err()));

  std::vector<std::pair<std::string, std::string>> ids;
  std::optional<command_outcome> last;
  uuid previous_event;
  for (std::size_t i = 0; i < p->steps.size(); ++i) {
    command_request r;
    r.type = p->steps[i].type;
    r.aggregate = p->category;
    r.target_id = p->target_id;
    r.body_json = json::serialize(p->steps[i].body);
    r.who = actor_of(who, env->on_behalf_of);
    r.occurred_at = env->occurred_at;
    if (i == 0)
      r.expected_version = env->expected_version;
    else if (env->expected_version)
      r.expected_version = last->version;  // the chain stays guarded
    if (env->idempotency_key) r.idempotency_key = derived_key(*env->idempotency_key, i);
    if (i > 0) r.causation_id = previous_event;
    auto start = std::chrono::steady_clock::now();
    auto outcome = service.execute(std::move(r));
    auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start);
    if (!outcome) {
      ctx.metrics->record_command(p->steps[i].type, outcome.err().code, elapsed);
      return done(respond_error(outcome.err()));
    }
    ctx.metrics->record_command(p->steps[i].type, outcome->duplicate ? "duplicate" : "ok", elapsed);
    if (outcome->duplicate && outcome->ids.empty())
      recover_ids(*ctx.parts.store, *outcome, p->category);
    for (auto& id : outcome->ids)
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    if (p->target_id.empty()) {
      auto dash = outcome->stream.find('-');
      p->target_id = outcome->stream.substr(dash + 1);
    }
    if (auto e = parse_uuid(outcome->event_id)) previous_event = *e;
    last = std::move(*outcome);
  }
  for (auto& id : p->ids)
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  http_response res =
      json_response(p->creates ? http::status::created : http::status::ok, describe(*last, ids));
  res.set(http::field::etag, "\"" + std::to_string(last->version) + "\"");
  if (p->creates) {
    static const std::map<std::string, std::string> collection = {{"talent", "talents"},
                                                                  {"need", "needs"},
                                                                  {"candidacy", "candidacies"},
                                                                  {"appointment", "appointments"}};
    if (auto it = collection.find(p->category); it != collection.end())
      res.set(http::field::location, "/v1/" + it->second + "/" + p->target_id);
  }
  if (last->duplicate) res.set("Idempotent-Replayed", "true");
  done(std::move(res));
}

void erase(const route_context& ctx, const request_view& req, const principal& who, reply done) {
  if (!can_erase_personal_data(who))
    return done(forbidden_response("only an admin may erase personal data"));
  auto id = path_uuid(req, "id");
  if (!id) return done(respond_error(id.err()));
  auto body = parse_json_object(req.message->body());
  if (!body) return done(respond_error(body.err()));
  for (const auto& member : *body)
    if (member.key() != "reason")
      return done(respond_error(
          bad_input("unknown_field", "is not a field of this command", std::string(member.key()))));
  std::string reason = string_member(*body, "reason");
  if (reason.empty())
    return done(respond_error(bad_input("missing_field", "reason is required", "reason")));
  auto key = parse_idempotency_key(*req.message);
  if (!key) return done(respond_error(key.err()));
  auto behalf = parse_on_behalf_of(*req.message);
  if (!behalf) return done(respond_error(behalf.err()));
  auto start = std::chrono::steady_clock::now();
  auto erased = erase_talent(*ctx.parts.commands, *ctx.parts.store, *id, reason,
                             actor_of(who, *behalf), *key);
  ctx.metrics->record_command("TalentPersonalDataErased", erased ? "ok" : erased.err().code,
                              std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - start));
  if (!erased) return done(respond_error(erased.err()));
  const std::string stream = "talent-" + *id;
  auto events = ctx.parts.store->read_stream(stream, UINT64_MAX, read_direction::backward, 1);
  if (!events || events->empty())
    return done(
        error_response(make_error(errc::internal, "internal", "the erased stream cannot be read")));
  const auto& e = *events->front();
  json::object out;
  out["stream"] = stream;
  out["version"] = e.version;
  out["position"] = e.position;
  out["event_id"] = e.id.to_string();
  out["talent_id"] = *id;
  out["erased"] = true;
  done(json_response(http::status::ok, out));
}

}  // namespace

void add_command_routes(router& routes, context_ptr ctx) {
  auto command = [&](http::verb method, std::string_view pattern, planner make) {
    routes.add(method, pattern,
               blocking_route(ctx, [ctx, make = std::move(make)](const request_view& req,
                                                                 const principal& who, reply done) {
                 if (!ctx->parts.commands)
                   return done(error_response(http::status::service_unavailable, "unavailable",
                                              "this server takes no commands"));
                 run_plan(*ctx, req, who, make, std::move(done));
               }));
  };
  const auto post = http::verb::post;

  command(post, "/v1/talents", creating("talent", "TalentRegistered"));
  command(http::verb::patch, "/v1/talents/{id}", talent_patch());
  command(post, "/v1/talents/{id}/pause", on_path("talent", "TalentPaused"));
  command(post, "/v1/talents/{id}/resume", on_path("talent", "TalentResumed"));
  command(post, "/v1/talents/{id}/withdraw", on_path("talent", "TalentWithdrew"));
  command(post, "/v1/talents/{id}/consent", on_path("talent", "TalentConsentGranted"));
  command(post, "/v1/talents/{id}/consent/revoke", on_path("talent", "TalentConsentRevoked"));
  command(post, "/v1/talents/{id}/void", on_path("talent", "EventVoided"));
  routes.add(post, "/v1/talents/{id}/erase",
             blocking_route(ctx, [ctx](const request_view& req, const principal& who, reply done) {
               if (!ctx->parts.commands)
                 return done(error_response(http::status::service_unavailable, "unavailable",
                                            "this server takes no commands"));
               erase(*ctx, req, who, std::move(done));
             }));

  command(post, "/v1/municipalities/{lg_code}/contact", municipality_contact());

  command(post, "/v1/needs", creating("need", "NeedOpened"));
  command(post, "/v1/needs/{id}/hearings", on_path("need", "HearingRecorded"));
  command(post, "/v1/needs/{id}/hearings/{hearing_id}/corrections", hearing_correction());
  command(post, "/v1/needs/{id}/requirements", on_path("need", "RequirementsDefined"));
  command(post, "/v1/needs/{id}/sourcing", sourcing());
  command(post, "/v1/needs/{id}/hold", on_path("need", "NeedPutOnHold"));
  command(post, "/v1/needs/{id}/resume", on_path("need", "NeedResumed"));
  command(post, "/v1/needs/{id}/close", on_path("need", "NeedClosed"));
  command(post, "/v1/needs/{id}/reopen", on_path("need", "NeedReopened"));
  command(post, "/v1/needs/{id}/void", on_path("need", "EventVoided"));

  command(post, "/v1/candidacies", creating("candidacy", "CandidateIdentified"));
  command(post, "/v1/candidacies/{id}/attach", on_path("candidacy", "CandidacyAttachedToNeed"));
  command(post, "/v1/candidacies/{id}/contact", on_path("candidacy", "TalentContacted"));
  command(post, "/v1/candidacies/{id}/interest", on_path("candidacy", "InterestConfirmed"));
  command(post, "/v1/candidacies/{id}/decline", on_path("candidacy", "InterestDeclined"));
  command(post, "/v1/candidacies/{id}/propose", on_path("candidacy", "ProposalSubmitted"));
  command(post, "/v1/candidacies/{id}/decision", on_path("candidacy", "MunicipalDecisionRecorded"));
  command(post, "/v1/candidacies/{id}/archive", on_path("candidacy", "CandidacyArchived"));
  command(post, "/v1/candidacies/{id}/void", on_path("candidacy", "EventVoided"));

  command(post, "/v1/appointments", creating("appointment", "AppointmentArranged"));
  command(post, "/v1/appointments/{id}/start", on_path("appointment", "AppointmentStarted"));
  command(post, "/v1/appointments/{id}/amend", on_path("appointment", "AppointmentAmended"));
  command(post, "/v1/appointments/{id}/suspend", on_path("appointment", "AppointmentSuspended"));
  command(post, "/v1/appointments/{id}/resume", on_path("appointment", "AppointmentResumed"));
  command(post, "/v1/appointments/{id}/check-ins", check_ins());
  command(post, "/v1/appointments/{id}/issues", on_path("appointment", "IssueRaised"));
  command(post, "/v1/appointments/{id}/issues/{issue_id}/resolve", issue_resolution());
  command(post, "/v1/appointments/{id}/end", on_path("appointment", "AppointmentEnded"));
  command(post, "/v1/appointments/{id}/void", on_path("appointment", "EventVoided"));
}

}  // namespace kakehashi::api
