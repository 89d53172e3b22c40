#include "projections/read_model.h"

#include <kj/exception.h>

#include <array>
#include <cstring>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "events/payload_io.h"
#include "projections/huge_pages.h"

namespace kakehashi {
namespace {

constexpr std::string_view snapshot_prefix = read_model_snapshot_prefix;
constexpr std::size_t max_snapshot_elements = 1u << 26;  // no length field can claim more
// Models with at least this many aggregates and streams are encoded on two threads.
constexpr std::size_t parallel_save_entries = 1u << 14;

std::string snapshot_key(position_t position) {
  std::string key(snapshot_prefix);
  for (int i = 7; i >= 0; --i)
    key.push_back(static_cast<char>(position >> (8 * i)));
  return key;
}

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_map : std::false_type {};
template <class K, class V, class C>
struct is_map<std::map<K, V, C>> : std::true_type {};
template <class T>
struct is_set : std::false_type {};
template <class K, class C>
struct is_set<std::set<K, C>> : std::true_type {};
template <class T>
struct is_array : std::false_type {};
template <class T, std::size_t N>
struct is_array<std::array<T, N>> : std::true_type {};

// One list of fields per struct, walked by both the writer and the reader.
template <class A>
void fields(A& a, voidable_entries& s) {
  a(s.by_id);
  a(s.voided);
  a(s.not_voidable);
}
template <class A>
void fields(A& a, talent_state& s) {
  a(s.events);
  a(s.status);
  a(s.erased);
  a(s.consent);
  a(s.consent_version);
  a(s.residence_area);
  a(s.skills);
  a(s.role_categories);
  a(s.tiers);
  a(s.work_forms);
  a(s.areas);
  a(s.hours_per_week);
  a(s.registered_at);
  a(s.entries);
}
template <class A>
void fields(A& a, municipality_state& s) {
  a(s.events);
  a(s.lg_code);
  a(s.name_ja);
  a(s.name_en);
  a(s.region);
  a(s.entries);
}
template <class A>
void fields(A& a, need_requirements& s) {
  a(s.revision);
  a(s.role_category);
  a(s.tier);
  a(s.skills);
  a(s.work_forms);
  a(s.hours_per_week);
  a(s.duration_months);
  a(s.openings);
}
template <class A>
void fields(A& a, need_state& s) {
  a(s.events);
  a(s.stage);
  a(s.on_hold);
  a(s.lg_code);
  a(s.origin);
  a(s.requirements);
  a(s.sourcing_mode);
  a(s.close_reason);
  a(s.hearings);
  a(s.candidacies);
  a(s.appointments);
  a(s.opened_at);
  a(s.entries);
}
template <class A>
void fields(A& a, candidacy_state& s) {
  a(s.events);
  a(s.stage);
  a(s.talent_id);
  a(s.need_id);
  a(s.lg_code);
  a(s.appointment_id);
  a(s.direction);
  a(s.source);
  a(s.stage_since);
  a(s.entered_at);
  a(s.entries);
}
template <class A>
void fields(A& a, check_in& s) {
  a(s.due_on);
  a(s.party);
  a(s.completed);
  a(s.missed);
  a(s.rating);
}
template <class A>
void fields(A& a, appointment_state& s) {
  a(s.events);
  a(s.status);
  a(s.candidacy_id);
  a(s.talent_id);
  a(s.need_id);
  a(s.lg_code);
  a(s.form);
  a(s.starts_on);
  a(s.ends_on);
  a(s.scope);
  a(s.hours_per_week);
  a(s.end_kind);
  a(s.arranged_at);
  a(s.ended_at);
  a(s.open_issues);
  a(s.check_ins);
  a(s.flags);
  a(s.entries);
}
// A model is encoded as a head and a tail with no references between them, so that save() can
// encode a large model's tail on another thread.
template <class A>
void head_fields(A& a, read_model& s) {
  a(s.position);
  a(s.last_occurred_at);
  a(s.talents);
  a(s.needs);
  a(s.candidacies);
}
template <class A>
void tail_fields(A& a, read_model& s) {
  a(s.appointments);
  a(s.municipalities);
  a(s.last_activity);
}
template <class A>
void fields(A& a, read_model& s) {
  head_fields(a, s);
  tail_fields(a, s);
}

// Snapshot encoding. Integers are LEB128 of their zigzag form (most numbers here are small);
// the 64-bit id hashes of voidable_entries::not_voidable are 8 fixed bytes (as varints they would
// take 10) and an event_id_set's UUIDs 16 bytes each. A string is a varint header (length << 1 |
// packed) and its bytes; when `packed` is set its last 36 characters were a canonical lowercase
// UUID, stored as its 16 bytes instead: the ids and stream names that make up most of a model take
// 17 bytes rather than 37.
constexpr std::size_t uuid_text_size = 36;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// True when `text` (36 characters) is a UUID in canonical lowercase form; fills `out`.
bool pack_uuid(const char* text, unsigned char (&out)[16]) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < uuid_text_size;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      ++i;
      continue;
    }
    int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[n++] = static_cast<unsigned char>(hi << 4 | lo);
    i += 2;
  }
  return true;
}

void unpack_uuid(const unsigned char* bytes, char* out) {
  static constexpr char digits[] = "0123456789abcdef";
  std::size_t n = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[n++] = '-';
    out[n++] = digits[bytes[i] >> 4];
    out[n++] = digits[bytes[i] & 0xf];
  }
}

class writer {
 public:
  std::string out;

  template <class T>
  void operator()(const T& value) {
    if constexpr (std::is_enum_v<T>) {
      (*this)(static_cast<std::underlying_type_t<T>>(value));
    } else if constexpr (std::is_integral_v<T>) {
      auto v = static_cast<std::uint64_t>(static_cast<std::int64_t>(value));
      if constexpr (std::is_signed_v<T>)
        v = (v << 1) ^ static_cast<std::uint64_t>(static_cast<std::int64_t>(value) >> 63);
      varint(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      string(value);
    } else if constexpr (std::is_same_v<T, event_id_set>) {
      varint(value.uuids().size());
      for (const auto& id : value.uuids())
        out.append(id.as_bytes());
      (*this)(value.others());
    } else if constexpr (std::is_same_v<T, std::vector<std::uint64_t>>) {
      varint(value.size());
      for (auto v : value) {
        char fixed[8];
        for (int i = 0; i < 8; ++i)
          fixed[i] = static_cast<char>(v >> (8 * i));
        out.append(fixed, sizeof fixed);
      }
    } else if constexpr (is_optional<T>::value) {
      (*this)(value.has_value());
      if (value) (*this)(*value);
    } else if constexpr (is_map<T>::value) {
      (*this)(value.size());
      for (const auto& [k, v] : value) {
        (*this)(k);
        (*this)(v);
      }
    } else if constexpr (is_vector<T>::value || is_set<T>::value || is_array<T>::value) {
      (*this)(value.size());
      for (const auto& v : value)
        (*this)(v);
    } else {
      fields(*this, const_cast<T&>(value));
    }
  }

 private:
  void varint(std::uint64_t v) {
    char buf[10];
    std::size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out.append(buf, n);
  }
  void string(std::string_view s) {
    unsigned char packed[16];
    if (s.size() >= uuid_text_size && pack_uuid(s.data() + s.size() - uuid_text_size, packed)) {
      const std::size_t head = s.size() - uuid_text_size;
      varint(static_cast<std::uint64_t>(head) << 1 | 1);
      out.append(s.data(), head);
      out.append(reinterpret_cast<const char*>(packed), sizeof packed);
    } else {
      varint(static_cast<std::uint64_t>(s.size()) << 1);
      out.append(s);
    }
  }
};

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  bool ok = true;
  bool done() const { return in_.empty(); }

  template <class T>
  void operator()(T& value) {
    if (!ok) return;
    if constexpr (std::is_enum_v<T>) {
      std::underlying_type_t<T> raw{};
      (*this)(raw);
      value = static_cast<T>(raw);
    } else if constexpr (std::is_integral_v<T>) {
      std::uint64_t v = 0;
      for (int shift = 0;; shift += 7) {
        if (in_.empty() || shift > 63) return fail();
        auto byte = static_cast<unsigned char>(in_.front());
        in_.remove_prefix(1);
        v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) break;
      }
      if constexpr (std::is_signed_v<T>) v = (v >> 1) ^ (~(v & 1) + 1);
      value = static_cast<T>(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      std::uint64_t header = 0;
      (*this)(header);
      const std::uint64_t n = header >> 1;
      const bool packed = header & 1;
      if (!ok || n > in_.size() || (packed && in_.size() - n < 16)) return fail();
      if (!packed) {
        value.assign(in_.substr(0, n));
        in_.remove_prefix(n);
        return;
      }
      value.resize(n + uuid_text_size);
      std::memcpy(value.data(), in_.data(), n);
      unpack_uuid(reinterpret_cast<const unsigned char*>(in_.data() + n), value.data() + n);
      in_.remove_prefix(n + 16);
    } else if constexpr (std::is_same_v<T, event_id_set>) {
      std::size_t n = count();
      if (!ok || n > in_.size() / 16) return fail();
      std::vector<uuid> uuids(n);
      for (auto& id : uuids) {
        std::memcpy(id.bytes.data(), in_.data(), 16);
        in_.remove_prefix(16);
      }
      std::vector<std::string> others;
      (*this)(others);
      if (ok && !value.assign(std::move(uuids), std::move(others))) fail();
    } else if constexpr (std::is_same_v<T, std::vector<std::uint64_t>>) {
      std::size_t n = count();
      if (!ok || n > in_.size() / 8) return fail();
      value.resize(n);
      for (auto& v : value) {
        v = 0;
        for (int i = 0; i < 8; ++i)
          v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[i])) << (8 * i);
        in_.remove_prefix(8);
      }
    } else if constexpr (is_optional<T>::value) {
      bool present = false;
      (*this)(present);
      if (present) {
        value.emplace();
        (*this)(*value);
      } else {
        value.reset();
      }
    } else if constexpr (is_map<T>::value) {
      std::size_t n = count();
      for (std::size_t i = 0; ok && i < n; ++i) {
        typename T::key_type k{};
        (*this)(k);
        typename T::mapped_type v{};
        (*this)(v);
        value.emplace(std::move(k), std::move(v));
      }
    } else if constexpr (is_set<T>::value) {
      std::size_t n = count();
      for (std::size_t i = 0; ok && i < n; ++i) {
        typename T::key_type k{};
        (*this)(k);
        value.insert(std::move(k));
      }
    } else if constexpr (is_vector<T>::value) {
      std::size_t n = count();
      for (std::size_t i = 0; ok && i < n; ++i) {
        typename T::value_type v{};
        (*this)(v);
        value.push_back(std::move(v));
      }
    } else if constexpr (is_array<T>::value) {
      if (count() != value.size()) return fail();
      for (auto& v : value)
        (*this)(v);
    } else {
      fields(*this, value);
    }
  }

 private:
  std::size_t count() {
    std::size_t n = 0;
    (*this)(n);
    // Every element takes at least one byte, so a count past the input is a lie.
    if (n > in_.size() || n > max_snapshot_elements) fail();
    return ok ? n : 0;
  }
  void fail() { ok = false; }
  std::string_view in_;
};

template <class State>
status refold(std::map<std::string, State, std::less<>>& states, std::string_view id,
              const std::vector<event_ptr>& events) {
  std::vector<std::string> ids;
  std::vector<event_view> views;
  ids.reserve(events.size());
  for (const auto& e : events)
    ids.push_back(e->id.to_string());
  for (std::size_t i = 0; i < events.size(); ++i)
    views.push_back(
        {ids[i], events[i]->type, events[i]->payload, events[i]->occurred_at, events[i]->version});
  auto folded = fold<State>(views);
  if (!folded) return folded.take_err();
  states[std::string(id)] = std::move(*folded);
  return {};
}

// The canonical text of a UUID into a buffer of 36, as uuid::to_string without the allocation.
std::string_view format_uuid(const uuid& id, char (&out)[36]) {
  static constexpr char digits[] = "0123456789abcdef";
  std::size_t n = 0;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[n++] = '-';
    out[n++] = digits[id.bytes[i] >> 4];
    out[n++] = digits[id.bytes[i] & 0xf];
  }
  return {out, sizeof out};
}

enum class category : std::uint8_t { talent, need, candidacy, appointment, municipality };

// The entry for `key` in `map`, added if missing. `hint` is where the previous addition to the
// same category went: ids are UUIDv7, ordered by the millisecond and random within it, so a new
// stream's key sorts right next to the last one added, or a few entries away when several were
// made in the same millisecond. Those few entries were touched moments ago and are in cache; a
// search from the root would walk a cold path of long keys.
template <class Map>
typename Map::iterator find_or_add(Map& map, std::string_view key,
                                   std::optional<typename Map::iterator>& hint) {
  constexpr int max_steps = 8;
  auto add_before = [&](typename Map::iterator at) {
    return *(hint = map.emplace_hint(at, std::string(key), typename Map::mapped_type{}));
  };
  if (hint) {
    auto at = *hint;
    if (at->first == key) return at;
    if (at->first < key) {
      // Forward to the first entry after the key.
      for (int step = 0; step < max_steps; ++step) {
        ++at;
        if (at == map.end() || key < at->first) return add_before(at);
        if (at->first == key) return at;
      }
    } else {
      // Back to the last entry before the key.
      for (int step = 0; step < max_steps; ++step) {
        if (at == map.begin()) return add_before(at);
        auto before = std::prev(at);
        if (before->first < key) return add_before(at);
        if (before->first == key) return before;
        at = before;
      }
    }
  }
  auto at = map.lower_bound(key);
  if (at != map.end() && at->first == key) return at;
  return add_before(at);
}

}  // namespace

status read_model::apply(const recorded_event& e, const stream_reader& read) {
  position = e.position;
  last_occurred_at = std::max(last_occurred_at, e.occurred_at);
  auto dash = e.stream.find('-');
  if (dash == std::string::npos) return {};
  std::string_view prefix(e.stream.data(), dash);
  std::string_view id(e.stream.data() + dash + 1, e.stream.size() - dash - 1);
  category kind;
  if (prefix == "talent")
    kind = category::talent;
  else if (prefix == "need")
    kind = category::need;
  else if (prefix == "candidacy")
    kind = category::candidacy;
  else if (prefix == "appointment")
    kind = category::appointment;
  else if (prefix == "municipality")
    kind = category::municipality;
  else
    return {};
  if (e.type == "EventVoided") {
    last_activity[e.stream] = e.occurred_at;
    auto events = read(e.stream, e.position);
    if (!events) return events.take_err();
    switch (kind) {
      case category::talent:
        return refold(talents, id, *events);
      case category::need:
        return refold(needs, id, *events);
      case category::candidacy:
        return refold(candidacies, id, *events);
      case category::appointment:
        return refold(appointments, id, *events);
      case category::municipality:
        return refold(municipalities, id, *events);
    }
  }
  stream_index::slot* slot = index_.find(e.stream);
  if (!slot) {
    auto& hints = index_.hints_for(static_cast<std::size_t>(kind));
    auto activity = find_or_add(last_activity, e.stream, hints.last_activity);
    void* state = nullptr;
    switch (kind) {
      case category::talent:
        state = &find_or_add(talents, id, hints.talents)->second;
        break;
      case category::need:
        state = &find_or_add(needs, id, hints.needs)->second;
        break;
      case category::candidacy:
        state = &find_or_add(candidacies, id, hints.candidacies)->second;
        break;
      case category::appointment:
        state = &find_or_add(appointments, id, hints.appointments)->second;
        break;
      case category::municipality:
        state = &find_or_add(municipalities, id, hints.municipalities)->second;
        break;
    }
    slot = &index_.add(activity->first, {&activity->second, state});
  }
  // A candidate attached to a need is activity of its candidacy (the same append opens it), not
  // of the need: a municipality sees the need, and must not learn of a candidate before the
  // proposal from the need's date moving.
  if (kind != category::need || e.type != "CandidateAttached") *slot->last_activity = e.occurred_at;
  char id_text[36];
  const event_view view{format_uuid(e.id, id_text), e.type, e.payload, e.occurred_at, e.version};
  try {
    if (auto s = check_payload_length(e.payload); !s) return s;
    switch (kind) {
      case category::talent:
        evolve(*static_cast<talent_state*>(slot->state), view);
        break;
      case category::need:
        evolve(*static_cast<need_state*>(slot->state), view);
        break;
      case category::candidacy:
        evolve(*static_cast<candidacy_state*>(slot->state), view);
        break;
      case category::appointment:
        evolve(*static_cast<appointment_state*>(slot->state), view);
        break;
      case category::municipality:
        evolve(*static_cast<municipality_state*>(slot->state), view);
        break;
    }
  } catch (const kj::Exception& ex) {
    return make_error(errc::corruption, "invalid_payload",
                      "event at position " + std::to_string(e.position) +
                          " does not decode: " + ex.getDescription().cStr());
  }
  return {};
}

std::string read_model::save() const {
  auto& self = const_cast<read_model&>(*this);  // the writer only reads
  const std::size_t aggregates =
      talents.size() + needs.size() + candidacies.size() + appointments.size();
  writer w;
  // Room for a typical image, so the buffer seldom grows (each growth copies it and touches
  // fresh pages); reserving more than is written costs address space only.
  w.out.reserve(1024 * aggregates + 64 * last_activity.size() + 4096);
  w(version);
  if (aggregates + last_activity.size() < parallel_save_entries) {
    w(self);
    return std::move(w.out);
  }
  writer tail;
  auto encode_tail = [&] {
    huge_page_scope pages;
    tail.out.reserve(1024 * appointments.size() + 64 * last_activity.size() + 4096);
    tail_fields(tail, self);
  };
  std::thread helper;
  try {
    helper = std::thread(encode_tail);
  } catch (const std::system_error&) {
    encode_tail();  // no thread to be had: encode it here
  }
  head_fields(w, self);
  if (helper.joinable()) helper.join();
  w.out.append(tail.out);
  return std::move(w.out);
}

result<read_model> read_model::load(std::string_view bytes) {
  reader r(bytes);
  std::uint32_t stored_version = 0;
  r(stored_version);
  if (!r.ok || stored_version != version)
    return make_error(errc::invalid_argument, "snapshot_version",
                      "snapshot of read model version " + std::to_string(stored_version) +
                          ", this build folds version " + std::to_string(version));
  read_model model;
  r(model);
  if (!r.ok || !r.done())
    return make_error(errc::corruption, "invalid_snapshot", "read model snapshot is malformed");
  return model;
}

read_model::stream_reader store_reader(const event_store& store) {
  return
      [&store](std::string_view stream, position_t max_position) -> result<std::vector<event_ptr>> {
        auto events = store.read_stream(stream, 0, read_direction::forward, 1u << 20);
        if (!events) return events.take_err();
        std::vector<event_ptr> upto;
        for (auto& e : *events)
          if (e->position <= max_position) upto.push_back(std::move(e));
        return upto;
      };
}

std::string read_model_snapshot_key(position_t position) {
  return snapshot_key(position);
}

namespace {

// A fold costs more per event than reading it: reading ahead on a second thread pays.
scan_options fold_scan() {
  scan_options options;
  options.read_ahead_from = scan_options::fold_read_ahead_from;
  return options;
}

// The model of the newest image at or before `at_most`, or an empty one when there is none, or
// none this build can use: an image of another model version, or (only a bug could write one,
// as it passed its checksum) whose content disagrees with its position.
result<read_model> model_from_image(const event_store& store, position_t at_most) {
  auto snap = store.snapshots().load(read_model_snapshot_kind, at_most);
  if (!snap) return snap.take_err();
  if (*snap)
    if (auto loaded = read_model::load((*snap)->bytes);
        loaded && loaded->position == (*snap)->position)
      return loaded;
  return read_model{};
}

// The newest image's position that no event occurring after `micros` went into (0: none), by
// the images' headers.
result<position_t> image_before_time(const event_store& store, std::int64_t micros) {
  auto images = store.snapshots().list(read_model_snapshot_kind);
  if (!images) return images.take_err();
  position_t newest = 0;
  for (const auto& image : *images)
    if (image.last_occurred_at && *image.last_occurred_at <= micros) newest = image.position;
  return newest;
}

}  // namespace

result<read_model> model_at_position(const event_store& store, position_t position) {
  if (position == 0) return read_model{};
  auto model = model_from_image(store, position);
  if (!model) return model;
  auto read = store_reader(store);
  status failed;
  auto scanned = store.scan(
      model->position + 1,
      [&](const recorded_event& e) {
        if (e.position > position) return false;
        failed = model->apply(e, read);
        return failed.ok();
      },
      fold_scan());
  if (!scanned) return scanned.take_err();
  if (!failed) return failed.take_err();
  return model;
}

result<read_model> model_at_time(const event_store& store, std::int64_t micros) {
  // An image none of whose events occurred after `micros` cuts no stream: the fold below would
  // have applied every one of its events, so it may start there. Chosen by the headers, and
  // confirmed by the model loaded (an older image may be loaded when that one is damaged).
  auto start = image_before_time(store, micros);
  if (!start) return start.take_err();
  result<read_model> model = read_model{};
  if (*start > 0) {
    model = model_from_image(store, *start);
    if (!model) return model;
    if (model->last_occurred_at > micros) model = read_model{};
  }
  // Streams cut at an event later than `micros`: a backdated event recorded after it (occurred_at
  // may be in the past) belongs after it in its stream, so it is left out too, never folded
  // before the events its stream has before it.
  std::unordered_set<std::string> cut;
  // Whatever a void refolds lies before it in its stream, so within the cut already.
  auto read = store_reader(store);
  status failed;
  auto scanned = store.scan(
      model->position + 1,
      [&](const recorded_event& e) {
        if (!cut.empty() && cut.count(e.stream)) return true;
        if (e.occurred_at > micros) {
          cut.insert(e.stream);
          return true;
        }
        failed = model->apply(e, read);
        return failed.ok();
      },
      fold_scan());
  if (!scanned) return scanned.take_err();
  if (!failed) return failed.take_err();
  return model;
}

}  // namespace kakehashi
