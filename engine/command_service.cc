#include "engine/command_service.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>

#include "engine/key_vault.h"
#include "events/domain.capnp.h"
#include "events/event_codec.h"
#include "events/payload_io.h"
#include "events/reference_data.h"
#include "events/text_formats.h"

namespace kakehashi {
namespace {

namespace s = schema;

constexpr std::size_t stream_read_batch = 4096;

bool is_creating(std::string_view type) {
  return type == "TalentRegistered" || type == "NeedOpened" || type == "CandidateIdentified" ||
         type == "AppointmentArranged" || type == "MunicipalityListed";
}

// Sub-entity ids the server makes when the client leaves them out.
constexpr std::string_view generated_fields[] = {"hearing_id", "issue_id"};
using generated = std::vector<std::pair<std::string, std::string>>;  // field -> the id made

// `{"a":1}` -> `{"<name>":"<value>","a":1}`; the codec has already parsed the body as an object.
std::string with_field(std::string_view body, std::string_view name, const std::string& value) {
  auto brace = body.find('{');
  auto rest = body.find_first_not_of(" \t\r\n", brace + 1);
  bool empty = rest == std::string_view::npos || body[rest] == '}';
  std::string out(body.substr(0, brace + 1));
  out += '"';
  out += name;
  out += "\":\"" + value + '"';
  if (!empty) out += ',';
  out += body.substr(brace + 1);
  return out;
}

// Event ids derived from an idempotency key: the first event's id is the key itself, the
// others a keyed hash of it, so a retry produces exactly the same ids.
uuid derived_id(const uuid& key, std::size_t index) {
  if (index == 0) return key;
  uuid out;
  unsigned char in[24];
  std::memcpy(in, key.bytes.data(), 16);
  for (int i = 0; i < 8; ++i)
    in[16 + i] = static_cast<unsigned char>(index >> (8 * i));
  crypto_generichash(out.bytes.data(), out.bytes.size(), in, sizeof in, nullptr, 0);
  out.bytes[6] = (out.bytes[6] & 0x0f) | 0x80;  // version 8: custom
  out.bytes[8] = (out.bytes[8] & 0x3f) | 0x80;  // RFC 9562 variant
  return out;
}

std::string_view id_of(std::string_view stream) {
  auto dash = stream.find('-');
  return dash == std::string_view::npos ? std::string_view() : stream.substr(dash + 1);
}

// Folded aggregate states by stream, so a long stream is not re-read for every command: a
// cached state is brought up to date with the events after it (a void among them forces a
// whole refold). Bounded: cleared when full.
template <class State>
class aggregate_cache {
 public:
  explicit aggregate_cache(std::size_t limit) : limit_(limit) {}

  result<State> load(const event_store& store, const std::string& stream) {
    State state;
    {
      std::lock_guard lock(mutex_);
      if (auto it = cache_.find(stream); it != cache_.end()) state = it->second;
    }
    const std::uint64_t cached = state.events;
    std::vector<event_ptr> newer;
    for (;;) {
      auto page = store.read_stream(stream, cached + newer.size(), read_direction::forward,
                                    stream_read_batch);
      if (!page) return page.take_err();
      newer.insert(newer.end(), page->begin(), page->end());
      if (page->size() < stream_read_batch) break;
    }
    if (newer.empty()) return state;
    bool voids = false;
    for (const auto& e : newer)
      voids = voids || e->type == "EventVoided";
    if (voids && cached > 0) {
      state = State{};
      auto all = store.read_stream(stream, 0, read_direction::forward, cached);
      if (!all) return all.take_err();
      newer.insert(newer.begin(), all->begin(), all->end());
    }
    std::vector<event_view> views;
    std::vector<std::string> ids;
    ids.reserve(newer.size());
    for (const auto& e : newer)
      ids.push_back(e->id.to_string());
    for (std::size_t i = 0; i < newer.size(); ++i)
      views.push_back(
          {ids[i], newer[i]->type, newer[i]->payload, newer[i]->occurred_at, newer[i]->version});
    result<State> folded = (voids || cached == 0) ? fold<State>(views) : evolve_all(state, views);
    if (!folded) return folded;
    std::lock_guard lock(mutex_);
    if (cache_.size() >= limit_) cache_.clear();
    auto& slot = cache_[stream];
    if (slot.events <= folded->events) slot = *folded;
    return folded;
  }

 private:
  static result<State> evolve_all(State state, const std::vector<event_view>& views) {
    try {
      for (const auto& v : views)
        evolve(state, v);
    } catch (const kj::Exception& e) {
      return make_error(
          errc::corruption, "invalid_payload",
          std::string("a stored payload does not decode: ") + e.getDescription().cStr());
    }
    return state;
  }

  std::size_t limit_;
  std::mutex mutex_;
  std::unordered_map<std::string, State> cache_;
};

// The store checks every stream a decision loaded, in one step with its append: the expected
// versions of those it writes and the conditions on those it only read (a candidacy's talent, a
// proposal's need), so a decision is never appended after a stream it read changed. A conflict
// makes the command decide again, on what it reloads; but the store's reads show only durable
// events, so a command that lost to another one not yet synced would reload the same versions
// and lose again, as many times as it may retry. These locks make such commands take turns: a
// command holds the lock of every stream it loaded until its append is durable. Striped: a
// collision only makes two commands take turns.
class stream_locks {
 public:
  std::vector<std::unique_lock<std::mutex>> lock(const std::map<std::string, std::uint64_t>& of) {
    std::vector<std::size_t> stripes;
    for (const auto& entry : of)
      stripes.push_back(std::hash<std::string>{}(entry.first) % stripes_.size());
    // In ascending order, so two commands never wait for each other's locks.
    std::sort(stripes.begin(), stripes.end());
    stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
    std::vector<std::unique_lock<std::mutex>> held;
    for (auto stripe : stripes)
      held.emplace_back(stripes_[stripe]);
    return held;
  }

 private:
  std::array<std::mutex, 4096> stripes_;
};

class service_impl final : public command_service {
 public:
  service_impl(event_store& store, command_service_options options)
      : store_(store),
        options_(options),
        talents_(options.max_cached_aggregates),
        needs_(options.max_cached_aggregates),
        candidacies_(options.max_cached_aggregates),
        appointments_(options.max_cached_aggregates),
        municipalities_(options.max_cached_aggregates) {}

  result<command_outcome> execute(command_request request) override;

  result<talent_state> talent(std::string_view id) override {
    return talents_.load(store_, stream_name("talent", id));
  }
  result<need_state> need(std::string_view id) override {
    return needs_.load(store_, stream_name("need", id));
  }
  result<candidacy_state> candidacy(std::string_view id) override {
    return candidacies_.load(store_, stream_name("candidacy", id));
  }
  result<appointment_state> appointment(std::string_view id) override {
    return appointments_.load(store_, stream_name("appointment", id));
  }
  result<municipality_state> municipality(std::string_view lg_code) override {
    return municipalities_.load(store_, stream_name("municipality", lg_code));
  }

 private:
  // One attempt's loads: every stream read, with the version it was read at, becomes the
  // expected version of whatever the decision appends to it, or a condition of the append.
  struct attempt {
    std::map<std::string, std::uint64_t> events_seen;  // stream -> events folded
    template <class State>
    const State& keep(const std::string& stream, State state, std::deque<State>& storage) {
      events_seen[stream] = state.events;
      storage.push_back(std::move(state));
      return storage.back();
    }
  };

  decision decide(const command& cmd, const std::string& category, const std::string& id,
                  attempt& at);
  result<command_outcome> try_once(const command_request& request, const command& cmd,
                                   const std::string& category, const std::string& id);
  result<std::optional<command_outcome>> find_retry(const command_request& request,
                                                    const encoded_payload& encoded,
                                                    const generated& made);
  result<bool> same_command(const command_request& request, const encoded_payload& encoded,
                            const generated& made, const recorded_event& first);

  event_store& store_;
  command_service_options options_;
  aggregate_cache<talent_state> talents_;
  aggregate_cache<need_state> needs_;
  aggregate_cache<candidacy_state> candidacies_;
  aggregate_cache<appointment_state> appointments_;
  aggregate_cache<municipality_state> municipalities_;
  stream_locks locks_;
};

decision service_impl::decide(const command& cmd, const std::string& category,
                              const std::string& id, attempt& at) {
  const std::string stream = stream_name(category, id);
  // The loaded states live here while deciding; a deque keeps pointers to them valid.
  std::deque<talent_state> talents;
  std::deque<need_state> needs;
  std::deque<candidacy_state> candidacies;
  std::deque<municipality_state> municipalities;
  auto load_talent = [&](std::string_view tid) -> result<const talent_state*> {
    auto st = talent(tid);
    if (!st) return st.take_err();
    return &at.keep(stream_name("talent", tid), std::move(*st), talents);
  };
  auto load_need = [&](std::string_view nid) -> result<const need_state*> {
    if (nid.empty()) return static_cast<const need_state*>(nullptr);
    auto st = need(nid);
    if (!st) return st.take_err();
    return &at.keep(stream_name("need", nid), std::move(*st), needs);
  };
  auto load_candidacy = [&](std::string_view cid) -> result<const candidacy_state*> {
    auto st = candidacy(cid);
    if (!st) return st.take_err();
    return &at.keep(stream_name("candidacy", cid), std::move(*st), candidacies);
  };

  try {
    if (category == "talent") {
      auto t = load_talent(id);
      if (!t) return t.take_err();
      return decide_talent(cmd, **t, id);
    }
    if (category == "municipality") {
      auto m = municipality(id);
      if (!m) return m.take_err();
      const auto& kept = at.keep(stream, std::move(*m), municipalities);
      return decide_municipality(cmd, kept, id);
    }
    if (category == "need") {
      auto n = load_need(id);
      if (!n) return n.take_err();
      need_context context;
      if (cmd.type == "NeedOpened") {
        payload_reader reader(cmd.payload);
        auto m = municipality(text_view(reader.root<s::NeedOpened>().getLgCode()));
        if (!m) return m.take_err();
        municipalities.push_back(std::move(*m));
        context.municipality = &municipalities.back();
      }
      return decide_need(cmd, **n, id, context);
    }
    if (category == "candidacy") {
      auto c = load_candidacy(id);
      if (!c) return c.take_err();
      candidacy_context context;
      std::string talent_id = (*c)->talent_id, need_id = (*c)->need_id;
      if (cmd.type == "CandidateIdentified") {
        payload_reader reader(cmd.payload);
        auto p = reader.root<s::CandidateIdentified>();
        talent_id = std::string(text_view(p.getTalentId()));
        need_id = std::string(text_view(p.getNeedId()));
      }
      // An idea joining a need is decided against that need, as an identification for it is.
      const bool joins_need =
          cmd.type == "CandidateIdentified" || cmd.type == "CandidacyAttachedToNeed";
      if (cmd.type == "CandidacyAttachedToNeed") {
        payload_reader reader(cmd.payload);
        need_id = std::string(text_view(reader.root<s::CandidacyAttachedToNeed>().getNeedId()));
      }
      if (!talent_id.empty()) {
        auto t = load_talent(talent_id);
        if (!t) return t.take_err();
        context.talent = *t;
      }
      auto n = load_need(need_id);
      if (!n) return n.take_err();
      context.need = *n;
      if (joins_need && context.need) {
        for (const auto& [other_id, other_talent] : context.need->candidacies) {
          if (other_talent != talent_id || other_id == id) continue;
          auto other = candidacy(other_id);
          if (!other) return other.take_err();
          if (other->open()) ++context.other_open_for_talent_and_need;
        }
      }
      return decide_candidacy(cmd, **c, id, context);
    }
    if (category == "appointment") {
      auto a = appointment(id);
      if (!a) return a.take_err();
      at.events_seen[stream] = a->events;
      appointment_context context;
      std::string candidacy_id = a->candidacy_id;
      if (cmd.type == "AppointmentArranged") {
        payload_reader reader(cmd.payload);
        candidacy_id =
            std::string(text_view(reader.root<s::AppointmentArranged>().getCandidacyId()));
      }
      if (!candidacy_id.empty()) {
        auto c = load_candidacy(candidacy_id);
        if (!c) return c.take_err();
        context.candidacy = *c;
        auto n = load_need((*c)->need_id);
        if (!n) return n.take_err();
        context.need = *n;
        if (cmd.type == "AppointmentArranged" && !(*c)->talent_id.empty()) {
          auto t = load_talent((*c)->talent_id);
          if (!t) return t.take_err();
          context.talent = *t;
        }
      }
      return decide_appointment(cmd, *a, id, context);
    }
  } catch (const kj::Exception& e) {
    return make_error(errc::invalid_argument, "invalid_payload",
                      std::string("command payload does not decode: ") + e.getDescription().cStr());
  }
  return make_error(errc::invalid_argument, "unknown_aggregate", "no aggregate '" + category + "'",
                    "aggregate");
}

result<command_outcome> service_impl::try_once(const command_request& request, const command& cmd,
                                               const std::string& category, const std::string& id) {
  attempt at;
  auto decided = decide(cmd, category, id, at);
  if (!decided) return decided.take_err();
  auto& events = *decided;
  const std::string target = stream_name(category, id);

  if (request.expected_version) {
    auto seen = at.events_seen[target];
    if (seen == 0 || seen - 1 != *request.expected_version)
      return make_error(
          errc::conflict, "wrong_expected_version",
          "stream " + target +
              (seen == 0 ? " does not exist" : " is at version " + std::to_string(seen - 1)) +
              ", expected version " + std::to_string(*request.expected_version),
          "expected_version");
  }

  append_request append;
  std::vector<std::size_t> order;  // decided index -> index in the flattened append order
  std::map<std::string, std::size_t> part_of;
  for (const auto& e : events) {
    if (!part_of.count(e.stream)) {
      part_of[e.stream] = append.streams.size();
      stream_append part;
      part.stream = e.stream;
      auto seen = at.events_seen.find(e.stream);
      if (seen == at.events_seen.end())
        return make_error(errc::internal, "unloaded_stream",
                          "a decision appends to " + e.stream + ", which it did not load");
      part.expected = seen->second == 0 ? expected_version::no_stream()
                                        : expected_version::exact(seen->second - 1);
      append.streams.push_back(std::move(part));
    }
  }
  std::int64_t occurred_at = request.occurred_at != 0 ? request.occurred_at : now_micros();
  std::size_t index = 0;
  for (auto& e : events) {
    new_event out;
    if (request.idempotency_key) out.id = derived_id(*request.idempotency_key, index);
    ++index;
    out.type = e.type;
    // The shape the codec wrote, by which upcast_payload tells older records apart.
    if (const auto* info = find_event_type(e.type)) out.schema_version = info->schema_version;
    out.occurred_at = occurred_at;
    out.who = request.who;
    out.correlation_id = request.correlation_id;
    out.causation_id = request.causation_id;
    out.payload = std::move(e.payload);
    if (!e.personal.empty()) {
      auto sealed = store_.keys().seal(e.subject, e.personal);
      if (!sealed) return sealed.take_err();
      auto with_sealed = set_sealed(e.type, out.payload, *sealed);
      if (!with_sealed) return with_sealed.take_err();
      out.payload = std::move(*with_sealed);
    }
    append.streams[part_of[e.stream]].events.push_back(std::move(out));
  }
  // Flattened position of the target stream's last event.
  std::size_t before = 0, target_part = part_of[target];
  for (std::size_t i = 0; i < target_part; ++i)
    before += append.streams[i].events.size();
  std::size_t target_index = before + append.streams[target_part].events.size() - 1;

  // The streams the decision only read are conditions of the append: the store checks them in
  // the same step as the written streams' versions.
  for (const auto& [stream, seen] : at.events_seen)
    if (!part_of.count(stream))
      append.conditions.push_back(
          {stream, seen == 0 ? expected_version::no_stream() : expected_version::exact(seen - 1)});

  if (options_.before_append) options_.before_append();
  auto held = locks_.lock(at.events_seen);
  auto appended = store_.append(std::move(append));
  if (!appended) return appended.take_err();
  command_outcome outcome;
  outcome.stream = target;
  outcome.version = appended->streams[target_part].last_version;
  outcome.position = appended->first_position + target_index;
  outcome.event_id = appended->event_ids[target_index].to_string();
  outcome.duplicate = appended->duplicate;
  return outcome;
}

// Whether `request` asks for what `first`, the first event of its idempotency key, recorded: the
// same actor, business time (when the request gives one), expected version and payload. Not
// compared: what the server fills in, that is the fields the rules set (rule_set_fields), ids
// made for fields left out (`made`, and the check_in_id the API makes for a schedule without
// one, new for each request) and fields the first command filled that the retry leaves out;
// personal fields of an erased subject, which nothing can read any more.
result<bool> service_impl::same_command(const command_request& request,
                                        const encoded_payload& encoded, const generated& made,
                                        const recorded_event& first) {
  if (first.who.id != request.who.id || first.who.role != request.who.role ||
      first.who.on_behalf_of != request.who.on_behalf_of)
    return false;
  if (request.occurred_at != 0 && request.occurred_at != first.occurred_at) return false;
  if (request.expected_version && first.version != *request.expected_version + 1) return false;
  if (first.type != request.type) return true;  // an erasure's first event is the withdrawal
  auto ignored = rule_set_fields(request.type);
  for (const auto& entry : made)
    ignored.push_back(entry.first);
  if (request.type == "CheckInScheduled") ignored.push_back("check_in_id");
  // The first event may predate its type's current shape: compared as the codec writes it now.
  auto current = upcast_payload(first.type, first.schema_version, first.payload);
  if (!current) return current.take_err();
  auto same =
      same_fields(request.type, false, current->public_bytes, encoded.public_bytes, ignored);
  if (!same || !*same || encoded.personal_bytes.empty()) return same;
  if (current->personal_bytes)
    return same_fields(request.type, true, *current->personal_bytes, encoded.personal_bytes,
                       ignored);
  auto sealed = get_sealed(first.type, current->public_bytes);
  if (!sealed) return sealed.take_err();
  auto personal = store_.keys().open(*sealed);
  if (!personal) {
    if (personal.err().code == "erased") return true;
    return personal.take_err();
  }
  return same_fields(request.type, true, *personal, encoded.personal_bytes, ignored);
}

result<std::optional<command_outcome>> service_impl::find_retry(const command_request& request,
                                                                const encoded_payload& encoded,
                                                                const generated& made) {
  if (!request.idempotency_key) return std::optional<command_outcome>{};
  auto first = store_.read_event(*request.idempotency_key);
  if (!first) {
    if (first.err().kind == errc::not_found) return std::optional<command_outcome>{};
    return first.take_err();
  }
  const auto& e = **first;
  bool same = e.type == request.type ||
              (request.type == "TalentPersonalDataErased" && e.type == "TalentWithdrew");
  if (same && !request.target_id.empty()) same = id_of(e.stream) == request.target_id;
  if (same) {
    auto same_body = same_command(request, encoded, made, e);
    if (!same_body) return same_body.take_err();
    same = *same_body;
  }
  if (!same)
    return make_error(errc::conflict, "idempotency_key_reused",
                      "this Idempotency-Key was used for another command", "idempotency_key");
  command_outcome outcome;
  outcome.stream = e.stream;
  outcome.version = e.version;
  outcome.position = e.position;
  outcome.event_id = e.id.to_string();
  outcome.duplicate = true;
  return std::optional<command_outcome>(std::move(outcome));
}

result<command_outcome> service_impl::execute(command_request request) {
  const auto* info = find_event_type(request.type);
  if (!info)
    return make_error(errc::invalid_argument, "unknown_event_type",
                      "unknown command '" + request.type + "'", "type");
  std::string category = info->category.empty() ? request.aggregate : std::string(info->category);
  if (category.empty())
    return make_error(errc::invalid_argument, "missing_aggregate",
                      request.type + " needs the stream it applies to", "aggregate");

  generated made;
  auto encoded = encode_payload(request.type, request.body_json);
  for (auto field : generated_fields) {
    if (encoded || encoded.err().code != "missing_field" || encoded.err().field != field) continue;
    auto value = new_uuid_v7().to_string();
    encoded = encode_payload(request.type, with_field(request.body_json, field, value));
    if (encoded) made.emplace_back(std::string(field), value);
  }
  if (!encoded) return encoded.take_err();

  if (auto retry = find_retry(request, *encoded, made); !retry)
    return retry.take_err();
  else if (*retry)
    return std::move(**retry);

  std::string id = request.target_id;
  if (id.empty()) {
    if (!is_creating(request.type) || request.type == "MunicipalityListed")
      return make_error(errc::invalid_argument, "missing_id",
                        request.type + " needs the id of its " + category, "id");
    id = (request.idempotency_key ? *request.idempotency_key : new_uuid_v7()).to_string();
  }
  std::vector<std::pair<std::string, std::string>> ids{{category + "_id", id}};
  ids.insert(ids.end(), made.begin(), made.end());

  command cmd;
  cmd.type = request.type;
  cmd.payload = encoded->public_bytes;  // kept in `encoded` for find_retry below
  cmd.personal = encoded->personal_bytes;
  cmd.who = request.who;
  cmd.occurred_at = request.occurred_at;

  for (std::size_t tries = 0;; ++tries) {
    auto outcome = try_once(request, cmd, category, id);
    if (outcome) {
      outcome->ids = ids;
      return outcome;
    }
    const auto& err = outcome.err();
    if (request.idempotency_key && err.kind == errc::conflict) {
      // A concurrent retry of the same command may have won the race.
      if (auto retry = find_retry(request, *encoded, made); retry && *retry)
        return std::move(**retry);
    }
    // A stream the decision only read changed: decide again, whatever the client expected of the
    // target (its If-Match is checked again). The target changed: only when it expected nothing.
    bool concurrent = err.code == "wrong_expected_version" &&
                      (err.field == "conditions" || !request.expected_version);
    if (!concurrent || tries + 1 >= options_.max_conflict_retries) return outcome;
  }
}

}  // namespace

std::unique_ptr<command_service> command_service::create(event_store& store,
                                                         command_service_options options) {
  return std::make_unique<service_impl>(store, options);
}

status list_reference_municipalities(command_service& service, std::int64_t occurred_at) {
  for (const auto& m : tokyo_municipalities()) {
    auto state = service.municipality(m.lg_code);
    if (!state) return state.take_err();
    if (state->events > 0) continue;
    command_request request;
    request.type = "MunicipalityListed";
    request.target_id = m.lg_code;
    request.body_json =
        "{\"lg_code\":" + json_quote(m.lg_code) + ",\"name_ja\":" + json_quote(m.name_ja) +
        ",\"name_en\":" + json_quote(m.name_en) + ",\"kind\":" + json_quote(m.kind) +
        ",\"region\":" + json_quote(m.region) + "}";
    request.who = actor{"reference-data", "system", ""};
    request.occurred_at = occurred_at;
    if (auto done = service.execute(std::move(request)); !done) return done.take_err();
  }
  return {};
}

status erase_talent(command_service& service, event_store& store, std::string_view talent_id,
                    std::string_view reason, const actor& who,
                    std::optional<uuid> idempotency_key) {
  command_request request;
  request.type = "TalentPersonalDataErased";
  request.target_id = std::string(talent_id);
  request.body_json = "{\"reason\":" + json_quote(reason) + "}";
  request.who = who;
  request.idempotency_key = idempotency_key;
  auto done = service.execute(std::move(request));
  if (!done && done.err().code != "talent_erased") return done.take_err();
  return store.keys().erase(stream_name("talent", talent_id));
}

}  // namespace kakehashi
