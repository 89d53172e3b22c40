// The key vault: per-subject XChaCha20-Poly1305 keys in the keys column family, sealing and
// opening blobs, and erasure that leaves the key in no file of the data directory.
#include <rocksdb/metadata.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/utilities/debug.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "engine/store_impl.h"

namespace kakehashi {
namespace {

constexpr std::uint8_t stored_key_tag = 0x01;
constexpr std::uint8_t stored_erased_tag = 0x02;
constexpr std::size_t stored_key_size = 1 + key_vault::key_bytes;
constexpr std::size_t stored_erased_size = 1 + 8;
// How long erase() waits for a background job that has already picked an obsolete file to
// finish deleting it: attempts x pause.
constexpr int purge_attempts = 500;
constexpr std::chrono::milliseconds purge_pause{10};

static_assert(key_vault::key_bytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(key_vault::nonce_bytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(key_vault::tag_bytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(key_vault::max_subject_bytes <= 255, "the subject length is one byte");

error invalid_sealed(const std::string& why) {
  return make_error(errc::invalid_argument, "invalid_sealed_data", "sealed data " + why, "sealed");
}

error read_only_error(std::string_view what) {
  return make_error(errc::unavailable, "read_only",
                    "the store was opened read-only: cannot " + std::string(what));
}

bool valid_subject(std::string_view subject) {
  if (subject.empty() || subject.size() > key_vault::max_subject_bytes) return false;
  for (char c : subject)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  return true;
}

status validate_subject(std::string_view subject) {
  if (valid_subject(subject)) return {};
  return make_error(errc::invalid_argument, "invalid_subject",
                    "a subject id is 1.." + std::to_string(key_vault::max_subject_bytes) +
                        " printable ASCII characters without spaces",
                    "subject");
}

struct parsed_blob {
  std::string_view header;  // format, length, subject: the associated data
  std::string_view subject;
  const unsigned char* nonce = nullptr;
  std::string_view ciphertext;  // with the tag
};

// Never reads past `sealed`; every length is checked before it is used.
result<parsed_blob> parse_blob(std::string_view sealed) {
  if (sealed.size() > key_vault::max_sealed_bytes)
    return invalid_sealed("is larger than " + std::to_string(key_vault::max_sealed_bytes) +
                          " bytes");
  if (sealed.size() < 2) return invalid_sealed("is truncated");
  if (static_cast<std::uint8_t>(sealed[0]) != key_vault::format_v1)
    return invalid_sealed("has an unknown format");
  const std::size_t n = static_cast<std::uint8_t>(sealed[1]);
  if (sealed.size() < 2 + n + key_vault::nonce_bytes + key_vault::tag_bytes)
    return invalid_sealed("is truncated");
  parsed_blob blob;
  blob.header = sealed.substr(0, 2 + n);
  blob.subject = sealed.substr(2, n);
  if (!valid_subject(blob.subject)) return invalid_sealed("names an invalid subject");
  blob.nonce = reinterpret_cast<const unsigned char*>(sealed.data() + 2 + n);
  blob.ciphertext = sealed.substr(2 + n + key_vault::nonce_bytes);
  return blob;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void wipe(std::string& s) {
  sodium_memzero(s.data(), s.size());
  s.clear();
}

// "000123.log" -> 123; 0 for anything else.
std::uint64_t wal_number(const std::string& file_name) {
  constexpr std::string_view suffix = ".log";
  if (file_name.size() <= suffix.size() || !file_name.ends_with(suffix)) return 0;
  std::uint64_t number = 0;
  for (std::size_t i = 0; i + suffix.size() < file_name.size(); ++i) {
    char c = file_name[i];
    if (c < '0' || c > '9') return 0;
    number = number * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return number;
}

}  // namespace

result<std::string> key_vault::subject_of(std::string_view sealed) {
  auto blob = parse_blob(sealed);
  if (!blob) return blob.take_err();
  return std::string(blob->subject);
}

namespace detail {

void configure_for_erasure(rocksdb::DBOptions& options) {
  options.WAL_ttl_seconds = 0;
  options.WAL_size_limit_MB = 0;
  options.recycle_log_file_num = 0;
}

key_vault_impl::key_vault_impl(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> families,
                               rocksdb::ColumnFamilyHandle* keys, bool read_only,
                               std::size_t cache_capacity, write_fence& fence)
    : db_(db),
      families_(std::move(families)),
      keys_(keys),
      read_only_(read_only),
      cache_capacity_(cache_capacity),
      fence_(fence) {}

key_vault_impl::~key_vault_impl() {
  for (auto& item : lru_)
    sodium_memzero(item.value.key.data(), item.value.key.size());
}

result<key_vault_impl::entry> key_vault_impl::read_stored(std::string_view subject) const {
  rocksdb::PinnableSlice value;
  auto s = db_->Get(rocksdb::ReadOptions(), keys_, rocksdb::Slice(subject), &value);
  entry found;
  if (s.IsNotFound()) return found;
  if (!s.ok()) return io_failure(s, "cannot read the keys family");
  std::string_view stored = value.ToStringView();
  if (stored.size() == stored_key_size && static_cast<std::uint8_t>(stored[0]) == stored_key_tag) {
    found.state = entry::kind::key;
    std::memcpy(found.key.data(), stored.data() + 1, key_bytes);
  } else if (stored.size() == stored_erased_size &&
             static_cast<std::uint8_t>(stored[0]) == stored_erased_tag) {
    found.state = entry::kind::erased;
  } else {
    // The subject id is not personal data (see key_vault.h), so it may go into the message.
    return make_error(
        errc::corruption, "corrupt_key_entry",
        "the keys family holds an unreadable entry for subject " + std::string(subject));
  }
  return found;
}

void key_vault_impl::cache_put_locked(std::string_view subject, const entry& value) const {
  if (cache_capacity_ == 0) return;
  if (auto at = index_.find(subject); at != index_.end()) {
    at->second->value = value;  // overwrites (so wipes) a key replaced by an erased marker
    lru_.splice(lru_.begin(), lru_, at->second);
    return;
  }
  if (lru_.size() >= cache_capacity_) {
    auto& oldest = lru_.back();
    sodium_memzero(oldest.value.key.data(), oldest.value.key.size());
    index_.erase(oldest.subject);
    lru_.pop_back();
  }
  lru_.push_front(cached{std::string(subject), value});
  index_.emplace(lru_.front().subject, lru_.begin());
}

result<key_vault_impl::entry> key_vault_impl::lookup(std::string_view subject) const {
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(cache_mutex_);
    if (auto at = index_.find(subject); at != index_.end()) {
      ++hits_;
      lru_.splice(lru_.begin(), lru_, at->second);
      return at->second->value;
    }
    ++misses_;
    epoch = erase_epoch_;
  }
  auto stored = read_stored(subject);
  if (stored && stored->state != entry::kind::absent) {
    std::lock_guard lock(cache_mutex_);
    // An erase since the read may have destroyed what was read: then it must not be cached.
    if (erase_epoch_ == epoch) cache_put_locked(subject, *stored);
  }
  return stored;
}

result<key_vault_impl::entry> key_vault_impl::get_or_create(std::string_view subject) {
  std::lock_guard write_lock(write_mutex_);
  // Read again under the lock: another seal may have created the key, or an erase run.
  auto stored = read_stored(subject);
  if (!stored || stored->state != entry::kind::absent) return stored;
  entry created;
  created.state = entry::kind::key;
  crypto_aead_xchacha20poly1305_ietf_keygen(created.key.data());
  std::string value(stored_key_size, '\0');
  value[0] = static_cast<char>(stored_key_tag);
  std::memcpy(value.data() + 1, created.key.data(), key_bytes);
  rocksdb::WriteOptions sync;
  sync.sync = true;  // a blob is only handed out once its key is durable
  rocksdb::Status s;
  {
    std::lock_guard lock(fence_.sync_mutex());
    std::shared_lock gate(fence_.switch_mutex());
    if (fence_.stopped()) {
      wipe(value);
      sodium_memzero(created.key.data(), created.key.size());
      return writes_stopped_error();
    }
    {
      auto serial = fence_.rocksdb_write_lock();  // write_fence.h: TSan builds only
      s = db_->Put(sync, keys_, rocksdb::Slice(subject), value);
    }
    if (!s.ok()) fence_.stop();
  }
  wipe(value);
  if (!s.ok()) {
    sodium_memzero(created.key.data(), created.key.size());
    return io_failure(s, "cannot store a new data key");
  }
  std::lock_guard lock(cache_mutex_);
  ++keys_created_;
  cache_put_locked(subject, created);  // writes are serialised here, so this is current
  return created;
}

result<std::string> key_vault_impl::seal(std::string_view subject, std::string_view plaintext) {
  if (read_only_) return read_only_error("seal personal data");
  if (auto valid = validate_subject(subject); !valid) return valid.take_err();
  if (plaintext.size() > max_plaintext_bytes)
    return make_error(
        errc::too_large, "plaintext_too_large",
        "personal data to seal is larger than " + std::to_string(max_plaintext_bytes) + " bytes");
  auto found = lookup(subject);
  if (found && found->state == entry::kind::absent) found = get_or_create(subject);
  if (!found) return found.take_err();
  entry key = *found;
  sodium_memzero(found->key.data(), found->key.size());
  if (key.state == entry::kind::erased)
    return make_error(errc::conflict, "subject_erased",
                      "the subject's personal data was erased; nothing new is sealed for it",
                      "subject");

  const std::size_t header_size = 2 + subject.size();
  std::string blob(header_size + nonce_bytes + plaintext.size() + tag_bytes, '\0');
  blob[0] = static_cast<char>(format_v1);
  blob[1] = static_cast<char>(subject.size());
  std::memcpy(blob.data() + 2, subject.data(), subject.size());
  auto* nonce = reinterpret_cast<unsigned char*>(blob.data() + header_size);
  randombytes_buf(nonce, nonce_bytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + nonce_bytes, &written, bytes(plaintext),
                                             plaintext.size(), bytes(blob), header_size, nullptr,
                                             nonce, key.key.data());
  sodium_memzero(key.key.data(), key.key.size());
  if (written != plaintext.size() + tag_bytes)
    return make_error(errc::internal, "seal_failed", "the cipher wrote an unexpected length");
  return blob;
}

result<std::string> key_vault_impl::open(std::string_view sealed) const {
  auto blob = parse_blob(sealed);
  if (!blob) return blob.take_err();
  auto found = lookup(blob->subject);
  if (!found) return found.take_err();
  entry key = *found;
  sodium_memzero(found->key.data(), found->key.size());
  if (key.state == entry::kind::absent) return invalid_sealed("names a subject that has no key");
  if (key.state == entry::kind::erased)
    return make_error(errc::not_found, "erased",
                      "the subject's personal data was erased and cannot be read");

  std::string plaintext(blob->ciphertext.size() - tag_bytes, '\0');
  unsigned long long length = 0;
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      reinterpret_cast<unsigned char*>(plaintext.data()), &length, nullptr, bytes(blob->ciphertext),
      blob->ciphertext.size(), bytes(blob->header), blob->header.size(), blob->nonce,
      key.key.data());
  sodium_memzero(key.key.data(), key.key.size());
  if (rc != 0) {
    wipe(plaintext);
    return invalid_sealed("does not authenticate (tampered, forged or another subject's)");
  }
  plaintext.resize(length);
  return plaintext;
}

bool key_vault_impl::is_erased(std::string_view subject) const {
  if (!valid_subject(subject)) return false;
  auto found = lookup(subject);
  if (!found) return false;
  sodium_memzero(found->key.data(), found->key.size());
  return found->state == entry::kind::erased;
}

key_vault_stats key_vault_impl::stats() const {
  std::lock_guard lock(cache_mutex_);
  key_vault_stats out;
  out.cached_entries = lru_.size();
  out.cache_capacity = cache_capacity_;
  out.cache_hits = hits_;
  out.cache_misses = misses_;
  out.keys_created = keys_created_;
  out.erasures = erasures_;
  return out;
}

status key_vault_impl::erase(std::string_view subject) {
  if (read_only_) return read_only_error("erase personal data");
  if (auto valid = validate_subject(subject); !valid) return valid.take_err();
  if (fence_.stopped()) return writes_stopped_error();
  auto db_options = db_->GetDBOptions();
  if (db_options.WAL_ttl_seconds != 0 || db_options.WAL_size_limit_MB != 0 ||
      db_options.recycle_log_file_num != 0)
    return make_error(errc::internal, "unsafe_wal_options",
                      "WAL archiving or recycling is on: a destroyed key would stay on disk");
  {
    std::lock_guard write_lock(write_mutex_);
    auto stored = read_stored(subject);
    if (!stored) return stored.take_err();
    sodium_memzero(stored->key.data(), stored->key.size());
    if (stored->state != entry::kind::erased) {
      // The marker replaces the key: no read sees the key from here on, and compaction drops
      // the older version.
      std::string marker(stored_erased_size, '\0');
      marker[0] = static_cast<char>(stored_erased_tag);
      auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      for (int i = 0; i < 8; ++i)
        marker[1 + i] = static_cast<char>(static_cast<std::uint64_t>(now) >> (56 - 8 * i));
      rocksdb::WriteOptions sync;
      sync.sync = true;
      std::lock_guard lock(fence_.sync_mutex());
      std::shared_lock gate(fence_.switch_mutex());
      if (fence_.stopped()) return writes_stopped_error();
      rocksdb::Status s;
      {
        auto serial = fence_.rocksdb_write_lock();  // write_fence.h: TSan builds only
        s = db_->Put(sync, keys_, rocksdb::Slice(subject), marker);
      }
      if (!s.ok()) {
        fence_.stop();
        return io_failure(s, "cannot record the erasure");
      }
    }
    std::lock_guard lock(cache_mutex_);
    if (stored->state != entry::kind::erased) ++erasures_;
    ++erase_epoch_;
    entry erased;
    erased.state = entry::kind::erased;
    cache_put_locked(subject, erased);
  }
  return purge(subject);
}

status key_vault_impl::purge(std::string_view subject) {
  std::lock_guard purge_lock(purge_mutex_);
  // Every WAL alive now may hold the key; after the flush none of them may remain.
  rocksdb::VectorLogPtr wals;
  auto s = db_->GetSortedWalFiles(wals);
  if (!s.ok()) return io_failure(s, "cannot list the WAL files");
  std::uint64_t last_wal = 0;
  for (const auto& wal : wals)
    last_wal = std::max<std::uint64_t>(last_wal, wal->LogNumber());
  // Every SST of the keys family that may hold a version of the subject; after the compaction
  // none of them may remain.
  std::vector<std::string> sst_before;
  std::vector<rocksdb::LiveFileMetaData> files;
  db_->GetLiveFilesMetaData(&files);
  for (const auto& file : files)
    if (file.column_family_name == keys_->GetName() && file.smallestkey <= subject &&
        subject <= file.largestkey)
      sst_before.push_back(file.directory + "/" + file.relative_filename);

  // Flush every family, not only keys: a WAL is deleted only once no family's memtable needs it.
  // The memtables are switched with no other writer inside RocksDB (write_fence.h: a switch
  // right after a failed WAL append aborts the process), and the flushes run in the background
  // meanwhile, so appends are held up only for the switch.
  {
    std::unique_lock gate(fence_.switch_mutex());
    if (fence_.stopped()) return writes_stopped_error();
    rocksdb::FlushOptions flush;
    flush.wait = false;
    flush.allow_write_stall = true;
    s = db_->Flush(flush, families_);
    if (!s.ok()) {
      if (s.IsIOError()) fence_.stop();
      return io_failure(s, "cannot flush the memtables");
    }
  }
  // The compaction below needs the erased marker in a table file, out of the keys memtable.
  for (int waited = 0;; ++waited) {
    std::uint64_t unflushed = 0;
    if (!db_->GetIntProperty(keys_, "rocksdb.num-immutable-mem-table", &unflushed))
      return make_error(errc::internal, "erasure_incomplete", "cannot see the flush progress");
    if (unflushed == 0) break;
    if (waited >= purge_attempts)
      return make_error(errc::io_error, "erasure_incomplete",
                        "the flush of the keys family did not finish; erase again to finish");
    std::this_thread::sleep_for(purge_pause);
  }
  // kForce rewrites the bottommost level too, so no SST keeps the replaced key version. Not
  // exclusive: automatic compactions of the log go on meanwhile. It switches the keys memtable
  // only if that holds the subject, which nothing writes after its erased marker: so it needs no
  // gate.
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  compact.exclusive_manual_compaction = false;
  rocksdb::Slice range(subject);
  s = db_->CompactRange(compact, keys_, &range, &range);
  if (!s.ok()) {
    if (s.IsIOError()) fence_.stop();
    return io_failure(s, "cannot compact the keys family");
  }

  std::string left;
  for (int attempt = 0; attempt < purge_attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(purge_pause);
    // Re-enabling deletions runs a full scan for obsolete files and deletes them now; the
    // counted (force = false) form keeps any other holder's DisableFileDeletions in force.
    s = db_->DisableFileDeletions();
    if (!s.ok()) return io_failure(s, "cannot purge obsolete files");
    s = db_->EnableFileDeletions(/*force=*/false);
    if (!s.ok()) return io_failure(s, "cannot purge obsolete files");
    auto checked = check_purged(subject, last_wal, sst_before);
    if (!checked) return checked.take_err();
    left = std::move(checked).value();
    if (left.empty()) return {};
  }
  return make_error(errc::io_error, "erasure_incomplete",
                    "the subject is erased but a file that may hold its key is still there (" +
                        left + "); erase again to finish");
}

result<std::string> key_vault_impl::check_purged(std::string_view subject,
                                                 std::uint64_t last_wal_before,
                                                 const std::vector<std::string>& sst_before) const {
  // No version of the subject but the erased marker (a snapshot would keep the key alive).
  std::vector<rocksdb::KeyVersion> versions;
  rocksdb::Slice key(subject);
  auto s = rocksdb::GetAllKeyVersions(db_, keys_, key, key, 64, &versions);
  if (!s.ok()) return io_failure(s, "cannot list the versions of a key entry");
  for (const auto& version : versions)
    if (version.user_key == subject &&
        !(version.value.size() == stored_erased_size &&
          static_cast<std::uint8_t>(version.value[0]) == stored_erased_tag))
      return std::string("an older version of the key entry");

  for (const auto& path : sst_before) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec) || ec)
      return "table file " + std::filesystem::path(path).filename().string();
  }

  auto options = db_->GetDBOptions();
  const std::string wal_dir = options.wal_dir.empty() ? db_->GetName() : options.wal_dir;
  std::error_code ec;
  // Iterated with error codes: the range-for form throws.
  for (std::filesystem::directory_iterator it(wal_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    auto name = it->path().filename().string();
    auto number = wal_number(name);
    if (number != 0 && number <= last_wal_before) return "WAL file " + name;
  }
  if (ec) return io_failure(rocksdb::Status::IOError(ec.message()), "cannot list " + wal_dir);
  return std::string();
}

}  // namespace detail
}  // namespace kakehashi
