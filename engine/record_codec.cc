#include "engine/record_codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <sodium.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <vector>

#include "events/envelope.capnp.h"
#include "events/names.h"

namespace kakehashi::detail {
namespace {

capnp::ReaderOptions reader_options(std::size_t bytes) {
  capnp::ReaderOptions options;
  // A record is read once per decode; twice its size bounds any amplification trick.
  options.traversalLimitInWords = bytes / sizeof(capnp::word) * 2 + 64;
  options.nestingLimit = 8;
  return options;
}

// Cap'n Proto reads words; RocksDB values carry no alignment promise, so misaligned input is
// copied into a word buffer that lives as long as the reader needs it: on the stack for the
// usual small record (no allocation and no zero-filling per record read), on the heap beyond.
class aligned_view {
 public:
  explicit aligned_view(std::string_view bytes) {
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) {
      words_ = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()),
                            bytes.size() / sizeof(capnp::word));
      return;
    }
    capnp::word* copy = small_;
    if (bytes.size() > sizeof small_) {
      large_ = kj::heapArray<capnp::word>((bytes.size() + sizeof(capnp::word) - 1) /
                                          sizeof(capnp::word));
      copy = large_.begin();
    }
    std::memcpy(copy, bytes.data(), bytes.size());
    words_ = kj::arrayPtr(copy, bytes.size() / sizeof(capnp::word));
  }
  aligned_view(const aligned_view&) = delete;
  aligned_view& operator=(const aligned_view&) = delete;
  kj::ArrayPtr<const capnp::word> words() const { return words_; }
  const char* base() const { return reinterpret_cast<const char*>(words_.begin()); }

 private:
  capnp::word small_[512];  // 4 KiB, left uninitialised: only the copied bytes are read
  // Not std::vector: capnp::word is not copyable, which libstdc++ rejects under clang.
  kj::Array<capnp::word> large_;
  kj::ArrayPtr<const capnp::word> words_;
};

void set_uuid(capnp::Data::Builder (schema::EventRecord::Builder::*init)(unsigned),
              schema::EventRecord::Builder& record, const uuid& id) {
  if (id.is_nil()) return;
  auto data = (record.*init)(16);
  std::memcpy(data.begin(), id.bytes.data(), 16);
}

uuid read_uuid(capnp::Data::Reader data) {
  uuid id;
  if (data.size() == 16) std::memcpy(id.bytes.data(), data.begin(), 16);
  return id;
}

void copy_hash(capnp::Data::Reader data, hash256& out) {
  out.fill(0);
  if (data.size() == out.size()) std::memcpy(out.data(), data.begin(), out.size());
}

void chain_hash(const hash256& prev, std::string_view stored, std::size_t hash_offset,
                hash256& out) {
  static constexpr std::uint8_t zeros[32] = {};
  auto bytes = reinterpret_cast<const unsigned char*>(stored.data());
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, out.size());
  crypto_generichash_update(&state, prev.data(), prev.size());
  crypto_generichash_update(&state, bytes, hash_offset);
  crypto_generichash_update(&state, zeros, sizeof zeros);
  crypto_generichash_update(&state, bytes + hash_offset + 32, stored.size() - hash_offset - 32);
  crypto_generichash_final(&state, out.data(), out.size());
}

}  // namespace

status check_record_limits(const store_limits& limits) {
  constexpr std::size_t room =
      max_record_bytes - record_envelope_bytes - max_stream_name_bytes - max_type_name_bytes;
  // Compared one at a time first, so that no sum of huge limits wraps around.
  if (limits.max_payload_bytes > room || limits.max_actor_field_bytes > room ||
      limits.max_payload_bytes + 3 * limits.max_actor_field_bytes > room)
    return make_error(errc::invalid_argument, "limits_too_large",
                      "max_payload_bytes (" + std::to_string(limits.max_payload_bytes) +
                          ") plus three actor fields of max_actor_field_bytes (" +
                          std::to_string(limits.max_actor_field_bytes) +
                          ") exceed what a stored record can hold: " + std::to_string(room) +
                          " bytes together",
                      "limits");
  return {};
}

struct record_encoder::buffers {
  // The message's only segment; zero except while a message is being built in it
  // (MallocMessageBuilder zeroes what it used when it is destroyed).
  kj::Array<capnp::word> segment;
  std::string stored;
};

record_encoder::record_encoder() : buffers_(std::make_unique<buffers>()) {}
record_encoder::~record_encoder() = default;

std::string_view record_encoder::encode(const new_event& event, const record_header& header,
                                        const hash256& prev_hash, hash256& hash_out) {
  // One segment sized for the whole record keeps the flat layout simple: the fields and blobs
  // below, each blob padded to a word, plus slack.
  std::size_t estimate_words =
      (event.payload.size() + header.stream.size() + event.type.size() + event.who.id.size() +
       event.who.role.size() + event.who.on_behalf_of.size()) /
          8 +
      64;
  auto& segment = buffers_->segment;
  if (segment.size() < estimate_words) {
    segment = kj::heapArray<capnp::word>(estimate_words);
    std::memset(segment.begin(), 0, segment.size() * sizeof(capnp::word));
  }
  std::size_t offset = 0;
  {
    capnp::MallocMessageBuilder message(segment.slice(0, estimate_words),
                                        capnp::AllocationStrategy::FIXED_SIZE);
    auto record = message.initRoot<schema::EventRecord>();
    set_uuid(&schema::EventRecord::Builder::initEventId, record, header.id);
    record.setStream(capnp::Text::Reader(header.stream.data(), header.stream.size()));
    record.setVersion(header.version);
    record.setPosition(header.position);
    record.setType(event.type);
    record.setSchemaVersion(event.schema_version);
    record.setOccurredAt(event.occurred_at != 0 ? event.occurred_at : header.recorded_at);
    record.setRecordedAt(header.recorded_at);
    auto who = record.initActor();
    who.setId(event.who.id);
    who.setRole(event.who.role);
    who.setOnBehalfOf(event.who.on_behalf_of);
    set_uuid(&schema::EventRecord::Builder::initCorrelationId, record, event.correlation_id);
    set_uuid(&schema::EventRecord::Builder::initCausationId, record, event.causation_id);
    std::memcpy(record.initPrevHash(32).begin(), prev_hash.data(), 32);
    auto hash_field = record.initHash(32);  // zeroed until the hash is known
    record.setPayload(kj::arrayPtr(reinterpret_cast<const kj::byte*>(event.payload.data()),
                                   event.payload.size()));

    auto segments = message.getSegmentsForOutput();
    auto& stored = buffers_->stored;
    stored.resize(capnp::computeSerializedSizeInWords(segments) * sizeof(capnp::word));
    kj::ArrayOutputStream out(
        kj::arrayPtr(reinterpret_cast<kj::byte*>(stored.data()), stored.size()));
    capnp::writeMessage(out, segments);

    // Locate the hash bytes in the flat array: segment table, then the segments in order.
    auto field = reinterpret_cast<const char*>(hash_field.begin());
    offset = (segments.size() / 2 + 1) * sizeof(capnp::word);
    for (auto part : segments) {
      auto begin = reinterpret_cast<const char*>(part.begin());
      auto end = reinterpret_cast<const char*>(part.end());
      if (field >= begin && field < end) {
        offset += static_cast<std::size_t>(field - begin);
        break;
      }
      offset += static_cast<std::size_t>(end - begin);
    }
  }
  auto& stored = buffers_->stored;
  chain_hash(prev_hash, stored, offset, hash_out);
  std::memcpy(stored.data() + offset, hash_out.data(), hash_out.size());
  return stored;
}

std::string encode_record(const new_event& event, const record_header& header,
                          const hash256& prev_hash, hash256& hash_out) {
  record_encoder encoder;
  return std::string(encoder.encode(event, header, prev_hash, hash_out));
}

namespace {

// The fast path of decode_record: reads the layout record_encoder writes (one segment, every
// pointer direct, EventRecord and Actor with exactly the sections this schema gives them)
// without building a Cap'n Proto reader per record, which cost about as much as RocksDB's own
// work in a replay. It accepts a record only where Cap'n Proto would decode the same values
// within the same limits: every object in bounds, Text NUL-terminated, byte lists for blobs, and
// the words read (counted as Cap'n Proto's traversal limit counts them) within the limit of
// reader_options. Anything else (far pointers, other sections, an exceeded limit, any doubt) is
// left to Cap'n Proto, which decodes it or says why not. Reads words with memcpy, so the input
// need not be aligned.
class flat_record {
 public:
  explicit flat_record(std::string_view stored)
      : bytes_(stored.data()),
        words_(stored.size() / 8),
        // A margin below the limit, for any word Cap'n Proto counts that this reader does not:
        // whatever this reader accepts, Cap'n Proto must accept too.
        budget_(reader_options(stored.size()).traversalLimitInWords - traversal_margin) {}

  // Fills `out` and returns true, or returns false (with `out` partly written) for the slow path.
  bool decode(recorded_event& out) {
    // Segment table: one segment, filling the rest of the record.
    if (words_ < 2) return false;
    const std::uint64_t table = word_at(0);
    if (static_cast<std::uint32_t>(table) != 0 || (table >> 32) != words_ - 1) return false;
    segment_ = 1;
    size_ = words_ - 1;
    if (!spend(2)) return false;  // the root pointer, which Cap'n Proto checks twice
    std::size_t record = 0;
    if (!read_struct(0, record_data_words, record_pointers, record)) return false;
    const std::size_t ptrs = record + record_data_words;

    std::uint64_t version = word_at(segment_ + record), position = word_at(segment_ + record + 1);
    std::uint64_t schema = word_at(segment_ + record + 2);
    std::uint64_t occurred = word_at(segment_ + record + 3),
                  recorded = word_at(segment_ + record + 4);
    std::string_view id, stream, type, correlation, causation, prev, hash, payload;
    if (!read_blob(ptrs + 0, false, id) || !read_blob(ptrs + 1, true, stream) ||
        !read_blob(ptrs + 2, true, type) || !read_blob(ptrs + 4, false, correlation) ||
        !read_blob(ptrs + 5, false, causation) || !read_blob(ptrs + 6, false, prev) ||
        !read_blob(ptrs + 7, false, hash) || !read_blob(ptrs + 8, false, payload))
      return false;
    std::string_view who_id, who_role, who_for;
    if (word_at(segment_ + ptrs + 3) != 0) {  // null: the default, an empty actor
      std::size_t who = 0;
      if (!read_struct(ptrs + 3, 0, actor_pointers, who) || !read_blob(who, true, who_id) ||
          !read_blob(who + 1, true, who_role) || !read_blob(who + 2, true, who_for))
        return false;
    }

    out.id = blob_uuid(id);
    out.stream.assign(stream);
    out.version = version;
    out.position = position;
    out.type.assign(type);
    out.schema_version = static_cast<std::uint16_t>(schema);
    out.occurred_at = static_cast<std::int64_t>(occurred);
    out.recorded_at = static_cast<std::int64_t>(recorded);
    out.who.id.assign(who_id);
    out.who.role.assign(who_role);
    out.who.on_behalf_of.assign(who_for);
    out.correlation_id = blob_uuid(correlation);
    out.causation_id = blob_uuid(causation);
    blob_hash(prev, out.prev_hash);
    blob_hash(hash, out.hash);
    out.payload.assign(payload);
    return true;
  }

 private:
  static constexpr std::uint16_t record_data_words = 5, record_pointers = 9, actor_pointers = 3;
  static constexpr std::uint64_t traversal_margin = 16;  // reader_options' limit is at least 64
  // The field offsets above and in decode() are those of events/envelope.capnp; a field added
  // there changes the section sizes, which stops the build here until this reader learns it.
  static_assert(schema::EventRecord::_capnpPrivate::dataWordSize == record_data_words &&
                schema::EventRecord::_capnpPrivate::pointerCount == record_pointers &&
                schema::Actor::_capnpPrivate::dataWordSize == 0 &&
                schema::Actor::_capnpPrivate::pointerCount == actor_pointers);

  std::uint64_t word_at(std::size_t index) const {
    std::uint64_t v;
    std::memcpy(&v, bytes_ + index * 8, 8);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    return v;
  }
  bool spend(std::uint64_t words) {
    if (words > budget_) return false;
    budget_ -= words;
    return true;
  }
  // Where a direct pointer at segment word `at` points, if that lies in the segment.
  bool target(std::size_t at, std::uint64_t pointer, std::size_t& out) const {
    const std::int64_t offset = static_cast<std::int32_t>(static_cast<std::uint32_t>(pointer)) >> 2;
    const std::int64_t start = static_cast<std::int64_t>(at) + 1 + offset;
    if (start < 0 || static_cast<std::uint64_t>(start) > size_) return false;
    out = static_cast<std::size_t>(start);
    return true;
  }
  // A non-null struct pointer at `at` with exactly these sections, in bounds; `out` its start.
  bool read_struct(std::size_t at, std::uint16_t data_words, std::uint16_t pointers,
                   std::size_t& out) {
    const std::uint64_t pointer = word_at(segment_ + at);
    if ((pointer & 3) != 0 || pointer == 0) return false;
    if (static_cast<std::uint16_t>(pointer >> 32) != data_words ||
        static_cast<std::uint16_t>(pointer >> 48) != pointers)
      return false;
    const std::size_t words = std::size_t{data_words} + pointers;
    return target(at, pointer, out) && words <= size_ - out && spend(words);
  }
  // A null pointer (an empty blob) or a byte list in bounds; Text must end in NUL, not counted.
  bool read_blob(std::size_t at, bool text, std::string_view& out) {
    const std::uint64_t pointer = word_at(segment_ + at);
    if (pointer == 0) {
      out = {};
      return true;
    }
    if ((pointer & 3) != 1 || ((pointer >> 32) & 7) != 2) return false;
    const std::uint64_t count = pointer >> 35;
    const std::uint64_t words = (count + 7) / 8;
    std::size_t start = 0;
    if (!target(at, pointer, start) || words > size_ - start || !spend(words)) return false;
    const char* data = bytes_ + (segment_ + start) * 8;
    if (text) {
      if (count == 0 || data[count - 1] != '\0') return false;
      out = {data, static_cast<std::size_t>(count - 1)};
    } else {
      out = {data, static_cast<std::size_t>(count)};
    }
    return true;
  }
  static uuid blob_uuid(std::string_view blob) {
    uuid id;
    if (blob.size() == 16) std::memcpy(id.bytes.data(), blob.data(), 16);
    return id;
  }
  static void blob_hash(std::string_view blob, hash256& out) {
    out.fill(0);
    if (blob.size() == out.size()) std::memcpy(out.data(), blob.data(), out.size());
  }

  const char* bytes_;
  std::size_t words_;
  std::uint64_t budget_;     // words Cap'n Proto's traversal limit would still allow
  std::size_t segment_ = 0;  // the segment's first word in the record
  std::size_t size_ = 0;     // the segment's words
};

}  // namespace

status decode_record(std::string_view stored, recorded_event& out) {
  if (stored.size() > max_record_bytes || stored.size() % sizeof(capnp::word) != 0)
    return make_error(errc::corruption, "bad_record", "stored record has an impossible size");
  if (flat_record(stored).decode(out)) {
    out.stored_bytes = stored.size();
    return {};
  }
  return decode_record_capnp(stored, out);
}

status decode_record_capnp(std::string_view stored, recorded_event& out) {
  if (stored.size() > max_record_bytes || stored.size() % sizeof(capnp::word) != 0)
    return make_error(errc::corruption, "bad_record", "stored record has an impossible size");
  try {
    aligned_view view(stored);
    capnp::FlatArrayMessageReader message(view.words(), reader_options(stored.size()));
    auto record = message.getRoot<schema::EventRecord>();
    out.id = read_uuid(record.getEventId());
    auto stream = record.getStream();
    out.stream.assign(stream.begin(), stream.size());
    out.version = record.getVersion();
    out.position = record.getPosition();
    auto type = record.getType();
    out.type.assign(type.begin(), type.size());
    out.schema_version = record.getSchemaVersion();
    out.occurred_at = record.getOccurredAt();
    out.recorded_at = record.getRecordedAt();
    // Each field is read once: every read counts against the traversal limit.
    auto who = record.getActor();
    auto who_id = who.getId(), who_role = who.getRole(), who_for = who.getOnBehalfOf();
    out.who.id.assign(who_id.begin(), who_id.size());
    out.who.role.assign(who_role.begin(), who_role.size());
    out.who.on_behalf_of.assign(who_for.begin(), who_for.size());
    out.correlation_id = read_uuid(record.getCorrelationId());
    out.causation_id = read_uuid(record.getCausationId());
    copy_hash(record.getPrevHash(), out.prev_hash);
    copy_hash(record.getHash(), out.hash);
    auto payload = record.getPayload();
    out.payload.assign(reinterpret_cast<const char*>(payload.begin()), payload.size());
    out.stored_bytes = stored.size();
  } catch (const kj::Exception& e) {
    return make_error(errc::corruption, "bad_record",
                      std::string("stored record does not decode: ") + e.getDescription().cStr());
  }
  return {};
}

status verify_record(std::string_view stored, position_t at, const hash256& expected_prev,
                     hash256& hash_out) {
  if (stored.size() > max_record_bytes || stored.size() % sizeof(capnp::word) != 0)
    return make_error(errc::corruption, "bad_record", "stored record has an impossible size");
  try {
    aligned_view view(stored);
    capnp::FlatArrayMessageReader message(view.words(), reader_options(stored.size()));
    auto record = message.getRoot<schema::EventRecord>();
    if (record.getPosition() != at)
      return make_error(errc::corruption, "wrong_position",
                        "record claims position " + std::to_string(record.getPosition()) +
                            " but is stored at " + std::to_string(at));
    auto prev = record.getPrevHash();
    auto hash = record.getHash();
    if (prev.size() != 32 || hash.size() != 32)
      return make_error(errc::corruption, "bad_record", "record has no chain link");
    if (std::memcmp(prev.begin(), expected_prev.data(), 32) != 0)
      return make_error(errc::corruption, "chain_broken",
                        "prev_hash does not match the previous record's hash");
    auto offset =
        static_cast<std::size_t>(reinterpret_cast<const char*>(hash.begin()) - view.base());
    if (offset + 32 > stored.size())
      return make_error(errc::corruption, "bad_record", "hash lies outside the record");
    hash256 computed;
    chain_hash(expected_prev, stored, offset, computed);
    if (std::memcmp(computed.data(), hash.begin(), 32) != 0)
      return make_error(errc::corruption, "hash_mismatch",
                        "record bytes do not match their stored hash");
    hash_out = computed;
  } catch (const kj::Exception& e) {
    return make_error(errc::corruption, "bad_record",
                      std::string("stored record does not decode: ") + e.getDescription().cStr());
  }
  return {};
}

}  // namespace kakehashi::detail
