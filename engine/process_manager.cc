#include "engine/process_manager.h"

#include <sodium.h>

#include <cstring>
#include <thread>

#include "events/domain.capnp.h"
#include "events/payload_io.h"

namespace kakehashi {
namespace {

constexpr std::size_t batch_events = 1024;
const std::vector<std::string> followed_types = {"CandidateIdentified", "AppointmentArranged",
                                                 "TalentWithdrew"};

// The idempotency key of the command sent for `target` because of `cause`.
uuid reaction_key(const uuid& cause, std::string_view target) {
  uuid key;
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, key.bytes.size());
  crypto_generichash_update(&state, cause.bytes.data(), cause.bytes.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(target.data()),
                            target.size());
  crypto_generichash_final(&state, key.bytes.data(), key.bytes.size());
  key.bytes[6] = (key.bytes[6] & 0x0f) | 0x80;  // version 8: custom
  key.bytes[8] = (key.bytes[8] & 0x3f) | 0x80;
  return key;
}

}  // namespace

process_manager::process_manager(event_store& store, command_service& service)
    : store_(store), service_(service) {}

process_manager::~process_manager() {
  stop();
}

void process_manager::stop() {
  stopping_ = true;
}

result<position_t> process_manager::poll(std::chrono::milliseconds wait) {
  if (!feed_) {
    subscription_options options;
    auto filter = event_filter::parse("$all", followed_types);
    if (!filter) return filter.take_err();
    options.filter = std::move(*filter);
    options.from_position = 1;
    auto sub = store_.subscribe(std::move(options));
    if (!sub) return sub.take_err();
    feed_ = std::move(*sub);
  }
  for (;;) {
    auto batch = feed_->next(batch_events, wait);
    wait = std::chrono::milliseconds(0);
    if (!batch) return batch.take_err();
    for (const auto& e : batch->events)
      if (auto handled = handle(*e); !handled) return handled.take_err();
    handled_ = std::max(handled_, batch->next_position > 0 ? batch->next_position - 1 : 0);
    if (batch->events.empty() || batch->caught_up) return handled_;
  }
}

void process_manager::run() {
  while (!stopping_) {
    // On an error (a store refusing writes, say) back off and try again: a retried reaction is
    // recognised by its idempotency key.
    if (auto polled = poll(std::chrono::milliseconds(200)); !polled)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

status process_manager::handle(const recorded_event& event) {
  try {
    if (auto s = check_payload_length(event.payload); !s) return s;
    payload_reader reader(event.payload);
    if (event.type == "CandidateIdentified") {
      auto talent = text_view(reader.root<schema::CandidateIdentified>().getTalentId());
      auto dash = event.stream.find('-');
      candidacies_[std::string(talent)].insert(event.stream.substr(dash + 1));
      return {};
    }
    if (event.type == "AppointmentArranged") {
      auto talent = text_view(reader.root<schema::AppointmentArranged>().getTalentId());
      auto dash = event.stream.find('-');
      appointments_[std::string(talent)].insert(event.stream.substr(dash + 1));
      return {};
    }
  } catch (const kj::Exception& e) {
    return make_error(errc::corruption, "invalid_payload", e.getDescription().cStr());
  }
  if (event.type != "TalentWithdrew") return {};

  auto talent = event.stream.substr(event.stream.find('-') + 1);
  auto react = [&](std::string type, std::string aggregate, const std::string& id,
                   std::string body) -> status {
    command_request request;
    request.type = std::move(type);
    request.target_id = id;
    request.body_json = std::move(body);
    request.who = actor{"process-manager", "system", ""};
    request.occurred_at = event.occurred_at;
    request.idempotency_key = reaction_key(event.id, aggregate + "-" + id);
    request.correlation_id = event.correlation_id.is_nil() ? event.id : event.correlation_id;
    request.causation_id = event.id;
    auto done = service_.execute(std::move(request));
    if (done) {
      if (!done->duplicate) ++commands_sent_;
      return {};
    }
    // Already closed or ended: nothing to do. Anything else is a real failure.
    if (done.err().kind == errc::conflict || done.err().kind == errc::not_found) return {};
    return done.take_err();
  };
  for (const auto& id : candidacies_[talent])
    if (auto s = react("CandidacyArchived", "candidacy", id, R"({"reason":"talent_withdrew"})"); !s)
      return s;
  for (const auto& id : appointments_[talent])
    if (auto s = react("AppointmentFlagged", "appointment", id,
                       R"({"reason":"the talent withdrew; agree the next steps"})");
        !s)
      return s;
  return {};
}

}  // namespace kakehashi
