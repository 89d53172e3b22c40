#include <rocksdb/write_batch.h>

#include "engine/projection_store_impl.h"

namespace kakehashi::detail {

namespace {

// The smallest key greater than every key starting with `prefix` ("" when there is none).
std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff)
    end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

}  // namespace

status projection_store_impl::write(const std::vector<entry>& puts,
                                    const std::vector<std::string>& delete_prefixes) {
  if (read_only_)
    return make_error(errc::unavailable, "read_only", "the store was opened read-only");
  rocksdb::WriteBatch batch;
  for (const auto& prefix : delete_prefixes) {
    auto end = prefix_end(prefix);
    if (end.empty()) return make_error(errc::invalid_argument, "invalid_prefix", "empty prefix");
    batch.DeleteRange(family_, prefix, end);
  }
  for (const auto& [key, value] : puts)
    batch.Put(family_, key, value);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  std::lock_guard lock(fence_.sync_mutex());
  std::shared_lock gate(fence_.switch_mutex());
  if (fence_.stopped()) return writes_stopped_error();
  rocksdb::Status s;
  {
    auto serial = fence_.rocksdb_write_lock();  // write_fence.h: TSan builds only
    s = db_->Write(sync, &batch);
  }
  if (!s.ok()) {
    fence_.stop();
    return io_failure(s, "cannot write projection state");
  }
  return {};
}

result<std::vector<std::string>> projection_store_impl::keys(std::string_view prefix,
                                                             std::size_t limit) const {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family_));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
       it->Valid() && out.size() < limit &&
       it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size()));
       it->Next())
    out.push_back(it->key().ToString());
  if (!it->status().ok()) return io_failure(it->status(), "cannot read projection state");
  return out;
}

}  // namespace kakehashi::detail
