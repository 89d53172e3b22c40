#include "projections/runner.h"

#include <cstdio>
#include <optional>
#include <thread>

#include "projections/batch_scan.h"
#include "projections/huge_pages.h"

namespace kakehashi {

projection_runner::projection_runner(event_store& store, runner_options options)
    : store_(store), options_(options) {}

projection_runner::~projection_runner() {
  stop();
}

void projection_runner::stop() {
  stopping_ = true;
  advanced_.notify_all();
}

namespace {

// A line on stderr about a snapshot not stored: its position and the store's error code and
// message (file names and the disk's error, never the model's content).
void log_snapshot_failure(position_t at, const error& e) {
  std::fprintf(stderr, "kakehashi: read model snapshot at position %llu not stored (%s): %s\n",
               static_cast<unsigned long long>(at), e.code.c_str(), e.message.c_str());
}

}  // namespace

status projection_runner::clear_legacy_snapshots() {
  auto legacy = store_.projections().keys(read_model_snapshot_prefix, 1);
  if (!legacy) return legacy.take_err();
  if (legacy->empty()) return {};
  // One DeleteRange; a read-only store leaves them (and ignores them).
  auto cleared = store_.projections().write({}, {std::string(read_model_snapshot_prefix)});
  if (!cleared && cleared.err().code == "read_only") return {};
  return cleared;
}

status projection_runner::start() {
  if (auto cleared = clear_legacy_snapshots(); !cleared) return cleared;
  auto latest = store_.snapshots().load(read_model_snapshot_kind, ~position_t{0});
  if (!latest) return latest.take_err();
  read_model model;
  std::size_t image_bytes = 0;
  if (*latest) {
    auto loaded = read_model::load((*latest)->bytes);
    if (loaded && loaded->position == (*latest)->position) {
      model = std::move(*loaded);
      image_bytes = (*latest)->bytes.size();
    } else if (!loaded && loaded.err().code != "snapshot_version") {
      return loaded.take_err();
    } else {
      // The code's fold changed: what was stored no longer means the same; rebuild.
      if (auto cleared = store_.snapshots().remove_all(read_model_snapshot_kind);
          !cleared && cleared.err().code != "read_only")
        return cleared;
    }
  }
  {
    std::unique_lock lock(model_mutex_);
    model_ = std::move(model);
    last_snapshot_ = model_.position;
    applied_ = model_.position;
  }
  logged_since_snapshot_ = 0;
  last_image_bytes_ = image_bytes;
  feed_.reset();  // opened from the model's position when first needed
  return {};
}

status projection_runner::apply_batch(std::chrono::milliseconds wait) {
  if (!feed_) {
    subscription_options sub;
    sub.from_position = applied_ + 1;
    auto opened = store_.subscribe(std::move(sub));
    if (!opened) return opened.take_err();
    feed_ = std::move(*opened);
  }
  auto batch = feed_->next(options_.batch_events, wait);
  if (!batch) return batch.take_err();
  if (batch->events.empty()) return {};
  auto read = store_reader(store_);
  {
    std::unique_lock lock(model_mutex_);
    for (const auto& e : batch->events) {
      if (auto applied = model_.apply(*e, read); !applied) return applied;
      logged_since_snapshot_ += e->stored_bytes;
    }
  }
  {
    std::lock_guard lock(wait_mutex_);
    applied_ = batch->events.back()->position;
  }
  advanced_.notify_all();
  // A snapshot that cannot be stored costs a longer restart, not the model: go on following.
  if (snapshot_due(options_.snapshot_every)) (void)save_snapshot();
  return {};
}

bool projection_runner::snapshot_due(std::size_t min_events) const {
  const auto since = applied_ - last_snapshot_;
  return since > 0 && since >= min_events && logged_since_snapshot_ >= last_image_bytes_;
}

status projection_runner::save_snapshot() {
  std::optional<huge_page_scope> pages;  // the image and the store's copies of it are large
  if (options_.huge_pages) pages.emplace();
  std::string image;
  position_t at = 0;
  std::int64_t last_occurred_at = 0;
  {
    std::shared_lock lock(model_mutex_);
    image = model_.save();
    at = model_.position;
    last_occurred_at = model_.last_occurred_at;
  }
  if (at == 0 || at == last_snapshot_) return {};
  const auto image_bytes = image.size();
  if (auto written = store_.snapshots().save(read_model_snapshot_kind, at, last_occurred_at, image);
      !written) {
    log_snapshot_failure(at, written.err());
    // Spaced as if taken: a failing disk is not retried after every batch.
    last_snapshot_ = at;
    logged_since_snapshot_ = 0;
    return written;
  }
  last_snapshot_ = at;
  logged_since_snapshot_ = 0;
  last_image_bytes_ = image_bytes;
  return {};
}

void projection_runner::advance_to(position_t p) {
  {
    std::lock_guard lock(wait_mutex_);
    applied_ = p;
  }
  advanced_.notify_all();
}

status projection_runner::scan_to_head() {
  // Straight from the store (reading on a helper thread for long scans): no shared_ptr, no
  // subscription buffer per event. The model's lock is taken per batch, and wait_for() sees the
  // progress every batch_events events.
  std::optional<huge_page_scope> pages;  // a long catch-up grows the model by many pages
  if (options_.huge_pages) pages.emplace();
  auto read = store_reader(store_);
  status failed;
  position_t last = 0;
  std::size_t unannounced = 0;
  auto scanned = batch_scan(store_, applied_ + 1, [&](std::span<const recorded_event> events) {
    {
      std::unique_lock lock(model_mutex_);
      for (const auto& e : events) {
        failed = model_.apply(e, read);
        if (!failed) break;
        last = e.position;
        logged_since_snapshot_ += e.stored_bytes;
        ++unannounced;
      }
    }
    if (unannounced >= options_.batch_events || !failed) {
      unannounced = 0;
      if (last != 0) advance_to(last);
    }
    return failed.ok();
  });
  if (last != 0) {
    advance_to(last);
    feed_.reset();  // the live feed resumes after what the scan applied
  }
  if (!scanned) return scanned;
  return failed;
}

status projection_runner::catch_up() {
  if (auto s = scan_to_head(); !s) return s;
  return save_snapshot();
}

void projection_runner::run() {
  // Catching up on a long log goes faster straight from the store than through the feed.
  if (auto s = scan_to_head(); !s) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  while (!stopping_) {
    if (auto s = apply_batch(std::chrono::milliseconds(200)); !s)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    else if (applied_ == store_.head_position() && snapshot_due(options_.snapshot_every / 10))
      (void)save_snapshot();  // quiet moment: keep the restart short
  }
}

bool projection_runner::wait_for(position_t p, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(wait_mutex_);
  return advanced_.wait_for(lock, timeout, [&] { return applied_ >= p || stopping_; }) &&
         applied_ >= p;
}

std::uint64_t projection_runner::lag() const {
  auto head = store_.head_position();
  auto at = position();
  return head > at ? head - at : 0;
}

status projection_runner::rebuild() {
  if (auto cleared = clear_legacy_snapshots(); !cleared) return cleared;
  if (auto cleared = store_.snapshots().remove_all(read_model_snapshot_kind); !cleared)
    return cleared;
  {
    std::unique_lock lock(model_mutex_);
    model_ = read_model{};
  }
  applied_ = 0;
  last_snapshot_ = 0;
  logged_since_snapshot_ = 0;
  last_image_bytes_ = 0;
  feed_.reset();
  return catch_up();
}

}  // namespace kakehashi
