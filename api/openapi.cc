#include "api/openapi.h"

#include <capnp/schema.h>

#include <boost/json/array.hpp>
#include <iterator>
#include <string>
#include <vector>

#include "events/event_codec.h"
#include "events/schema_annotations.h"

namespace kakehashi::api {

namespace json = boost::json;

namespace {

enum class kind : std::uint8_t { command, query, other };

struct route_doc {
  const char* method;  // lowercase, as OpenAPI keys operations
  const char* path;
  kind what;
  const char* summary;
  std::vector<const char*> bodies;  // event types the body may be (oneOf when several)
  std::vector<const char*> query;   // query parameters besides as_of/min_position
  bool creates = false;             // 201
  bool authenticated = true;
};

// Every route of the API. The test in tests/api/openapi_test.cc fails when the router has a
// route this table lacks.
// The table leaves trailing members at their defaults.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const std::vector<route_doc>& route_docs() {
  static const std::vector<route_doc> docs = {
      // ---- commands ----
      {"post",
       "/v1/talents",
       kind::command,
       "Register a talent (TalentRegistered).",
       {"TalentRegistered"},
       {},
       true},
      {"patch",
       "/v1/talents/{id}",
       kind::command,
       "Update a talent: only `availability` -> TalentAvailabilityChanged; no `availability` -> "
       "TalentProfileUpdated; both -> 422 mixed_update.",
       {"TalentProfileUpdated", "TalentAvailabilityChanged"}},
      {"post",
       "/v1/talents/{id}/pause",
       kind::command,
       "Pause a talent (TalentPaused).",
       {"TalentPaused"}},
      {"post",
       "/v1/talents/{id}/resume",
       kind::command,
       "Resume a paused talent (TalentResumed).",
       {"TalentResumed"}},
      {"post",
       "/v1/talents/{id}/withdraw",
       kind::command,
       "A talent withdraws (TalentWithdrew).",
       {"TalentWithdrew"}},
      {"post",
       "/v1/talents/{id}/consent",
       kind::command,
       "Record consent to the privacy policy (TalentConsentGranted).",
       {"TalentConsentGranted"}},
      {"post",
       "/v1/talents/{id}/consent/revoke",
       kind::command,
       "Record that consent was revoked (TalentConsentRevoked).",
       {"TalentConsentRevoked"}},
      {"post",
       "/v1/talents/{id}/erase",
       kind::command,
       "Admin only: crypto-shred the talent's personal data (TalentPersonalDataErased, then the "
       "key is destroyed).",
       {"TalentPersonalDataErased"}},
      {"post",
       "/v1/talents/{id}/void",
       kind::command,
       "Void an entry of this talent's stream made in error (EventVoided).",
       {"EventVoided"}},
      {"post",
       "/v1/municipalities/{lg_code}/contact",
       kind::command,
       "Assign the municipality's contact (MunicipalityContactAssigned).",
       {"MunicipalityContactAssigned"}},
      {"post", "/v1/needs", kind::command, "Open a need (NeedOpened).", {"NeedOpened"}, {}, true},
      {"post",
       "/v1/needs/{id}/hearings",
       kind::command,
       "Record a hearing (HearingRecorded); answers hearing_id.",
       {"HearingRecorded"}},
      {"post",
       "/v1/needs/{id}/hearings/{hearing_id}/corrections",
       kind::command,
       "Correct a hearing's notes (HearingNoteCorrected); hearing_id comes from the path.",
       {"HearingNoteCorrected"}},
      {"post",
       "/v1/needs/{id}/requirements",
       kind::command,
       "Define the requirements (RequirementsDefined).",
       {"RequirementsDefined"}},
      {"post",
       "/v1/needs/{id}/sourcing",
       kind::command,
       "Choose the sourcing mode (SourcingModeChosen); with `url` (and optional `closes_on`, "
       "mode public_posting only) also PublicPostingPublished, appended second.",
       {"SourcingModeChosen", "PublicPostingPublished"}},
      {"post",
       "/v1/needs/{id}/hold",
       kind::command,
       "Put the need on hold (NeedPutOnHold).",
       {"NeedPutOnHold"}},
      {"post",
       "/v1/needs/{id}/resume",
       kind::command,
       "Resume a held need (NeedResumed).",
       {"NeedResumed"}},
      {"post",
       "/v1/needs/{id}/close",
       kind::command,
       "Close the need (NeedClosed).",
       {"NeedClosed"}},
      {"post",
       "/v1/needs/{id}/reopen",
       kind::command,
       "Reopen a closed need (NeedReopened).",
       {"NeedReopened"}},
      {"post",
       "/v1/needs/{id}/void",
       kind::command,
       "Void an entry of this need (EventVoided).",
       {"EventVoided"}},
      {"post",
       "/v1/candidacies",
       kind::command,
       "Identify a candidate (CandidateIdentified): the coordinator's work, so a municipality "
       "token gets 403 before anything about the talent is looked up.",
       {"CandidateIdentified"},
       {},
       true},
      {"post",
       "/v1/candidacies/{id}/attach",
       kind::command,
       "Attach a talent-driven idea to the need its municipality opened for it "
       "(CandidacyAttachedToNeed, with the need's CandidateAttached in the same append). The idea "
       "must be open and not yet proposed, the need open, of origin talent_driven and in the "
       "idea's municipality; the talent active with consent and without another open candidacy "
       "on the need. The coordinator's work: a municipality token gets 403 before the idea is "
       "looked up.",
       {"CandidacyAttachedToNeed"}},
      {"post",
       "/v1/candidacies/{id}/contact",
       kind::command,
       "TalentContacted.",
       {"TalentContacted"}},
      {"post",
       "/v1/candidacies/{id}/interest",
       kind::command,
       "InterestConfirmed.",
       {"InterestConfirmed"}},
      {"post",
       "/v1/candidacies/{id}/decline",
       kind::command,
       "InterestDeclined.",
       {"InterestDeclined"}},
      {"post",
       "/v1/candidacies/{id}/propose",
       kind::command,
       "ProposalSubmitted.",
       {"ProposalSubmitted"}},
      {"post",
       "/v1/candidacies/{id}/decision",
       kind::command,
       "The municipality's decision (MunicipalDecisionRecorded). A coordinator enters it on the "
       "officer's behalf and must send X-On-Behalf-Of.",
       {"MunicipalDecisionRecorded"}},
      {"post",
       "/v1/candidacies/{id}/archive",
       kind::command,
       "CandidacyArchived.",
       {"CandidacyArchived"}},
      {"post",
       "/v1/candidacies/{id}/void",
       kind::command,
       "EventVoided on the candidacy.",
       {"EventVoided"}},
      {"post",
       "/v1/appointments",
       kind::command,
       "Arrange an appointment (AppointmentArranged).",
       {"AppointmentArranged"},
       {},
       true},
      {"post",
       "/v1/appointments/{id}/start",
       kind::command,
       "AppointmentStarted.",
       {"AppointmentStarted"}},
      {"post",
       "/v1/appointments/{id}/amend",
       kind::command,
       "AppointmentAmended.",
       {"AppointmentAmended"}},
      {"post",
       "/v1/appointments/{id}/suspend",
       kind::command,
       "AppointmentSuspended.",
       {"AppointmentSuspended"}},
      {"post",
       "/v1/appointments/{id}/resume",
       kind::command,
       "AppointmentResumed.",
       {"AppointmentResumed"}},
      {"post",
       "/v1/appointments/{id}/check-ins",
       kind::command,
       "With `rating`: CheckInCompleted; with `\"missed\": true`: CheckInMissed; otherwise "
       "CheckInScheduled (check_in_id made and answered when absent).",
       {"CheckInScheduled", "CheckInCompleted", "CheckInMissed"}},
      {"post",
       "/v1/appointments/{id}/issues",
       kind::command,
       "Raise an issue (IssueRaised); answers issue_id.",
       {"IssueRaised"}},
      {"post",
       "/v1/appointments/{id}/issues/{issue_id}/resolve",
       kind::command,
       "Resolve an issue (IssueResolved); issue_id comes from the path.",
       {"IssueResolved"}},
      {"post",
       "/v1/appointments/{id}/end",
       kind::command,
       "AppointmentEnded.",
       {"AppointmentEnded"}},
      {"post",
       "/v1/appointments/{id}/void",
       kind::command,
       "EventVoided on the appointment.",
       {"EventVoided"}},
      // ---- queries ----
      {"get", "/v1/municipalities", kind::query,
       "The 62 municipalities by region with open needs and active appointments."},
      {"get", "/v1/pipeline", kind::query, "Needs and candidacies by stage.", {}, {"lg_code"}},
      {"get", "/v1/work-queue", kind::query, "Due and overdue items."},
      {"get", "/v1/needs/{id}", kind::query, "A need's current state and timeline."},
      {"get",
       "/v1/needs/{id}/matches",
       kind::query,
       "Ranked talent suggestions with reasons.",
       {},
       {"limit"}},
      {"get",
       "/v1/ideas",
       kind::query,
       "Talent-driven ideas for municipalities with no open need.",
       {},
       {"limit"}},
      {"get",
       "/v1/talents",
       kind::query,
       "Talents with declared vs committed hours.",
       {},
       {"skill", "available"}},
      {"get", "/v1/talents/{id}", kind::query,
       "A talent's state, profile (personal fields as the role allows) and timeline."},
      {"get", "/v1/candidacies/{id}", kind::query, "A candidacy's state and timeline."},
      {"get", "/v1/appointments/{id}", kind::query, "An appointment's state and timeline."},
      {"get", "/v1/metrics/funnel", kind::query, "The placement funnel and time metrics."},
      {"get", "/v1/metrics/headline", kind::query,
       "{registrants, appointments, municipalities_with_appointments}."},
      {"get",
       "/v1/streams/{stream}",
       kind::query,
       "One stream's raw events as CloudEvents.",
       {},
       {"from", "limit", "direction"}},
      {"get",
       "/v1/events",
       kind::query,
       "The global log ($all) as CloudEvents.",
       {},
       {"from", "limit", "types"}},
      {"get", "/v1/audit/verify", kind::other, "Walk the hash chain (admin, auditor)."},
      // ---- administration and operations ----
      {"post",
       "/v1/tokens",
       kind::other,
       "Admin: issue a bearer token {role, lg_code?, name?}.",
       {},
       {},
       true},
      {"get", "/v1/tokens", kind::other, "Admin: list tokens (never their secrets)."},
      {"delete", "/v1/tokens/{id}", kind::other, "Admin: revoke a token."},
      {"get", "/v1/openapi.json", kind::other, "This document."},
      {"get", "/metrics", kind::other,
       "Prometheus text exposition (no personal data; not for municipality tokens)."},
      {"get",
       "/healthz",
       kind::other,
       "Liveness and the log's head position.",
       {},
       {},
       false,
       false},
      {"get",
       "/v1/stream",
       kind::other,
       "WebSocket upgrade (subprotocol kakehashi.v1): subscriptions and live views; token as "
       "Authorization header or ?access_token=.",
       {},
       {"access_token"}},
      {"get", "/v1/whoami", kind::other,
       "The token's role, municipality and read rights {role, lg_code, name, read_only, "
       "personal_data, verify_chain}."},
      {"get", "/", kind::other, "The dashboard (index.html).", {}, {}, false, false},
      {"get", "/index.html", kind::other, "The dashboard.", {}, {}, false, false},
      {"get",
       "/assets/{file}",
       kind::other,
       "The dashboard's modules, styles and reference data (ETag, no token).",
       {},
       {},
       false,
       false},
  };
  return docs;
}
#pragma GCC diagnostic pop

template <class Named>
std::string json_name(Named named) {
  auto name = detail::json_name(named);
  return std::string(name.cStr(), name.size());
}

json::object type_schema(capnp::Type type);

json::object struct_schema(capnp::StructSchema schema, json::array* required_out,
                           json::object* properties_out, bool personal) {
  json::object properties;
  json::array required;
  for (auto field : schema.getFields()) {
    if (detail::is_internal_field(field)) continue;  // `sealed`, and fields that moved
    json::object prop = type_schema(field.getType());
    for (auto a : field.getProto().getAnnotations()) {
      auto v = a.getValue();
      if (a.getId() == annotation_id::required) required.emplace_back(json_name(field));
      // A text annotation describes the text itself, or each element of a list of text.
      json::object& text = prop.contains("items") ? prop["items"].as_object() : prop;
      if (a.getId() == annotation_id::format) {
        // Indexed by text_format (events/schema_annotations.h).
        static const char* formats[] = {"date",  "uuid",          "lg-code", "email",
                                        "phone", "role-category", "skill"};
        auto f = v.getEnum();
        text["format"] = f < std::size(formats) ? formats[f] : "text";
        if (f == static_cast<std::uint16_t>(text_format::lg_code)) text["pattern"] = "^[0-9]{6}$";
      }
      if (a.getId() == annotation_id::max_length)
        text["maxLength"] = std::int64_t{v.getUint32()};  // code points
      if (a.getId() == annotation_id::max_items) prop["maxItems"] = std::int64_t{v.getUint32()};
      if (a.getId() == annotation_id::min) prop["minimum"] = v.getInt64();
      if (a.getId() == annotation_id::max) prop["maximum"] = v.getInt64();
    }
    if (personal) prop["x-personal"] = true;
    properties[json_name(field)] = std::move(prop);
  }
  if (required_out && properties_out) {
    for (auto& r : required)
      required_out->push_back(r);
    for (auto& p : properties)
      (*properties_out)[p.key()] = p.value();
    return {};
  }
  json::object out{
      {"type", "object"}, {"additionalProperties", false}, {"properties", std::move(properties)}};
  if (!required.empty()) out["required"] = std::move(required);
  return out;
}

json::object type_schema(capnp::Type type) {
  using T = capnp::schema::Type;
  switch (type.which()) {
    case T::BOOL:
      return {{"type", "boolean"}};
    case T::INT8:
    case T::INT16:
    case T::INT32:
    case T::INT64:
    case T::UINT8:
    case T::UINT16:
    case T::UINT32:
    case T::UINT64:
      return {{"type", "integer"}};
    case T::FLOAT32:
    case T::FLOAT64:
      return {{"type", "number"}};
    case T::TEXT:
      return {{"type", "string"}};
    case T::ENUM: {
      json::array values;
      for (auto e : type.asEnum().getEnumerants())
        values.emplace_back(json_name(e));
      return {{"type", "string"}, {"enum", std::move(values)}};
    }
    case T::LIST:
      return {{"type", "array"}, {"items", type_schema(type.asList().getElementType())}};
    case T::STRUCT:
      return struct_schema(type.asStruct(), nullptr, nullptr, false);
    default:
      return {};
  }
}

// The body schema of an event type: its public and personal fields together, as the API takes
// them.
json::object event_schema(const event_type_info& info) {
  json::object properties;
  json::array required;
  struct_schema(info.public_schema, &required, &properties, false);
  if (info.personal_schema) struct_schema(*info.personal_schema, &required, &properties, true);
  json::object out{{"type", "object"},
                   {"description", "The fields of " + std::string(info.type) + " (DOMAIN.md)."},
                   {"properties", std::move(properties)}};
  if (!required.empty()) out["required"] = std::move(required);
  return out;
}

json::object ref(std::string_view name) {
  return {{"$ref", "#/components/schemas/" + std::string(name)}};
}

json::object parameter(std::string_view name, std::string_view in, std::string_view description,
                       bool required = false) {
  return {{"name", name},
          {"in", in},
          {"required", required},
          {"description", description},
          {"schema", {{"type", "string"}}}};
}

std::string_view query_description(std::string_view name) {
  if (name == "lg_code") return "a 6-digit local government code";
  if (name == "limit") return "page size (streams and events: 1..1000, default 100)";
  if (name == "from") return "streams: first version; events: first position";
  if (name == "direction") return "forward (default) or backward";
  if (name == "types") return "comma-separated event types";
  if (name == "skill") return "only talents with this skill";
  if (name == "available") return "true: only active talents with uncommitted hours";
  if (name == "access_token") return "the bearer token, for browsers' WebSocket handshakes";
  return "";
}

json::object error_response_doc(std::string_view description) {
  return {{"description", description},
          {"content", {{"application/json", {{"schema", ref("Error")}}}}}};
}

json::object operation(const route_doc& d) {
  json::object op;
  op["summary"] = d.summary;
  op["operationId"] = std::string(d.method) + std::string(d.path);
  json::array params;
  std::string_view path = d.path;
  for (std::size_t open = path.find('{'); open != std::string_view::npos;
       open = path.find('{', open + 1)) {
    auto close = path.find('}', open);
    params.push_back(parameter(path.substr(open + 1, close - open - 1), "path",
                               "identifier (UUID; lg_code: 6 digits; stream: category-id)", true));
  }
  for (const char* q : d.query)
    params.push_back(parameter(q, "query", query_description(q)));
  if (d.what == kind::query) {
    params.push_back(parameter(
        "as_of", "query",
        "read as of a log position (digits), a date YYYY-MM-DD (end of that day, Asia/Tokyo) or "
        "an RFC 3339 time (business time); '+' in an offset may be sent unescaped"));
    params.push_back(parameter(
        "min_position", "query",
        "wait (bounded) until the read model has applied this position; 504 timeout otherwise"));
  }
  if (d.what == kind::command) {
    params.push_back(
        parameter("If-Match", "header", "\"<expected version of the target stream>\""));
    params.push_back(parameter("Idempotency-Key", "header",
                               "a UUID; a retry returns the first outcome and appends nothing"));
    params.push_back(parameter("X-On-Behalf-Of", "header",
                               "whom the entry is made for: a reference such as "
                               "municipality:131016, never a person's name (max 128 ASCII); "
                               "a municipality token names only itself, else 403 "
                               "on_behalf_of_not_allowed"));
  }
  if (!params.empty()) op["parameters"] = std::move(params);
  if (!d.bodies.empty()) {
    json::object schema;
    if (d.bodies.size() == 1) {
      schema = ref(d.bodies.front());
    } else {
      json::array one_of;
      for (const char* b : d.bodies)
        one_of.push_back(ref(b));
      schema["oneOf"] = std::move(one_of);
    }
    op["requestBody"] = {
        {"required", false},
        {"description",
         "The event's fields. Creating routes also take `id` (the client's UUID for the new "
         "aggregate); every command takes `occurred_at` (RFC 3339 business time)."},
        {"content", {{"application/json", {{"schema", std::move(schema)}}}}}};
  }
  json::object responses;
  const char* ok = d.creates ? "201" : "200";
  if (d.what == kind::command)
    responses[ok] = {{"description", "accepted: the event's stream, version, position and ids"},
                     {"content", {{"application/json", {{"schema", ref("CommandResult")}}}}}};
  else
    responses[ok] = {{"description", "OK"}};
  if (d.what != kind::other || d.authenticated) {
    responses["400"] = error_response_doc(
        "bad input (malformed JSON, wrong type, missing or "
        "unknown field, bad parameter or header)");
    if (d.authenticated) {
      responses["401"] = error_response_doc("missing, bad or revoked token");
      responses["403"] = error_response_doc("the token's role or municipality may not");
      responses["429"] = error_response_doc("too many bad tokens, or the server is busy");
    }
  }
  if (d.what == kind::command) {
    responses["404"] =
        error_response_doc("no such aggregate, or (for a municipality token) one it may not see");
    responses["409"] = error_response_doc("wrong_expected_version or a domain rule");
    responses["413"] = error_response_doc("body over 64 KiB");
    responses["422"] = error_response_doc("a body the route cannot map to one command");
  }
  if (d.what == kind::query) responses["504"] = error_response_doc("min_position not reached");
  op["responses"] = std::move(responses);
  if (!d.authenticated) op["security"] = json::array();
  return op;
}

}  // namespace

json::object openapi_document() {
  json::object schemas;
  schemas["Error"] = {
      {"type", "object"},
      {"required", {"error"}},
      {"properties",
       {{"error",
         {{"type", "object"},
          {"required", {"code", "message", "field"}},
          {"properties",
           {{"code", {{"type", "string"}}},
            {"message", {{"type", "string"}}},
            {"field",
             {{"type", "string"}, {"description", "the offending input; \"\" if none"}}}}}}}}}};
  schemas["CommandResult"] = {
      {"type", "object"},
      {"required", {"stream", "version", "position", "event_id"}},
      {"properties",
       {{"stream", {{"type", "string"}}},
        {"version", {{"type", "integer"}}},
        {"position", {{"type", "integer"}}},
        {"event_id", {{"type", "string"}, {"format", "uuid"}}}}},
      {"additionalProperties",
       {{"type", "string"},
        {"description",
         "ids: talent_id, need_id, candidacy_id, appointment_id, hearing_id, ..."}}}};
  for (const auto& d : route_docs())
    for (const char* b : d.bodies)
      if (!schemas.contains(b))
        if (const auto* info = find_event_type(b)) schemas[b] = event_schema(*info);

  json::object paths;
  for (const auto& d : route_docs()) {
    auto& item = paths[d.path];
    if (!item.is_object()) item = json::object();
    item.as_object()[d.method] = operation(d);
  }
  json::object doc;
  doc["openapi"] = "3.1.0";
  doc["info"] = {{"title", "Kakehashi"},
                 {"version", "1"},
                 {"description",
                  "Event-sourced case management for placing digital professionals with Tokyo's "
                  "62 municipalities. Errors are {\"error\":{\"code\",\"message\",\"field\"}}."}};
  doc["components"] = {{"schemas", std::move(schemas)},
                       {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}};
  doc["security"] = json::array{json::object{{"bearer", json::array()}}};
  doc["paths"] = std::move(paths);
  return doc;
}

}  // namespace kakehashi::api
