// The key vault on the store's RocksDB `keys` column family. Internal to the engine.
//
// Stored values (keys family, key = subject id):
//   0x01 + 32 key bytes            the subject's data key
//   0x02 + erased_at (u64 BE, µs)  erased marker: the key was destroyed and is never recreated
//
// Locks, never held together, so there is no lock order:
// - cache_mutex_ guards the LRU cache, its counters and erase_epoch_; held only for map work,
//   never across IO or crypto.
// - write_mutex_ serialises every write to the keys family: get-or-create of a key (so two
//   concurrent first seals of a subject cannot create two keys) and the erased marker.
// - purge_mutex_ serialises the physical purge of erase() (flush, compaction, file purge), so
//   a slow purge does not hold up key creation.
// A reader that misses the cache reads the family without a lock, then inserts what it read
// only if no erase happened meanwhile (erase_epoch_ unchanged), so an erased key never comes
// back into the cache.
#pragma once

#include <rocksdb/db.h>

#include <array>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/key_vault.h"
#include "engine/write_fence.h"

namespace kakehashi::detail {

// What erasure needs of the database: WALs are deleted as soon as they are obsolete, never
// archived (WAL_ttl_seconds, WAL_size_limit_MB) or recycled (recycle_log_file_num), since an
// archived or recycled WAL would keep the bytes of a destroyed key.
void configure_for_erasure(rocksdb::DBOptions& options);

class key_vault_impl final : public key_vault {
 public:
  // `db` and the handles are borrowed and must outlive the vault. `families` are all the
  // store's column families (erase flushes every one), `keys` the keys family. `fence` is the
  // store's (engine/write_fence.h): checked before each write, set when one fails.
  key_vault_impl(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> families,
                 rocksdb::ColumnFamilyHandle* keys, bool read_only, std::size_t cache_capacity,
                 write_fence& fence);
  ~key_vault_impl() override;  // wipes the cached keys

  result<std::string> seal(std::string_view subject, std::string_view plaintext) override;
  result<std::string> open(std::string_view sealed) const override;
  status erase(std::string_view subject) override;
  bool is_erased(std::string_view subject) const override;
  key_vault_stats stats() const override;

 private:
  using data_key = std::array<std::uint8_t, key_bytes>;
  // A subject's state in the keys family.
  struct entry {
    enum class kind : std::uint8_t { absent, key, erased };
    kind state = kind::absent;
    data_key key{};
  };
  struct cached {
    std::string subject;
    entry value;
  };

  // Reads through the cache; absent subjects are not cached.
  result<entry> lookup(std::string_view subject) const;
  result<entry> read_stored(std::string_view subject) const;
  // Under write_mutex_: returns the subject's key, creating and durably storing it if absent.
  result<entry> get_or_create(std::string_view subject);
  // Caller holds cache_mutex_.
  void cache_put_locked(std::string_view subject, const entry& value) const;
  status purge(std::string_view subject);
  // What is left that may hold the key: empty when nothing is.
  result<std::string> check_purged(std::string_view subject, std::uint64_t last_wal_before,
                                   const std::vector<std::string>& sst_before) const;

  rocksdb::DB* const db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> families_;
  rocksdb::ColumnFamilyHandle* const keys_;
  const bool read_only_;
  const std::size_t cache_capacity_;
  write_fence& fence_;

  mutable std::mutex cache_mutex_;
  // Most recently used first; entries wiped when evicted.
  mutable std::list<cached> lru_;
  mutable std::unordered_map<std::string_view, std::list<cached>::iterator> index_;
  mutable std::uint64_t erase_epoch_ = 0;
  mutable std::uint64_t hits_ = 0;
  mutable std::uint64_t misses_ = 0;
  std::uint64_t keys_created_ = 0;
  std::uint64_t erasures_ = 0;

  std::mutex write_mutex_;
  std::mutex purge_mutex_;
};

}  // namespace kakehashi::detail
