// WAL spares (engine/wal_spares.h): a FileSystemWrapper that hands out prepared spares for WAL
// files, and the thread that prepares them.
#include "engine/wal_spares.h"

#include <rocksdb/file_system.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

namespace kakehashi::detail {
namespace {

namespace rdb = rocksdb;
namespace stdfs = std::filesystem;

// A spare is the size of the WAL file it replaces plus a quarter, in whole steps: a WAL that
// outgrows its spare appends (and grows) as usual past the spare's end.
constexpr std::uint64_t spare_step = 64 << 10;
constexpr std::uint64_t max_spare_bytes = 64 << 20;
// Zeros are written and synced a chunk at a time, so that an append's WAL sync waits behind one
// chunk at most. Written at once, with writeback started per MiB, the spare kept WAL syncs
// waiting up to 28 ms, and at 35,000 appends/s (open loop) the 99th percentile was 14-19 ms
// against 3.9-4.4 ms without spares; a chunk at a time, 4.0-5.9 ms against 3.5-7.2. Metering
// the spare with the rate limiter, as flushes are, left it unready for half the WAL files.
constexpr std::size_t chunk_bytes = 256 << 10;

std::string normal(const std::string& path) {
  std::string out = stdfs::path(path).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/')
    out.pop_back();
  return out;
}

std::uint64_t spare_bytes_after(std::uint64_t wal_bytes) {
  const std::uint64_t wanted = wal_bytes + wal_bytes / 4;
  return std::clamp((wanted + spare_step - 1) / spare_step * spare_step, spare_step,
                    max_spare_bytes);
}

// A WAL file that counts the bytes appended to it, so that the next spare can be sized after it.
// RocksDB appends only to the newest WAL file, so one counter, reset for each new file, serves.
class counted_wal final : public rdb::FSWritableFileOwnerWrapper {
 public:
  counted_wal(std::unique_ptr<rdb::FSWritableFile> file, std::atomic<std::uint64_t>& bytes)
      : FSWritableFileOwnerWrapper(std::move(file)), bytes_(bytes) {}

  rdb::IOStatus Append(const rdb::Slice& data, const rdb::IOOptions& options,
                       rdb::IODebugContext* dbg) override {
    bytes_.fetch_add(data.size(), std::memory_order_relaxed);
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rdb::IOStatus Append(const rdb::Slice& data, const rdb::IOOptions& options,
                       const rdb::DataVerificationInfo& info, rdb::IODebugContext* dbg) override {
    bytes_.fetch_add(data.size(), std::memory_order_relaxed);
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }

 private:
  std::atomic<std::uint64_t>& bytes_;  // the file system's, which outlives the database's files
};

class spare_fs final : public rdb::FileSystemWrapper {
 public:
  spare_fs(const std::shared_ptr<rdb::FileSystem>& base, const std::string& dir)
      : FileSystemWrapper(base),
        dir_(normal(dir)),
        spare_path_(dir_ + "/" + wal_spares::file_name) {}

  ~spare_fs() override { stop(); }

  const char* Name() const override { return "KakehashiWalSpares"; }

  rdb::IOStatus NewWritableFile(const std::string& name, const rdb::FileOptions& options,
                                std::unique_ptr<rdb::FSWritableFile>* result,
                                rdb::IODebugContext* dbg) override {
    if (!is_wal(name)) return target()->NewWritableFile(name, options, result, dbg);
    bool take = false;
    {
      std::lock_guard lock(mu_);
      take = ready_;
      ready_ = false;
      handing_out_ = take;
      if (auto finished = wal_bytes_.exchange(0, std::memory_order_relaxed); finished > 0)
        next_spare_bytes_ = spare_bytes_after(finished);
    }
    rdb::IOStatus s;
    if (take) s = target()->ReuseWritableFile(name, spare_path_, options, result, dbg);
    const bool used = take && s.ok();
    if (!used) s = target()->NewWritableFile(name, options, result, dbg);
    {
      std::lock_guard lock(mu_);
      handing_out_ = false;
      ++(used ? stats_.used : stats_.created);
    }
    // Only now: the next spare is created under the same name, which must be free by then (a
    // spare created while the last one was still being renamed truncated the new WAL file).
    wake_.notify_all();
    if (s.ok()) *result = std::make_unique<counted_wal>(std::move(*result), wal_bytes_);
    return s;
  }

  void start() {
    std::lock_guard lock(mu_);
    if (preparer_.joinable() || stopping_) return;
    preparer_ = std::thread([this] { run(); });
  }

  // Stops preparing and removes an unused spare. No file is handed out afterwards.
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      ready_ = false;
    }
    wake_.notify_all();
    if (!preparer_.joinable()) return;
    preparer_.join();
    (void)target()->DeleteFile(spare_path_, rdb::IOOptions(), nullptr);
  }

  wal_spare_stats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

 private:
  bool is_wal(const std::string& name) const {
    const stdfs::path path(normal(name));
    const std::string file = path.filename().string();
    return path.parent_path().string() == dir_ && file.size() > 4 &&
           file.compare(file.size() - 4, 4, ".log") == 0 &&
           std::all_of(file.begin(), file.end() - 4, [](char c) { return c >= '0' && c <= '9'; });
  }

  void run() {
    // Left by an earlier open, maybe cut short by a crash: never handed out.
    (void)target()->DeleteFile(spare_path_, rdb::IOOptions(), nullptr);
    std::unique_lock lock(mu_);
    for (;;) {
      wake_.wait(lock, [&] {
        return stopping_ || (!ready_ && !handing_out_ && !failed_ && next_spare_bytes_ > 0);
      });
      if (stopping_) return;
      const std::uint64_t bytes = next_spare_bytes_;
      lock.unlock();
      auto s = prepare(bytes);
      lock.lock();
      if (stopping_) return;
      if (!s.ok()) {
        // A full or failing disk: the WAL goes on in files created as usual.
        failed_ = true;
        continue;
      }
      ready_ = true;
    }
  }

  rdb::IOStatus prepare(std::uint64_t bytes) {
    std::unique_ptr<rdb::FSWritableFile> file;
    auto s = target()->NewWritableFile(spare_path_, rdb::FileOptions(), &file, nullptr);
    if (!s.ok()) return s;
    const std::vector<char> zeros(chunk_bytes, '\0');
    for (std::uint64_t offset = 0; offset < bytes && s.ok();) {
      if (stopping()) return rdb::IOStatus::Aborted("closing");
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk_bytes, bytes - offset));
      s = file->Append(rdb::Slice(zeros.data(), n), rdb::IOOptions(), nullptr);
      if (s.ok()) s = file->Sync(rdb::IOOptions(), nullptr);
      offset += n;
    }
    if (auto closed = file->Close(rdb::IOOptions(), nullptr); s.ok()) s = closed;
    return s;
  }

  bool stopping() const {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  const std::string dir_;
  const std::string spare_path_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool ready_ = false;                       // the spare file is whole and synced
  bool handing_out_ = false;                 // the spare is being renamed to a WAL file's name
  bool failed_ = false;                      // an I/O error: no more spares for this open
  std::uint64_t next_spare_bytes_ = 0;       // 0 until a WAL file has been finished
  std::atomic<std::uint64_t> wal_bytes_{0};  // appended to the newest WAL file
  wal_spare_stats stats_;
  std::thread preparer_;
};

// The base Env's threads and clock over the spare-handing file system. DB::Open takes its file
// system from Env::GetFileSystem, which returns the member set here.
class spare_env final : public rdb::EnvWrapper {
 public:
  spare_env(rdb::Env* base, std::shared_ptr<rdb::FileSystem> fs) : EnvWrapper(base) {
    file_system_ = std::move(fs);
  }
  const char* Name() const override { return "KakehashiWalSpareEnv"; }
};

class wal_spares_impl final : public wal_spares {
 public:
  wal_spares_impl(rdb::Env* base, const std::string& dir)
      : fs_(std::make_shared<spare_fs>(base->GetFileSystem(), dir)), env_(base, fs_) {}
  // The database is closed by now; RocksDB may still hold the file system, not its thread.
  ~wal_spares_impl() override { fs_->stop(); }

  rdb::Env* env() override { return &env_; }
  void start() override { fs_->start(); }
  wal_spare_stats stats() const override { return fs_->stats(); }

 private:
  std::shared_ptr<spare_fs> fs_;
  spare_env env_;
};

}  // namespace

std::unique_ptr<wal_spares> wal_spares::create(rocksdb::Env* base, const std::string& dir) {
  return std::make_unique<wal_spares_impl>(base, dir);
}

}  // namespace kakehashi::detail
