// Stored record format: the Cap'n Proto EventRecord of events/envelope.capnp as one flat array,
// with its chain link. hash = BLAKE2b-256(prev_hash || the record's stored bytes with the 32
// hash bytes zeroed), so any change to any stored byte of a record breaks its link, and the
// chain covers ciphertext (erasing a subject's key never breaks verification).
// Internal to the engine. Pure functions, thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/event_store.h"

namespace kakehashi::detail {

// Largest stored record the decoder accepts: the payload limit plus envelope room.
inline constexpr std::size_t max_record_bytes = (1 << 20) + 64 * 1024;
// What a record holds besides its variable-length fields (payload, stream, type, the actor's
// three fields): fixed fields, pointers, word padding and the segment table, with room to spare.
inline constexpr std::size_t record_envelope_bytes = 4096;

// Whether a store may be opened with these limits: the largest event validate() lets through
// (payload and actor fields at their limits, stream and type names at theirs) must encode to
// a record the decoder accepts, or the store would write what it cannot read back. Fails with
// invalid_argument `limits_too_large`.
status check_record_limits(const store_limits& limits);

struct record_header {
  uuid id;
  std::string_view stream;
  std::uint64_t version = 0;
  position_t position = 0;
  std::int64_t recorded_at = 0;
};

// Encodes records into buffers it keeps, so the sequencer's per-event encoding allocates
// nothing once the buffers have grown. One per thread: not thread-safe.
class record_encoder {
 public:
  record_encoder();
  ~record_encoder();
  record_encoder(const record_encoder&) = delete;
  record_encoder& operator=(const record_encoder&) = delete;

  // Encodes `event` with the header fields and chain link and sets `hash_out` to the new
  // record's hash. Returns the stored bytes, valid until the next call.
  std::string_view encode(const new_event& event, const record_header& header,
                          const hash256& prev_hash, hash256& hash_out);

 private:
  struct buffers;
  std::unique_ptr<buffers> buffers_;
};

// As record_encoder::encode, into a string of its own.
std::string encode_record(const new_event& event, const record_header& header,
                          const hash256& prev_hash, hash256& hash_out);

// Decodes a stored record into `out` (reusing its buffers), within Cap'n Proto traversal
// limits. Does not check the hash; see verify_record. The records record_encoder writes are read
// by a direct reader of their layout; anything else goes through Cap'n Proto, so the outcome is
// always decode_record_capnp's. On failure `out` holds no meaning.
status decode_record(std::string_view stored, recorded_event& out);
// decode_record through Cap'n Proto's reader alone: the reference the fast path is tested and
// fuzzed against.
status decode_record_capnp(std::string_view stored, recorded_event& out);

// Checks that the record claims position `at`, links to `expected_prev` and that its stored hash
// matches its bytes; on success sets `hash_out` to the record's hash. Reads the record once.
status verify_record(std::string_view stored, position_t at, const hash256& expected_prev,
                     hash256& hash_out);

}  // namespace kakehashi::detail
