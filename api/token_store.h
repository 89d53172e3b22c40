// Bearer tokens at rest: an append-only text file, `<data dir>/tokens.tsv`, next to the store's
// RocksDB files (RocksDB ignores names it does not own). It never holds a token itself, only a
// BLAKE2b-256 digest of it; a token is shown once, when issued.
//
// The file is its own thing, not part of the event store, so `kakehashi token issue` works while
// a server holds the RocksDB lock, and a running server sees the new line at once (see
// api/authenticator.h).
//
// Format (one record a line, tab-separated; the first line is the header):
//   kakehashi-tokens<TAB>v1
//   issue<TAB>ID<TAB>CREATED_US<TAB>ROLE<TAB>LG_CODE|-<TAB>DIGEST_HEX<TAB>NAME
//   revoke<TAB>ID<TAB>REVOKED_US
// Writers append under an exclusive flock with O_APPEND and fsync before reporting success.
// A last line without its newline is a write that never finished (never acknowledged): readers
// ignore it and the next writer cuts it off. Any other line that does not validate makes the
// whole file unreadable with an error naming the line: skipping it could resurrect a revoked
// token.
//
// Thread safety: token_store is immutable; every member may be called from any thread and from
// any number of processes at once (the flock serializes writers).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/ids.h"
#include "events/result.h"
#include "events/roles.h"

namespace kakehashi::api {

inline constexpr std::string_view token_file_name = "tokens.tsv";
// Bounds what a load reads into memory: ~20,000 tokens.
inline constexpr std::size_t max_token_file_bytes = 4 << 20;
inline constexpr std::size_t max_token_line_bytes = 1024;
inline constexpr std::size_t max_token_name_bytes = 128;
// "kh_" and 43 characters of URL-safe base64 (32 random bytes, unpadded).
inline constexpr std::string_view bearer_prefix = "kh_";
inline constexpr std::size_t bearer_token_chars = 46;

using token_digest = std::array<std::uint8_t, 32>;

struct token_record {
  uuid id;  // UUIDv7; names the token in lists and revocations, grants nothing by itself
  access_role role = access_role::dashboard;
  std::string lg_code;  // only for municipality
  std::string name;
  std::int64_t created_at = 0;  // µs since the Unix epoch
  bool revoked = false;
  std::int64_t revoked_at = 0;
  token_digest digest{};

  principal as_principal() const { return {id, role, lg_code, name}; }
};

// What to issue. Validated by issue(): validate_role_binding and, for a municipality, one of the
// 62 shipped codes; a name that validate_token_name accepts (it may be empty).
struct token_grant {
  access_role role = access_role::dashboard;
  std::string lg_code;
  std::string name;
};

struct issued_token {
  token_record record;
  std::string bearer;  // the secret; shown to the caller once, never stored
};

// Identifies one state of the file: which file (device, inode), how long, when last written.
struct file_signature {
  bool exists = false;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  friend bool operator==(const file_signature&, const file_signature&) = default;
};

// The parsed file: every record in file order, with lookups by digest and by id.
class token_table {
 public:
  // Parses file content (as read from disk). An unterminated last line is ignored.
  static result<token_table> parse(std::string_view content);

  const std::vector<token_record>& records() const { return records_; }
  // The record whose digest equals `digest` (compared in constant time), revoked or not.
  const token_record* find(const token_digest& digest) const;
  const token_record* find(const uuid& id) const;

 private:
  std::vector<token_record> records_;
  std::unordered_map<uuid, std::size_t, uuid_hash> by_id_;
  // Keyed by the digest's first 8 bytes; the full digest is then compared in constant time.
  std::unordered_multimap<std::uint64_t, std::size_t> by_digest_prefix_;
};

// The digest of a presented bearer token, or nullopt when it does not have a token's shape.
std::optional<token_digest> digest_of_bearer(std::string_view bearer);

// A name a token may be issued under: at most max_token_name_bytes of UTF-8 holding no character
// that disallowed_char refuses in a single-line payload field (invalid_name, naming "name").
status validate_token_name(std::string_view name);

class token_store {
 public:
  // `data_dir` is the store's directory; the file is data_dir/tokens.tsv.
  explicit token_store(std::string data_dir);

  const std::string& path() const { return path_; }

  // Reads and validates the whole file. A missing file is an empty table. Errors: too_large
  // (over max_token_file_bytes), corruption (a bad line, named), io_error.
  result<token_table> load(file_signature* signature = nullptr) const;
  // The file's current signature (one stat call); exists == false when missing or unreadable.
  file_signature stat() const;

  // Draws a new random token and appends its record, durably; creates the directory and the
  // file when missing. Errors: invalid_argument (the grant), too_large (the file is full),
  // timeout (another writer held the lock too long), corruption, io_error.
  result<issued_token> issue(const token_grant& grant) const;
  // Appends a revocation for `id`, durably, and returns the revoked record. Revoking a revoked
  // token changes nothing and succeeds. Errors: not_found, and as issue().
  result<token_record> revoke(const uuid& id) const;

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace kakehashi::api
