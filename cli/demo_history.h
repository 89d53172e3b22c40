// The demo history: a deterministic (fixed seed), realistic placement history from April 2024
// up to a given moment, sent through the command service like any client's commands. As of
// 2025-12-01 (end of day, Tokyo time) it gives the seeds' headline: 888 registrants,
// 22 appointments, 18 distinct municipalities with an appointment.
//
// Everything is planned first (ids, times, bodies all from the seed) and then executed in
// business-time order, dropping what lies after `until`; so the history before any date is the
// same whichever day it is generated on.
#pragma once

#include <cstdint>

#include "engine/command_service.h"
#include "engine/event_store.h"

namespace kakehashi::demo {

struct demo_stats {
  std::uint64_t commands = 0;
  std::uint64_t events = 0;  // head position after seeding
  double seconds = 0;
};

// 2025-12-01T23:59:59.999999+09:00 in µs since the epoch: "as of 2025-12-01" for the headline.
inline constexpr std::int64_t headline_cutoff_micros = 1764601199999999;

// Seeds an empty store. Errors if the store already has events other than the listings.
result<demo_stats> seed(event_store& store, command_service& service, std::int64_t until_micros);

}  // namespace kakehashi::demo
