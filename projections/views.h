// The views of DOMAIN.md ("Read models users need"), computed from a read_model as JSON values
// the API sends as they are. Pure functions of (model, options); `today` (YYYY-MM-DD, Tokyo) is
// what "due", "overdue" and "ending soon" are measured against, so an as-of view uses the as-of
// date. Names of people never appear here: views carry ids and public fields only.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

#include "projections/read_model.h"

namespace kakehashi::views {

struct thresholds {
  int stale_days = 30;             // an open case with no activity this long is stale
  int proposal_waiting_days = 14;  // proposals awaiting a decision longer than this
  int check_in_due_days = 7;       // check-ins due within this many days
  int ending_soon_days = 60;       // appointments ending within 30 / this many days
};

// {registrants, appointments, municipalities_with_appointments, position}
boost::json::value headline(const read_model& m);
// Needs by stage, each with its candidacies by stage, last activity and a stale flag.
// lg_code "" = every municipality. proposed_only: only candidacies that reached a proposal (and
// only their activity counts), as a municipality's own pipeline shows them: before that they are
// the coordinator's scouting in the talent pool.
boost::json::value pipeline(const read_model& m, const std::string& lg_code,
                            const std::string& today, const thresholds& t = {},
                            bool proposed_only = false);
boost::json::value work_queue(const read_model& m, const std::string& today,
                              const thresholds& t = {});
// All 62 municipalities by region with open needs and active appointments.
boost::json::value coverage(const read_model& m);
// Funnel counts split by direction, sourcing mode and tier; conversion and time metrics.
boost::json::value funnel(const read_model& m, const std::string& today);
// Declared vs committed hours, work forms, areas and open candidacies per talent.
// skill "" = any; available_only: active talents with uncommitted hours.
boost::json::value talents(const read_model& m, const std::string& skill, bool available_only);
// Ranked suggestions for a need with the reasons for each score; not_found when no such need.
result<boost::json::value> matches(const read_model& m, const std::string& need_id,
                                   std::size_t limit = 20);

// Talent-driven ideas: for each municipality with no open need, the active talents who live or
// offer to work there, best first, with the reasons (a coordinator's starting point for
// proposing what someone could offer before the municipality has noticed the need).
boost::json::value ideas(const read_model& m, std::size_t per_municipality = 3);

// The Tokyo calendar date of an instant, YYYY-MM-DD; and days between two such dates.
std::string tokyo_date(std::int64_t micros);
int days_between(const std::string& from, const std::string& to);

}  // namespace kakehashi::views
