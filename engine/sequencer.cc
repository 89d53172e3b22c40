// The write path: request validation on the caller's thread, then one sequencer thread that
// drains the queue, checks expectations against its stream heads, assigns gap-free positions,
// links the hash chain and stages each group as one WriteBatch (group commit, as LevelDB's
// BuildBatchGroup), and one committer thread that syncs the WAL for every group written so far
// and only then wakes subscribers and has the callers completed, by itself or by the sequencer
// (the commit mode, commit_mode.h). Batches are written unsynced, in position order, by the
// sequencer while the committer syncs and by the committer otherwise (see store_impl.h). A
// failed write or sync is reported to every caller that depended on it, and stops all writes
// until the store is reopened.
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <type_traits>
#include <unordered_set>

#include "engine/record_codec.h"
#include "engine/store_impl.h"

namespace kakehashi::detail {
namespace {

constexpr std::size_t max_cached_stream_heads = 1 << 20;
// Events per group the sequencer hands over unwritten while the committer is free: small
// enough that the committer writes one group while the next is staged, large enough that the
// fixed cost of a RocksDB write stays small.
constexpr std::size_t handoff_events = 16;
// How long the committer polls for the group the sequencer is staging before it sleeps: a
// few groups' staging time.
constexpr std::chrono::microseconds max_staging_poll{100};

// The store whose sequencer this thread is, if any: appends its completion callbacks submit need
// not wake it (see append_async).
thread_local const void* sequencer_of = nullptr;
// The store whose committer is running completion callbacks on this thread, if any: appends
// those callbacks submit wake the sequencer in batches (see append_async).
thread_local const void* completing_store = nullptr;
// A cycle in which the committer slept this long waiting for work was idle, not busy.
constexpr std::chrono::milliseconds idle_sleep{1};

// `field`: "expected_version" for a stream the append writes, "conditions" for one it depends on.
error wrong_version(const std::string& stream, std::optional<std::uint64_t> current,
                    const expected_version& expected, std::string field = "expected_version") {
  std::string actual = current ? "is at version " + std::to_string(*current) : "does not exist";
  std::string wanted;
  switch (expected.kind) {
    case expected_version::mode::no_stream:
      wanted = "expected no stream";
      break;
    case expected_version::mode::stream_exists:
      wanted = "expected it to exist";
      break;
    case expected_version::mode::exact:
      wanted = "expected version " + std::to_string(expected.version);
      break;
    case expected_version::mode::any:
      break;
  }
  return make_error(errc::conflict, "wrong_expected_version",
                    "stream " + stream + " " + actual + ", " + wanted, std::move(field));
}

bool expectation_holds(const expected_version& expected, std::optional<std::uint64_t> current) {
  switch (expected.kind) {
    case expected_version::mode::any:
      return true;
    case expected_version::mode::no_stream:
      return !current;
    case expected_version::mode::stream_exists:
      return current.has_value();
    case expected_version::mode::exact:
      return current && *current == expected.version;
  }
  return false;
}

bool same_content(const recorded_event& stored, const std::string& stream, const new_event& e) {
  return stored.stream == stream && stored.type == e.type && stored.payload == e.payload;
}

// Remembers values to report the first repeat. Validation runs on every append on the caller's
// thread, and most appends carry one stream and a few events: those are compared in place,
// without allocating a hash set.
template <class T, class Hash>
class repeat_finder {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  bool seen_before(const T& value) {
    T* small = small_.items;
    if (large_.empty()) {
      if (std::find(small, small + small_count_, value) != small + small_count_) return true;
      if (small_count_ < small_capacity) {
        small[small_count_++] = value;
        return false;
      }
      large_.insert(small, small + small_capacity);
    }
    return !large_.insert(value).second;
  }

 private:
  static constexpr std::size_t small_capacity = 8;
  // Left uninitialised (only the first small_count_ items are read): zeroing both finders'
  // arrays on every validate() was half of its time, on the thread that completes appends.
  union storage {
    storage() {}
    T items[small_capacity];
  } small_;
  std::size_t small_count_ = 0;
  std::unordered_set<T, Hash> large_;
};

}  // namespace

struct store_impl::group_state {
  explicit group_state(std::size_t reserved_bytes) : batch(reserved_bytes) {}
  rocksdb::WriteBatch batch;
  position_t next_position = 0;
  hash256 chain{};
  std::int64_t recorded_at = 0;
  std::vector<std::optional<std::uint64_t>> versions;  // scratch for stage()
  std::string stream_key;                              // scratch for stage()
  std::vector<event_ptr> staged;                       // in position order, for the subscribers
  bool depends_on_write = false;  // the request being staged needs this group's write
};

status store_impl::validate(const append_request& request) const {
  const auto& limits = options_.limits;
  if (request.streams.empty())
    return make_error(errc::invalid_argument, "empty_append", "an append needs at least one stream",
                      "streams");
  std::size_t events = 0;
  std::size_t bytes = 0;
  repeat_finder<std::string_view, std::hash<std::string_view>> streams;
  repeat_finder<uuid, uuid_hash> ids;
  for (const auto& part : request.streams) {
    if (auto valid = validate_stream_name(part.stream); !valid) return valid;
    if (streams.seen_before(part.stream))
      return make_error(errc::invalid_argument, "duplicate_stream",
                        "stream " + part.stream + " appears twice in one append", "stream");
    if (part.events.empty())
      return make_error(errc::invalid_argument, "empty_append",
                        "an append needs at least one event per stream", "events");
    for (const auto& e : part.events) {
      if (auto valid = validate_type_name(e.type); !valid) return valid;
      if (e.payload.size() > limits.max_payload_bytes)
        return make_error(errc::too_large, "payload_too_large",
                          "event payload is " + std::to_string(e.payload.size()) +
                              " bytes; the limit is " + std::to_string(limits.max_payload_bytes),
                          "payload");
      if (e.who.id.size() > limits.max_actor_field_bytes ||
          e.who.role.size() > limits.max_actor_field_bytes ||
          e.who.on_behalf_of.size() > limits.max_actor_field_bytes)
        return make_error(errc::invalid_argument, "actor_too_long",
                          "actor fields are limited to " +
                              std::to_string(limits.max_actor_field_bytes) + " bytes",
                          "actor");
      if (e.occurred_at < 0)
        return make_error(errc::invalid_argument, "invalid_time",
                          "occurred_at must not precede 1970", "occurred_at");
      if (!e.id.is_nil() && ids.seen_before(e.id))
        return make_error(errc::invalid_argument, "duplicate_event_id",
                          "event id " + e.id.to_string() + " appears twice in one append",
                          "event_id");
      ++events;
      bytes += e.payload.size() + e.type.size() + part.stream.size();
    }
  }
  if (request.conditions.size() > limits.max_events_per_append)
    return make_error(
        errc::too_large, "too_many_conditions",
        "an append is limited to " + std::to_string(limits.max_events_per_append) + " conditions",
        "conditions");
  for (const auto& condition : request.conditions) {
    if (auto valid = validate_stream_name(condition.stream); !valid) return valid;
    if (streams.seen_before(condition.stream))
      return make_error(errc::invalid_argument, "duplicate_stream",
                        "stream " + condition.stream + " appears twice in one append",
                        "conditions");
  }
  if (events > limits.max_events_per_append)
    return make_error(
        errc::too_large, "too_many_events",
        "an append is limited to " + std::to_string(limits.max_events_per_append) + " events",
        "events");
  if (bytes > limits.max_append_bytes)
    return make_error(
        errc::too_large, "append_too_large",
        "an append is limited to " + std::to_string(limits.max_append_bytes) + " bytes", "events");
  return {};
}

void store_impl::append_async(append_request request, append_callback done) {
  submit(std::move(request), std::move(done), /*wait_for_room=*/false);
}

result<append_result> store_impl::append(append_request request) {
  std::promise<result<append_result>> promise;
  auto future = promise.get_future();
  submit(
      std::move(request),
      [&promise](result<append_result> outcome) { promise.set_value(std::move(outcome)); },
      /*wait_for_room=*/true);
  return future.get();
}

void store_impl::submit(append_request request, append_callback done, bool wait_for_room) {
  if (options_.read_only) {
    done(make_error(errc::unavailable, "read_only", "the store was opened read-only"));
    return;
  }
  if (auto valid = validate(request); !valid) {
    done(valid.take_err());
    return;
  }
  std::size_t events = 0;
  for (const auto& part : request.streams)
    events += part.events.size();
  std::optional<error> refused;
  {
    std::unique_lock lock(queue_mutex_);
    // Blocking callers wait for room instead of failing, and enqueue under the same lock, so no
    // other caller takes the room meanwhile; the wait ends on shutdown.
    if (wait_for_room)
      queue_not_full_.wait(
          lock, [&] { return stopping_ || queue_.size() < options_.max_queued_appends; });
    if (stopping_ || writes_failed()) {
      refused = make_error(errc::unavailable, "writes_stopped",
                           stopping_ ? "the store is shutting down"
                                     : "the store refuses writes after a write failure; reopen it");
    } else if (queue_.size() >= options_.max_queued_appends) {
      refused =
          make_error(errc::overloaded, "overloaded", "the append queue is full; retry shortly");
    } else {
      queue_.push_back({std::move(request), std::move(done), events});
      enqueued_appends_.fetch_add(1, std::memory_order_release);
    }
  }
  if (refused) {
    done(std::move(*refused));  // without the lock: the callback may well resubmit
    return;
  }
  // Submitted by a completion the sequencer runs (closed-loop clients resubmit from their
  // callbacks): it stages the queue once its callbacks are done, in groups, without a wake.
  if (sequencer_of == this) return;
  if (completing_store == this) {
    // Submitted by a completion the committer runs, which is often followed by more (closed-loop
    // clients resubmit from their callbacks). Waking the sequencer for each made it stage groups
    // of about four events, so the committer paid RocksDB's fixed cost per write for every few
    // events, and a futex wake per append. Woken once per handoff_events instead, it stages
    // groups of that size while the committer runs the next callbacks; commit() wakes it for
    // the rest once the callbacks are done.
    deferred_events_ += events;
    if (deferred_events_ < handoff_events) return;
    deferred_events_ = 0;
  }
  sequencer_wake_.notify_one();
}

void store_impl::run_sequencer() {
  pthread_setname_np(pthread_self(), "kh-sequencer");  // for top and profilers
  sequencer_of = this;
  std::vector<pending_append> group;
  for (;;) {
    bool synced = false;
    {
      std::unique_lock lock(queue_mutex_);
      sequencer_wake_.wait(lock,
                           [&] { return stopping_ || !queue_.empty() || !synced_groups_.empty(); });
      synced = !synced_groups_.empty();
      // Stopping, with every queued append staged: the committer completes what is in flight.
      if (!synced && queue_.empty()) {
        sequencer_exited_ = true;
        return;
      }
    }
    // Callers first: in a closed loop their next appends join what is staged next.
    if (synced) complete_synced();
    std::lock_guard staging(staging_mutex_);
    stage_next_group(group);  // finds nothing when the committer staged them meanwhile
  }
}

bool store_impl::stage_next_group(std::vector<pending_append>& group) {
  if (!take_group(group)) return false;
  hand_over(stage_group(group), group.size());
  group.clear();
  return true;
}

bool store_impl::take_group(std::vector<pending_append>& group) {
  {
    std::lock_guard lock(queue_mutex_);
    if (queue_.empty()) return false;
    // While the committer syncs, the sequencer writes its groups itself and bigger groups mean
    // fewer writes. Otherwise small ones are handed over, so the committer writes one while the
    // next is being staged.
    std::size_t limit = committer_syncing_.load(std::memory_order_acquire)
                            ? options_.max_group_events
                            : std::min(options_.max_group_events, handoff_events);
    std::size_t events = 0;
    while (!queue_.empty() && (group.empty() || events + queue_.front().events <= limit)) {
      events += queue_.front().events;
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  queue_not_full_.notify_all();
  return true;
}

store_impl::committer_staging store_impl::stage_on_committer() {
  // The sequencer sleeps through each sync, and on this VM a thread woken from such a sleep
  // started running 40 us or more after the committer's first notification: the committer,
  // done with its callbacks, then slept too, waiting for the first group, and took as long
  // again to wake. Staging what is queued itself while the sequencer has not started closes
  // both gaps; the sequencer, once awake, stages the groups after it.
  std::unique_lock staging(staging_mutex_, std::try_to_lock);
  if (!staging.owns_lock()) return committer_staging::busy;  // the sequencer will hand over
  {
    // Only with an empty commit queue, which only holders of staging_mutex_ add to: then
    // hand_over does not wait for room, which only this thread makes.
    std::lock_guard lock(commit_mutex_);
    if (!commit_queue_.empty()) return committer_staging::staged;  // handed over meanwhile
  }
  return stage_next_group(committer_group_) ? committer_staging::staged
                                            : committer_staging::nothing;
}

store_impl::staged_group store_impl::stage_group(std::vector<pending_append>& group) {
  // Ids staged in groups that are now written can be found in the dedupe family.
  position_t written = written_through_.load(std::memory_order_acquire);
  while (!recent_ids_order_.empty() && recent_ids_order_.front().first <= written) {
    recent_ids_.erase(recent_ids_order_.front().second);
    recent_ids_order_.pop_front();
  }

  trim_stream_heads();

  // Sized up front: growing the batch's buffer event by event reallocates and copies it
  // several times per group.
  std::size_t bytes = 256;
  for (const auto& pending : group)
    for (const auto& part : pending.request.streams)
      for (const auto& e : part.events)
        bytes += e.payload.size() + e.type.size() + 2 * part.stream.size() + e.who.id.size() +
                 e.who.role.size() + e.who.on_behalf_of.size() + 400;
  group_state state(bytes);
  state.next_position = written_position_ + 1;
  state.chain = chain_head_;
  state.recorded_at = now_micros();

  staged_group staged;
  staged.outcomes.reserve(group.size());
  for (auto& pending : group) {
    state.depends_on_write = false;
    if (writes_failed()) {
      staged.outcomes.push_back(writes_stopped_error());
    } else {
      staged.outcomes.push_back(stage(pending, state));
    }
    staged.needs_sync.push_back(state.depends_on_write);
    staged.callers.push_back(std::move(pending.done));
  }
  if (state.staged.empty()) {
    staged.written = true;  // nothing to write
    return staged;
  }

  position_t last = state.next_position - 1;
  state.batch.Put(meta_, chain_head_key, chain_head_value(last, state.chain));
  // The sequencer's view (stream_heads_, updated by stage(), and the chain) moves on now,
  // before the batch is written: the next group is staged against it while this one is
  // written. If the write fails, no write ever follows (the store must be reopened), so the
  // view is never used against a log that lacks the group.
  chain_head_ = state.chain;
  written_position_ = last;
  staged.batch = std::move(state.batch);
  staged.events = std::move(state.staged);
  return staged;
}

void store_impl::trim_stream_heads() {
  // Checked between groups, so the cache may exceed its bound by one group's streams.
  if (stream_heads_.size() < max_cached_stream_heads) return;
  // A head staged but not yet written exists only here; dropping it would make the next
  // lookup read an older version from the streams family. Wait for the writes to catch up.
  if (written_through_.load(std::memory_order_acquire) != written_position_) return;
  stream_heads_.clear();
}

void store_impl::hand_over(staged_group group, std::size_t appends) {
  std::unique_lock lock(commit_mutex_);
  // Write here only while no earlier group waits to be written, so RocksDB receives the groups
  // in position order, and only while the committer is busy syncing: otherwise it is free to
  // write this group while this thread stages the next.
  if (!group.written && unwritten_groups_ == 0 &&
      committer_syncing_.load(std::memory_order_acquire)) {
    lock.unlock();
    write_group(group);
    lock.lock();
  }
  commit_room_.wait(lock, [&] { return commit_queue_.size() < max_unsynced_groups; });
  if (!group.written) ++unwritten_groups_;
  commit_queue_.push_back(std::move(group));
  handed_over_groups_.fetch_add(1, std::memory_order_release);
  handed_over_appends_ += appends;
  lock.unlock();
  commit_ready_.notify_one();
}

void store_impl::write_group(staged_group& group) {
  if (group.written) return;
  group.written = true;
  std::optional<error> failure;
  {
    std::shared_lock gate(writes_failed_.switch_mutex());  // no memtable switch meanwhile
    if (writes_failed()) {
      // An earlier group failed to write; this one chains onto it and must not follow it.
      failure = make_error(errc::unavailable, "writes_stopped",
                           "a write failed before this append was written");
    } else {
      rocksdb::Status status;
      {
        auto serial = writes_failed_.rocksdb_write_lock();  // write_fence.h: TSan builds only
        status = db_->Write(rocksdb::WriteOptions(), &group.batch);
      }
      if (!status.ok()) {
        // Never acknowledge what may be lost, and never write after a maybe-lost page.
        writes_failed_.stop();
        failure = io_failure(status, "the append was not written");
      } else {
        // Unsynced: the committer's WAL sync makes it durable before anyone is told.
        written_through_.store(group.events.back()->position, std::memory_order_release);
      }
    }
  }
  group.batch.Clear();
  if (failure)
    for (std::size_t i = 0; i < group.outcomes.size(); ++i)
      if (group.needs_sync[i] && group.outcomes[i].ok()) group.outcomes[i] = *failure;
}

void store_impl::run_committer() {
  pthread_setname_np(pthread_self(), "kh-committer");
  std::deque<staged_group> groups;
  for (;;) {
    std::unique_lock lock(commit_mutex_);
    await_groups(lock);
    if (commit_queue_.empty()) return;  // the sequencer stopped and everything is committed
    // In batch mode, appends queued by now (often resubmitted by the callbacks this thread just
    // ran) would otherwise miss this sync and wait for all of it and then their own, so this
    // thread takes and writes the groups handed over until those appends are among them, and
    // then syncs once for all; bounded by what was queued at this moment and by
    // max_group_events. In overlap mode it syncs what was handed over at once.
    const bool batch = mode_.current() == commit_mode_chooser::mode::batch;
    const std::uint64_t queued = enqueued_appends_.load(std::memory_order_acquire);
    std::size_t events = 0;
    for (;;) {
      std::size_t taken = 0;
      for (; !commit_queue_.empty(); commit_queue_.pop_front(), ++taken) {
        events += commit_queue_.front().events.size();
        groups.push_back(std::move(commit_queue_.front()));
      }
      bool complete = !batch || sequencer_done_ || handed_over_appends_ >= queued ||
                      events >= options_.max_group_events;
      lock.unlock();
      commit_room_.notify_all();
      // The groups are in position order and the sequencer writes none while any is unwritten.
      std::size_t wrote = 0;
      for (auto it = groups.end() - static_cast<std::ptrdiff_t>(taken); it != groups.end(); ++it)
        if (!it->written) {
          write_group(*it);
          ++wrote;
        }
      lock.lock();
      unwritten_groups_ -= wrote;
      if (complete) break;
      await_groups(lock);
    }
    committer_syncing_.store(true, std::memory_order_release);
    lock.unlock();
    commit(groups);
    groups.clear();
  }
}

void store_impl::await_groups(std::unique_lock<std::mutex>& lock) {
  if (!sequencer_done_ && commit_queue_.empty()) {
    lock.unlock();
    // While the sequencer stages, its group is at most one staging away: polling for it
    // (bounded) costs less than sleeping and being woken late (see stage_on_committer).
    const auto given_up = std::chrono::steady_clock::now() + max_staging_poll;
    const std::uint64_t seen = handed_over_groups_.load(std::memory_order_acquire);
    while (stage_on_committer() == committer_staging::busy &&
           handed_over_groups_.load(std::memory_order_acquire) == seen &&
           std::chrono::steady_clock::now() < given_up)
      __builtin_ia32_pause();
    lock.lock();
  }
  auto ready = [&] { return sequencer_done_ || !commit_queue_.empty(); };
  if (ready()) return;
  const auto slept_from = std::chrono::steady_clock::now();
  commit_ready_.wait(lock, ready);
  committer_slept_ += std::chrono::steady_clock::now() - slept_from;
}

void store_impl::commit(std::deque<staged_group>& groups) {
  // Every outcome that needs a sync gets one that passed the fence, whether its group wrote
  // events or only retried appends not yet durable: a batch of such retries writes nothing, but
  // the appends they retry may have failed their sync in the batch before.
  const bool sync = std::any_of(groups.begin(), groups.end(), [](const staged_group& g) {
    return std::find(g.needs_sync.begin(), g.needs_sync.end(), true) != g.needs_sync.end();
  });
  std::optional<error> failure;
  if (sync) {
    // Checked and synced under the fence's lock: a sync another writer saw fail stops this one.
    std::lock_guard lock(writes_failed_.sync_mutex());
    if (writes_failed()) {
      failure = make_error(errc::unavailable, "writes_stopped",
                           "a write failed before this append was made durable");
    } else {
      auto started = std::chrono::steady_clock::now();
      auto synced = db_->SyncWAL();
      if (synced.ok()) {
        const auto ended = std::chrono::steady_clock::now();
        const std::size_t events = synced_events(groups);
        count_sync(events, ended - started);
        if (last_sync_ended_ != std::chrono::steady_clock::time_point{})
          mode_.on_sync(events, ended - last_sync_ended_, committer_slept_ < idle_sleep);
        last_sync_ended_ = ended;
        committer_slept_ = {};
      } else {
        writes_failed_.stop();
        failure = io_failure(synced, "the append was not made durable");
      }
    }
  }
  committer_syncing_.store(false, std::memory_order_release);
  const std::int64_t committed_at = now_micros();
  for (auto& group : groups) {
    for (auto& outcome : group.outcomes)
      if (outcome.ok()) outcome->committed_at = committed_at;
    if (failure) {
      for (std::size_t i = 0; i < group.outcomes.size(); ++i)
        if (group.needs_sync[i] && group.outcomes[i].ok()) group.outcomes[i] = *failure;
    } else if (!group.events.empty()) {
      last_position_.store(group.events.back()->position, std::memory_order_release);
      hub_.publish(group.events);
    }
  }
  bool sequencer_completes = false;
  {
    std::lock_guard lock(queue_mutex_);
    // A sequencer stuck in a slow callback does not make the list grow without bound.
    sequencer_completes = mode_.current() == commit_mode_chooser::mode::overlap &&
                          !sequencer_exited_ && synced_groups_.size() < max_unsynced_groups;
    for (auto& group : groups)
      synced_groups_.push_back(std::move(group));
  }
  if (sequencer_completes) {
    sequencer_wake_.notify_one();
    return;
  }
  completing_store = this;
  complete_synced();
  completing_store = nullptr;
  if (deferred_events_ > 0) {
    deferred_events_ = 0;
    sequencer_wake_.notify_one();
  }
}

void store_impl::complete_synced() {
  std::lock_guard completing(completion_mutex_);
  {
    std::lock_guard lock(queue_mutex_);
    completing_.swap(synced_groups_);
  }
  for (auto& group : completing_)
    for (std::size_t i = 0; i < group.callers.size(); ++i)
      group.callers[i](std::move(group.outcomes[i]));
  completing_.clear();
}

std::size_t store_impl::synced_events(const std::deque<staged_group>& groups) {
  std::size_t events = 0;
  for (const auto& group : groups)
    events += group.events.size();
  return events;
}

void store_impl::count_sync(std::size_t events, std::chrono::steady_clock::duration took) {
  if (mode_.current() == commit_mode_chooser::mode::overlap)
    overlapped_syncs_.fetch_add(1, std::memory_order_relaxed);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  syncs_.fetch_add(1, std::memory_order_relaxed);
  synced_events_.fetch_add(events, std::memory_order_relaxed);
  sync_ns_.fetch_add(ns, std::memory_order_relaxed);
  if (ns > slowest_sync_ns_.load(std::memory_order_relaxed))
    slowest_sync_ns_.store(ns, std::memory_order_relaxed);
}

commit_stats store_impl::commit_statistics() const {
  commit_stats stats;
  stats.syncs = syncs_.load(std::memory_order_relaxed);
  stats.overlapped_syncs = overlapped_syncs_.load(std::memory_order_relaxed);
  stats.events = synced_events_.load(std::memory_order_relaxed);
  stats.sync_time = std::chrono::nanoseconds(sync_ns_.load(std::memory_order_relaxed));
  stats.slowest_sync = std::chrono::nanoseconds(slowest_sync_ns_.load(std::memory_order_relaxed));
  if (spares_) {
    const auto spares = spares_->stats();
    stats.wal_files_over_spares = spares.used;
    stats.wal_files_created = spares.created;
  }
  return stats;
}

std::optional<std::uint64_t> store_impl::current_version(const std::string& stream) {
  if (auto cached = stream_heads_.find(stream); cached != stream_heads_.end())
    return cached->second;
  // Not staged since the cache was last cleared, so the streams family has its last version.
  auto stored = lookup_stream_version(stream, written_position_);
  stream_heads_.emplace(stream, stored);
  return stored;
}

result<std::optional<append_result>> store_impl::find_duplicate(const append_request& request,
                                                                group_state& state) {
  std::vector<event_ptr> found;
  std::size_t total = 0;
  for (const auto& part : request.streams) {
    for (const auto& e : part.events) {
      ++total;
      if (e.id.is_nil()) continue;
      event_ptr prior;
      if (auto staged = recent_ids_.find(e.id); staged != recent_ids_.end()) {
        prior = staged->second;  // staged, maybe not yet written
      } else {
        std::string position;
        auto s = db_->Get(rocksdb::ReadOptions(), dedupe_, e.id.as_bytes(), &position);
        if (s.IsNotFound()) continue;
        if (!s.ok()) return io_failure(s, "cannot read the idempotency index");
        auto stored = read_record(decode_position(position));
        if (!stored) return stored.take_err();
        prior = std::move(*stored);
      }
      // A retry of an append that is not durable yet is answered only after the sync that
      // makes it durable, and fails with it.
      if (prior->position > last_position_.load(std::memory_order_acquire))
        state.depends_on_write = true;
      if (!same_content(*prior, part.stream, e))
        return make_error(
            errc::conflict, "idempotency_conflict",
            "event id " + e.id.to_string() + " was already appended with different content",
            "event_id");
      found.push_back(std::move(prior));
    }
  }
  if (found.empty()) return std::optional<append_result>{};
  if (found.size() != total)
    return make_error(errc::conflict, "idempotency_conflict",
                      "some events of this append were already appended and others were not",
                      "event_id");
  // A retry of an earlier append: answer with what that append wrote.
  append_result original;
  original.duplicate = true;
  original.first_position = found.front()->position;
  std::size_t index = 0;
  for (const auto& part : request.streams) {
    appended_stream stream{part.stream, found[index]->version, found[index]->version};
    for (std::size_t i = 0; i < part.events.size(); ++i, ++index) {
      const auto& e = *found[index];
      original.first_position = std::min(original.first_position, e.position);
      original.last_position = std::max(original.last_position, e.position);
      stream.first_version = std::min(stream.first_version, e.version);
      stream.last_version = std::max(stream.last_version, e.version);
      original.event_ids.push_back(e.id);
    }
    original.streams.push_back(std::move(stream));
  }
  return std::optional<append_result>{std::move(original)};
}

result<append_result> store_impl::stage(pending_append& pending, group_state& state) {
  auto& request = pending.request;
  auto duplicate = find_duplicate(request, state);
  if (!duplicate) return duplicate.take_err();
  if (*duplicate) return std::move(**duplicate);

  auto& versions = state.versions;
  versions.clear();
  for (const auto& part : request.streams) {
    auto current = current_version(part.stream);
    if (!expectation_holds(part.expected, current))
      return wrong_version(part.stream, current, part.expected);
    versions.push_back(current);
  }
  for (const auto& condition : request.conditions) {
    auto current = current_version(condition.stream);
    if (!expectation_holds(condition.expected, current))
      return wrong_version(condition.stream, current, condition.expected, "conditions");
  }

  state.depends_on_write = true;
  append_result outcome;
  outcome.first_position = state.next_position;
  for (std::size_t s = 0; s < request.streams.size(); ++s) {
    auto& part = request.streams[s];
    std::uint64_t version = versions[s] ? *versions[s] + 1 : 0;
    appended_stream written{part.stream, version, version};
    for (auto& e : part.events) {
      record_header header{e.id.is_nil() ? new_uuid_v7() : e.id, part.stream, version,
                           state.next_position, state.recorded_at};
      auto event = std::make_shared<recorded_event>();
      event->prev_hash = state.chain;
      std::string_view stored = encoder_.encode(e, header, state.chain, event->hash);
      std::string position = position_key(header.position);
      state.batch.Put(log_, position, rocksdb::Slice(stored.data(), stored.size()));
      auto& index_key = state.stream_key;
      index_key.assign(part.stream).push_back('\0');
      index_key.append(position_key(version));
      state.batch.Put(streams_, index_key, position);
      // Only a caller-supplied id can come back in a retry; generated ids skip the index.
      if (!e.id.is_nil()) state.batch.Put(dedupe_, header.id.as_bytes(), position);

      event->id = header.id;
      event->stream = part.stream;
      event->version = version;
      event->position = header.position;
      event->type = std::move(e.type);
      event->schema_version = e.schema_version;
      event->occurred_at = e.occurred_at != 0 ? e.occurred_at : state.recorded_at;
      event->recorded_at = state.recorded_at;
      event->who = std::move(e.who);
      event->correlation_id = e.correlation_id;
      event->causation_id = e.causation_id;
      event->payload = std::move(e.payload);
      event->stored_bytes = stored.size();
      state.chain = event->hash;
      if (!e.id.is_nil()) {
        recent_ids_[e.id] = event;
        recent_ids_order_.emplace_back(header.position, e.id);
      }
      state.staged.push_back(event);
      outcome.event_ids.push_back(header.id);
      written.last_version = version;
      ++version;
      ++state.next_position;
    }
    stream_heads_[part.stream] = written.last_version;
    outcome.streams.push_back(std::move(written));
  }
  outcome.last_position = state.next_position - 1;
  return outcome;
}

}  // namespace kakehashi::detail
