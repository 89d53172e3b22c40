// What tests of personal-data protection look for on disk: files containing some bytes, and a
// subject's raw data key read from the keys family underneath the store.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <filesystem>
#include <fstream>
#include <iterator>
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
