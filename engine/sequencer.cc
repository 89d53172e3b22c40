// The write path: request validation on the caller's thread, then one sequencer thread that
// drains the queue, checks expectations against its stream heads, assigns gap-free positions,
// links the hash chain and writes the whole group as one WriteBatch (group commit, as LevelDB's
// BuildBatchGroup), and one committer thread that syncs the WAL for every group written so far
// and only then completes callers and wakes subscribers. A failed write or sync is reported to
// every caller that depended on it, and stops all writes until the store is reopened.
#include <pthread.h>

#include <algorithm>
#include <future>
#include <unordered_set>

#include "engine/record_codec.h"
#include "engine/store_impl.h"

namespace kakehashi::detail {
namespace {

constexpr std::size_t max_cached_stream_heads = 1 << 20;
constexpr const char* chain_head_key = "chain_head";
// Groups written but not yet synced; the sequencer waits when the committer falls this far back.
constexpr std::size_t max_unsynced_groups = 64;

error wrong_version(const std::string& stream, std::optional<std::uint64_t> current,
                    const expected_version& expected) {
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
                    "stream " + stream + " " + actual + ", " + wanted, "expected_version");
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

}  // namespace

struct store_impl::group_state {
  rocksdb::WriteBatch batch;
  position_t next_position = 0;
  hash256 chain{};
  std::int64_t recorded_at = 0;
  std::unordered_map<std::string, std::optional<std::uint64_t>> heads;  // staged, not yet written
  std::unordered_map<uuid, event_ptr, uuid_hash> staged_ids;
  std::vector<event_ptr> staged;  // in position order, for the subscribers
  bool depends_on_write = false;  // the request being staged needs this group's write
};

status store_impl::validate(const append_request& request) const {
  const auto& limits = options_.limits;
  if (request.streams.empty())
    return make_error(errc::invalid_argument, "empty_append", "an append needs at least one stream",
                      "streams");
  std::size_t events = 0;
  std::size_t bytes = 0;
  std::unordered_set<std::string_view> streams;
  std::unordered_set<uuid, uuid_hash> ids;
  for (const auto& part : request.streams) {
    if (auto valid = validate_stream_name(part.stream); !valid) return valid;
    if (!streams.insert(part.stream).second)
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
      if (!e.id.is_nil() && !ids.insert(e.id).second)
        return make_error(errc::invalid_argument, "duplicate_event_id",
                          "event id " + e.id.to_string() + " appears twice in one append",
                          "event_id");
      ++events;
      bytes += e.payload.size() + e.type.size() + part.stream.size();
    }
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
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_ || writes_failed()) {
      done(make_error(errc::unavailable, "writes_stopped",
                      stopping_ ? "the store is shutting down"
                                : "the store refuses writes after a write failure; reopen it"));
      return;
    }
    if (queue_.size() >= options_.max_queued_appends) {
      done(make_error(errc::overloaded, "overloaded", "the append queue is full; retry shortly"));
      return;
    }
    queue_.push_back({std::move(request), std::move(done), events});
    enqueued_appends_.fetch_add(1, std::memory_order_release);
  }
  queue_not_empty_.notify_one();
}

result<append_result> store_impl::append(append_request request) {
  {
    // Blocking callers wait for room instead of failing; the wait ends on shutdown.
    std::unique_lock lock(queue_mutex_);
    queue_not_full_.wait(lock,
                         [&] { return stopping_ || queue_.size() < options_.max_queued_appends; });
  }
  std::promise<result<append_result>> promise;
  auto future = promise.get_future();
  append_async(std::move(request), [&promise](result<append_result> outcome) {
    promise.set_value(std::move(outcome));
  });
  return future.get();
}

void store_impl::run_sequencer() {
  pthread_setname_np(pthread_self(), "kh-sequencer");  // for top and profilers
  std::vector<pending_append> group;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_not_empty_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every queued append was completed
      std::size_t events = 0;
      while (!queue_.empty() &&
             (group.empty() || events + queue_.front().events <= options_.max_group_events)) {
        events += queue_.front().events;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    queue_not_full_.notify_all();
    write_group(group);
    group.clear();
  }
}

void store_impl::write_group(std::vector<pending_append>& group) {
  group_state state;
  state.next_position = written_position_ + 1;
  state.chain = chain_head_;
  state.recorded_at = now_micros();

  written_group written;
  written.outcomes.reserve(group.size());
  for (auto& pending : group) {
    state.depends_on_write = false;
    if (writes_failed()) {
      written.outcomes.push_back(
          make_error(errc::unavailable, "writes_stopped",
                     "the store refuses writes after a write failure; reopen it"));
    } else {
      written.outcomes.push_back(stage(pending, state));
    }
    written.needs_sync.push_back(state.depends_on_write);
    written.callers.push_back(std::move(pending.done));
  }

  if (!state.staged.empty()) {
    position_t last = state.next_position - 1;
    std::string head = position_key(last);
    head.append(reinterpret_cast<const char*>(state.chain.data()), state.chain.size());
    state.batch.Put(meta_, chain_head_key, head);
    // Unsynced: the committer's WAL sync makes it durable before anyone is told.
    auto status = db_->Write(rocksdb::WriteOptions(), &state.batch);
    if (!status.ok()) {
      // Never acknowledge what may be lost, and never write after a maybe-lost page.
      writes_failed_.store(true, std::memory_order_release);
      auto failure = io_failure(status, "the append was not written");
      for (std::size_t i = 0; i < written.outcomes.size(); ++i)
        if (written.needs_sync[i] && written.outcomes[i].ok()) written.outcomes[i] = failure;
    } else {
      if (stream_heads_.size() + state.heads.size() > max_cached_stream_heads)
        stream_heads_.clear();
      for (auto& [stream, version] : state.heads)
        stream_heads_[stream] = version;
      chain_head_ = state.chain;
      written_position_ = last;
      written.events = std::move(state.staged);
    }
  }

  // Every group goes through the committer, so callers complete in order, after the sync
  // that covers anything they depend on.
  std::unique_lock lock(commit_mutex_);
  commit_room_.wait(lock, [&] { return commit_queue_.size() < max_unsynced_groups; });
  commit_queue_.push_back(std::move(written));
  handed_over_appends_ += group.size();
  lock.unlock();
  commit_ready_.notify_one();
}

void store_impl::run_committer() {
  pthread_setname_np(pthread_self(), "kh-committer");
  std::deque<written_group> groups;
  for (;;) {
    {
      std::unique_lock lock(commit_mutex_);
      commit_ready_.wait(lock, [&] { return sequencer_done_ || !commit_queue_.empty(); });
      if (commit_queue_.empty()) return;  // the sequencer stopped and everything is committed
      // Appends queued by now (often resubmitted by the callbacks this thread just ran) would
      // otherwise miss this sync and wait for all of it and then their own: closed-loop writers
      // split into two cohorts that take turns, halving the events per sync. Let the sequencer
      // write them first, so one sync covers them too. The wait is bounded: by what was queued
      // at this moment, by the events one group may hold, and by the room in commit_queue_ (the
      // sequencer cannot hand over more when it is full).
      std::uint64_t queued = enqueued_appends_.load(std::memory_order_acquire);
      commit_ready_.wait(lock, [&] {
        if (sequencer_done_ || handed_over_appends_ >= queued ||
            commit_queue_.size() >= max_unsynced_groups)
          return true;
        std::size_t events = 0;
        for (const auto& g : commit_queue_)
          events += g.events.size();
        return events >= options_.max_group_events;
      });
      groups.swap(commit_queue_);
    }
    commit_room_.notify_all();
    commit(groups);
    groups.clear();
  }
}

void store_impl::commit(std::deque<written_group>& groups) {
  bool wrote = std::any_of(groups.begin(), groups.end(),
                           [](const written_group& g) { return !g.events.empty(); });
  std::optional<error> failure;
  if (wrote) {
    if (writes_failed()) {
      failure = make_error(errc::unavailable, "writes_stopped",
                           "a write failed before this append was made durable");
    } else if (auto synced = db_->SyncWAL(); !synced.ok()) {
      writes_failed_.store(true, std::memory_order_release);
      failure = io_failure(synced, "the append was not made durable");
    }
  }
  for (auto& group : groups) {
    if (failure) {
      for (std::size_t i = 0; i < group.outcomes.size(); ++i)
        if (group.needs_sync[i] && group.outcomes[i].ok()) group.outcomes[i] = *failure;
    } else if (!group.events.empty()) {
      last_position_.store(group.events.back()->position, std::memory_order_release);
      hub_.publish(group.events);
    }
    for (std::size_t i = 0; i < group.callers.size(); ++i)
      group.callers[i](std::move(group.outcomes[i]));
  }
}

std::optional<std::uint64_t> store_impl::current_version(const std::string& stream,
                                                         group_state& state) {
  if (auto staged = state.heads.find(stream); staged != state.heads.end()) return staged->second;
  if (auto cached = stream_heads_.find(stream); cached != stream_heads_.end())
    return cached->second;
  auto stored = lookup_stream_version(stream, written_position_);
  if (stream_heads_.size() >= max_cached_stream_heads) stream_heads_.clear();
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
      if (auto staged = state.staged_ids.find(e.id); staged != state.staged_ids.end()) {
        prior = staged->second;
        state.depends_on_write = true;
      } else {
        std::string position;
        auto s = db_->Get(rocksdb::ReadOptions(), dedupe_, e.id.as_bytes(), &position);
        if (s.IsNotFound()) continue;
        if (!s.ok()) return io_failure(s, "cannot read the idempotency index");
        auto stored = read_record(decode_position(position));
        if (!stored) return stored.take_err();
        prior = std::move(*stored);
      }
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

  std::vector<std::optional<std::uint64_t>> versions;
  for (const auto& part : request.streams) {
    auto current = current_version(part.stream, state);
    if (!expectation_holds(part.expected, current))
      return wrong_version(part.stream, current, part.expected);
    versions.push_back(current);
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
      std::string stored = encode_record(e, header, state.chain, event->hash);
      state.batch.Put(log_, position_key(header.position), stored);
      state.batch.Put(streams_, stream_key(part.stream, version), position_key(header.position));
      // Only a caller-supplied id can come back in a retry; generated ids skip the index.
      if (!e.id.is_nil())
        state.batch.Put(dedupe_, header.id.as_bytes(), position_key(header.position));

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
      if (!e.id.is_nil()) state.staged_ids[e.id] = event;
      state.staged.push_back(event);
      outcome.event_ids.push_back(header.id);
      written.last_version = version;
      ++version;
      ++state.next_position;
    }
    state.heads[part.stream] = written.last_version;
    outcome.streams.push_back(std::move(written));
  }
  outcome.last_position = state.next_position - 1;
  return outcome;
}

}  // namespace kakehashi::detail
