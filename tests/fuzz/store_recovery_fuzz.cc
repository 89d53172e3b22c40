// Fuzz target: a data directory holding records and keys the store did not write.
//
// A template store (tmpfs) holds the 62 municipalities, one placement under the fixed ids
// (personal data sealed in the key vault) and read-model snapshots. For each input the template
// is copied, the input's edits are applied underneath the store with RocksDB directly and to its
// snapshot image files, and the
// store is opened as `kakehashi serve` and `verify` would and then used: verify, global and
// stream reads, reads by id, payload JSON with personal data opened, a subscription from the
// start, the read model's recovery from its snapshot and catch-up, and commands that seal
// personal data and append.
//
// Input: byte 0 holds flags (bit 0: verify the tail on open, as by default; bit 1: open
// read-only); then edits, each an opcode byte and its operands, until the input runs out:
//   0 put      cf, key length (1 byte), key, value length (2 bytes, big-endian), value
//   1 delete   cf, n: the n-th key (modulo the family's key count)
//   2 patch    cf, n, offset (2 bytes), length (1 byte), bytes: overwrite in the n-th value
//   3 truncate cf, n, length (2 bytes): cut the n-th value
//   4 copy     cf, n, m: the n-th value also under the m-th key
//   5 neighbour cf, n, byte: the n-th value under its key with `byte` appended
// cf is a byte modulo the families (default, log, streams, dedupe, keys, proj, meta).
// Snapshot image files (<data>/snapshots, engine/snapshot_store.h), the n-th by name:
//   6 image patch    n, offset (2 bytes), length (1 byte), bytes: overwrite in the file, so the
//                    checks on load see it
//   7 image truncate n, length (2 bytes): cut the file
//   8 image reseal   n, offset (2 bytes), length (1 byte), bytes: overwrite in the payload and
//                    write a valid header and checksum again, so the read model's loader sees it
//
// Findings: what ASan/UBSan report, uncaught exceptions, hangs, an error without a code, and a
// store that opens with its tail verified but then reports a broken chain in its tail.
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "engine/command_service.h"
#include "engine/event_json.h"
#include "engine/event_store.h"
#include "engine/snapshot_store_impl.h"
#include "fuzz_support.h"
#include "projections/read_model.h"
#include "projections/runner.h"

namespace kakehashi::fuzz {
namespace {

namespace fs = std::filesystem;

void check(const status& s) {
  if (!s && s.err().code.empty()) fail("an error without a code: " + s.err().message);
}
template <class T>
void check(const result<T>& r) {
  if (!r && r.err().code.empty()) fail("an error without a code: " + r.err().message);
}

class recovery_fixture {
 public:
  recovery_fixture() : root_(make_scratch_dir("recovery")) {
    template_dir_ = root_ + "/template";
    work_dir_ = root_ + "/work";
    store_options options;
    options.path = template_dir_;
    auto opened = event_store::open(options);
    if (!opened) fail("cannot create the template store: " + opened.err().message);
    std::unique_ptr<event_store> store = std::move(*opened);
    {
      auto service = command_service::create(*store);
      seed_fixed_aggregates(*service);
      runner_options every_few;
      every_few.snapshot_every = 8;
      every_few.batch_events = 16;
      projection_runner runner(*store, every_few);
      if (!runner.start() || !runner.catch_up()) fail("cannot build the template read model");
    }
    store.reset();  // closed, so the copies are consistent
  }
  ~recovery_fixture() { remove_tree(root_); }

  // A fresh copy of the template, returned as the path to use.
  const std::string& fresh_copy() {
    std::error_code ec;
    fs::remove_all(work_dir_, ec);
    fs::copy(template_dir_, work_dir_, fs::copy_options::recursive, ec);
    if (ec) fail("cannot copy the template store: " + ec.message());
    return work_dir_;
  }

 private:
  std::string root_;
  std::string template_dir_;
  std::string work_dir_;
};

recovery_fixture& fixture() {
  static recovery_fixture instance;
  return instance;
}

// Reads operands off the input; past its end every read yields zeros and `ok` turns false.
struct reader {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t at = 0;
  bool ok = true;
  std::uint8_t byte() {
    if (at >= size) {
      ok = false;
      return 0;
    }
    return data[at++];
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() << 8 | byte()); }
  std::string bytes(std::size_t n) {
    std::string out;
    while (n-- > 0 && at < size)
      out.push_back(static_cast<char>(data[at++]));
    return out;
  }
};

class raw_db {
 public:
  explicit raw_db(const std::string& path) {
    std::vector<std::string> names;
    rocksdb::DBOptions options;
    // Cheap to open: preallocating the WAL on tmpfs and a thread per table file to open them
    // cost more than the edits (and ASan makes threads dear).
    options.allow_fallocate = false;
    options.max_file_opening_threads = 1;
    auto s = rocksdb::DB::ListColumnFamilies(options, path, &names);
    if (!s.ok()) fail("cannot list the column families: " + s.ToString());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& name : names)
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::Open(options, path, families, &handles_, &raw);
    if (!s.ok()) fail("cannot open the copy underneath the store: " + s.ToString());
    db_.reset(raw);
  }
  ~raw_db() {
    for (auto* handle : handles_)
      db_->DestroyColumnFamilyHandle(handle);
    db_->Close();
  }

  rocksdb::ColumnFamilyHandle* family(std::uint8_t pick) {
    return handles_[pick % handles_.size()];
  }

  std::vector<std::string> keys(rocksdb::ColumnFamilyHandle* cf) {
    std::vector<std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      out.push_back(it->key().ToString());
    return out;
  }
  std::string get(rocksdb::ColumnFamilyHandle* cf, const std::string& key) {
    std::string value;
    (void)db_->Get(rocksdb::ReadOptions(), cf, key, &value);
    return value;
  }
  void put(rocksdb::ColumnFamilyHandle* cf, const std::string& key, const std::string& value) {
    if (!db_->Put(rocksdb::WriteOptions(), cf, key, value).ok()) fail("raw put failed");
  }
  void remove(rocksdb::ColumnFamilyHandle* cf, const std::string& key) {
    if (!db_->Delete(rocksdb::WriteOptions(), cf, key).ok()) fail("raw delete failed");
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// The snapshot image files under a data directory, by name.
class image_files {
 public:
  explicit image_files(const std::string& path) : dir_(path + "/snapshots") {}

  std::optional<std::string> nth(std::uint8_t n) const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec))
      if (entry.path().extension() == ".img") names.push_back(entry.path().string());
    if (names.empty()) return std::nullopt;
    std::sort(names.begin(), names.end());
    return names[n % names.size()];
  }
  static std::string read(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void write(const std::string& file, const std::string& bytes) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) fail("cannot write an image file");
  }

 private:
  std::string dir_;
};

void patch_bytes(std::string& into, std::size_t from, std::uint16_t offset,
                 const std::string& patch) {
  if (into.size() <= from) return;
  for (std::size_t i = 0; i < patch.size(); ++i)
    into[from + (offset + i) % (into.size() - from)] = patch[i];
}

void apply_image_edit(std::uint8_t op, const image_files& images, reader& in) {
  constexpr std::size_t header = detail::snapshot_store_impl::header_bytes;
  auto file = images.nth(in.byte());
  if (op == 7) {
    std::uint16_t length = in.u16();
    if (!file) return;
    std::string bytes = image_files::read(*file);
    if (length < bytes.size()) bytes.resize(length);
    image_files::write(*file, bytes);
    return;
  }
  std::uint16_t offset = in.u16();
  std::string patch = in.bytes(in.byte());
  if (!file) return;
  std::string bytes = image_files::read(*file);
  if (op == 6) {
    patch_bytes(bytes, 0, offset, patch);
  } else {
    if (bytes.size() < header) return;
    patch_bytes(bytes, header, offset, patch);
    // The position and time the header names, as its name does; then a header that checks out.
    auto field = [&](std::size_t at) {
      std::uint64_t v = 0;
      for (std::size_t i = 0; i < 8; ++i)
        v |= std::uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
      return v;
    };
    const std::uint64_t position = field(16);
    const auto last_occurred_at = static_cast<std::int64_t>(field(32));
    auto payload = std::string_view(bytes).substr(header);
    bytes =
        detail::snapshot_image_header(position, last_occurred_at, payload) + std::string(payload);
  }
  image_files::write(*file, bytes);
}

void apply_edits(const std::string& path, reader& in) {
  raw_db db(path);
  const image_files images(path);
  for (int edits = 0; edits < 64; ++edits) {
    std::uint8_t op = in.byte();
    if (!in.ok) return;
    if (op % 9 >= 6) {
      apply_image_edit(op % 9, images, in);
      continue;
    }
    auto* cf = db.family(in.byte());
    auto nth = [&](std::uint8_t n) -> std::optional<std::string> {
      auto keys = db.keys(cf);
      if (keys.empty()) return std::nullopt;
      return keys[n % keys.size()];
    };
    switch (op % 9) {
      case 0: {
        std::string key = in.bytes(in.byte());
        std::string value = in.bytes(in.u16());
        db.put(cf, key, value);
        break;
      }
      case 1:
        if (auto key = nth(in.byte())) db.remove(cf, *key);
        break;
      case 2: {
        auto key = nth(in.byte());
        std::uint16_t offset = in.u16();
        std::string patch = in.bytes(in.byte());
        if (!key) break;
        std::string value = db.get(cf, *key);
        if (value.empty()) break;
        for (std::size_t i = 0; i < patch.size(); ++i)
          value[(offset + i) % value.size()] = patch[i];
        db.put(cf, *key, value);
        break;
      }
      case 3: {
        auto key = nth(in.byte());
        std::uint16_t length = in.u16();
        if (!key) break;
        std::string value = db.get(cf, *key);
        if (length < value.size()) value.resize(length);
        db.put(cf, *key, value);
        break;
      }
      case 4: {
        auto from = nth(in.byte());
        auto to = nth(in.byte());
        if (from && to) db.put(cf, *to, db.get(cf, *from));
        break;
      }
      case 5: {
        auto key = nth(in.byte());
        std::uint8_t extra = in.byte();
        if (key) db.put(cf, *key + static_cast<char>(extra), db.get(cf, *key));
        break;
      }
    }
  }
}

// Everything a server and the tools do with an opened store, each step bounded.
void use_store(event_store& store, bool read_only, bool tail_verified) {
  // With at most verify_tail_on_open records, open() verified the whole chain.
  auto report = store.verify();
  if (tail_verified && store.head_position() <= 1024 && !report.ok)
    fail("the store opened with its whole chain verified, but verify() finds it broken: " +
         report.problem);

  std::vector<event_ptr> seen;
  position_t from = 1;
  for (int pages = 0; pages < 64; ++pages) {
    auto page = store.read_all(from, 64, event_filter{});
    check(page);
    if (!page) break;
    for (auto& e : page->events)
      seen.push_back(e);
    if (page->end_of_log || page->next_position <= from) break;
    from = page->next_position;
  }
  for (std::size_t i = 0; i < seen.size() && i < 256; ++i) {
    const recorded_event& e = *seen[i];
    check(store.read_stream(e.stream, 0, read_direction::forward, 64));
    check(store.read_stream(e.stream, UINT64_MAX, read_direction::backward, 64));
    (void)store.stream_version(e.stream);
    check(store.read_event(e.id));
    check(payload_json(e, store.keys(), personal_access::shown));
    check(payload_json(e, store.keys(), personal_access::hidden));
  }
  check(store.scan(1, [](const recorded_event&) { return true; }));

  subscription_options options;
  options.from_position = 1;
  auto sub = store.subscribe(std::move(options));
  check(sub);
  if (sub) {
    for (int batches = 0; batches < 64; ++batches) {
      auto batch = (*sub)->next(256, std::chrono::milliseconds(0));
      check(batch);
      if (!batch || batch->caught_up) break;
    }
  }

  {
    runner_options small;
    small.snapshot_every = 8;
    small.batch_events = 16;
    projection_runner runner(store, small);
    auto started = runner.start();
    check(started);
    if (started) check(runner.catch_up());
  }
  // As of a past position: the newest image at or before it, then a fold. As of a time: the
  // newest image whose header says no later event went into it (headers may be hostile too).
  check(model_at_position(store, store.head_position() / 2));
  if (auto middle = store.read_all(std::max<position_t>(1, store.head_position() / 2), 1, {});
      middle && !middle->events.empty())
    check(model_at_time(store, middle->events.front()->occurred_at));

  if (read_only) return;
  auto service = command_service::create(store);
  auto run = [&](std::string type, std::string_view target, std::string body) {
    command_request request;
    request.type = std::move(type);
    request.target_id = std::string(target);
    request.body_json = std::move(body);
    request.who = actor{"fuzz", "coordinator", "municipality:131016"};
    check(service->execute(std::move(request)));
  };
  run("HearingRecorded", fixed_need,
      R"({"hearing_id":"01920000-0000-7000-8000-00000000b0ff","held_on":"2025-06-01",)"
      R"("attendees":["係長"],"notes":"again"})");
  run("TalentProfileUpdated", fixed_talent, R"({"display_name":"山田 花子","skills":["figma"]})");
  run("CheckInScheduled", fixed_appointment, R"({"due_on":"2025-07-01","party":"talent"})");
  run("TalentRegistered", "",
      R"({"display_name":"Fuzz","email":"f@example.jp","consent_version":"2024-04"})");
}

}  // namespace
}  // namespace kakehashi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kakehashi;
  using namespace kakehashi::fuzz;
  if (size < 1) return 0;
  const bool verify_tail = data[0] & 1;
  const bool read_only = data[0] & 2;
  const std::string& path = fixture().fresh_copy();
  reader in{data + 1, size - 1};
  apply_edits(path, in);

  store_options options;
  options.path = path;
  options.create_if_missing = false;
  options.read_only = read_only;
  options.verify_tail_on_open = verify_tail ? 1024 : 0;
  auto store = event_store::open(options);
  check(store);
  if (!store) return 0;
  use_store(**store, read_only, verify_tail);
  return 0;
}
