#include "engine/read_log.h"

#include "events/event_codec.h"
#include "events/text_formats.h"

namespace kakehashi {

void record_personal_data_read(event_store& store, const personal_data_read& read,
                               std::function<void(status)> done) {
  auto finish = [&done](status s) {
    if (done) done(std::move(s));
  };
  std::string subjects = "[";
  for (const auto& s : read.subjects) {
    if (subjects.size() > 1) subjects += ',';
    subjects += json_quote(s);
  }
  subjects += ']';
  auto json = "{\"reader_id\":" + json_quote(read.reader_id) +
              ",\"reader_role\":" + json_quote(read.reader_role) +
              ",\"reader_name\":" + json_quote(read.reader_name) + ",\"subjects\":" + subjects +
              ",\"route\":" + json_quote(read.route) + "}";
  auto encoded = encode_payload("PersonalDataRead", json);
  if (!encoded) return finish(encoded.take_err());
  auto now = now_micros();
  // One stream a day keeps each stream short and lets an auditor read a day at a time.
  std::string day = std::to_string(now / 86'400'000'000LL);
  new_event e;
  e.type = "PersonalDataRead";
  e.occurred_at = now;
  e.who = actor{read.reader_id, read.reader_role, ""};
  e.payload = std::move(encoded->public_bytes);
  append_request request;
  request.streams.push_back(stream_append{"audit-" + day, expected_version::any(), {}});
  request.streams.back().events.push_back(std::move(e));
  store.append_async(std::move(request), [done = std::move(done)](result<append_result> r) {
    if (done) done(r ? status{} : status(r.take_err()));
  });
}

}  // namespace kakehashi
