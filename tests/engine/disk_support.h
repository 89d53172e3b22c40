// What tests look for and change on disk underneath a closed store: files containing some bytes,
// a subject's raw data key, and the database itself opened with RocksDB directly (to damage,
// tamper with or lose records as a disk, an attacker or a power cut would).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/key_vault.h"
#include "tests/engine/test_support.h"

namespace kakehashi::test {

// Every regular file under `dir` that contains `needle`, read byte by byte.
inline std::vector<std::string> files_containing(const std::string& dir, std::string_view needle) {
  std::vector<std::string> found;
  std::error_code ec;
  // Error-code forms: a file RocksDB deletes while we look reads as empty, it does not throw.
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const auto& entry = *it;
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec)) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (content.find(needle) != std::string::npos)
      found.push_back(entry.path().filename().string());
  }
  REQUIRE_MESSAGE(!ec, "cannot list " << dir << ": " << ec.message());  // never a partial scan
  return found;
}

inline std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

inline std::size_t file_count(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    n += entry.is_regular_file() ? 1 : 0;
  return n;
}

// The store's database opened directly, with every column family. The store must be closed.
struct raw_db {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<std::string> names;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  explicit raw_db(const std::string& path) {
    auto s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names)
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &raw);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    db.reset(raw);
  }
  ~raw_db() {
    for (auto* h : handles)
      CHECK(db->DestroyColumnFamilyHandle(h).ok());
    CHECK(db->Close().ok());
  }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  rocksdb::ColumnFamilyHandle* family(std::string_view name) const {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return handles[i];
    FAIL("no column family " << name);
    return nullptr;
  }
  std::optional<std::string> get(std::string_view family_name, const std::string& key) const {
    std::string value;
    auto s = db->Get(rocksdb::ReadOptions(), family(family_name), key, &value);
    if (s.IsNotFound()) return std::nullopt;
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    return value;
  }
  void put(std::string_view family_name, const std::string& key, const std::string& value) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    auto s = db->Put(sync, family(family_name), key, value);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  void erase(std::string_view family_name, const std::string& key) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    auto s = db->Delete(sync, family(family_name), key);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
};

// A position as the log and streams families store it.
inline std::string big_endian(std::uint64_t v) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i)
    key[static_cast<std::size_t>(i)] = static_cast<char>(v >> (56 - 8 * i));
  return key;
}

// The subject's raw data key, read from the keys family with RocksDB directly (read-only, so
// the directory is not changed; works next to the open store, as `kakehashi verify` does). The
// stored value is a 0x01 tag and the 32 key bytes.
inline std::string raw_key(const std::string& db_path, const std::string& subject) {
  std::vector<std::string> names;
  auto s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), db_path, &names);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names)
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), db_path, descriptors, &handles, &raw);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == "keys") s = db->Get(rocksdb::ReadOptions(), handles[i], subject, &value);
  for (auto* handle : handles)
    db->DestroyColumnFamilyHandle(handle);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  REQUIRE(value.size() == 1 + key_vault::key_bytes);
  REQUIRE(value[0] == 0x01);
  return value.substr(1);
}

}  // namespace kakehashi::test
