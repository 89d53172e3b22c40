// Who does something: every state change names its actor (DOMAIN.md invariant 9). Stored in each
// event's envelope. A plain value.
#pragma once

#include <string>

namespace kakehashi {

struct actor {
  std::string id;
  std::string role;          // admin | coordinator | municipality | auditor | dashboard | system
  std::string on_behalf_of;  // whom the actor entered it for; "" when acting for themselves
};

}  // namespace kakehashi
