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
// A record stored before its free text became personal (SCHEMA.md rule 3) holds that text in the
// clear; it reads "[erased]" once the talent it is about is erased. This overload knows that
// talent only for a talent stream's record.
result<std::string> payload_json(const recorded_event& event, const key_vault& keys,
                                 personal_access access);
// As above, and for an appointment's or candidacy's record it reads the talent from the stream's
// first event in `store` (only for such older records). Errors: also the store's read errors.
result<std::string> payload_json(const recorded_event& event, event_store& store,
                                 personal_access access);

}  // namespace kakehashi
