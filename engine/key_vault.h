// The key vault: one data key per data subject (a talent, a contact person), for the personal
// fields of events (DOMAIN.md's `*` fields). Personal bytes are sealed with the subject's key
// before they go into an event payload; erasing the subject destroys the key, so every sealed
// blob of that subject becomes unreadable for good while the log, which holds only ciphertext,
// stays intact and keeps verifying (crypto-shredding).
//
// Reached through event_store::keys(); the store owns the vault and it lives as long as the
// store. Keys live in the store's `keys` column family: subject id -> data key, or an "erased"
// marker once the subject has been erased. A subject id must be an opaque identifier (the
// talent's uuid, say), never personal data itself: it stays readable in every sealed blob and in
// the erased marker.
//
// Sealed blob format (version 1), all lengths in bytes:
//   [0]            format = 0x01
//   [1]            n = length of the subject id, 1..max_subject_bytes
//   [2, 2+n)       subject id (printable ASCII, no spaces)
//   [2+n, 26+n)    nonce, 24 random bytes
//   [26+n, end)    XChaCha20-Poly1305-IETF ciphertext of the plaintext, then its 16-byte tag
// The associated data is the header, bytes [0, 2+n): format and subject are authenticated, so a
// blob cannot be re-labelled as another subject's, and one subject's key never opens another
// subject's blob. A fresh random nonce per seal: 192-bit nonces make collisions negligible.
//
// Erasure guarantee: after erase() returns ok, the key bytes are in no file of the data
// directory (WAL, SST, MANIFEST, LOG): the WAL that held the key has been made obsolete by a
// flush and deleted, and the SSTs of the keys family that held it have been compacted away.
// What the file system or the disk keeps in freed blocks is out of reach of the engine.
//
// Thread safety: every member may be called from any thread, concurrently with appends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "events/result.h"

namespace kakehashi {

struct key_vault_stats {
  std::size_t cached_entries = 0;  // keys and erased markers held in memory
  std::size_t cache_capacity = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t keys_created = 0;  // since open
  std::uint64_t erasures = 0;      // since open
};

class key_vault {
 public:
  static constexpr std::uint8_t format_v1 = 0x01;
  static constexpr std::size_t max_subject_bytes = 128;
  static constexpr std::size_t nonce_bytes = 24;
  static constexpr std::size_t tag_bytes = 16;
  static constexpr std::size_t key_bytes = 32;
  // Personal bytes of one event are a few KiB at most (API bodies are <= 64 KiB); a sealed blob
  // must fit comfortably in one payload (store_limits::max_payload_bytes).
  static constexpr std::size_t max_plaintext_bytes = 512 * 1024;
  static constexpr std::size_t max_sealed_bytes =
      2 + max_subject_bytes + nonce_bytes + max_plaintext_bytes + tag_bytes;

  virtual ~key_vault() = default;

  // Seals `plaintext` with the subject's key, creating the key on first use (32 random bytes,
  // written with a synced write before any blob sealed with it is returned). Errors:
  // invalid_subject, plaintext_too_large (too_large), subject_erased (conflict: nothing new is
  // sealed for an erased subject), read_only (unavailable), io_error.
  // A seal that overlaps erase() of the same subject may return a blob sealed with the key being
  // destroyed; like every other blob of that subject, it is unreadable once erase() returns.
  virtual result<std::string> seal(std::string_view subject, std::string_view plaintext) = 0;

  // The plaintext of a blob made by seal(). Never creates a key. Errors: invalid_sealed_data
  // (invalid_argument: malformed, oversized, forged or tampered, or naming a subject that has no
  // key), erased (not_found: the subject's key was destroyed), io_error, corruption.
  virtual result<std::string> open(std::string_view sealed) const = 0;

  // The subject id a blob names, by parsing only (no key lookup, no authentication: use open()
  // to trust the content). Errors: invalid_sealed_data.
  static result<std::string> subject_of(std::string_view sealed);

  // Destroys the subject's key and records that the subject is erased (also for a subject that
  // has no key yet, so none is ever created), then makes the key physically gone from the data
  // directory: flushes every column family so the WAL holding the key becomes obsolete, forces
  // a bottommost compaction of the subject's range in the keys family, purges obsolete files and
  // checks that no version of the key, no WAL and no SST that could hold it is left. Idempotent:
  // erasing again re-runs the purge, which completes an erasure that failed part-way. Slow
  // (flush + compaction): for rare administrative use. Errors: invalid_subject, read_only,
  // unsafe_wal_options (WAL archiving or recycling would keep the key), io_error,
  // erasure_incomplete (io_error: the subject is erased but a file that may hold the key could
  // not be removed yet; retry).
  virtual status erase(std::string_view subject) = 0;

  // True once erase() has recorded the subject as erased. False for an unknown subject, and if
  // the keys family cannot be read (open() and seal() then report the error).
  virtual bool is_erased(std::string_view subject) const = 0;

  virtual key_vault_stats stats() const = 0;

 protected:
  key_vault() = default;
  key_vault(const key_vault&) = delete;
  key_vault& operator=(const key_vault&) = delete;
};

}  // namespace kakehashi
