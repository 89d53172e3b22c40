// How one stored event reaches one principal, on every route and every WebSocket delivery:
// whether it is delivered at all, and with or without personal data; and the event as a
// CloudEvents 1.0 JSON object (API.md, "Event JSON").
//
// Municipality isolation: a municipality token sees its own municipality stream, its needs,
// the candidacies proposed to it (once proposed) and its appointments; never the talent pool or
// another municipality. Which municipality an event concerns comes from the read model, so a
// caller delivering live events first waits until the model has applied the event's position
// (projection_runner::wait_for). Pure functions; thread-safe given a model it may read.
#pragma once

#include <boost/json/object.hpp>

#include "engine/event_store.h"
#include "engine/key_vault.h"
#include "events/roles.h"
#include "projections/read_model.h"

namespace kakehashi::api {

enum class delivery : std::uint8_t { hidden, redacted, full };

delivery event_delivery(const principal& who, const recorded_event& event, const read_model& model);

// Whether a municipality may know of candidacy `c` at all (its own, as the caller checks): only
// once it was proposed to it. Before that it is the coordinator's work in progress, and every
// route answers for it as for a candidacy that does not exist.
bool shown_to_municipality(const candidacy_state& c);

// The CloudEvent for `event` with `data` as `how` allows (`how` must not be hidden). Personal
// fields of an erased subject read "[erased]", older records' too (engine/event_json.h, which
// may read the stream's first event from `store`). Errors: the payload's, the vault's or the
// store's.
result<boost::json::object> cloud_event(const recorded_event& event, event_store& store,
                                        delivery how);

// RFC 3339 UTC with microseconds: 2025-12-01T01:00:00.000000Z.
std::string rfc3339(std::int64_t micros);

}  // namespace kakehashi::api
