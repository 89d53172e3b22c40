// The command service: the one way commands become events. For each command it loads the
// aggregates involved (folds of their streams, from an in-memory snapshot cache), calls the
// pure decider of events/domain.h, seals personal fields with the data subject's key and appends
// everything the decider returned atomically, with an expected version per stream.
//
// Concurrency: a decision holds only if every stream it loaded is unchanged when it is appended,
// also those it only read (a talent's status for an identification or an appointment): those
// are checked under per-stream locks just before the append. When the caller gave no expected
// version, a concurrency conflict (another command appended to one of the streams between load
// and append) re-loads and re-decides, up to a bound: the decision is made again on the new
// state, so it is always safe. When the caller gave an expected version, a conflict is returned
// (409 wrong_expected_version).
//
// Idempotency: with an idempotency key, the command's events get ids derived from it; a retry
// (same key) returns the first outcome with `duplicate` set and appends nothing. The same key
// for a different command is rejected (`idempotency_key_reused`): another type or target, and
// anything the first event records that differs (actor, business time, expected version,
// payload fields, personal ones included).
//
// Thread safety: execute() may be called from any number of threads at once.
// Lifetime: the service borrows the store, which must outlive it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/event_store.h"
#include "events/domain.h"

namespace kakehashi {

struct command_request {
  std::string type{};       // the event asked for, e.g. "NeedOpened" (see DOMAIN.md's catalog)
  std::string aggregate{};  // the stream category; needed only for EventVoided
  // The aggregate's id (talent/need/candidacy/appointment UUID, or lg_code for a municipality).
  // Empty for a creating command: the service makes a UUIDv7.
  std::string target_id{};
  std::string body_json{};  // the event's fields as a JSON object
  actor who{};
  std::int64_t occurred_at = 0;                     // business time; 0 = now
  std::optional<std::uint64_t> expected_version{};  // of the target stream
  std::optional<uuid> idempotency_key{};
  uuid correlation_id{};  // nil: none
  uuid causation_id{};
};

struct command_outcome {
  std::string stream;  // the target stream
  std::uint64_t version = 0;
  position_t position = 0;  // of the target stream's event
  // The ids a client needs back: {"talent_id", "..."}, {"hearing_id", "..."}, ...
  std::vector<std::pair<std::string, std::string>> ids;
  std::string event_id;
  bool duplicate = false;
};

struct command_service_options {
  std::size_t max_conflict_retries = 8;
  std::size_t max_cached_aggregates = 100000;
  // Tests only: called after each decision, before its append, so a test can change a stream the
  // decision read and see the command re-decided (or rejected) instead of appended.
  std::function<void()> before_append;
};

class command_service {
 public:
  static std::unique_ptr<command_service> create(event_store& store,
                                                 command_service_options options = {});
  virtual ~command_service() = default;

  // Errors: the codec's validation errors (400/413), the deciders' (404/409),
  // wrong_expected_version (409), idempotency_key_reused (409), subject_erased (409), and the
  // store's (503/500). A failed command appended nothing.
  virtual result<command_outcome> execute(command_request request) = 0;

  // The current state of one aggregate, for queries and for deciding outside the service.
  virtual result<talent_state> talent(std::string_view id) = 0;
  virtual result<need_state> need(std::string_view id) = 0;
  virtual result<candidacy_state> candidacy(std::string_view id) = 0;
  virtual result<appointment_state> appointment(std::string_view id) = 0;
  virtual result<municipality_state> municipality(std::string_view lg_code) = 0;
};

// Lists the shipped municipalities (events/reference_data.h) that are not listed yet: all 62 on
// first start, and any line added to the reference file later.
status list_reference_municipalities(command_service& service, std::int64_t occurred_at);

// Erasure of a talent's personal data (APPI): appends TalentPersonalDataErased through the
// service, then destroys the talent's key so the data is physically unreadable. Idempotent:
// running it again for an erased talent makes sure the key is gone.
status erase_talent(command_service& service, event_store& store, std::string_view talent_id,
                    std::string_view reason, const actor& who,
                    std::optional<uuid> idempotency_key = std::nullopt);

}  // namespace kakehashi
