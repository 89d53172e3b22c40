// The query routes of API.md. Every query reads one read model: the live one (optionally after
// waiting, at most route_context::min_position_wait, until it has applied `min_position`:
// read-your-writes, else 504 `timeout`), or the model as of a past point (`as_of` = a log
// position, a date meaning the end of that Tokyo day, or an RFC 3339 time; times cut on business
// time, occurred_at). Views that speak of "today" (due, overdue, stale) use the as-of date for
// time cuts, the date of the model's latest business time for position cuts, the Tokyo date now
// for live reads.
//
// Who sees what (events/roles.h, api/event_access.h):
// - a municipality token reads only its own municipality: /v1/municipalities lists only it, the
//   pipeline and work queue are narrowed to it (another lg_code is 403), its needs, appointments
//   and proposed candidacies (any other id is 404, as if it did not exist); never the talent
//   pool (talents, matches: 403) nor the cross-municipality metrics (403);
// - dashboard tokens read everything without personal data; events come redacted;
// - events (timelines, streams, the global log) are filtered and redacted per event.
// Responses that carry personal data are counted in /metrics and logged (who, which stream;
// never the data) on stderr.
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <limits>
#include <optional>

#include "api/access_log.h"
#include "api/event_access.h"
#include "api/input.h"
#include "api/route_context.h"
#include "api/routes.h"
#include "api/state_json.h"
#include "engine/event_json.h"
#include "engine/read_log.h"
#include "events/event_codec.h"
#include "events/text_formats.h"
#include "projections/runner.h"
#include "projections/views.h"

namespace kakehashi::api {

namespace {

namespace json = boost::json;

constexpr std::uint64_t default_page = 100;
constexpr std::uint64_t max_page = 1000;
// A timeline is an aggregate's whole stream; streams this long are paged through
// /v1/streams/{stream} instead.
constexpr std::size_t max_timeline_events = 1000;
// The most a page of raw events reads looking for visible ones: positions of the global log
// (event_store::read_all's own default bound) and versions of a stream.
constexpr std::size_t max_log_scan = 100000;
constexpr std::uint64_t max_stream_scan = 100000;

error bad_input(std::string code, std::string message, std::string field) {
  return make_error(errc::invalid_argument, std::move(code), std::move(message), std::move(field));
}

http_response forbidden(std::string_view message) {
  return forbidden_response(message);
}

// One read: the model it reads and the day it calls today.
struct reading {
  const read_model* model = nullptr;
  std::string today;
  read_point point;
};

using view_fn = std::function<http_response(const reading&)>;

// Runs `fn` over the model `point` names. On a worker thread.
http_response with_model(const route_context& ctx, const read_point& point, const view_fn& fn) {
  if (!ctx.parts.projections)
    return error_response(http::status::service_unavailable, "unavailable",
                          "this server has no read model");
  reading r;
  r.point = point;
  if (point.at == read_point::kind::live) {
    // A position past the head is reached only if someone writes that far: waiting for it
    // would let any token hold a worker for the whole min_position_wait per request.
    if (point.min_position && *point.min_position > ctx.parts.store->head_position())
      return error_response(bad_input("invalid_parameter",
                                      "min_position names a position after the head of the log",
                                      "min_position"));
    if (point.min_position &&
        !ctx.parts.projections->wait_for(*point.min_position, ctx.min_position_wait))
      return error_response(http::status::gateway_timeout, "timeout",
                            "the read model has not reached min_position yet; retry",
                            "min_position");
    r.today = views::tokyo_date(now_micros());
    return ctx.parts.projections->read([&](const read_model& m) {
      r.model = &m;
      return fn(r);
    });
  }
  result<as_of_models::model_ptr> model = make_error(errc::internal, "internal", "unreachable");
  if (point.at == read_point::kind::position) {
    if (point.position > ctx.parts.store->head_position())
      return error_response(bad_input("invalid_parameter",
                                      "as_of names a position after the head of the log", "as_of"));
    model = ctx.as_of->at_position(point.position);
  } else {
    model = ctx.as_of->at_time(point.micros);
  }
  if (!model) return error_response(model.err());
  r.model = model->get();
  if (point.at == read_point::kind::time)
    r.today = views::tokyo_date(point.micros);
  else
    r.today = views::tokyo_date((*model)->last_occurred_at != 0 ? (*model)->last_occurred_at
                                                                : now_micros());
  return fn(r);
}

// The common shape of a query route: authenticated, on the worker pool, query parameters
// checked against `allowed` (as_of and min_position always allowed).
using query_fn =
    std::function<http_response(const request_view&, const principal&, const query_map&)>;

void add_query(router& routes, const context_ptr& ctx, std::string_view pattern,
               std::initializer_list<std::string_view> allowed, query_fn fn) {
  std::vector<std::string_view> names(allowed.begin(), allowed.end());
  names.emplace_back("as_of");
  names.emplace_back("min_position");
  routes.add(http::verb::get, pattern,
             blocking_route(ctx, [names, fn = std::move(fn)](const request_view& req,
                                                             const principal& who, reply done) {
               auto query = parse_query(req.query, names);
               if (!query) return done(error_response(query.err()));
               done(fn(req, who, *query));
             }));
}

std::string param(const query_map& q, std::string_view name) {
  auto it = q.find(name);
  return it == q.end() ? std::string() : it->second;
}

// Removes the array items (objects with an "lg_code") of other municipalities, at any depth of
// `view`'s top-level arrays and of the arrays in its top-level objects.
void keep_municipality(json::object& view, const std::string& lg) {
  auto filter = [&](json::array& items) {
    json::array kept;
    for (auto& item : items)
      if (item.is_object()) {
        auto* code = item.as_object().if_contains("lg_code");
        if (code && code->is_string() && code->as_string() == lg) kept.push_back(std::move(item));
      }
    items = std::move(kept);
  };
  for (auto& member : view) {
    if (member.value().is_array()) filter(member.value().as_array());
    if (member.value().is_object())
      for (auto& inner : member.value().as_object())
        if (inner.value().is_array()) filter(inner.value().as_array());
  }
}

json::object view_object(json::value v) {
  return v.is_object() ? std::move(v.as_object()) : json::object{{"view", std::move(v)}};
}

bool is_municipality(const principal& who) {
  return who.role == access_role::municipality;
}

bool has_personal_fields(std::string_view type) {
  const auto* info = find_event_type(type);
  return info && info->personal_schema.has_value();
}

// Records a response that carried personal data in the tamper-evident read log
// (engine/read_log.h: who read which streams through which route; never the data), and counts
// it in /metrics. Asynchronous: the read does not wait for the disk.
void note_personal_read(const route_context& ctx, const principal& who, std::string route,
                        std::vector<std::string> subjects) {
  if (subjects.empty()) return;
  std::sort(subjects.begin(), subjects.end());
  subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
  ctx.metrics->record_personal_data_read();
  personal_data_read read{who.token_id.to_string(), std::string(to_string(who.role)), who.name,
                          std::move(subjects), std::move(route)};
  record_personal_data_read(*ctx.parts.store, read, [metrics = ctx.metrics](status s) {
    if (!s) metrics->record_personal_data_read_failure();
  });
}

// Whether a point-in-time cut keeps `e`.
bool within(const read_point& p, const recorded_event& e) {
  switch (p.at) {
    case read_point::kind::live:
      return true;
    case read_point::kind::position:
      return e.position <= p.position;
    case read_point::kind::time:
      return e.occurred_at <= p.micros;
  }
  return true;
}

struct encoded_events {
  json::array events;
  std::vector<std::string> personal;  // streams of events delivered with personal fields
};

result<encoded_events> encode_events(const route_context& ctx, const principal& who,
                                     const std::vector<event_ptr>& events, const read_model& m,
                                     const read_point& cut) {
  encoded_events out;
  for (const auto& e : events) {
    if (!within(cut, *e)) continue;
    delivery how = event_delivery(who, *e, m);
    if (how == delivery::hidden) continue;
    auto ce = cloud_event(*e, *ctx.parts.store, how);
    if (!ce) return ce.take_err();
    if (how == delivery::full && has_personal_fields(e->type)) out.personal.push_back(e->stream);
    out.events.push_back(std::move(*ce));
  }
  return out;
}

// The log position a municipality's read of raw events is answered as of: the head, once the
// read model has applied it (within min_position_wait), else as far as the model got. Whether
// it may see an event comes from the model, so events after this are left out as if not yet
// appended. Cutting here rather than at the first event the model has not reached keeps the
// cut from depending on where events the caller cannot see lie. Other roles see every event:
// no cut.
position_t visible_horizon(const route_context& ctx, const principal& who) {
  if (!is_municipality(who)) return std::numeric_limits<position_t>::max();
  position_t head = ctx.parts.store->head_position();
  if (ctx.parts.projections->wait_for(head, ctx.min_position_wait)) return head;
  return ctx.parts.projections->position();
}

// The first events of `candidates`, in order, that `who` may see (up to `room` of them) and
// that lie within `horizon`; `beyond` tells whether one lay past it.
std::size_t take_visible(const route_context& ctx, const principal& who,
                         const std::vector<event_ptr>& candidates, position_t horizon,
                         std::size_t room, std::vector<event_ptr>& out, bool& beyond) {
  std::size_t examined = 0;
  ctx.parts.projections->read([&](const read_model& m) {
    for (const auto& e : candidates) {
      if (room == 0) break;
      ++examined;
      if (e->position > horizon) {
        beyond = true;
        continue;
      }
      if (event_delivery(who, *e, m) == delivery::hidden) continue;
      out.push_back(e);
      --room;
    }
    return 0;
  });
  return examined;
}

// An aggregate's stream, as far as its read point reaches.
result<std::vector<event_ptr>> timeline_events(const route_context& ctx,
                                               const std::string& stream) {
  return ctx.parts.store->read_stream(stream, 0, read_direction::forward, max_timeline_events);
}

// The talent's personal profile from its events' (already redacted or opened) data.
json::object profile_of(const json::array& timeline) {
  json::object profile;
  for (const auto& ev : timeline) {
    const auto& o = ev.as_object();
    auto type = o.at("type").as_string();
    if (type != "TalentRegistered" && type != "TalentProfileUpdated") continue;
    const auto& data = o.at("data").as_object();
    for (const char* key : {"display_name", "email", "phone", "employer"})
      if (auto* v = data.if_contains(key)) profile[key] = *v;
  }
  return profile;
}

std::optional<std::string> path_id(const request_view& req) {
  auto id = parse_uuid(req.param("id"));
  if (!id) return std::nullopt;
  return id->to_string();
}

http_response invalid_id() {
  return error_response(bad_input("invalid_id", "id must be a UUID", "id"));
}

// GET /v1/needs/{id}, /v1/talents/{id}, /v1/appointments/{id}, /v1/candidacies/{id}. `find`
// answers an aggregate the token may not see exactly as one that does not exist (same status,
// code and message, which names no id), so the answer never confirms another municipality's id.
template <class Find>
http_response aggregate(const route_context& ctx, const request_view& req, const principal& who,
                        const query_map& q, std::string category, std::string collection,
                        Find find) {
  auto id = path_id(req);
  if (!id) return invalid_id();
  auto point = parse_read_point(q);
  if (!point) return error_response(point.err());
  const std::string stream = category + "-" + *id;
  std::vector<std::string> personal;
  auto res = with_model(ctx, *point, [&](const reading& r) -> http_response {
    // find: (model, id) -> result<json::object> (the state) or an error response
    auto state = find(*r.model, *id);
    if (!state) return error_response(state.err());
    auto events = timeline_events(ctx, stream);
    if (!events) return error_response(events.err());
    auto timeline = encode_events(ctx, who, *events, *r.model, r.point);
    if (!timeline) return error_response(timeline.err());
    personal = std::move(timeline->personal);
    json::object body;
    if (category == "talent") state->emplace("profile", profile_of(timeline->events));
    body[category] = std::move(*state);
    body["timeline"] = std::move(timeline->events);
    body["timeline_truncated"] = events->size() >= max_timeline_events;
    body["position"] = r.model->position;
    return json_response(http::status::ok, body);
  });
  if (res.result() == http::status::ok)
    note_personal_read(ctx, who, "GET /v1/" + collection + "/{id}", std::move(personal));
  return res;
}

error not_found(std::string code, std::string message) {
  return make_error(errc::not_found, std::move(code), std::move(message));
}

}  // namespace

void add_query_routes(router& routes, context_ptr ctx) {
  using q = const query_map&;
  using rv = const request_view&;
  using who_t = const principal&;

  add_query(routes, ctx, "/v1/municipalities", {}, [ctx](rv, who_t who, q query) {
    auto point = parse_read_point(query);
    if (!point) return error_response(point.err());
    return with_model(*ctx, *point, [&](const reading& r) {
      json::object view = view_object(views::coverage(*r.model));
      if (is_municipality(who)) {
        // Only its own entry; the totals would describe the others.
        if (auto* regions = view.if_contains("regions"); regions && regions->is_object())
          keep_municipality(regions->as_object(), who.lg_code);
        view.erase("with_appointments");
        view["municipalities"] = 1;
      }
      return json_response(http::status::ok, view);
    });
  });

  add_query(routes, ctx, "/v1/pipeline", {"lg_code"}, [ctx](rv, who_t who, q query) {
    auto point = parse_read_point(query);
    if (!point) return error_response(point.err());
    std::string lg = param(query, "lg_code");
    if (!lg.empty() && !is_valid_lg_code(lg))
      return error_response(
          bad_input("invalid_parameter", "lg_code must be a local government code", "lg_code"));
    if (lg.empty() && is_municipality(who)) lg = who.lg_code;
    if (!can_read_municipality(who, lg))
      return forbidden("this token reads only its own municipality");
    return with_model(*ctx, *point, [&](const reading& r) {
      return json_response(http::status::ok,
                           views::pipeline(*r.model, lg, r.today, {}, is_municipality(who)));
    });
  });

  add_query(routes, ctx, "/v1/work-queue", {}, [ctx](rv, who_t who, q query) {
    auto point = parse_read_point(query);
    if (!point) return error_response(point.err());
    return with_model(*ctx, *point, [&](const reading& r) {
      json::object view = view_object(views::work_queue(*r.model, r.today));
      if (is_municipality(who)) keep_municipality(view, who.lg_code);
      return json_response(http::status::ok, view);
    });
  });

  add_query(routes, ctx, "/v1/needs/{id}", {}, [ctx](rv req, who_t who, q query) {
    return aggregate(*ctx, req, who, query, "need", "needs",
                     [&](const read_model& m, const std::string& id) -> result<json::object> {
                       auto it = m.needs.find(id);
                       if (it == m.needs.end() || !can_read_municipality(who, it->second.lg_code))
                         return not_found("need_not_found", "no such need");
                       return need_json(id, it->second, m, is_municipality(who));
                     });
  });

  add_query(routes, ctx, "/v1/needs/{id}/matches", {"limit"}, [ctx](rv req, who_t who, q query) {
    if (is_municipality(who))
      return forbidden("the talent pool is not open to municipality tokens");
    auto id = path_id(req);
    if (!id) return invalid_id();
    auto point = parse_read_point(query);
    if (!point) return error_response(point.err());
    std::uint64_t limit = 20;
    if (auto l = param(query, "limit"); !l.empty()) {
      auto n = parse_count(l, "limit", 1, 200);
      if (!n) return error_response(n.err());
      limit = *n;
    }
    return with_model(*ctx, *point, [&](const reading& r) {
      auto view = views::matches(*r.model, *id, limit);
      if (!view) return error_response(view.err());
      return json_response(http::status::ok, *view);
    });
  });

  add_query(routes, ctx, "/v1/talents", {"skill", "available"}, [ctx](rv, who_t who, q query) {
    if (is_municipality(who))
      return forbidden("the talent pool is not open to municipality tokens");
    auto point = parse_read_point(query);
    if (!point) return error_response(point.err());
    std::string available = param(query, "available");
    if (!available.empty() && available != "true" && available != "false")
      return error_response(
          bad_input("invalid_parameter", "available is true or false", "available"));
    std::string skill = param(query, "skill");
    return with_model(*ctx, *point, [&](const reading& r) {
      return json_response(http::status::ok, views::talents(*r.model, skill, available == "true"));
    });
  });

  add_query(routes, ctx, "/v1/ideas", {"limit"}, [ctx](rv, who_t who, q query) {
    if (is_municipality(who))
      return forbidden("the talent pool is not open to municipality tokens");
    auto point = parse_read_point(query);
    if (!point) return error_response(point.err());
    std::uint64_t per = 3;
    if (auto l = param(query, "limit"); !l.empty()) {
      auto n = parse_count(l, "limit", 1, 20);
      if (!n) return error_response(n.err());
      per = *n;
    }
    return with_model(*ctx, *point, [&](const reading& r) {
      return json_response(http::status::ok, views::ideas(*r.model, per));
    });
  });

  add_query(routes, ctx, "/v1/talents/{id}", {}, [ctx](rv req, who_t who, q query) {
    if (is_municipality(who))
      return forbidden("the talent pool is not open to municipality tokens");
    return aggregate(*ctx, req, who, query, "talent", "talents",
                     [&](const read_model& m, const std::string& id) -> result<json::object> {
                       auto it = m.talents.find(id);
                       if (it == m.talents.end())
                         return not_found("talent_not_found", "no such talent");
                       return talent_json(id, it->second);
                     });
  });

  add_query(routes, ctx, "/v1/candidacies/{id}", {}, [ctx](rv req, who_t who, q query) {
    return aggregate(*ctx, req, who, query, "candidacy", "candidacies",
                     [&](const read_model& m, const std::string& id) -> result<json::object> {
                       auto it = m.candidacies.find(id);
                       if (it == m.candidacies.end() ||
                           !can_read_municipality(who, it->second.lg_code) ||
                           (is_municipality(who) && !shown_to_municipality(it->second)))
                         return not_found("candidacy_not_found", "no such candidacy");
                       return candidacy_json(id, it->second);
                     });
  });

  add_query(routes, ctx, "/v1/appointments/{id}", {}, [ctx](rv req, who_t who, q query) {
    return aggregate(
        *ctx, req, who, query, "appointment", "appointments",
        [&](const read_model& m, const std::string& id) -> result<json::object> {
          auto it = m.appointments.find(id);
          if (it == m.appointments.end() || !can_read_municipality(who, it->second.lg_code))
            return not_found("appointment_not_found", "no such appointment");
          return appointment_json(id, it->second);
        });
  });

  add_query(routes, ctx, "/v1/metrics/funnel", {}, [ctx](rv, who_t who, q query) {
    if (!can_read_municipality(who, ""))
      return forbidden("metrics across municipalities are not open to municipality tokens");
    auto point = parse_read_point(query);
    if (!point) return error_response(point.err());
    return with_model(*ctx, *point, [&](const reading& r) {
      return json_response(http::status::ok, views::funnel(*r.model, r.today));
    });
  });

  add_query(routes, ctx, "/v1/metrics/headline", {}, [ctx](rv, who_t who, q query) {
    if (!can_read_municipality(who, ""))
      return forbidden("metrics across municipalities are not open to municipality tokens");
    auto point = parse_read_point(query);
    if (!point) return error_response(point.err());
    return with_model(*ctx, *point, [&](const reading& r) {
      json::object view = view_object(views::headline(*r.model));
      if (r.point.at == read_point::kind::time) view["as_of"] = rfc3339(r.point.micros);
      return json_response(http::status::ok, view);
    });
  });

  add_query(
      routes, ctx, "/v1/streams/{stream}", {"from", "limit", "direction"},
      [ctx](rv req, who_t who, q query) {
        auto filter = event_filter::parse(req.param("stream"));
        if (!filter || filter->kind != event_filter::scope::stream)
          return error_response(bad_input(
              "invalid_stream", "stream must name one stream, e.g. need-<uuid>", "stream"));
        auto point = parse_read_point(query);
        if (!point) return error_response(point.err());
        std::string direction = param(query, "direction");
        if (direction.empty()) direction = "forward";
        if (direction != "forward" && direction != "backward")
          return error_response(
              bad_input("invalid_parameter", "direction is forward or backward", "direction"));
        bool forward = direction == "forward";
        std::uint64_t from = forward ? 0 : UINT64_MAX;
        if (auto f = param(query, "from"); !f.empty()) {
          auto n = parse_count(f, "from", 0, std::uint64_t(1) << 62);
          if (!n) return error_response(n.err());
          from = *n;
        }
        std::uint64_t limit = default_page;
        if (auto l = param(query, "limit"); !l.empty()) {
          auto n = parse_count(l, "limit", 1, max_page);
          if (!n) return error_response(n.err());
          limit = *n;
        }
        if (!ctx->parts.projections)
          return error_response(http::status::service_unavailable, "unavailable",
                                "this server has no read model");
        // A municipality sees a stream's events one by one (api/event_access.h), and the page
        // must show neither where its hidden events lie nor that a stream it may see nothing of
        // exists. So the page is filled with `limit` visible events, reading on through the
        // stream, and `next` follows the last visible event returned when the page is full; when
        // not, the stream was read to its end (or to the horizon: visible_horizon) and `next` is
        // null, the very answer an unknown stream gets. Only past max_stream_scan versions read
        // without filling the page does `next` point at the version after the last one read,
        // which depends on `from` and the bound alone. For other roles every event is visible
        // and this is one read.
        const position_t horizon = visible_horizon(*ctx, who);
        const std::size_t batch = is_municipality(who) ? max_page : limit;
        std::vector<event_ptr> page;
        // The version after `v` in the reading direction; nullopt past version 0 backward.
        auto after = [forward](std::uint64_t v) -> std::optional<std::uint64_t> {
          if (forward) return v + 1;
          if (v > 0) return v - 1;
          return std::nullopt;
        };
        std::optional<std::uint64_t> cursor = from;  // nullopt: read to the stream's end
        std::uint64_t scanned = 0;
        while (cursor && page.size() < limit && scanned < max_stream_scan) {
          auto events = ctx->parts.store->read_stream(
              filter->name, *cursor, forward ? read_direction::forward : read_direction::backward,
              batch);
          if (!events) return error_response(events.err());
          bool beyond = false;
          std::size_t examined =
              take_visible(*ctx, who, *events, horizon, limit - page.size(), page, beyond);
          scanned += examined;
          if (examined == 0 || (beyond && forward) ||
              (examined == events->size() && events->size() < batch)) {
            cursor.reset();
            break;
          }
          cursor = after((*events)[examined - 1]->version);
        }
        auto encoded = ctx->parts.projections->read(
            [&](const read_model& m) { return encode_events(*ctx, who, page, m, *point); });
        if (!encoded) return error_response(encoded.err());
        json::object body;
        body["stream"] = filter->name;
        body["direction"] = direction;
        // Past a full page; else set only when the scan bound ended the read.
        std::optional<std::uint64_t> next =
            page.size() == limit ? after(page.back()->version) : cursor;
        if (next)
          body["next"] = *next;
        else
          body["next"] = nullptr;
        body["events"] = std::move(encoded->events);
        note_personal_read(*ctx, who, "GET /v1/streams/{stream}", std::move(encoded->personal));
        return json_response(http::status::ok, body);
      });

  add_query(routes, ctx, "/v1/events", {"from", "limit", "types"}, [ctx](rv, who_t who, q query) {
    auto point = parse_read_point(query);
    if (!point) return error_response(point.err());
    std::uint64_t from = 1;
    if (auto f = param(query, "from"); !f.empty()) {
      auto n = parse_count(f, "from", 1, std::uint64_t(1) << 62);
      if (!n) return error_response(n.err());
      from = *n;
    }
    std::uint64_t limit = default_page;
    if (auto l = param(query, "limit"); !l.empty()) {
      auto n = parse_count(l, "limit", 1, max_page);
      if (!n) return error_response(n.err());
      limit = *n;
    }
    std::vector<std::string> types;
    if (auto t = param(query, "types"); !t.empty()) {
      std::string_view rest = t;
      while (true) {
        auto comma = rest.find(',');
        std::string_view type = rest.substr(0, comma);
        if (!find_event_type(type))
          return error_response(bad_input(
              "invalid_parameter", "unknown event type '" + std::string(type) + "'", "types"));
        types.emplace_back(type);
        if (types.size() > 64)
          return error_response(bad_input("invalid_parameter", "at most 64 types", "types"));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    auto filter = event_filter::parse("$all", types);
    if (!filter) return error_response(filter.err());
    if (!ctx->parts.projections)
      return error_response(http::status::service_unavailable, "unavailable",
                            "this server has no read model");
    // A municipality's events are hidden per event. Were next_position the store's (just past
    // the limit-th *matching* event), paging with limit=1 would locate another municipality's
    // events one by one. So the page is filled with `limit` visible events, reading on within
    // the store's scan bound, and next_position is just past the last event returned when the
    // page is full, else just past the last position read (the bound, the head, or the
    // horizon: visible_horizon). Each depends on `from`, the bound, the head and the visible
    // events only, never on where hidden ones lie. For other roles every event is visible and
    // this is the store's one read.
    const position_t horizon = visible_horizon(*ctx, who);
    const std::size_t batch = is_municipality(who) ? max_page : limit;
    std::vector<event_ptr> events;
    position_t next = from;
    bool end = false;
    std::size_t budget = max_log_scan;
    while (events.size() < limit && budget > 0 && !end) {
      auto page = ctx->parts.store->read_all(next, batch, *filter, budget);
      if (!page) return error_response(page.err());
      bool beyond = false;
      take_visible(*ctx, who, page->events, horizon, limit - events.size(), events, beyond);
      if (beyond) {
        next = std::max(next, horizon + 1);
        break;
      }
      if (page->next_position == next) {  // read nothing: past the head
        end = page->end_of_log;
        break;
      }
      budget -= std::min<std::size_t>(budget, page->next_position - next);
      next = page->next_position;
      end = page->end_of_log;
    }
    if (events.size() == limit) {
      next = events.back()->position + 1;
      end = next > ctx->parts.store->head_position();
    }
    auto encoded = ctx->parts.projections->read(
        [&](const read_model& m) { return encode_events(*ctx, who, events, m, *point); });
    if (!encoded) return error_response(encoded.err());
    json::object body;
    body["events"] = std::move(encoded->events);
    body["next_position"] = next;
    body["end_of_log"] = end;
    body["head_position"] = ctx->parts.store->head_position();
    note_personal_read(*ctx, who, "GET /v1/events", std::move(encoded->personal));
    return json_response(http::status::ok, body);
  });

  routes.add(http::verb::get, "/v1/audit/verify",
             blocking_route(ctx, [ctx](rv req, who_t who, reply done) {
               if (!can_verify_chain(who))
                 return done(forbidden("only admin and auditor tokens verify the chain"));
               auto query = parse_query(req.query, {});
               if (!query) return done(error_response(query.err()));
               auto report = ctx->parts.store->verify();
               json::object body{{"ok", report.ok},
                                 {"checked", report.checked},
                                 {"first_bad_position", report.first_bad_position},
                                 {"problem", report.problem},
                                 {"head_position", ctx->parts.store->head_position()}};
               done(json_response(http::status::ok, body));
             }));
}

}  // namespace kakehashi::api
