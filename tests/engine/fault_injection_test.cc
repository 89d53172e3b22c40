// The fault-injecting file system itself (engine/fault_injection.h), through RocksDB's file
// system interface: what a power cut keeps and drops, torn tails, lost directory entries,
// undone renames, holes left by a failed fsync, files reused over zero-filled spares, the crash
// switch and the fault rules.
#include "engine/fault_injection.h"

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "engine/fault_injection_impl.h"
#include "tests/engine/test_support.h"

namespace kakehashi::test {
namespace {

namespace rdb = rocksdb;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct fs_fixture {
  explicit fs_fixture(std::uint64_t seed = 99) : faults(fault_injector::create(seed)) {}

  temp_dir dir;
  std::shared_ptr<fault_injector> faults;
  rdb::FileSystem& fs = *detail::fault_env(*faults)->GetFileSystem();
  rdb::IOOptions io;

  std::unique_ptr<rdb::FSWritableFile> create(const std::string& name) {
    std::unique_ptr<rdb::FSWritableFile> file;
    auto s = fs.NewWritableFile(dir.path() + "/" + name, rdb::FileOptions(), &file, nullptr);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    return file;
  }
  void sync_dir() {
    std::unique_ptr<rdb::FSDirectory> d;
    REQUIRE(fs.NewDirectory(dir.path(), io, &d, nullptr).ok());
    REQUIRE(d->Fsync(io, nullptr).ok());
  }
  std::string path(const std::string& name) const { return dir.path() + "/" + name; }
};

TEST_CASE("fault injection: a power cut keeps synced bytes and drops the unsynced tail") {
  fs_fixture f;
  auto file = f.create("000001.log");
  f.sync_dir();
  REQUIRE(file->Append("synced-", f.io, nullptr).ok());
  REQUIRE(file->Sync(f.io, nullptr).ok());
  REQUIRE(file->Append("unsynced", f.io, nullptr).ok());
  REQUIRE(file->Close(f.io, nullptr).ok());
  CHECK(f.faults->stats().unsynced_bytes == 8);
  CHECK(slurp(f.path("000001.log")) == "synced-unsynced");  // still there before the cut

  power_loss_options cut_only;
  cut_only.tear = 0;
  auto report = f.faults->lose_power(cut_only);
  REQUIRE(report.ok());
  CHECK(report->files_cut == 1);
  CHECK(report->bytes_lost == 8);
  CHECK(slurp(f.path("000001.log")) == "synced-");
  CHECK(f.faults->stats().unsynced_bytes == 0);
}

TEST_CASE(
    "fault injection: a torn tail keeps a prefix of the unsynced bytes, maybe ending in garbage") {
  bool saw_garbage = false, saw_clean = false;
  for (int round = 0; round < 40; ++round) {
    fs_fixture f(static_cast<std::uint64_t>(round));
    auto file = f.create("000002.log");
    f.sync_dir();
    REQUIRE(file->Append("durable|", f.io, nullptr).ok());
    REQUIRE(file->Fsync(f.io, nullptr).ok());
    const std::string tail(200, 'u');
    REQUIRE(file->Append(tail, f.io, nullptr).ok());
    file.reset();
    power_loss_options tear;
    tear.tear = 1;
    tear.garbage = 0.5;
    auto report = f.faults->lose_power(tear);
    REQUIRE(report.ok());
    CHECK(report->files_torn == 1);
    const std::string after = slurp(f.path("000002.log"));
    REQUIRE(after.size() >= 8);
    REQUIRE(after.size() < 8 + tail.size());  // never all of it
    CHECK(after.substr(0, 8) == "durable|");  // synced bytes are never touched
    if (report->files_garbled) {
      saw_garbage = true;
    } else {
      CHECK(after.substr(8) == tail.substr(0, after.size() - 8));
      saw_clean = true;
    }
  }
  CHECK(saw_garbage);
  CHECK(saw_clean);
}

TEST_CASE(
    "fault injection: a MANIFEST tears only to a prefix: RocksDB refuses to open on garbage "
    "there") {
  for (int round = 0; round < 20; ++round) {
    fs_fixture f(static_cast<std::uint64_t>(round));
    auto file = f.create("MANIFEST-000005");
    f.sync_dir();
    REQUIRE(file->Append("edit-1;", f.io, nullptr).ok());
    REQUIRE(file->Sync(f.io, nullptr).ok());
    const std::string tail = "edit-2;edit-3;edit-4;edit-5;";
    REQUIRE(file->Append(tail, f.io, nullptr).ok());
    file.reset();
    power_loss_options tear;
    tear.tear = 1;
    tear.garbage = 1;
    auto report = f.faults->lose_power(tear);
    REQUIRE(report.ok());
    CHECK(report->files_garbled == 0);
    const std::string after = slurp(f.path("MANIFEST-000005"));
    REQUIRE(after.size() >= 7);
    CHECK(("edit-1;" + tail).compare(0, after.size(), after) == 0);
  }
}

TEST_CASE("fault injection: a new file's directory entry is lost unless the directory was synced") {
  int lost = 0;
  for (int round = 0; round < 20; ++round) {
    fs_fixture f;
    auto kept = f.create("000003.sst");
    REQUIRE(kept->Append("table", f.io, nullptr).ok());
    REQUIRE(kept->Sync(f.io, nullptr).ok());
    f.sync_dir();
    auto fresh = f.create("000004.sst");
    REQUIRE(fresh->Append("fresh", f.io, nullptr).ok());
    REQUIRE(fresh->Sync(f.io, nullptr).ok());  // the data is synced, the entry is not
    kept.reset();
    fresh.reset();
    power_loss_options undo;
    undo.undo = 1;
    auto report = f.faults->lose_power(undo);
    REQUIRE(report.ok());
    CHECK(slurp(f.path("000003.sst")) == "table");
    CHECK(report->entries_lost == 1);  // one unsynced change: undoing it is the only choice
    CHECK_FALSE(std::filesystem::exists(f.path("000004.sst")));
    lost += static_cast<int>(report->entries_lost);
  }
  CHECK(lost == 20);
}

TEST_CASE("fault injection: an unsynced rename is undone: the old file comes back") {
  fs_fixture f;
  {
    auto current = f.create("CURRENT");
    REQUIRE(current->Append("MANIFEST-000001\n", f.io, nullptr).ok());
    REQUIRE(current->Sync(f.io, nullptr).ok());
  }
  f.sync_dir();
  {
    auto temp = f.create("000009.dbtmp");
    REQUIRE(temp->Append("MANIFEST-000009\n", f.io, nullptr).ok());
    REQUIRE(temp->Sync(f.io, nullptr).ok());
  }
  REQUIRE(f.fs.RenameFile(f.path("000009.dbtmp"), f.path("CURRENT"), f.io, nullptr).ok());
  CHECK(slurp(f.path("CURRENT")) == "MANIFEST-000009\n");
  SUBCASE("without a directory sync, the rename may be undone") {
    // Two unsynced changes (the create, the rename): an undo cuts before one of them.
    bool undone = false;
    power_loss_options undo;
    undo.undo = 1;
    auto report = f.faults->lose_power(undo);
    REQUIRE(report.ok());
    undone = report->renames_undone == 1;
    if (undone) {
      CHECK(slurp(f.path("CURRENT")) == "MANIFEST-000001\n");
      // The temporary file is back under its name, unless its creation was undone too.
      if (std::filesystem::exists(f.path("000009.dbtmp")))
        CHECK(slurp(f.path("000009.dbtmp")) == "MANIFEST-000009\n");
    } else {
      CHECK(slurp(f.path("CURRENT")) == "MANIFEST-000009\n");
    }
  }
  SUBCASE("after a directory sync, it stays") {
    f.sync_dir();
    power_loss_options undo;
    undo.undo = 1;
    auto report = f.faults->lose_power(undo);
    REQUIRE(report.ok());
    CHECK(report->renames_undone == 0);
    CHECK(slurp(f.path("CURRENT")) == "MANIFEST-000009\n");
  }
}

TEST_CASE(
    "fault injection: a failed fsync leaves a hole that a later successful one does not fill") {
  fs_fixture f;
  auto file = f.create("000005.log");
  f.sync_dir();
  REQUIRE(file->Append("aaaa", f.io, nullptr).ok());
  REQUIRE(file->Sync(f.io, nullptr).ok());
  REQUIRE(file->Append("bbbb", f.io, nullptr).ok());
  f.faults->add_rule({fault_op::sync, fault_file::wal, fault_error::io_error, 0, 1});
  CHECK_FALSE(file->Sync(f.io, nullptr).ok());
  REQUIRE(file->Append("cccc", f.io, nullptr).ok());
  REQUIRE(file->Sync(f.io, nullptr).ok());  // the rule is spent: this one succeeds
  file.reset();
  auto report = f.faults->lose_power();
  REQUIRE(report.ok());
  CHECK(report->holes == 1);
  CHECK(slurp(f.path("000005.log")) == std::string("aaaa") + std::string(4, '\0') + "cccc");
}

TEST_CASE("fault injection: after a crash every change fails and changes nothing, reads go on") {
  fs_fixture f;
  auto file = f.create("000006.log");
  auto table = f.create("000009.sst");
  f.sync_dir();
  REQUIRE(file->Append("before", f.io, nullptr).ok());
  REQUIRE(file->Sync(f.io, nullptr).ok());
  f.faults->crash();
  CHECK(f.faults->crashed());
  CHECK(f.faults->wait_for_crash(std::chrono::milliseconds(0)));
  // A WAL append or sync reports success and changes nothing; every other change fails.
  CHECK(file->Append("after", f.io, nullptr).ok());
  CHECK(file->Sync(f.io, nullptr).ok());
  CHECK(f.faults->stats().unsynced_bytes == 0);
  CHECK(table->Append("after", f.io, nullptr).IsIOError());
  CHECK(table->Sync(f.io, nullptr).IsIOError());
  std::unique_ptr<rdb::FSWritableFile> other;
  CHECK_FALSE(f.fs.NewWritableFile(f.path("000007.log"), rdb::FileOptions(), &other, nullptr).ok());
  CHECK_FALSE(f.fs.DeleteFile(f.path("000006.log"), f.io, nullptr).ok());
  CHECK_FALSE(f.fs.RenameFile(f.path("000006.log"), f.path("x"), f.io, nullptr).ok());
  CHECK(slurp(f.path("000006.log")) == "before");
  std::uint64_t size = 0;
  CHECK(f.fs.GetFileSize(f.path("000006.log"), f.io, &size, nullptr).ok());
  CHECK(size == 6);
  file.reset();
  REQUIRE(f.faults->lose_power().ok());
  CHECK_FALSE(f.faults->crashed());
  CHECK(f.fs.DeleteFile(f.path("000006.log"), f.io, nullptr).ok());  // works again
}

TEST_CASE("fault injection: a crash armed at the n-th change tears that append") {
  for (const std::string name : {"000008.log", "000008.sst"}) {
    CAPTURE(name);
    fs_fixture f;
    auto file = f.create(name);
    f.faults->crash_after(2);
    REQUIRE(file->Append("first", f.io, nullptr).ok());
    const std::string big(1000, 'x');
    // A WAL append reports success from the crash on; any other fails.
    auto torn = file->Append(big, f.io, nullptr);
    CHECK(torn.ok() == (name == "000008.log"));
    CHECK(f.faults->crashed());
    CHECK(f.faults->stats().crash_point == (name == "000008.log" ? "write wal" : "write table"));
    std::uint64_t size = 0;
    REQUIRE(f.fs.GetFileSize(f.path(name), f.io, &size, nullptr).ok());
    CHECK(size >= 5);
    CHECK(size < 5 + big.size());
  }
}

TEST_CASE("fault injection: fault rules pick operations and files, a full disk writes what fits") {
  fs_fixture f;
  auto wal = f.create("000010.log");
  auto table = f.create("000011.sst");
  f.faults->add_rule({fault_op::write, fault_file::table, fault_error::io_error, 1, 1});
  CHECK(table->Append("ok", f.io, nullptr).ok());  // skipped
  CHECK(wal->Append("ok", f.io, nullptr).ok());    // another kind of file
  CHECK(table->Append("fails", f.io, nullptr).IsIOError());
  CHECK(table->Append("ok again", f.io, nullptr).ok());  // spent
  CHECK(f.faults->stats().injected == 1);

  f.faults->set_free_space(10);
  CHECK(wal->Append("12345", f.io, nullptr).ok());
  auto full = wal->Append("6789abcdef", f.io, nullptr);
  CHECK(full.IsNoSpace());
  std::uint64_t size = 0;
  REQUIRE(f.fs.GetFileSize(f.path("000010.log"), f.io, &size, nullptr).ok());
  CHECK(size == 2 + 10);  // "ok", then what fitted
  f.faults->clear_faults();
  CHECK(wal->Append("more", f.io, nullptr).ok());
}

TEST_CASE("fault injection: lose_power refuses while a store is open on the injector") {
  temp_dir dir;
  auto faults = fault_injector::create(5);
  auto options = options_for(dir);
  options.faults = faults;
  auto store = open_store(options);
  must_append(*store, single("s-1", expected_version::any(), make_event("Noted")));
  CHECK_FAILS_WITH(faults->lose_power(), errc::unavailable, "store_open");
  store.reset();
  CHECK(faults->lose_power().ok());
  store = open_store(options);
  CHECK(store->head_position() == 1);
}

// A zero-filled spare of `bytes`, synced, its directory entry too: what the WAL spares hand out.
void make_spare(fs_fixture& f, const std::string& name, std::size_t bytes) {
  auto spare = f.create(name);
  REQUIRE(spare->Append(std::string(bytes, '\0'), f.io, nullptr).ok());
  REQUIRE(spare->Sync(f.io, nullptr).ok());
  REQUIRE(spare->Close(f.io, nullptr).ok());
  f.sync_dir();
}

std::unique_ptr<rdb::FSWritableFile> reuse(fs_fixture& f, const std::string& spare,
                                           const std::string& name) {
  std::unique_ptr<rdb::FSWritableFile> file;
  auto s = f.fs.ReuseWritableFile(f.path(name), f.path(spare), rdb::FileOptions(), &file, nullptr);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return file;
}

struct cut_file {
  power_loss_report report;
  std::string content;  // of the reused file after the cut
};

// Reuses a spare of `spare_bytes` as a WAL file (the rename synced), writes `synced` and syncs
// it, writes `unsynced`, and cuts the power with the tail cut at the last sync.
cut_file cut_reused(fs_fixture& f, std::size_t spare_bytes, const std::string& synced,
                    const std::string& unsynced, double reorder) {
  make_spare(f, "SPARE", spare_bytes);
  auto wal = reuse(f, "SPARE", "000007.log");
  f.sync_dir();
  REQUIRE(wal->Append(synced, f.io, nullptr).ok());
  REQUIRE(wal->Sync(f.io, nullptr).ok());
  REQUIRE(wal->Append(unsynced, f.io, nullptr).ok());
  wal.reset();
  REQUIRE(slurp(f.path("000007.log")).substr(0, synced.size() + unsynced.size()) ==
          synced + unsynced);  // all there before the cut
  power_loss_options options;
  options.tear = 0;
  options.reorder = reorder;
  auto report = f.faults->lose_power(options);
  REQUIRE(report.ok());
  return {*report, slurp(f.path("000007.log"))};
}

TEST_CASE(
    "fault injection: a reused file keeps its length, with zeros where unsynced overwrites were "
    "lost") {
  fs_fixture f;
  const std::string synced(10000, 's');
  auto cut = cut_reused(f, 64 << 10, synced, std::string(20000, 'u'), /*reorder=*/0);
  CHECK(cut.report.files_cut == 1);
  CHECK(cut.report.files_reordered == 0);
  REQUIRE(cut.content.size() == 64 << 10);
  CHECK(cut.content.substr(0, synced.size()) == synced);
  CHECK(cut.content.find_first_not_of('\0', synced.size()) == std::string::npos);
}

TEST_CASE("fault injection: a reused file may keep one page past the overwrites it lost") {
  for (int round = 0; round < 20; ++round) {
    CAPTURE(round);
    fs_fixture f(static_cast<std::uint64_t>(round));
    const std::string synced(5000, 's');
    auto cut = cut_reused(f, 64 << 10, synced, std::string(40000, 'u'), /*reorder=*/1);
    CHECK(cut.report.files_reordered == 1);
    const std::string& after = cut.content;
    REQUIRE(after.size() == 64 << 10);
    CHECK(after.substr(0, synced.size()) == synced);
    // Past the synced bytes: zeros, except one run of the unsynced bytes within one page.
    const auto first = after.find('u', synced.size());
    REQUIRE(first != std::string::npos);
    const auto end = after.find_first_not_of('u', first);
    CHECK(first / 4096 == (end - 1) / 4096);
    CHECK(after.find_first_not_of('\0', synced.size()) == first);
    CHECK(after.find_first_not_of('\0', end) == std::string::npos);
  }
}

TEST_CASE("fault injection: a reused file written past its old length is cut back to that length") {
  fs_fixture f;
  const std::string synced(6000, 's');
  auto cut = cut_reused(f, 8192, synced, std::string(6000, 'u'), /*reorder=*/0);
  REQUIRE(cut.content.size() == 8192);
  CHECK(cut.content.substr(0, synced.size()) == synced);
  CHECK(cut.content.find_first_not_of('\0', synced.size()) == std::string::npos);
}

TEST_CASE("fault injection: an unsynced reuse is undone: the file gets its old name back") {
  bool undone = false;
  for (int round = 0; round < 20 && !undone; ++round) {
    fs_fixture f(static_cast<std::uint64_t>(round));
    make_spare(f, "SPARE", 4096);
    auto wal = reuse(f, "SPARE", "000010.log");  // the directory is not synced after it
    REQUIRE(wal->Append("written", f.io, nullptr).ok());
    REQUIRE(wal->Sync(f.io, nullptr).ok());
    wal.reset();
    power_loss_options undo;
    undo.undo = 1;
    auto report = f.faults->lose_power(undo);
    REQUIRE(report.ok());
    if (report->renames_undone == 0) continue;
    undone = true;
    CHECK_FALSE(std::filesystem::exists(f.path("000010.log")));
    CHECK(slurp(f.path("SPARE")).substr(0, 7) == "written");
  }
  CHECK(undone);
}

}  // namespace
}  // namespace kakehashi::test
