// The log of who read personal data (DOMAIN.md, auditor's needs; APPI): each read that showed
// personal fields becomes a PersonalDataRead event in the day's `audit-<days since 1970-01-01>`
// stream, so the record of reads is as tamper-evident as everything else. Appended asynchronously:
// a read never waits for the disk, and a failed record is reported to `on_error` (never silently
// lost from the caller's view: the caller may refuse further reads).
//
// Thread safety: record() may be called from any thread. Lifetime: borrows the store.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/event_store.h"

namespace kakehashi {

struct personal_data_read {
  std::string reader_id, reader_role, reader_name;
  std::vector<std::string> subjects;  // e.g. "talent-<id>"
  std::string route;
};

// Validates and appends the read; `done` (optional) gets the outcome on the sequencer thread.
void record_personal_data_read(event_store& store, const personal_data_read& read,
                               std::function<void(status)> done = {});

}  // namespace kakehashi
