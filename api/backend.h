// What the API serves from: the store, the command service that is the only way commands become
// events, and the read-model runner the queries read. All are borrowed: they must outlive the
// server. `commands` and `projections` may be null (a server over a bare store, as in some
// tests): the routes that need them answer 503 `unavailable`.
#pragma once

#include <chrono>

namespace kakehashi {
class event_store;
class command_service;
class projection_runner;
}  // namespace kakehashi

namespace kakehashi::api {

struct backend {
  event_store* store = nullptr;
  command_service* commands = nullptr;
  projection_runner* projections = nullptr;
  // Longest a query with `min_position` waits for the read model before answering 504.
  std::chrono::milliseconds min_position_wait{5000};
};

}  // namespace kakehashi::api
