// Aggregate states (events/domain.h) as the JSON the query routes answer: enumerations by their
// API names (DOMAIN.md), dates as YYYY-MM-DD, instants as RFC 3339. States carry ids and public
// fields only; personal data comes from events (api/event_access.h), never from here.
// Pure functions, thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "events/domain.h"
#include "projections/read_model.h"

namespace kakehashi::api {

boost::json::object talent_json(const std::string& id, const talent_state& t);
// `proposed_only`: list only candidacies that reached `proposed` (what a municipality sees).
boost::json::object need_json(const std::string& id, const need_state& n, const read_model& m,
                              bool proposed_only);
boost::json::object candidacy_json(const std::string& id, const candidacy_state& c);
boost::json::object appointment_json(const std::string& id, const appointment_state& a);

std::string_view candidacy_stage_name(candidacy_stage stage);

}  // namespace kakehashi::api
