#include "engine/record_codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <sodium.h>

#include <cstring>
#include <vector>

#include "events/envelope.capnp.h"

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

status decode_record(std::string_view stored, recorded_event& out) {
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
    auto who = record.getActor();
    out.who.id.assign(who.getId().begin(), who.getId().size());
    out.who.role.assign(who.getRole().begin(), who.getRole().size());
    out.who.on_behalf_of.assign(who.getOnBehalfOf().begin(), who.getOnBehalfOf().size());
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

status verify_record(std::string_view stored, const hash256& expected_prev, hash256& hash_out) {
  if (stored.size() > max_record_bytes || stored.size() % sizeof(capnp::word) != 0)
    return make_error(errc::corruption, "bad_record", "stored record has an impossible size");
  try {
    aligned_view view(stored);
    capnp::FlatArrayMessageReader message(view.words(), reader_options(stored.size()));
    auto record = message.getRoot<schema::EventRecord>();
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
