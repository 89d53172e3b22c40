#include "projections/views.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <set>

namespace kakehashi::views {
namespace json = boost::json;

namespace {

constexpr std::int64_t day_micros = 86'400'000'000LL;
constexpr std::int64_t jst_micros = 9 * 3'600'000'000LL;

const char* need_stage_names[] = {"none",     "consulted", "hearing", "requirements_defined",
                                  "sourcing", "filled",    "closed"};
const char* candidacy_stage_names[] = {"none",     "identified", "contacted", "interested",
                                       "declined", "proposed",   "accepted",  "rejected",
                                       "archived", "appointed"};
const char* work_forms[] = {"onsite", "remote", "hybrid", "spot"};
const char* tiers[] = {"hands_on", "cio_advisor"};
const char* directions[] = {"need_driven", "talent_driven"};
const char* sourcing_modes[] = {"scout", "public_posting"};

template <std::size_t N>
const char* name_of(const char* (&names)[N], std::size_t i) {
  return i < N ? names[i] : "unknown";
}

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return static_cast<std::int64_t>(era) * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

std::int64_t day_number(const std::string& date) {
  if (date.size() != 10) return 0;
  return days_from_civil(std::stoi(date.substr(0, 4)),
                         static_cast<unsigned>(std::stoi(date.substr(5, 2))),
                         static_cast<unsigned>(std::stoi(date.substr(8, 2))));
}

json::array strings(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values)
    out.emplace_back(v);
  return out;
}

template <std::size_t N>
json::array names(const std::vector<std::uint16_t>& values, const char* (&table)[N]) {
  json::array out;
  for (auto v : values)
    out.emplace_back(name_of(table, v));
  return out;
}

// The median and 90th percentile of day counts, rounded down ("null" when there are none).
json::object percentiles(std::vector<double> days) {
  json::object out;
  out["count"] = days.size();
  if (days.empty()) {
    out["median_days"] = nullptr;
    out["p90_days"] = nullptr;
    return out;
  }
  std::sort(days.begin(), days.end());
  out["median_days"] = days[(days.size() - 1) / 2];
  out["p90_days"] = days[std::min(days.size() - 1, (days.size() * 9) / 10)];
  return out;
}

double ratio(std::size_t part, std::size_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

std::uint32_t committed_hours(const read_model& m, const std::string& talent_id) {
  std::uint32_t hours = 0;
  for (const auto& [id, a] : m.appointments)
    if (a.talent_id == talent_id && a.status != appointment_status::ended)
      hours += a.hours_per_week;
  return hours;
}

std::int64_t activity(const read_model& m, const std::string& stream) {
  auto it = m.last_activity.find(stream);
  return it == m.last_activity.end() ? 0 : it->second;
}

}  // namespace

std::string tokyo_date(std::int64_t micros) {
  std::int64_t z = (micros + jst_micros) / day_micros + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned mo = mp < 10 ? mp + 3 : mp - 9;
  const long long y = static_cast<long long>(yoe) + era * 400 + (mo <= 2);
  char out[32];
  std::snprintf(out, sizeof out, "%04lld-%02u-%02u", y, mo, d);
  return out;
}

int days_between(const std::string& from, const std::string& to) {
  return static_cast<int>(day_number(to) - day_number(from));
}

json::value headline(const read_model& m) {
  std::set<std::string> with_appointment;
  for (const auto& [id, a] : m.appointments)
    with_appointment.insert(a.lg_code);
  json::object out;
  out["registrants"] = m.talents.size();
  out["appointments"] = m.appointments.size();
  out["municipalities_with_appointments"] = with_appointment.size();
  out["position"] = m.position;
  return out;
}

json::value pipeline(const read_model& m, const std::string& lg_code, const std::string& today,
                     const thresholds& t, bool proposed_only) {
  auto shown = [&](const candidacy_state& c) {
    return !proposed_only || c.entered_at[static_cast<std::size_t>(candidacy_stage::proposed)] != 0;
  };
  json::object columns;
  for (const char* stage : need_stage_names)
    if (std::string_view(stage) != "none") columns[stage] = json::array();
  std::map<std::string, json::array> candidacies_of;
  for (const auto& [id, c] : m.candidacies) {
    if (c.need_id.empty() || !shown(c)) continue;
    json::object card;
    card["candidacy_id"] = id;
    card["talent_id"] = c.talent_id;
    card["stage"] = name_of(candidacy_stage_names, static_cast<std::size_t>(c.stage));
    card["since"] = tokyo_date(c.stage_since);
    card["direction"] = name_of(directions, c.direction);
    candidacies_of[c.need_id].push_back(std::move(card));
  }
  std::size_t total = 0;
  for (const auto& [id, n] : m.needs) {
    // A need without its NeedOpened has no column (an as-of fold never makes one, but a 500
    // would be the wrong answer to it).
    if (n.stage == need_stage::none) continue;
    if (!lg_code.empty() && n.lg_code != lg_code) continue;
    json::object card;
    card["need_id"] = id;
    card["lg_code"] = n.lg_code;
    auto muni = m.municipalities.find(n.lg_code);
    card["municipality"] = muni == m.municipalities.end() ? "" : muni->second.name_ja;
    card["stage"] = name_of(need_stage_names, static_cast<std::size_t>(n.stage));
    card["on_hold"] = n.on_hold;
    card["role_category"] = n.requirements ? n.requirements->role_category : "";
    card["openings"] = n.requirements ? n.requirements->openings : 0;
    card["filled"] = n.appointments.size();
    auto last = activity(m, "need-" + id);
    for (const auto& [cid, talent] : n.candidacies) {
      auto c = m.candidacies.find(cid);
      if (c != m.candidacies.end() && shown(c->second))
        last = std::max(last, activity(m, "candidacy-" + cid));
    }
    card["last_activity"] = tokyo_date(last);
    card["stale"] = n.open() && n.stage != need_stage::filled &&
                    days_between(tokyo_date(last), today) > t.stale_days;
    auto it = candidacies_of.find(id);
    card["candidacies"] = it == candidacies_of.end() ? json::array() : std::move(it->second);
    columns[name_of(need_stage_names, static_cast<std::size_t>(n.stage))].as_array().push_back(
        std::move(card));
    ++total;
  }
  json::object counts;
  for (const auto& [stage, cards] : columns)
    counts[stage] = cards.as_array().size();
  json::object out;
  out["columns"] = std::move(columns);
  out["counts"] = std::move(counts);
  out["total"] = total;
  out["lg_code"] = lg_code;
  out["today"] = today;
  out["position"] = m.position;
  return out;
}

json::value work_queue(const read_model& m, const std::string& today, const thresholds& t) {
  json::array hearings, proposals, due, overdue, ending, renewals;
  for (const auto& [id, n] : m.needs)
    if (n.open() && !n.on_hold && !n.requirements && !n.hearings.empty())
      hearings.push_back(json::object{{"need_id", id},
                                      {"lg_code", n.lg_code},
                                      {"last_activity", tokyo_date(activity(m, "need-" + id))}});
  for (const auto& [id, c] : m.candidacies) {
    if (c.stage != candidacy_stage::proposed) continue;
    int waiting = days_between(tokyo_date(c.stage_since), today);
    if (waiting > t.proposal_waiting_days)
      proposals.push_back(json::object{{"candidacy_id", id},
                                       {"need_id", c.need_id},
                                       {"lg_code", c.lg_code},
                                       {"waiting_days", waiting}});
  }
  for (const auto& [id, a] : m.appointments) {
    if (a.status == appointment_status::ended || a.status == appointment_status::none) continue;
    for (const auto& [cid, ci] : a.check_ins) {
      if (ci.completed || ci.missed) continue;
      int in_days = days_between(today, ci.due_on);
      json::object item{{"appointment_id", id},
                        {"check_in_id", cid},
                        {"due_on", ci.due_on},
                        {"party", ci.party == 0 ? "talent" : "municipality"},
                        {"lg_code", a.lg_code}};
      if (in_days < 0)
        overdue.push_back(std::move(item));
      else if (in_days <= t.check_in_due_days)
        due.push_back(std::move(item));
    }
    int left = days_between(today, a.ends_on);
    if (left >= 0 && left <= t.ending_soon_days) {
      json::object item{{"appointment_id", id},
                        {"lg_code", a.lg_code},
                        {"ends_on", a.ends_on},
                        {"days_left", left},
                        {"within", left <= 30 ? 30 : 60}};
      if (a.ends_on.size() == 10 && a.ends_on.substr(5) == "03-31") renewals.push_back(item);
      ending.push_back(std::move(item));
    }
  }
  json::object out;
  out["hearings_without_requirements"] = std::move(hearings);
  out["proposals_awaiting_decision"] = std::move(proposals);
  out["check_ins_due"] = std::move(due);
  out["check_ins_overdue"] = std::move(overdue);
  out["appointments_ending"] = std::move(ending);
  out["fiscal_year_renewals"] = std::move(renewals);
  out["today"] = today;
  out["position"] = m.position;
  return out;
}

json::value coverage(const read_model& m) {
  std::map<std::string, std::pair<std::size_t, std::size_t>> counts;  // lg -> open needs, active
  for (const auto& [id, n] : m.needs)
    if (n.open()) ++counts[n.lg_code].first;
  for (const auto& [id, a] : m.appointments)
    if (a.status != appointment_status::ended) ++counts[a.lg_code].second;
  json::object regions;
  std::size_t covered = 0;
  for (const auto& [lg, muni] : m.municipalities) {
    auto [open, active] = counts[lg];
    // Named by an init-capture: clang 14 (the fuzz build) cannot capture a structured binding.
    bool ever = std::any_of(m.appointments.begin(), m.appointments.end(),
                            [&code = lg](const auto& kv) { return kv.second.lg_code == code; });
    covered += ever ? 1 : 0;
    auto& list = regions[muni.region];
    if (!list.is_array()) list = json::array();
    list.as_array().push_back(json::object{{"lg_code", lg},
                                           {"name_ja", muni.name_ja},
                                           {"name_en", muni.name_en},
                                           {"open_needs", open},
                                           {"active_appointments", active},
                                           {"ever_appointed", ever}});
  }
  json::object out;
  out["regions"] = std::move(regions);
  out["municipalities"] = m.municipalities.size();
  out["with_appointments"] = covered;
  out["position"] = m.position;
  return out;
}

json::value funnel(const read_model& m, const std::string& today) {
  static const candidacy_stage steps[] = {candidacy_stage::contacted, candidacy_stage::interested,
                                          candidacy_stage::proposed, candidacy_stage::accepted,
                                          candidacy_stage::appointed};
  auto reached = [](const candidacy_state& c, candidacy_stage s) {
    return c.entered_at[static_cast<std::size_t>(s)] != 0;
  };
  // One funnel per split value; "all" for the whole.
  std::map<std::string, std::map<std::string, std::size_t>> splits;
  auto count = [&](const std::string& split, const candidacy_state& c) {
    auto& f = splits[split];
    ++f["identified"];
    for (auto s : steps)
      if (reached(c, s)) ++f[name_of(candidacy_stage_names, static_cast<std::size_t>(s))];
  };
  std::size_t accepted = 0, rejected = 0;
  std::map<std::size_t, std::vector<double>> in_stage;  // stage -> days spent in it
  for (const auto& [id, c] : m.candidacies) {
    count("all", c);
    count(std::string("direction:") + name_of(directions, c.direction), c);
    auto need = m.needs.find(c.need_id);
    if (need != m.needs.end()) {
      if (need->second.sourcing_mode)
        count(std::string("sourcing:") + name_of(sourcing_modes, *need->second.sourcing_mode), c);
      if (need->second.requirements)
        count(std::string("tier:") + name_of(tiers, need->second.requirements->tier), c);
    }
    accepted += reached(c, candidacy_stage::accepted);
    rejected += reached(c, candidacy_stage::rejected);
    for (std::size_t s = 1; s + 1 < c.entered_at.size(); ++s) {
      if (c.entered_at[s] == 0) continue;
      std::int64_t next = 0;
      for (std::size_t later = s + 1; later < c.entered_at.size(); ++later)
        if (c.entered_at[later] > 0 && (next == 0 || c.entered_at[later] < next))
          next = c.entered_at[later];
      if (next > c.entered_at[s])
        in_stage[s].push_back(static_cast<double>((next - c.entered_at[s]) / day_micros));
    }
  }
  std::size_t retained[3] = {0, 0, 0}, ended = 0, early = 0, completed_checkins = 0,
              missed_checkins = 0, overdue_checkins = 0;
  const int retention_days[3] = {90, 180, 365};
  std::vector<double> time_to_fill;
  for (const auto& [id, a] : m.appointments) {
    auto until = a.status == appointment_status::ended ? tokyo_date(a.ended_at) : today;
    int served = days_between(a.starts_on, until);
    for (int i = 0; i < 3; ++i)
      retained[i] += served >= retention_days[i];
    if (a.status == appointment_status::ended) {
      ++ended;
      early += a.end_kind == 1;
    }
    for (const auto& [cid, ci] : a.check_ins) {
      completed_checkins += ci.completed;
      missed_checkins += ci.missed;
      overdue_checkins += !ci.completed && !ci.missed && days_between(ci.due_on, today) > 0;
    }
    auto need = m.needs.find(a.need_id);
    if (need != m.needs.end() && a.arranged_at > need->second.opened_at)
      time_to_fill.push_back(
          static_cast<double>((a.arranged_at - need->second.opened_at) / day_micros));
  }
  json::object stages;
  for (const auto& [s, days] : in_stage)
    stages[name_of(candidacy_stage_names, s)] = percentiles(days);
  json::object split_out;
  for (auto& [name, f] : splits) {
    json::object o;
    for (auto& [k, v] : f)
      o[k] = v;
    split_out[name] = std::move(o);
  }
  json::object out;
  out["registered"] = m.talents.size();
  out["funnels"] = std::move(split_out);
  out["appointed"] = m.appointments.size();
  out["retained"] = json::object{
      {"3_months", retained[0]}, {"6_months", retained[1]}, {"12_months", retained[2]}};
  out["time_to_fill"] = percentiles(time_to_fill);
  out["time_in_stage"] = std::move(stages);
  out["proposal_acceptance_rate"] = ratio(accepted, accepted + rejected);
  out["check_in_completion_rate"] =
      ratio(completed_checkins, completed_checkins + missed_checkins + overdue_checkins);
  out["early_termination_rate"] = ratio(early, ended);
  out["today"] = today;
  out["position"] = m.position;
  return out;
}

json::value talents(const read_model& m, const std::string& skill, bool available_only) {
  std::map<std::string, std::size_t> open_candidacies;
  for (const auto& [id, c] : m.candidacies)
    if (c.open()) ++open_candidacies[c.talent_id];
  json::array list;
  for (const auto& [id, t] : m.talents) {
    if (!skill.empty() && std::find(t.skills.begin(), t.skills.end(), skill) == t.skills.end())
      continue;
    auto committed = committed_hours(m, id);
    bool active = t.status == talent_status::active && !t.erased && t.consent;
    if (available_only && (!active || committed >= t.hours_per_week)) continue;
    const char* status = t.erased                            ? "erased"
                         : t.status == talent_status::active ? "active"
                         : t.status == talent_status::paused ? "paused"
                                                             : "withdrawn";
    list.push_back(json::object{{"talent_id", id},
                                {"status", status},
                                {"role_categories", strings(t.role_categories)},
                                {"skills", strings(t.skills)},
                                {"tiers", names(t.tiers, tiers)},
                                {"declared_hours", t.hours_per_week},
                                {"committed_hours", committed},
                                {"work_forms", names(t.work_forms, work_forms)},
                                {"areas", strings(t.areas)},
                                {"open_candidacies", open_candidacies[id]}});
  }
  json::object out;
  out["talents"] = std::move(list);
  out["position"] = m.position;
  return out;
}

result<json::value> matches(const read_model& m, const std::string& need_id, std::size_t limit) {
  auto it = m.needs.find(need_id);
  if (it == m.needs.end())
    return make_error(errc::not_found, "need_not_found", "no need " + need_id);
  const need_state& n = it->second;
  std::set<std::string> already;  // talents with any candidacy on this need
  for (const auto& [cid, talent] : n.candidacies)
    already.insert(talent);
  struct scored {
    int score;
    std::string id;
    json::array reasons;
  };
  std::vector<scored> ranked;
  for (const auto& [id, t] : m.talents) {
    if (t.status != talent_status::active || t.erased || !t.consent || already.count(id)) continue;
    scored s{0, id, {}};
    auto add = [&](int points, std::string why) {
      s.score += points;
      s.reasons.emplace_back(json::object{{"points", points}, {"reason", std::move(why)}});
    };
    if (n.requirements) {
      const auto& r = *n.requirements;
      if (std::find(t.role_categories.begin(), t.role_categories.end(), r.role_category) !=
          t.role_categories.end())
        add(40, "role: " + r.role_category);
      int skill_points = 0;
      for (const auto& skill : r.skills)
        if (std::find(t.skills.begin(), t.skills.end(), skill) != t.skills.end() &&
            skill_points < 30) {
          skill_points += 10;
          add(10, "skill: " + skill);
        }
      if (std::find(t.tiers.begin(), t.tiers.end(), r.tier) != t.tiers.end())
        add(10, std::string("tier: ") + name_of(tiers, r.tier));
      for (auto form : r.work_forms)
        if (std::find(t.work_forms.begin(), t.work_forms.end(), form) != t.work_forms.end()) {
          add(10, std::string("work form: ") + name_of(work_forms, form));
          break;
        }
      auto free_hours =
          static_cast<int>(t.hours_per_week) - static_cast<int>(committed_hours(m, id));
      if (r.hours_per_week == 0 || free_hours >= r.hours_per_week)
        add(10, "available: " + std::to_string(free_hours) + " h/week free");
    }
    if (std::find(t.areas.begin(), t.areas.end(), n.lg_code) != t.areas.end() ||
        t.residence_area == n.lg_code)
      add(10, "area: " + n.lg_code);
    if (s.score > 0) ranked.push_back(std::move(s));
  }
  std::sort(ranked.begin(), ranked.end(), [](const scored& a, const scored& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  json::array list;
  for (std::size_t i = 0; i < ranked.size() && i < limit; ++i)
    list.push_back(json::object{{"talent_id", ranked[i].id},
                                {"score", ranked[i].score},
                                {"reasons", std::move(ranked[i].reasons)}});
  json::object out;
  out["need_id"] = need_id;
  out["requirements_defined"] = n.requirements.has_value();
  out["matches"] = std::move(list);
  out["position"] = m.position;
  return json::value(std::move(out));
}

json::value ideas(const read_model& m, std::size_t per_municipality) {
  std::set<std::string> with_open_need;
  for (const auto& [id, n] : m.needs)
    if (n.open()) with_open_need.insert(n.lg_code);
  json::array out;
  for (const auto& [lg, muni] : m.municipalities) {
    if (with_open_need.count(lg)) continue;
    struct scored {
      int score;
      std::string id;
      json::array reasons;
    };
    std::vector<scored> ranked;
    for (const auto& [id, t] : m.talents) {
      if (t.status != talent_status::active || t.erased || !t.consent) continue;
      scored s{0, id, {}};
      if (t.residence_area == lg) {
        s.score += 20;
        s.reasons.emplace_back("lives in " + muni.name_ja);
      }
      if (std::find(t.areas.begin(), t.areas.end(), lg) != t.areas.end()) {
        s.score += 20;
        s.reasons.emplace_back("offers to work in " + muni.name_ja);
      }
      if (s.score == 0) continue;
      auto free_hours =
          static_cast<int>(t.hours_per_week) - static_cast<int>(committed_hours(m, id));
      if (free_hours > 0) {
        s.score += std::min(free_hours, 20);
        s.reasons.emplace_back(std::to_string(free_hours) + " h/week free");
      }
      ranked.push_back(std::move(s));
    }
    if (ranked.empty()) continue;
    std::sort(ranked.begin(), ranked.end(), [](const scored& a, const scored& b) {
      return a.score != b.score ? a.score > b.score : a.id < b.id;
    });
    json::array talents_out;
    for (std::size_t i = 0; i < ranked.size() && i < per_municipality; ++i)
      talents_out.push_back(json::object{{"talent_id", ranked[i].id},
                                         {"score", ranked[i].score},
                                         {"reasons", std::move(ranked[i].reasons)}});
    out.push_back(json::object{
        {"lg_code", lg}, {"name_ja", muni.name_ja}, {"talents", std::move(talents_out)}});
  }
  json::object result;
  result["ideas"] = std::move(out);
  result["position"] = m.position;
  return result;
}

}  // namespace kakehashi::views
