// The hidden implementation behind event_store. Internal to the engine.
//
// Column families (DESIGN.md): log (position BE -> record), streams (stream \0 version BE ->
// position BE), dedupe (event id -> position BE), keys, proj, meta (format version, chain head).
//
// Two threads commit appends, as a pipeline: the sequencer stages each group (expectations,
// positions, chain) into a WriteBatch and hands it to the committer, which syncs the WAL and
// only then publishes the group's events and moves the head position. Who completes the
// callers, and when the next sync starts, is the commit mode (commit_mode.h): in batch mode the
// committer completes them itself and then waits for the appends they submit, so that one sync
// covers those too; in overlap mode it hands the synced groups to the sequencer, which completes
// their callers before it stages again, and syncs at once what was written meanwhile. Callbacks
// run one at a time and in commit order, whichever thread runs them (completion_mutex_).
// Each batch is written to RocksDB unsynced, in position order, by whichever thread is free:
// while the committer's fsync runs, the sequencer writes the groups it stages itself, so the
// disk wait does not stall staging; while the committer is free, it writes the small groups
// the sequencer hands over, so writing one group overlaps staging the next.
// Events written but not yet synced are invisible to every reader: reads stop at
// head_position(), which moves only after a sync.
// Staging is the sequencer's job, but the committer stages queued appends itself when it
// would otherwise wait for the sequencer to wake (stage_on_committer). Whichever holds
// staging_mutex_ owns stream_heads_, chain_head_, written_position_, recent_ids_ and encoder_
// after open, and hands its group over before releasing it, so groups enter the commit queue in
// position order.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "engine/commit_mode.h"
#include "engine/event_store.h"
#include "engine/key_vault_impl.h"
#include "engine/projection_store_impl.h"
#include "engine/record_codec.h"
#include "engine/snapshot_store_impl.h"
#include "engine/subscription_hub.h"
#include "engine/wal_replay_guard.h"
#include "engine/wal_spares.h"
#include "engine/write_fence.h"
#include "events/names.h"

namespace kakehashi::detail {

std::string position_key(position_t position);
position_t decode_position(std::string_view bytes);
std::string stream_key(std::string_view stream, std::uint64_t version);
error io_failure(const rocksdb::Status& s, std::string_view what);

// In the meta family: the last staged position and its hash, written with every group.
constexpr const char* chain_head_key = "chain_head";
std::string chain_head_value(position_t position, const hash256& hash);
// Groups handed to the committer but not yet synced; the sequencer waits when the committer
// falls this far back.
constexpr std::size_t max_unsynced_groups = 64;
// More events than a crash can catch written but unsynced: the committer syncs what it took
// (in batch mode up to max_group_events, then at most one more queue's worth of groups; in
// overlap mode one queue's worth), while the queue refills and the sequencer writes one more
// group; a group holds at most max_group_events plus one append. repair() refuses to drop more
// than this after a gap.
inline std::size_t max_unsynced_events(const store_options& options) {
  return (2 * max_unsynced_groups + 2) *
         (options.max_group_events + options.limits.max_events_per_append);
}

class store_impl final : public event_store {
 public:
  static result<std::unique_ptr<event_store>> open(const store_options& options);
  static result<repair_report> repair(const store_options& options, bool dry_run);  // repair.cc
  ~store_impl() override;

  result<append_result> append(append_request request) override;
  void append_async(append_request request, append_callback done) override;
  result<std::vector<event_ptr>> read_stream(std::string_view stream, std::uint64_t from_version,
                                             read_direction direction,
                                             std::size_t limit) const override;
  result<log_page> read_all(position_t from, std::size_t limit, const event_filter& filter,
                            std::size_t max_scan) const override;
  using event_store::scan;
  status scan(position_t from, const std::function<bool(const recorded_event&)>& visit,
              const scan_options& options) const override;
  result<event_ptr> read_event(const uuid& id) const override;
  position_t head_position() const override {
    return last_position_.load(std::memory_order_acquire);
  }
  std::optional<std::uint64_t> stream_version(std::string_view stream) const override;
  verify_report verify() const override;
  result<std::unique_ptr<subscription>> subscribe(subscription_options options) override;
  bool writes_failed() const override { return writes_failed_.stopped(); }
  commit_stats commit_statistics() const override;
  key_vault& keys() override { return *vault_; }
  projection_store& projections() override { return *projections_; }
  const projection_store& projections() const override { return *projections_; }
  snapshot_store& snapshots() override { return *snapshots_; }
  const snapshot_store& snapshots() const override { return *snapshots_; }

 private:
  struct pending_append {
    append_request request;
    append_callback done;
    std::size_t events = 0;
  };
  struct group_state;  // sequencer.cc
  // A staged group on its way to the WAL and then to the sync that makes it durable.
  struct staged_group {
    rocksdb::WriteBatch batch;  // cleared once written
    bool written = false;       // given to RocksDB (or nothing to write); outcomes final
    std::vector<append_callback> callers;
    std::vector<result<append_result>> outcomes;
    std::vector<bool> needs_sync;   // outcome is only true once this group is durable
    std::vector<event_ptr> events;  // staged, in position order
  };

  explicit store_impl(const store_options& options);
  // The store with its database open and nothing recovered or started: what open() and
  // repair() share.
  static result<std::unique_ptr<store_impl>> open_database(const store_options& options);
  status open_db();
  status check_format();
  status recover();
  // The chain head in the meta family: position 0 when none is stored (an empty log).
  struct stored_chain_head {
    position_t position = 0;
    hash256 hash{};
  };
  // Reads the chain head into head_at_open_.
  status load_chain_head();
  // How a log ending at `last` disagrees with the chain head stored at open: its last records
  // are gone, or its last record is not the one the head names. Every group writes the head in
  // the batch of its records, and repair() moves it back with the records it drops, so a
  // recovered store (a prefix of the WAL's batches, wal_replay_guard.h) always agrees.
  std::optional<verify_report> chain_head_mismatch(position_t last) const;
  result<repair_report> repair_log(bool dry_run);  // repair.cc
  verify_report verify_range(position_t from, position_t to) const;
  result<std::shared_ptr<const recorded_event>> read_record(position_t position) const;
  // The stream's last version among events at or below `bound`.
  std::optional<std::uint64_t> lookup_stream_version(std::string_view stream,
                                                     position_t bound) const;

  // Write path (sequencer.cc).
  status validate(const append_request& request) const;
  // Queues the append, or completes `done` at once on this thread when it cannot be (invalid,
  // writes stopped, or the queue full and not `wait_for_room`).
  void submit(append_request request, append_callback done, bool wait_for_room);
  void run_sequencer();
  bool take_group(std::vector<pending_append>& group);  // false: nothing queued
  // Takes a group from the queue, stages it and hands it over; the caller holds staging_mutex_.
  // False when nothing was queued. `group` is scratch, left empty.
  bool stage_next_group(std::vector<pending_append>& group);
  enum class committer_staging { staged, busy, nothing };
  committer_staging stage_on_committer();
  void await_groups(std::unique_lock<std::mutex>& lock);  // the committer, holding commit_mutex_
  staged_group stage_group(std::vector<pending_append>& group);
  void trim_stream_heads();
  void hand_over(staged_group group, std::size_t appends);
  void write_group(staged_group& group);  // by whichever thread may write, in position order
  void run_committer();
  void commit(std::deque<staged_group>& groups);
  // Runs the callers' callbacks of the synced groups, oldest first; on the sequencer, or on the
  // committer once the sequencer has stopped or falls max_unsynced_groups behind.
  void complete_synced();
  void count_sync(std::size_t events, std::chrono::steady_clock::duration took);
  static std::size_t synced_events(const std::deque<staged_group>& groups);
  result<append_result> stage(pending_append& pending, group_state& state);
  result<std::optional<append_result>> find_duplicate(const append_request& request,
                                                      group_state& state);
  std::optional<std::uint64_t> current_version(const std::string& stream);

  const store_options options_;
  wal_replay_guard replay_guard_;       // DBOptions::wal_filter of the open
  std::unique_ptr<wal_spares> spares_;  // DBOptions::env of a writable open, outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* log_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_ = nullptr;
  rocksdb::ColumnFamilyHandle* dedupe_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  std::unique_ptr<projection_store_impl> projections_;  // on handles_[5], the proj family
  // Files beside the database, on the file system it is opened with; opened after the database,
  // whose lock keeps a second writer from removing this one's temporary files.
  std::unique_ptr<snapshot_store_impl> snapshots_;
  std::unique_ptr<key_vault_impl> vault_;  // on handles_[4], the keys family; set by open_db

  std::atomic<position_t> last_position_{0};  // durable and visible
  write_fence writes_failed_;                 // shared with projections_ and vault_
  hash256 chain_head_{};                      // sequencer-owned after open
  stored_chain_head head_at_open_;            // as recover() read it
  // Sequencer-owned: the last position staged, which may not be written or synced yet.
  position_t written_position_ = 0;
  // The last position given to RocksDB; moved by whichever thread writes.
  std::atomic<position_t> written_through_{0};
  // Caller-supplied ids of events staged but maybe not written yet, so a retry finds them
  // before the dedupe family does; pruned (in position order) once written. Sequencer-owned.
  std::unordered_map<uuid, event_ptr, uuid_hash> recent_ids_;
  std::deque<std::pair<position_t, uuid>> recent_ids_order_;
  record_encoder encoder_;  // sequencer-owned

  // Stream heads known to the sequencer: last version, or nullopt for a stream known not to
  // exist. A cache over the streams family that also holds heads staged but not yet written;
  // cleared when it grows past its bound and everything staged is written.
  std::unordered_map<std::string, std::optional<std::uint64_t>> stream_heads_;

  std::mutex queue_mutex_;
  std::condition_variable sequencer_wake_;  // appends queued, groups synced, or stopping
  std::condition_variable queue_not_full_;
  std::deque<pending_append> queue_;
  // Appends ever put on queue_ (written under queue_mutex_, read by the committer without it).
  std::atomic<std::uint64_t> enqueued_appends_{0};
  // Groups synced (or failed) whose callers are still to be told; guarded by queue_mutex_, so
  // the sequencer waits for appends and for these on one condition.
  std::deque<staged_group> synced_groups_;
  bool sequencer_exited_ = false;  // the committer completes its groups itself from then on
  bool stopping_ = false;
  std::thread sequencer_;
  // Held while staging a group and handing it over; the lock order is staging_mutex_, then
  // queue_mutex_ or commit_mutex_.
  std::mutex staging_mutex_;
  std::vector<pending_append> committer_group_;  // committer-owned scratch
  // Held while running callbacks, so they run one at a time and in order, on either thread.
  std::mutex completion_mutex_;
  std::deque<staged_group> completing_;  // guarded by completion_mutex_; scratch

  std::mutex commit_mutex_;
  std::condition_variable commit_ready_;
  std::condition_variable commit_room_;
  std::deque<staged_group> commit_queue_;  // bounded by max_unsynced_groups
  std::uint64_t handed_over_appends_ = 0;  // appends of every group pushed to commit_queue_
  std::atomic<std::uint64_t> handed_over_groups_{0};  // groups ever pushed to commit_queue_
  // Groups handed over unwritten and not yet written by the committer. While any exist, only
  // the committer writes, so RocksDB gets the groups in position order.
  std::size_t unwritten_groups_ = 0;
  std::atomic<bool> committer_syncing_{false};  // in SyncWAL: the sequencer writes its groups
  // Committer-owned: how it runs its cycle, and what the chooser measures it by.
  commit_mode_chooser mode_;
  std::chrono::steady_clock::time_point last_sync_ended_{};
  std::chrono::steady_clock::duration committer_slept_{};
  // Events appended by the completions the committer runs since it last woke the sequencer.
  // Committer-owned.
  std::size_t deferred_events_ = 0;
  bool sequencer_done_ = false;
  std::thread committer_;
  // commit_statistics(): written by the committer only.
  std::atomic<std::uint64_t> syncs_{0};
  std::atomic<std::uint64_t> overlapped_syncs_{0};
  std::atomic<std::uint64_t> synced_events_{0};
  std::atomic<std::int64_t> sync_ns_{0};
  std::atomic<std::int64_t> slowest_sync_ns_{0};

  subscription_hub hub_;
};

}  // namespace kakehashi::detail
