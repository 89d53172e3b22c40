// The event store: an append-only, hash-chained log of events on RocksDB, domain-agnostic
// (envelope + opaque payload). Opened with event_store::open; the implementation is hidden.
//
// Positions are 1-based, gap-free and strictly increasing across the whole log; a stream's
// versions are 0-based. Appends go through one sequencer thread that groups concurrent appends
// into a single synced WriteBatch (group commit) and completes callers only after the write has
// returned. After a write or fsync failure the store refuses every further append until it is
// reopened; reads keep working.
//
// Thread safety: every member function of event_store may be called from any thread. A
// subscription is used by one consumer thread at a time.
// Lifetime: subscriptions must be destroyed before the store that created them.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/key_vault.h"
#include "engine/projection_store.h"
#include "engine/snapshot_store.h"
#include "events/actor.h"
#include "events/ids.h"
#include "events/result.h"

namespace kakehashi {

class fault_injector;  // engine/fault_injection.h, for tests

using position_t = std::uint64_t;  // 0 means "no event"
using hash256 = std::array<std::uint8_t, 32>;

// What the caller of append expects of a stream before the append.
struct expected_version {
  enum class mode : std::uint8_t { any, no_stream, stream_exists, exact };
  mode kind = mode::any;
  std::uint64_t version = 0;  // with `exact`: the version of the stream's last event

  static expected_version any() { return {}; }
  static expected_version no_stream() { return {mode::no_stream, 0}; }
  static expected_version stream_exists() { return {mode::stream_exists, 0}; }
  static expected_version exact(std::uint64_t v) { return {mode::exact, v}; }
};

struct new_event {
  // Given by the caller: indexed, so a retried append with the same id is idempotent and
  // read_event finds the event. Nil: the store assigns a UUIDv7 and does not index it (that would
  // add WAL bytes to every append), so read_event does not find it and an append that reuses
  // it is a new event.
  uuid id;
  std::string type;
  std::uint16_t schema_version = 1;
  std::int64_t occurred_at = 0;  // business time (µs since epoch); 0: the time of recording
  actor who;
  uuid correlation_id;  // nil: none
  uuid causation_id;    // nil: none
  std::string payload;  // opaque; personal fields are encrypted before they get here
};

struct stream_append {
  std::string stream;
  expected_version expected;
  std::vector<new_event> events;  // at least one
};

// A stream an append does not write but depends on: a decision read it at some version and is
// only valid while it stays there (a candidacy's talent, a proposal's need).
struct stream_condition {
  std::string stream;
  expected_version expected;
};

// One atomic append: every stream's expectation and every condition holds and all events are
// written, or nothing is. Each stream may appear at most once, in `streams` or in `conditions`.
// A failed condition is `wrong_expected_version` with field "conditions" (a written stream's:
// field "expected_version"). An idempotent retry answers the original append whatever the
// streams' versions, conditions included.
struct append_request {
  std::vector<stream_append> streams;
  std::vector<stream_condition> conditions;
};

struct appended_stream {
  std::string stream;
  std::uint64_t first_version = 0;
  std::uint64_t last_version = 0;  // the stream's version after the append
};

struct append_result {
  position_t first_position = 0;
  position_t last_position = 0;
  std::vector<appended_stream> streams;  // in request order
  std::vector<uuid> event_ids;           // in request order
  bool duplicate = false;                // an idempotent retry: nothing new was written
  // When the append was known durable (its WAL sync returned), system clock µs since the
  // epoch: before the store published the events to subscribers and completed the caller, so
  // commit-to-delivery can be measured from it however late the caller's completion runs.
  std::int64_t committed_at = 0;
};

struct recorded_event {
  uuid id;
  std::string stream;
  std::uint64_t version = 0;
  position_t position = 0;
  std::string type;
  std::uint16_t schema_version = 1;
  std::int64_t occurred_at = 0;
  std::int64_t recorded_at = 0;
  actor who;
  uuid correlation_id;
  uuid causation_id;
  hash256 prev_hash{};
  hash256 hash{};
  std::string payload;
  std::size_t stored_bytes = 0;  // size of the stored record, for accounting
};
using event_ptr = std::shared_ptr<const recorded_event>;

// Which events a read or subscription wants. `$all`, `$ce-<category>` or an exact stream name,
// optionally narrowed to a set of event types.
struct event_filter {
  enum class scope : std::uint8_t { all, category, stream };
  scope kind = scope::all;
  std::string name;                // the category or the stream, unused for `all`
  std::vector<std::string> types;  // empty: every type

  // Parses "$all", "$ce-need" or a stream name; validates names.
  static result<event_filter> parse(std::string_view selector, std::vector<std::string> types = {});
  bool matches(std::string_view stream, std::string_view type) const;
};

enum class read_direction : std::uint8_t { forward, backward };

struct log_page {
  std::vector<event_ptr> events;
  position_t next_position = 0;  // where to continue; past every examined position
  bool end_of_log = false;       // nothing committed beyond what was examined
};

struct verify_report {
  bool ok = true;
  std::uint64_t checked = 0;
  position_t first_bad_position = 0;  // 0 when ok
  std::string problem;
  // The first bad position holds no record at all (later ones may), rather than one that does
  // not verify: the one defect a power cut can leave (event_store::repair).
  bool missing = false;
};

// What event_store::repair found, and what it removed.
struct repair_report {
  std::uint64_t verified = 0;    // records from position 1 that verify; all of them are kept
  position_t first_missing = 0;  // the first position of the gap; 0 when the log has none
  std::uint64_t dropped = 0;     // records stored after the gap
  position_t last_dropped = 0;   // the last of them
  bool applied = false;          // they were removed (false for a dry run, or with no gap)
};

// What one append may carry. The payload and actor-field limits may be lowered, and raised only
// as far as a stored record can hold (about 1 MiB + 60 KiB for the payload and the three actor
// fields together): open fails with `limits_too_large` beyond that.
struct store_limits {
  std::size_t max_payload_bytes = 1 << 20;
  std::size_t max_events_per_append = 1000;
  std::size_t max_append_bytes = 8 << 20;
  std::size_t max_actor_field_bytes = 256;
};

// How appends are committed: by batch or overlap (engine/commit_mode.h), whichever measures
// faster on the live load, or pinned to one of them (for comparisons and tests).
enum class commit_policy { adaptive, batch, overlap };
// Their names on the command line: "adaptive", "batch", "overlap".
std::string_view commit_policy_name(commit_policy policy);
std::optional<commit_policy> parse_commit_policy(std::string_view name);

struct store_options {
  std::string path;
  bool create_if_missing = true;
  // Opens without the writer lock for inspection (verify, audit) next to a running server.
  bool read_only = false;
  // On open, the last N records must verify and the last must be the one the stored chain head
  // names, or open fails (`log_gap`, `chain_broken`, or `chain_truncated` when records are
  // missing from the end of the log). 0: no check, for inspecting a damaged store with verify().
  std::size_t verify_tail_on_open = 1024;
  // Appends waiting for the sequencer; beyond this append_async fails with `overloaded`
  // and append() waits for room.
  std::size_t max_queued_appends = 8192;
  // Largest group written with one fsync.
  std::size_t max_group_events = 16384;
  // Data keys (and erased markers) the key vault keeps in memory, least recently used evicted.
  std::size_t key_cache_entries = 4096;
  store_limits limits;
  // Memtable size of every column family; 0 keeps the engine's tuned sizes. Small ones flush and
  // compact often, which the power-loss test uses to crash in the middle of flushes.
  std::size_t memtable_bytes = 0;
  // WAL files written full of zeros ahead of time, so that an append's sync need not write the
  // inode (engine/wal_spares.h). False: WAL files are created as usual (for comparisons).
  bool wal_spares = true;
  commit_policy commit = commit_policy::adaptive;
  // Largest snapshot image (engine/snapshot_store.h) saved or loaded: a bound on what a load
  // reads into memory. The read model's is some 35 MB at a million events.
  std::size_t max_snapshot_bytes = std::size_t{1} << 30;
  // Tests only: every file the store writes goes through this fault injector
  // (engine/fault_injection.h), which can simulate power loss and failing disks. Null: the real
  // file system.
  std::shared_ptr<fault_injector> faults;
};

// How event_store::scan reads.
struct scan_options {
  // A scan with at least this many events to go reads RocksDB on a helper thread, which copies
  // the stored records into a few reused batches while the calling thread decodes them and calls
  // `visit`, so a long scan takes about as long as the slower of the two, not their sum. That
  // pays when `visit` costs more than reading, as a fold does (an as-of fold of 300k events:
  // 600-645k events/s with it, 527-545k without), and costs when it is light: a replay that
  // only decodes ran at 2.0-2.1M events/s with it and 3.3-3.5M without, the copy between the
  // threads costing more than the overlap saves. So 0 by default: read on the calling thread.
  std::size_t read_ahead_from = 0;
  static constexpr std::size_t fold_read_ahead_from = 16384;  // what folds pass
  // Stored bytes per batch (a record larger than that gets a batch of its own) and batches in
  // flight between the threads: bounds the memory the read-ahead holds.
  std::size_t batch_bytes = 256 << 10;
  std::size_t batches = 3;

  // Limits of the fields above, checked by scan when read-ahead is on.
  static constexpr std::size_t max_batch_bytes = 64 << 20;
  static constexpr std::size_t min_batches = 2;
  static constexpr std::size_t max_batches = 64;
};

struct subscription_batch {
  std::vector<event_ptr> events;  // in position order, filtered
  position_t next_position = 0;   // the position after the last one examined
  bool caught_up = false;         // everything committed so far has been delivered
};

struct subscription_options {
  event_filter filter;
  position_t from_position = 1;  // first position wanted; head + 1 for "only new events"
  // Bound on events held for this subscriber. When the live feed would exceed it, the
  // subscription falls back to reading from the store; it is never dropped.
  std::size_t max_buffered_bytes = 1 << 20;
  // Called when next() has something new after it returned nothing. Runs on the store's commit
  // thread: must be cheap, must not block and must not call into the subscription.
  std::function<void()> on_ready;
};

struct subscription_stats {
  std::size_t buffered_bytes = 0;
  std::size_t max_buffered_bytes = 0;
  std::uint64_t fell_behind = 0;  // times the live feed overflowed and catch-up resumed
  bool live = false;
};

// What the commit path has done since the store was opened. An append's latency is the
// engine's work plus the WAL sync it waits for; these separate the disk's share: sync_time /
// syncs is the disk's cost per group, events / syncs the group size. Counted by the committer,
// read at any time from any thread (each field is consistent on its own, not with the others).
struct commit_stats {
  std::uint64_t syncs = 0;                // WAL syncs that succeeded
  std::uint64_t overlapped_syncs = 0;     // of those, in overlap mode (engine/commit_mode.h)
  std::uint64_t events = 0;               // events those syncs made durable
  std::chrono::nanoseconds sync_time{0};  // total time spent in them
  std::chrono::nanoseconds slowest_sync{0};
  // WAL files the store started since it opened: over a zero-filled spare, or created as usual
  // (no spare ready). Both stay 0 with store_options::wal_spares off.
  std::uint64_t wal_files_over_spares = 0;
  std::uint64_t wal_files_created = 0;
};

class subscription {
 public:
  virtual ~subscription() = default;  // detaches from the live feed
  // Returns up to max_events events after the last ones returned, in position order, each
  // exactly once, reading from the store while behind. Waits up to `wait` when nothing new.
  virtual result<subscription_batch> next(std::size_t max_events,
                                          std::chrono::milliseconds wait) = 0;
  virtual subscription_stats stats() const = 0;
};

class event_store {
 public:
  using append_callback = std::function<void(result<append_result>)>;

  static result<std::unique_ptr<event_store>> open(const store_options& options);

  // Repairs the one defect a power cut could leave in the log, which makes open() fail with
  // `log_gap`: a missing position with later records stored. RocksDB's recovery can replay a
  // newer WAL file's unsynced write past an older file's lost one; open() now stops the replay
  // there (wal_replay_guard.h), so the defect remains only in a store last recovered by an
  // earlier version. An append is acknowledged only after a WAL sync that covers every WAL
  // file, so no record after such a gap was ever acknowledged or seen by a reader. repair walks the
  // whole chain; when its first defect is a gap, it removes every record after it, with their
  // stream and event-id entries, and moves the stored chain head back, in one synced write. Any
  // other defect (a record that does not verify, or more records after the gap than could ever be
  // unsynced at once) is damage or tampering: it fails with `not_repairable` and changes nothing.
  // With `dry_run` it only reports. The store must not be open elsewhere (RocksDB's lock makes that
  // fail with `store_locked`).
  static result<repair_report> repair(const store_options& options, bool dry_run);

  // Completes every queued append (so no caller waits forever), stops the sequencer thread and
  // closes the database.
  virtual ~event_store() = default;
  event_store(const event_store&) = delete;
  event_store& operator=(const event_store&) = delete;

  // Blocks until the append is durable (fsync'd) or rejected; a rejected append wrote nothing.
  virtual result<append_result> append(append_request request) = 0;
  // As append, but completes through `done`, called once on one of the store's two commit threads
  // (or at once on the caller's thread for an invalid request or a full queue). Callbacks run
  // one at a time, in the order their appends were committed. `done` must not block: the next
  // appends wait for it.
  virtual void append_async(append_request request, append_callback done) = 0;

  // Events of one stream from `from_version`, forward or backward, at most `limit`.
  // Backward from UINT64_MAX starts at the stream's last event.
  virtual result<std::vector<event_ptr>> read_stream(std::string_view stream,
                                                     std::uint64_t from_version,
                                                     read_direction direction,
                                                     std::size_t limit) const = 0;
  // Committed events of the global log from `from`, filtered; examines at most `max_scan`
  // positions so a sparse filter cannot stall the caller.
  virtual result<log_page> read_all(position_t from, std::size_t limit, const event_filter& filter,
                                    std::size_t max_scan = 100000) const = 0;
  // Visits every committed event from `from` to the head (the head when called) in order, on
  // the calling thread; `visit` returns false to stop. The event is reused between calls. For
  // replay and rebuilds; see scan_options for how a long scan reads ahead. Fails with
  // invalid_argument for options out of their limits, and with the first read or decode error
  // (after visiting every event before it).
  virtual status scan(position_t from, const std::function<bool(const recorded_event&)>& visit,
                      const scan_options& options) const = 0;
  status scan(position_t from, const std::function<bool(const recorded_event&)>& visit) const {
    return scan(from, visit, scan_options{});
  }

  // The committed event with this caller-supplied id (new_event::id); not_found (`no_event`)
  // when there is none. Ids the store assigned are not indexed and never found.
  virtual result<event_ptr> read_event(const uuid& id) const = 0;

  // The last committed position (0 for an empty log), and a stream's last version.
  virtual position_t head_position() const = 0;
  virtual std::optional<std::uint64_t> stream_version(std::string_view stream) const = 0;

  // Walks the hash chain from position 1 and stops at the first record that does not verify, or
  // at the first position missing from the end of the log: the chain head stored at open
  // names a later record than the last one stored.
  virtual verify_report verify() const = 0;

  virtual result<std::unique_ptr<subscription>> subscribe(subscription_options options) = 0;

  // True once a write failed; every append is refused until the store is reopened.
  virtual bool writes_failed() const = 0;
  virtual commit_stats commit_statistics() const = 0;

  // The per-subject key vault for personal data (key_vault.h), owned by the store and valid as
  // long as it. In a read-only store, open() works and seal()/erase() fail with `read_only`.
  virtual key_vault& keys() = 0;
  // The projections' durable state (the proj column family). Synced through the append WAL:
  // for small state only, never for snapshot images (those go to snapshots()).
  virtual projection_store& projections() = 0;
  virtual const projection_store& projections() const = 0;
  // Snapshot images as files under <data>/snapshots (snapshot_store.h), owned by the store and
  // valid as long as it. In a read-only store load() and list() work and nothing is written.
  virtual snapshot_store& snapshots() = 0;
  virtual const snapshot_store& snapshots() const = 0;

 protected:
  event_store() = default;
};

}  // namespace kakehashi
