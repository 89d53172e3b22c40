#include "api/event_access.h"

#include <boost/json/parse.hpp>
#include <cstdio>

#include "engine/event_json.h"
#include "projections/views.h"

namespace kakehashi::api {

namespace {

std::string_view id_of(std::string_view stream, std::string_view category) {
  return stream.substr(category.size() + 1);
}

bool in_category(std::string_view stream, std::string_view category) {
  return stream.size() > category.size() && stream.substr(0, category.size()) == category &&
         stream[category.size()] == '-';
}

// The candidacy a need's CandidateAttached names, by the need's own fold of that one event.
bool attaches_proposed_candidacy(const recorded_event& e, const read_model& m) {
  need_state attached;
  evolve(attached, event_view{{}, e.type, e.payload, e.occurred_at, e.version});
  if (attached.candidacies.size() != 1) return false;
  auto it = m.candidacies.find(attached.candidacies.begin()->first);
  return it != m.candidacies.end() && shown_to_municipality(it->second);
}

// What a municipality token may see of an event: only what concerns its own code.
delivery for_municipality(const std::string& lg, const recorded_event& e, const read_model& m) {
  const std::string_view stream = e.stream;
  if (in_category(stream, "municipality"))
    return id_of(stream, "municipality") == lg ? delivery::redacted : delivery::hidden;
  if (in_category(stream, "need")) {
    auto it = m.needs.find(id_of(stream, "need"));
    if (it == m.needs.end() || it->second.lg_code != lg) return delivery::hidden;
    // A candidate attached to the need is the coordinator's scouting in the talent pool until
    // proposed: the municipality hears of it (as of the candidacy's own events) once it is.
    if (e.type == "CandidateAttached" && !attaches_proposed_candidacy(e, m))
      return delivery::hidden;
    return delivery::full;
  }
  if (in_category(stream, "candidacy")) {
    auto it = m.candidacies.find(id_of(stream, "candidacy"));
    if (it == m.candidacies.end() || it->second.lg_code != lg) return delivery::hidden;
    return shown_to_municipality(it->second) ? delivery::redacted : delivery::hidden;
  }
  if (in_category(stream, "appointment")) {
    auto it = m.appointments.find(id_of(stream, "appointment"));
    return it != m.appointments.end() && it->second.lg_code == lg ? delivery::redacted
                                                                  : delivery::hidden;
  }
  return delivery::hidden;  // the talent pool and anything else
}

}  // namespace

bool shown_to_municipality(const candidacy_state& c) {
  return c.entered_at[static_cast<std::size_t>(candidacy_stage::proposed)] != 0;
}

delivery event_delivery(const principal& who, const recorded_event& event,
                        const read_model& model) {
  switch (who.role) {
    case access_role::admin:
    case access_role::coordinator:
    case access_role::auditor:
      return delivery::full;
    case access_role::dashboard:
      return delivery::redacted;
    case access_role::municipality:
      return for_municipality(who.lg_code, event, model);
  }
  return delivery::hidden;
}

std::string rfc3339(std::int64_t micros) {
  auto date = views::tokyo_date(micros - 9LL * 3'600'000'000LL);  // the UTC date
  std::int64_t in_day = micros % 86'400'000'000LL;
  if (in_day < 0) in_day += 86'400'000'000LL;
  char out[64];
  std::snprintf(out, sizeof out, "%sT%02lld:%02lld:%02lld.%06lldZ", date.c_str(),
                static_cast<long long>(in_day / 3'600'000'000LL),
                static_cast<long long>(in_day / 60'000'000LL % 60),
                static_cast<long long>(in_day / 1'000'000LL % 60),
                static_cast<long long>(in_day % 1'000'000LL));
  return out;
}

result<boost::json::object> cloud_event(const recorded_event& e, event_store& store, delivery how) {
  auto data = payload_json(
      e, store, how == delivery::full ? personal_access::shown : personal_access::hidden);
  if (!data) return data.take_err();
  boost::json::object out;
  out["specversion"] = "1.0";
  out["id"] = e.id.to_string();
  out["source"] = "kakehashi";
  out["type"] = e.type;
  out["subject"] = e.stream;
  out["time"] = rfc3339(e.recorded_at);
  out["datacontenttype"] = "application/json";
  out["position"] = e.position;
  out["streamversion"] = e.version;
  out["occurredat"] = rfc3339(e.occurred_at);
  out["actorid"] = e.who.id;
  out["actorrole"] = e.who.role;
  if (!e.who.on_behalf_of.empty()) out["actoronbehalfof"] = e.who.on_behalf_of;
  if (!e.correlation_id.is_nil()) out["correlationid"] = e.correlation_id.to_string();
  if (!e.causation_id.is_nil()) out["causationid"] = e.causation_id.to_string();
  boost::system::error_code ec;
  auto parsed = boost::json::parse(*data, ec);
  if (ec || !parsed.is_object())
    return make_error(errc::internal, "invalid_payload_json",
                      "decoded payload is not a JSON object");
  out["data"] = std::move(parsed);
  return out;
}

}  // namespace kakehashi::api
