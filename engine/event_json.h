// A stored domain event's payload as JSON for readers, with its personal fields opened with the
// data subject's key: "[erased]" once the key is destroyed, left out for readers without the
// right to see them. Thread-safe; borrows the vault for the call.
#pragma once

#include <string>

#include "engine/event_store.h"
#include "engine/key_vault.h"

namespace kakehashi {

enum class personal_access : std::uint8_t { hidden, shown };

// Errors: unknown_event_type, invalid_payload, and the vault's errors other than `erased`.
result<std::string> payload_json(const recorded_event& event, const key_vault& keys,
                                 personal_access access);

}  // namespace kakehashi
