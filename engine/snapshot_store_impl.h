// The snapshot store over files in <data>/snapshots (engine/snapshot_store.h). Internal to the
// engine.
#pragma once

#include <rocksdb/file_system.h>

#include <memory>
#include <mutex>

#include "engine/snapshot_store.h"

namespace kakehashi::detail {

// The header an image file of `payload` at `position` begins with, in the format this build
// writes (engine/snapshot_store.h). Also for tests and the fuzz target that write image files
// themselves.
std::string snapshot_image_header(std::uint64_t position, std::int64_t last_occurred_at,
                                  std::string_view payload);

class snapshot_store_impl final : public snapshot_store {
 public:
  // `fs` is the file system the database is opened with; `dir` the snapshots directory. A
  // writable store creates the directory (syncing its parent) and removes stray temporary files;
  // a read-only one changes nothing on disk.
  static result<std::unique_ptr<snapshot_store_impl>> open(std::shared_ptr<rocksdb::FileSystem> fs,
                                                           std::string dir, bool read_only,
                                                           std::size_t max_image_bytes);

  std::size_t max_image_bytes() const override { return max_bytes_; }
  status save(std::string_view kind, std::uint64_t position, std::int64_t last_occurred_at,
              std::string_view bytes) override;
  result<std::optional<image>> load(std::string_view kind, std::uint64_t at_most) const override;
  result<std::vector<listed>> list(std::string_view kind) const override;
  status remove_all(std::string_view kind) override;

  static constexpr std::size_t header_bytes = 72;  // format 2's; format 1 had 64

 private:
  snapshot_store_impl(std::shared_ptr<rocksdb::FileSystem> fs, std::string dir, bool read_only,
                      std::size_t max_image_bytes)
      : fs_(std::move(fs)),
        dir_(std::move(dir)),
        read_only_(read_only),
        max_bytes_(max_image_bytes) {}
  status remove_temporaries();
  status sync_dir(const std::string& dir) const;
  // The image in the file `name` if it holds a valid one at `position`; otherwise the reason it
  // does not (for the log line).
  result<image> read_image(const std::string& name, std::uint64_t position) const;
  // The positions of the images of `kind` by their file names, in order; nothing read.
  result<std::vector<std::uint64_t>> positions(std::string_view kind) const;
  // Up to `limit` bytes from the start of the file at `path`.
  result<std::string> read_prefix(const std::string& path, std::uint64_t limit) const;

  std::shared_ptr<rocksdb::FileSystem> fs_;
  const std::string dir_;
  const bool read_only_;
  const std::size_t max_bytes_;
  std::mutex write_mutex_;  // save() and remove_all()
};

}  // namespace kakehashi::detail
