// The projection store over the `proj` column family. Internal to the engine.
#pragma once

#include <rocksdb/db.h>

#include "engine/projection_store.h"
#include "engine/write_fence.h"
#include "events/result.h"

namespace kakehashi::detail {

error io_failure(const rocksdb::Status& s, std::string_view what);

class projection_store_impl final : public projection_store {
 public:
  // `fence` is the store's (engine/write_fence.h): checked before each write, set when one fails.
  projection_store_impl(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, bool read_only,
                        write_fence& fence)
      : db_(db), family_(family), read_only_(read_only), fence_(fence) {}

  status write(const std::vector<entry>& puts,
               const std::vector<std::string>& delete_prefixes) override;
  result<std::vector<std::string>> keys(std::string_view prefix, std::size_t limit) const override;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* family_;
  bool read_only_;
  write_fence& fence_;
};

}  // namespace kakehashi::detail
