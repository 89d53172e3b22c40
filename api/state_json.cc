#include "api/state_json.h"

#include <boost/json/array.hpp>

#include "api/event_access.h"

namespace kakehashi::api {

namespace json = boost::json;

namespace {

// Ordinals of events/domain.capnp's enumerations and domain.h's stage enums, by API name.
constexpr const char* tier_names[] = {"hands_on", "cio_advisor"};
constexpr const char* work_form_names[] = {"onsite", "remote", "hybrid", "spot"};
constexpr const char* origin_names[] = {"municipality_request", "talent_driven"};
constexpr const char* direction_names[] = {"need_driven", "talent_driven"};
constexpr const char* sourcing_names[] = {"scout", "public_posting"};
constexpr const char* close_names[] = {"filled", "cancelled", "self_hired", "no_match"};
constexpr const char* end_names[] = {"completed", "early", "renewed"};
constexpr const char* party_names[] = {"talent", "municipality"};
constexpr const char* talent_status_names[] = {"none", "active", "paused", "withdrawn"};
constexpr const char* need_stage_names[] = {
    "none", "consulted", "hearing", "requirements_defined", "sourcing", "filled", "closed"};
constexpr const char* candidacy_stage_names[] = {
    "none",     "identified", "contacted", "interested", "declined",
    "proposed", "accepted",   "rejected",  "archived",   "appointed"};
constexpr const char* appointment_status_names[] = {"none", "arranged", "active", "suspended",
                                                    "ended"};

template <std::size_t N>
const char* name_of(const char* const (&names)[N], std::size_t i) {
  return i < N ? names[i] : "unknown";
}

json::array strings(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values)
    out.emplace_back(v);
  return out;
}

template <std::size_t N>
json::array names(const std::vector<std::uint16_t>& values, const char* const (&table)[N]) {
  json::array out;
  for (auto v : values)
    out.emplace_back(name_of(table, v));
  return out;
}

json::value instant(std::int64_t micros) {
  if (micros == 0) return nullptr;
  return json::value(rfc3339(micros));
}

}  // namespace

std::string_view candidacy_stage_name(candidacy_stage stage) {
  return name_of(candidacy_stage_names, static_cast<std::size_t>(stage));
}

json::object talent_json(const std::string& id, const talent_state& t) {
  json::object out;
  out["talent_id"] = id;
  out["status"] =
      t.erased ? "erased" : name_of(talent_status_names, static_cast<std::size_t>(t.status));
  out["erased"] = t.erased;
  out["consent"] = t.consent;
  out["consent_version"] = t.consent_version;
  out["residence_area"] = t.residence_area;
  out["skills"] = strings(t.skills);
  out["role_categories"] = strings(t.role_categories);
  out["tiers"] = names(t.tiers, tier_names);
  out["availability"] = json::object{{"hours_per_week", t.hours_per_week},
                                     {"work_forms", names(t.work_forms, work_form_names)},
                                     {"areas", strings(t.areas)}};
  out["registered_at"] = instant(t.registered_at);
  out["version"] = t.events == 0 ? 0 : t.events - 1;
  return out;
}

json::object need_json(const std::string& id, const need_state& n, const read_model& m,
                       bool proposed_only) {
  json::object out;
  out["need_id"] = id;
  out["lg_code"] = n.lg_code;
  auto muni = m.municipalities.find(n.lg_code);
  out["municipality"] = muni == m.municipalities.end() ? "" : muni->second.name_ja;
  out["stage"] = name_of(need_stage_names, static_cast<std::size_t>(n.stage));
  out["on_hold"] = n.on_hold;
  out["origin"] = name_of(origin_names, n.origin);
  if (n.requirements) {
    const auto& r = *n.requirements;
    out["requirements"] = json::object{{"revision", r.revision},
                                       {"role_category", r.role_category},
                                       {"tier", name_of(tier_names, r.tier)},
                                       {"skills", strings(r.skills)},
                                       {"work_forms", names(r.work_forms, work_form_names)},
                                       {"hours_per_week", r.hours_per_week},
                                       {"duration_months", r.duration_months},
                                       {"openings", r.openings}};
  } else {
    out["requirements"] = nullptr;
  }
  out["unfilled"] = n.unfilled();
  if (n.sourcing_mode)
    out["sourcing_mode"] = name_of(sourcing_names, *n.sourcing_mode);
  else
    out["sourcing_mode"] = nullptr;
  if (n.stage == need_stage::closed)
    out["close_reason"] = name_of(close_names, n.close_reason);
  else
    out["close_reason"] = nullptr;
  json::array hearings;
  for (const auto& [hearing, note] : n.hearings)
    hearings.push_back(json::object{{"hearing_id", hearing}, {"latest_note_event_id", note}});
  out["hearings"] = std::move(hearings);
  json::array candidacies;
  for (const auto& [cid, talent] : n.candidacies) {
    auto c = m.candidacies.find(cid);
    if (proposed_only && (c == m.candidacies.end() || !shown_to_municipality(c->second))) continue;
    candidacies.push_back(json::object{
        {"candidacy_id", cid},
        {"talent_id", talent},
        {"stage", c == m.candidacies.end() ? "unknown" : candidacy_stage_name(c->second.stage)}});
  }
  out["candidacies"] = std::move(candidacies);
  json::array appointments;
  for (const auto& a : n.appointments)
    appointments.emplace_back(a);
  out["appointments"] = std::move(appointments);
  out["opened_at"] = instant(n.opened_at);
  out["version"] = n.events == 0 ? 0 : n.events - 1;
  return out;
}

json::object candidacy_json(const std::string& id, const candidacy_state& c) {
  json::object out;
  out["candidacy_id"] = id;
  out["stage"] = candidacy_stage_name(c.stage);
  out["talent_id"] = c.talent_id;
  if (c.need_id.empty())
    out["need_id"] = nullptr;
  else
    out["need_id"] = c.need_id;
  out["lg_code"] = c.lg_code;
  if (c.appointment_id.empty())
    out["appointment_id"] = nullptr;
  else
    out["appointment_id"] = c.appointment_id;
  out["direction"] = name_of(direction_names, c.direction);
  out["source"] = c.source;
  out["stage_since"] = instant(c.stage_since);
  json::object entered;
  for (std::size_t s = 1; s < c.entered_at.size(); ++s)
    if (c.entered_at[s] != 0)
      entered[candidacy_stage_name(static_cast<candidacy_stage>(s))] = rfc3339(c.entered_at[s]);
  out["entered_at"] = std::move(entered);
  out["version"] = c.events == 0 ? 0 : c.events - 1;
  return out;
}

json::object appointment_json(const std::string& id, const appointment_state& a) {
  json::object out;
  out["appointment_id"] = id;
  out["status"] = name_of(appointment_status_names, static_cast<std::size_t>(a.status));
  out["candidacy_id"] = a.candidacy_id;
  out["talent_id"] = a.talent_id;
  out["need_id"] = a.need_id;
  out["lg_code"] = a.lg_code;
  out["form"] = name_of(work_form_names, a.form);
  out["starts_on"] = a.starts_on;
  out["ends_on"] = a.ends_on;
  out["hours_per_week"] = a.hours_per_week;
  out["scope"] = a.scope;
  if (a.status == appointment_status::ended)
    out["end_kind"] = name_of(end_names, a.end_kind);
  else
    out["end_kind"] = nullptr;
  json::array issues;
  for (const auto& issue : a.open_issues)
    issues.emplace_back(issue);
  out["open_issues"] = std::move(issues);
  json::array check_ins;
  for (const auto& [cid, ci] : a.check_ins)
    check_ins.push_back(json::object{{"check_in_id", cid},
                                     {"due_on", ci.due_on},
                                     {"party", name_of(party_names, ci.party)},
                                     {"completed", ci.completed},
                                     {"missed", ci.missed},
                                     {"rating", ci.rating}});
  out["check_ins"] = std::move(check_ins);
  out["flags"] = a.flags;
  out["arranged_at"] = instant(a.arranged_at);
  out["ended_at"] = instant(a.ended_at);
  out["version"] = a.events == 0 ? 0 : a.events - 1;
  return out;
}

}  // namespace kakehashi::api
