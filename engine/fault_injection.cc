// The fault-injecting file system (engine/fault_injection.h): a rocksdb::FileSystemWrapper over
// the default file system that keeps, per file written through it, how many bytes were appended
// and how many a sync made durable, and the directory changes no directory fsync has covered yet.
// One mutex guards all of it and is held across each change, so a crash falls between two
// changes, never inside one's bookkeeping.
#include <fcntl.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/system_clock.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "engine/fault_injection_impl.h"

namespace kakehashi {
namespace detail {
namespace {

namespace rdb = rocksdb;
namespace stdfs = std::filesystem;

// A replaced file bigger than this is not kept for undoing the rename (RocksDB only renames
// small files over others: CURRENT, IDENTITY, OPTIONS).
constexpr std::uintmax_t max_kept_replaced_bytes = 4 << 20;
constexpr std::uint64_t max_garbage_bytes = 512;
constexpr std::uint64_t page_bytes = 4096;

std::string normal(const std::string& path) {
  std::string out = stdfs::path(path).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/')
    out.pop_back();
  return out;
}

// Zeros over [from, to) of an open file.
bool write_zeros(int fd, std::uint64_t from, std::uint64_t to) {
  static const std::string zeros(64 << 10, '\0');
  while (from < to) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), to - from));
    if (::pwrite(fd, zeros.data(), n, static_cast<off_t>(from)) != static_cast<ssize_t>(n))
      return false;
    from += n;
  }
  return true;
}

std::string parent_of(const std::string& path) {
  return stdfs::path(path).parent_path().string();
}

fault_file classify(const std::string& path) {
  const std::string name = stdfs::path(path).filename().string();
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".log")) return fault_file::wal;
  if (ends_with(".sst")) return fault_file::table;
  if (name.rfind("MANIFEST-", 0) == 0) return fault_file::manifest;
  if (ends_with(".img") || ends_with(".img.tmp")) return fault_file::snapshot;
  return fault_file::other;
}

const char* kind_name(fault_file kind) {
  switch (kind) {
    case fault_file::any:
      return "file";
    case fault_file::wal:
      return "wal";
    case fault_file::table:
      return "table";
    case fault_file::manifest:
      return "manifest";
    case fault_file::directory:
      return "directory";
    case fault_file::snapshot:
      return "snapshot";
    case fault_file::other:
      return "other";
  }
  return "file";
}

struct file_state {
  std::string path;
  fault_file kind = fault_file::other;
  std::uint64_t size = 0;    // bytes appended
  std::uint64_t synced = 0;  // bytes a power cut keeps
  // Bytes a failed sync may have lost for good: [hole_from, hole_to), empty when equal.
  std::uint64_t hole_from = 0;
  std::uint64_t hole_to = 0;
  // A file reused through ReuseWritableFile: its length then, all zeros and durable; 0 otherwise.
  std::uint64_t reused = 0;
};

// A directory change no directory fsync has covered yet.
struct dir_change {
  bool rename = false;
  std::string dir;
  std::string from;                     // rename: the old name
  std::string to;                       // the created file, or the new name
  std::optional<std::string> replaced;  // rename over a file: its content
  bool undoable = true;                 // false: a replaced file too big to keep
};

// What the rules say about one operation: go ahead, or fail (an append still writing a prefix).
struct verdict {
  rdb::IOStatus status;
  std::size_t prefix = 0;
  bool injected = false;  // by a rule or the free-space limit, not by the crash
};

class fault_fs;

class fault_writable_file final : public rdb::FSWritableFileOwnerWrapper {
 public:
  fault_writable_file(std::unique_ptr<rdb::FSWritableFile> target, fault_fs& fs,
                      std::shared_ptr<file_state> state)
      : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), state_(std::move(state)) {}

  rdb::IOStatus Append(const rdb::Slice& data, const rdb::IOOptions& options,
                       rdb::IODebugContext* dbg) override;
  rdb::IOStatus Append(const rdb::Slice& data, const rdb::IOOptions& options,
                       const rdb::DataVerificationInfo&, rdb::IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  rdb::IOStatus PositionedAppend(const rdb::Slice& data, std::uint64_t offset,
                                 const rdb::IOOptions& options, rdb::IODebugContext* dbg) override;
  rdb::IOStatus PositionedAppend(const rdb::Slice& data, std::uint64_t offset,
                                 const rdb::IOOptions& options, const rdb::DataVerificationInfo&,
                                 rdb::IODebugContext* dbg) override {
    return PositionedAppend(data, offset, options, dbg);
  }
  rdb::IOStatus Truncate(std::uint64_t size, const rdb::IOOptions& options,
                         rdb::IODebugContext* dbg) override;
  rdb::IOStatus Sync(const rdb::IOOptions& options, rdb::IODebugContext* dbg) override;
  rdb::IOStatus Fsync(const rdb::IOOptions& options, rdb::IODebugContext* dbg) override {
    return Sync(options, dbg);
  }
  // sync_file_range promises nothing about a power cut: the bytes stay unsynced.
  rdb::IOStatus RangeSync(std::uint64_t, std::uint64_t, const rdb::IOOptions&,
                          rdb::IODebugContext*) override {
    return rdb::IOStatus::OK();
  }
  bool IsSyncThreadSafe() const override { return true; }  // the fs mutex orders it

 private:
  fault_fs& fs_;
  std::shared_ptr<file_state> state_;
};

class fault_random_rw_file final : public rdb::FSRandomRWFileOwnerWrapper {
 public:
  fault_random_rw_file(std::unique_ptr<rdb::FSRandomRWFile> target, fault_fs& fs,
                       std::shared_ptr<file_state> state)
      : FSRandomRWFileOwnerWrapper(std::move(target)), fs_(fs), state_(std::move(state)) {}

  rdb::IOStatus Write(std::uint64_t offset, const rdb::Slice& data, const rdb::IOOptions& options,
                      rdb::IODebugContext* dbg) override;
  rdb::IOStatus Sync(const rdb::IOOptions& options, rdb::IODebugContext* dbg) override;
  rdb::IOStatus Fsync(const rdb::IOOptions& options, rdb::IODebugContext* dbg) override {
    return Sync(options, dbg);
  }

 private:
  fault_fs& fs_;
  std::shared_ptr<file_state> state_;
};

class fault_directory final : public rdb::FSDirectoryWrapper {
 public:
  fault_directory(std::unique_ptr<rdb::FSDirectory> target, fault_fs& fs, std::string path)
      : FSDirectoryWrapper(std::move(target)), fs_(fs), path_(std::move(path)) {}

  rdb::IOStatus Fsync(const rdb::IOOptions& options, rdb::IODebugContext* dbg) override;
  rdb::IOStatus FsyncWithDirOptions(const rdb::IOOptions& options, rdb::IODebugContext* dbg,
                                    const rdb::DirFsyncOptions&) override {
    return Fsync(options, dbg);
  }

 private:
  fault_fs& fs_;
  std::string path_;
};

class fault_fs final : public rdb::FileSystemWrapper {
 public:
  explicit fault_fs(std::uint64_t seed)
      : FileSystemWrapper(rdb::FileSystem::Default()), rng_(seed) {}

  const char* Name() const override { return "KakehashiFaultInjection"; }

  // --- the file system seen by RocksDB -------------------------------------------------------

  rdb::IOStatus NewWritableFile(const std::string& name, const rdb::FileOptions& options,
                                std::unique_ptr<rdb::FSWritableFile>* result,
                                rdb::IODebugContext* dbg) override {
    return create_writable(
        name,
        [&](const std::string& path) {
          return target()->NewWritableFile(path, options, result, dbg);
        },
        result, /*keep_content=*/false);
  }
  rdb::IOStatus ReopenWritableFile(const std::string& name, const rdb::FileOptions& options,
                                   std::unique_ptr<rdb::FSWritableFile>* result,
                                   rdb::IODebugContext* dbg) override {
    return create_writable(
        name,
        [&](const std::string& path) {
          return target()->ReopenWritableFile(path, options, result, dbg);
        },
        result, /*keep_content=*/true);
  }
  rdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                  const rdb::FileOptions& options,
                                  std::unique_ptr<rdb::FSWritableFile>* result,
                                  rdb::IODebugContext* dbg) override;
  rdb::IOStatus NewRandomRWFile(const std::string& name, const rdb::FileOptions& options,
                                std::unique_ptr<rdb::FSRandomRWFile>* result,
                                rdb::IODebugContext* dbg) override;
  rdb::IOStatus NewDirectory(const std::string& name, const rdb::IOOptions& options,
                             std::unique_ptr<rdb::FSDirectory>* result,
                             rdb::IODebugContext* dbg) override {
    std::unique_ptr<rdb::FSDirectory> dir;
    auto s = target()->NewDirectory(name, options, &dir, dbg);
    if (s.ok()) *result = std::make_unique<fault_directory>(std::move(dir), *this, normal(name));
    return s;
  }
  rdb::IOStatus DeleteFile(const std::string& name, const rdb::IOOptions& options,
                           rdb::IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    if (auto v = judge(std::nullopt, classify(name), 0, "delete"); !v.status.ok()) return v.status;
    auto s = target()->DeleteFile(name, options, dbg);
    if (s.ok()) files_.erase(normal(name));
    return s;
  }
  rdb::IOStatus Truncate(const std::string& name, size_t size, const rdb::IOOptions& options,
                         rdb::IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    if (auto v = judge(std::nullopt, classify(name), 0, "truncate"); !v.status.ok())
      return v.status;
    auto s = target()->Truncate(name, size, options, dbg);
    if (s.ok())
      if (auto it = files_.find(normal(name)); it != files_.end()) truncated(*it->second, size);
    return s;
  }
  rdb::IOStatus CreateDir(const std::string& name, const rdb::IOOptions& options,
                          rdb::IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    if (auto v = judge(std::nullopt, fault_file::directory, 0, "mkdir"); !v.status.ok())
      return v.status;
    return target()->CreateDir(name, options, dbg);
  }
  rdb::IOStatus CreateDirIfMissing(const std::string& name, const rdb::IOOptions& options,
                                   rdb::IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    if (auto v = judge(std::nullopt, fault_file::directory, 0, "mkdir"); !v.status.ok())
      return v.status;
    return target()->CreateDirIfMissing(name, options, dbg);
  }
  rdb::IOStatus DeleteDir(const std::string& name, const rdb::IOOptions& options,
                          rdb::IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    if (auto v = judge(std::nullopt, fault_file::directory, 0, "rmdir"); !v.status.ok())
      return v.status;
    return target()->DeleteDir(name, options, dbg);
  }
  rdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                           const rdb::IOOptions& options, rdb::IODebugContext* dbg) override;
  rdb::IOStatus LinkFile(const std::string& from, const std::string& to,
                         const rdb::IOOptions& options, rdb::IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    if (auto v = judge(std::nullopt, classify(to), 0, "link"); !v.status.ok()) return v.status;
    return target()->LinkFile(from, to, options, dbg);
  }
  // Locks are the process's, not the disk's: they work through a crash, and a held one tells
  // lose_power that a store is still open.
  rdb::IOStatus LockFile(const std::string& name, const rdb::IOOptions& options,
                         rdb::FileLock** lock, rdb::IODebugContext* dbg) override {
    auto s = target()->LockFile(name, options, lock, dbg);
    if (s.ok()) {
      std::lock_guard guard(mu_);
      ++locks_held_;
    }
    return s;
  }
  rdb::IOStatus UnlockFile(rdb::FileLock* lock, const rdb::IOOptions& options,
                           rdb::IODebugContext* dbg) override {
    auto s = target()->UnlockFile(lock, options, dbg);
    std::lock_guard guard(mu_);
    if (locks_held_ > 0) --locks_held_;
    return s;
  }

  // --- called by the wrapped files -----------------------------------------------------------

  rdb::IOStatus append(file_state& file, const rdb::Slice& data,
                       const std::function<rdb::IOStatus(const rdb::Slice&)>& write) {
    std::lock_guard lock(mu_);
    ++stats_.writes;
    verdict v = judge(fault_op::write, file.kind, data.size(), "write");
    const std::size_t n = v.status.ok() ? data.size() : v.prefix;
    if (n > 0) {
      if (auto s = write(rdb::Slice(data.data(), n)); !s.ok()) return s;
      file.size += n;
      if (free_space_) *free_space_ -= std::min<std::uint64_t>(n, *free_space_);
    }
    // From the crash on, appends to and syncs of a WAL report success and change nothing (see
    // fault_injector::crash): the process is dead in the model, so what it is told after the
    // crash does not count. An error would take RocksDB 7.8 down its WAL error paths, where a
    // later WAL sync trips an assertion and aborts the process (write_fence.h): that is about
    // RocksDB's error handling, not about what a power cut keeps.
    if (!v.status.ok() && !v.injected && file.kind == fault_file::wal) return rdb::IOStatus::OK();
    return v.status;
  }

  rdb::IOStatus write_at(file_state& file, std::uint64_t offset, const rdb::Slice& data,
                         const std::function<rdb::IOStatus(const rdb::Slice&)>& write) {
    std::lock_guard lock(mu_);
    ++stats_.writes;
    verdict v = judge(fault_op::write, file.kind, data.size(), "write");
    const std::size_t n = v.status.ok() ? data.size() : v.prefix;
    if (n > 0) {
      if (auto s = write(rdb::Slice(data.data(), n)); !s.ok()) return s;
      // Bytes rewritten inside the synced part are unsynced again.
      file.synced = std::min(file.synced, offset);
      file.size = std::max(file.size, offset + n);
      if (free_space_) *free_space_ -= std::min<std::uint64_t>(n, *free_space_);
    }
    return v.status;
  }

  rdb::IOStatus truncate_file(file_state& file, std::uint64_t size,
                              const std::function<rdb::IOStatus()>& truncate) {
    std::lock_guard lock(mu_);
    if (auto v = judge(std::nullopt, file.kind, 0, "truncate"); !v.status.ok()) return v.status;
    auto s = truncate();
    if (s.ok()) truncated(file, size);
    return s;
  }

  rdb::IOStatus sync_file(file_state& file) {
    std::unique_lock lock(mu_);
    if (hold_ && (*hold_ == fault_file::any || *hold_ == file.kind)) {
      hold_.reset();
      held_ = true;
      held_cv_.notify_all();
      held_cv_.wait(lock, [&] { return !held_; });  // without mu_: other operations go on
    }
    ++stats_.syncs;
    verdict v = judge(fault_op::sync, file.kind, 0, "sync");
    if (!v.status.ok()) {
      // From the crash on, a WAL sync reports success and makes nothing durable (see append()).
      if (!v.injected && file.kind == fault_file::wal) return rdb::IOStatus::OK();
      // The kernel may have dropped the pages this sync was to write: they may never get there.
      if (v.injected && file.size > file.synced) {
        file.hole_from =
            file.hole_to > file.hole_from ? std::min(file.hole_from, file.synced) : file.synced;
        file.hole_to = std::max(file.hole_to, file.size);
      }
      return v.status;
    }
    file.synced = file.size;
    return rdb::IOStatus::OK();
  }

  rdb::IOStatus sync_directory(const std::string& dir) {
    std::lock_guard lock(mu_);
    ++stats_.syncs;
    if (auto v = judge(fault_op::sync, fault_file::directory, 0, "sync"); !v.status.ok())
      return v.status;
    std::erase_if(changes_, [&](const dir_change& c) { return c.dir == dir; });
    return rdb::IOStatus::OK();
  }

  // --- the injector's controls ---------------------------------------------------------------

  void crash() {
    std::lock_guard lock(mu_);
    if (!crashed_) stats_.crash_point = "between changes";
    set_crashed();
  }
  void crash_after(std::uint64_t changes, fault_file on) {
    std::lock_guard lock(mu_);
    countdown_ = changes;
    countdown_file_ = on;
  }
  bool crashed() const {
    std::lock_guard lock(mu_);
    return crashed_;
  }
  bool wait_for_crash(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return crashed_cv_.wait_for(lock, timeout, [&] { return crashed_; });
  }
  void hold_next_sync(fault_file file) {
    std::lock_guard lock(mu_);
    hold_ = file;
  }
  bool wait_for_held_sync(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return held_cv_.wait_for(lock, timeout, [&] { return held_; });
  }
  void release_held() {
    {
      std::lock_guard lock(mu_);
      hold_.reset();
      held_ = false;
    }
    held_cv_.notify_all();
  }
  void add_rule(const fault_rule& rule) {
    std::lock_guard lock(mu_);
    rules_.push_back(rule);
  }
  void set_free_space(std::optional<std::uint64_t> bytes) {
    std::lock_guard lock(mu_);
    free_space_ = bytes;
  }
  void clear_faults() {
    std::lock_guard lock(mu_);
    rules_.clear();
    free_space_.reset();
  }
  fault_stats stats() const {
    std::lock_guard lock(mu_);
    fault_stats out = stats_;
    out.crashed = crashed_;
    for (const auto& [path, file] : files_)
      out.unsynced_bytes += file->size - file->synced;
    return out;
  }

  result<power_loss_report> lose_power(const power_loss_options& options);

 private:
  // Decides the fate of one change (op nullopt: a change no rule applies to). Called with mu_.
  // `what` names the change for crash_point ("write", "sync", "create", "rename", ...).
  verdict judge(std::optional<fault_op> op, fault_file kind, std::size_t bytes, const char* what) {
    if (crashed_) return {crash_status(), 0, false};
    ++stats_.changes;
    auto prefix = [&] {
      return bytes == 0 ? std::size_t{0} : static_cast<std::size_t>(rng_() % bytes);
    };
    if (countdown_ > 0 && (countdown_file_ == fault_file::any || countdown_file_ == kind) &&
        --countdown_ == 0) {
      set_crashed();
      stats_.crash_point = std::string(what) + " " + kind_name(kind);
      return {crash_status(), prefix(), false};
    }
    if (!op) return {};
    for (auto& rule : rules_) {
      if (rule.op != *op || (rule.file != fault_file::any && rule.file != kind)) continue;
      if (rule.skip > 0) {
        --rule.skip;
        continue;
      }
      if (rule.times == 0) continue;
      --rule.times;
      ++stats_.injected;
      if (rule.error == fault_error::no_space)
        return {rdb::IOStatus::NoSpace("kakehashi fault injection: no space left on device"),
                prefix(), true};
      return {rdb::IOStatus::IOError("kakehashi fault injection: injected I/O error"), prefix(),
              true};
    }
    if (*op == fault_op::write && free_space_ && bytes > *free_space_) {
      ++stats_.injected;
      return {rdb::IOStatus::NoSpace("kakehashi fault injection: the disk is full"),
              static_cast<std::size_t>(*free_space_), true};
    }
    return {};
  }

  static rdb::IOStatus crash_status() {
    return rdb::IOStatus::IOError("kakehashi fault injection: simulated power loss");
  }

  void set_crashed() {
    crashed_ = true;
    countdown_ = 0;
    crashed_cv_.notify_all();
  }

  static void truncated(file_state& file, std::uint64_t size) {
    file.size = size;
    file.synced = std::min(file.synced, size);
    file.reused = std::min(file.reused, size);
  }

  template <class Create, class Result>
  rdb::IOStatus create_writable(const std::string& name, Create&& create, Result* result,
                                bool keep_content);

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  void undo(const dir_change& change, power_loss_report& report);

  mutable std::mutex mu_;
  mutable std::condition_variable crashed_cv_;
  std::optional<fault_file> hold_;  // the files whose next sync is to be held
  bool held_ = false;               // a sync is held until release_held()
  mutable std::condition_variable held_cv_;
  std::mt19937_64 rng_;
  bool crashed_ = false;
  std::uint64_t countdown_ = 0;
  fault_file countdown_file_ = fault_file::any;               // the changes the countdown counts
  std::map<std::string, std::shared_ptr<file_state>> files_;  // by normalised path
  std::vector<dir_change> changes_;                           // in the order they were made
  std::vector<fault_rule> rules_;
  std::optional<std::uint64_t> free_space_;
  fault_stats stats_;
  int locks_held_ = 0;
};

template <class Create, class Result>
rdb::IOStatus fault_fs::create_writable(const std::string& name, Create&& create, Result* result,
                                        bool keep_content) {
  const std::string path = normal(name);
  std::lock_guard lock(mu_);
  if (auto v = judge(std::nullopt, classify(path), 0, "create"); !v.status.ok()) return v.status;
  std::error_code ec;
  const bool existed = stdfs::exists(path, ec);
  if (auto s = create(path); !s.ok()) return s;
  std::shared_ptr<file_state> state;
  if (auto it = files_.find(path); keep_content && it != files_.end()) {
    state = it->second;
  } else {
    state = std::make_shared<file_state>();
    state->path = path;
    state->kind = classify(path);
    if (keep_content && existed) {
      // Written before the injector saw it: durable.
      auto size = stdfs::file_size(path, ec);
      state->size = state->synced = ec ? 0 : size;
    }
    files_[path] = state;
  }
  if (!existed) changes_.push_back({false, parent_of(path), {}, path, std::nullopt, true});
  if constexpr (std::is_same_v<Result, std::unique_ptr<rdb::FSWritableFile>>)
    *result = std::make_unique<fault_writable_file>(std::move(*result), *this, std::move(state));
  else
    *result = std::make_unique<fault_random_rw_file>(std::move(*result), *this, std::move(state));
  return rdb::IOStatus::OK();
}

rdb::IOStatus fault_fs::NewRandomRWFile(const std::string& name, const rdb::FileOptions& options,
                                        std::unique_ptr<rdb::FSRandomRWFile>* result,
                                        rdb::IODebugContext* dbg) {
  return create_writable(
      name,
      [&](const std::string& path) {
        return target()->NewRandomRWFile(path, options, result, dbg);
      },
      result, /*keep_content=*/true);
}

// Renames `old_name` to `name` (a directory change like any rename) and writes it from offset 0.
// The old bytes are the spares' zeros; only the bytes a sync made durable count (all of a file
// the injector did not see written).
rdb::IOStatus fault_fs::ReuseWritableFile(const std::string& name, const std::string& old_name,
                                          const rdb::FileOptions& options,
                                          std::unique_ptr<rdb::FSWritableFile>* result,
                                          rdb::IODebugContext* dbg) {
  const std::string path = normal(name), old = normal(old_name);
  std::lock_guard lock(mu_);
  if (auto v = judge(std::nullopt, classify(path), 0, "reuse"); !v.status.ok()) return v.status;
  std::error_code ec;
  const auto old_bytes = stdfs::file_size(old, ec);
  if (ec) return rdb::IOStatus::PathNotFound("no file to reuse at " + old);
  if (auto s = target()->ReuseWritableFile(path, old, options, result, dbg); !s.ok()) return s;
  auto state = std::make_shared<file_state>();
  state->path = path;
  state->kind = classify(path);
  state->reused = old_bytes;
  if (auto it = files_.find(old); it != files_.end()) {
    state->reused = std::min<std::uint64_t>(old_bytes, it->second->synced);
    files_.erase(it);
  }
  files_[path] = state;
  changes_.push_back({true, parent_of(path), old, path, std::nullopt, true});
  *result = std::make_unique<fault_writable_file>(std::move(*result), *this, std::move(state));
  return rdb::IOStatus::OK();
}

rdb::IOStatus fault_fs::RenameFile(const std::string& from_name, const std::string& to_name,
                                   const rdb::IOOptions& options, rdb::IODebugContext* dbg) {
  const std::string from = normal(from_name), to = normal(to_name);
  std::lock_guard lock(mu_);
  if (auto v = judge(std::nullopt, classify(to), 0, "rename"); !v.status.ok()) return v.status;
  dir_change change{true, parent_of(to), from, to, std::nullopt, true};
  std::error_code ec;
  if (stdfs::exists(to, ec)) {
    auto size = stdfs::file_size(to, ec);
    if (!ec && size <= max_kept_replaced_bytes) {
      std::ifstream in(to, std::ios::binary);
      change.replaced.emplace(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else {
      change.undoable = false;
    }
  }
  auto s = target()->RenameFile(from, to, options, dbg);
  if (!s.ok()) return s;
  files_.erase(to);
  if (auto it = files_.find(from); it != files_.end()) {
    it->second->path = to;
    files_[to] = std::move(it->second);
    files_.erase(from);
  }
  changes_.push_back(std::move(change));
  return s;
}

void fault_fs::undo(const dir_change& change, power_loss_report& report) {
  std::error_code ec;
  if (!change.rename) {
    if (stdfs::remove(change.to, ec)) ++report.entries_lost;
    files_.erase(change.to);
    return;
  }
  if (!stdfs::exists(change.to, ec)) return;  // deleted since: deletions are durable at once
  stdfs::rename(change.to, change.from, ec);
  if (auto it = files_.find(change.to); it != files_.end()) {
    it->second->path = change.from;
    files_[change.from] = std::move(it->second);
    files_.erase(change.to);
  }
  if (change.replaced) {
    std::ofstream out(change.to, std::ios::binary | std::ios::trunc);
    out.write(change.replaced->data(), static_cast<std::streamsize>(change.replaced->size()));
  }
  ++report.renames_undone;
}

result<power_loss_report> fault_fs::lose_power(const power_loss_options& options) {
  std::lock_guard lock(mu_);
  if (locks_held_ > 0)
    return make_error(errc::unavailable, "store_open",
                      "a store still uses the fault injector: destroy it before the power cut");
  power_loss_report report;

  // Directory changes are journaled in order: keep a prefix, undo the rest, newest first.
  if (!changes_.empty() && chance(options.undo)) {
    std::size_t first_undoable = 0;
    for (std::size_t i = 0; i < changes_.size(); ++i)
      if (!changes_[i].undoable) first_undoable = i + 1;
    if (first_undoable < changes_.size()) {
      std::size_t keep =
          first_undoable + static_cast<std::size_t>(rng_() % (changes_.size() - first_undoable));
      for (std::size_t i = changes_.size(); i-- > keep;)
        undo(changes_[i], report);
    }
  }
  changes_.clear();

  for (const auto& [path, file] : files_) {
    std::error_code ec;
    const auto on_disk = stdfs::file_size(path, ec);
    if (ec) continue;  // deleted, or its creation undone
    std::uint64_t size = std::min<std::uint64_t>(file->size, on_disk);
    std::uint64_t synced = std::min(file->synced, size);
    std::uint64_t kept = size;
    std::uint64_t garbage = 0;
    const std::string name = stdfs::path(path).filename().string();
    if (size > synced) {
      ++report.files_with_unsynced_data;
      if (chance(options.tear)) {
        kept = synced + rng_() % (size - synced);
        // Garbage only in a WAL, whose recovery stops at the first bad record. RocksDB counts on a
        // crash leaving a prefix of what was appended to any other file: a MANIFEST whose torn
        // tail ends in garbage or zeros fails its checksum and the database does not open, as on
        // a file system that shows stale or unwritten blocks (ext4 data=writeback).
        if (kept > synced && file->kind == fault_file::wal && chance(options.garbage))
          garbage = 1 + rng_() % std::min(kept - synced, max_garbage_bytes);
        ++report.files_torn;
        if (garbage) ++report.files_garbled;
      } else {
        kept = synced;
        ++report.files_cut;
      }
      report.bytes_lost += size - kept + garbage;
      report.files.push_back(name + ": " + std::to_string(size - synced) + " unsynced bytes, " +
                             (kept == synced ? "cut" : std::to_string(kept - synced) + " kept") +
                             (garbage == 0 ? "" : ", garbage tail"));
    }
    const bool hole = file->hole_to > file->hole_from && file->hole_from < kept;
    if (hole) report.files.push_back(name + ": bytes lost to a failed sync zeroed");
    // A reused file keeps its old length, and its old zeros where the written bytes were lost;
    // one page of those may survive, past the lost bytes before it.
    const std::uint64_t length = std::max(kept, std::min<std::uint64_t>(file->reused, on_disk));
    const std::uint64_t overwritten = std::min(size, length);
    std::uint64_t page_from = overwritten, page_to = overwritten;
    if (kept < overwritten && chance(options.reorder)) {
      page_from = std::max(kept, (kept + rng_() % (overwritten - kept)) / page_bytes * page_bytes);
      page_to = std::min(overwritten, (page_from / page_bytes + 1) * page_bytes);
      ++report.files_reordered;
      report.files.push_back(name + ": kept bytes " + std::to_string(page_from) + "-" +
                             std::to_string(page_to) + " past the lost ones");
    }
    if (length == on_disk && kept == overwritten && garbage == 0 && !hole) continue;
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return make_error(errc::io_error, "power_loss_failed", "cannot open " + path);
    bool ok = ::ftruncate(fd, static_cast<off_t>(length)) == 0;
    if (ok) ok = write_zeros(fd, kept, page_from) && write_zeros(fd, page_to, overwritten);
    if (ok && garbage > 0) {
      std::string junk(garbage, '\0');
      for (auto& c : junk)
        c = static_cast<char>(rng_());
      ok = ::pwrite(fd, junk.data(), junk.size(), static_cast<off_t>(kept - garbage)) ==
           static_cast<ssize_t>(junk.size());
    }
    if (ok && hole) {
      ok = write_zeros(fd, file->hole_from, std::min(file->hole_to, kept));
      ++report.holes;
    }
    ::close(fd);
    if (!ok) return make_error(errc::io_error, "power_loss_failed", "cannot rewrite " + path);
  }
  files_.clear();
  crashed_ = false;
  countdown_ = 0;
  stats_.crash_point.clear();
  return report;
}

rdb::IOStatus fault_writable_file::Append(const rdb::Slice& data, const rdb::IOOptions& options,
                                          rdb::IODebugContext* dbg) {
  return fs_.append(*state_, data, [&](const rdb::Slice& part) {
    return FSWritableFileOwnerWrapper::Append(part, options, dbg);
  });
}

rdb::IOStatus fault_writable_file::PositionedAppend(const rdb::Slice& data, std::uint64_t offset,
                                                    const rdb::IOOptions& options,
                                                    rdb::IODebugContext* dbg) {
  return fs_.write_at(*state_, offset, data, [&](const rdb::Slice& part) {
    return FSWritableFileOwnerWrapper::PositionedAppend(part, offset, options, dbg);
  });
}

rdb::IOStatus fault_writable_file::Truncate(std::uint64_t size, const rdb::IOOptions& options,
                                            rdb::IODebugContext* dbg) {
  return fs_.truncate_file(
      *state_, size, [&] { return FSWritableFileOwnerWrapper::Truncate(size, options, dbg); });
}

rdb::IOStatus fault_writable_file::Sync(const rdb::IOOptions&, rdb::IODebugContext*) {
  return fs_.sync_file(*state_);
}

rdb::IOStatus fault_random_rw_file::Write(std::uint64_t offset, const rdb::Slice& data,
                                          const rdb::IOOptions& options, rdb::IODebugContext* dbg) {
  return fs_.write_at(*state_, offset, data, [&](const rdb::Slice& part) {
    return FSRandomRWFileOwnerWrapper::Write(offset, part, options, dbg);
  });
}

rdb::IOStatus fault_random_rw_file::Sync(const rdb::IOOptions&, rdb::IODebugContext*) {
  return fs_.sync_file(*state_);
}

rdb::IOStatus fault_directory::Fsync(const rdb::IOOptions&, rdb::IODebugContext*) {
  return fs_.sync_directory(path_);
}

// RocksDB's clock, except that once the crash has come its back-off sleeps are cut short: a
// failed background flush sleeps a second before anything else, and closing the abandoned store
// would wait for it. In the model the process died at the crash, so nothing it does after counts.
class crash_aware_clock final : public rdb::SystemClockWrapper {
 public:
  explicit crash_aware_clock(const fault_fs& fs)
      : SystemClockWrapper(rdb::SystemClock::Default()), fs_(fs) {}
  const char* Name() const override { return "KakehashiCrashAwareClock"; }
  void SleepForMicroseconds(int micros) override {
    SystemClockWrapper::SleepForMicroseconds(fs_.crashed() ? std::min(micros, 1000) : micros);
  }

 private:
  const fault_fs& fs_;
};

// The default Env's threads over the fault-injecting file system and the crash-aware clock.
class fault_env_impl final : public rdb::EnvWrapper {
 public:
  fault_env_impl(const std::shared_ptr<fault_fs>& fs) : EnvWrapper(rdb::NewCompositeEnv(fs)) {
    system_clock_ = std::make_shared<crash_aware_clock>(*fs);
  }
  const char* Name() const override { return "KakehashiFaultInjectionEnv"; }
};

class injector_impl final : public fault_injector {
 public:
  explicit injector_impl(std::uint64_t seed)
      : fs_(std::make_shared<fault_fs>(seed)), env_(std::make_unique<fault_env_impl>(fs_)) {}

  void crash() override { fs_->crash(); }
  void crash_after(std::uint64_t changes, fault_file on) override { fs_->crash_after(changes, on); }
  bool crashed() const override { return fs_->crashed(); }
  bool wait_for_crash(std::chrono::milliseconds timeout) const override {
    return fs_->wait_for_crash(timeout);
  }
  result<power_loss_report> lose_power(const power_loss_options& options) override {
    return fs_->lose_power(options);
  }
  void hold_next_sync(fault_file file) override { fs_->hold_next_sync(file); }
  bool wait_for_held_sync(std::chrono::milliseconds timeout) const override {
    return fs_->wait_for_held_sync(timeout);
  }
  void release_held() override { fs_->release_held(); }
  void add_rule(const fault_rule& rule) override { fs_->add_rule(rule); }
  void set_free_space(std::optional<std::uint64_t> bytes) override { fs_->set_free_space(bytes); }
  void clear_faults() override { fs_->clear_faults(); }
  fault_stats stats() const override { return fs_->stats(); }

  rdb::Env* env() { return env_.get(); }

 private:
  std::shared_ptr<fault_fs> fs_;
  std::unique_ptr<rdb::Env> env_;
};

}  // namespace

rocksdb::Env* fault_env(fault_injector& injector) {
  // The only implementation there is.
  return static_cast<injector_impl&>(injector).env();
}

}  // namespace detail

std::shared_ptr<fault_injector> fault_injector::create(std::uint64_t seed) {
  return std::make_shared<detail::injector_impl>(seed);
}

}  // namespace kakehashi
