// Two threads passing reusable batches: a producer fills empty batches and hands them over full,
// and a consumer takes the full ones in order and gives them back to be refilled. Used by the
// log's read-ahead (engine/read_ahead.cc) and by the projections' batch scan.
//
// Bounded: only the batches given at construction circulate, so the producer can run at most
// that many batches ahead of the consumer, and nothing is allocated per batch.
// Thread safety: one producer thread and one consumer thread; every member is safe to call
// concurrently from those two. Lifetime: the batches outlive the handoff, which owns none of them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <vector>

namespace kakehashi {

template <class Batch>
class batch_handoff {
 public:
  explicit batch_handoff(std::span<Batch> batches) {
    for (auto& b : batches)
      empty_.push_back(&b);
  }

  // Producer: an empty batch, waiting for the consumer to give one back; nullptr once the
  // consumer has stopped.
  Batch* take_empty() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !empty_.empty() || stopped(); });
    if (stopped()) return nullptr;
    Batch* batch = empty_.back();
    empty_.pop_back();
    return batch;
  }

  // Producer: a filled batch, for the consumer.
  void hand_over(Batch* full) {
    {
      std::lock_guard lock(mutex_);
      full_.push_back(full);
    }
    changed_.notify_all();
  }

  // Producer: nothing more comes; `last` (a partly filled batch, or nullptr) is handed over first.
  // What the producer wrote before this call is visible to the consumer once take_full() has
  // returned nullptr.
  void finish(Batch* last) {
    {
      std::lock_guard lock(mutex_);
      if (last) full_.push_back(last);
      done_ = true;
    }
    changed_.notify_all();
  }

  // Producer: whether the consumer has stopped; cheap enough to check between items.
  bool stopped() const { return stop_.load(std::memory_order_relaxed); }

  // Consumer: the next full batch in order, waiting for it; nullptr when the producer has
  // finished and every batch it handed over was taken.
  Batch* take_full() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !full_.empty() || done_; });
    if (full_.empty()) return nullptr;
    Batch* batch = full_.front();
    full_.pop_front();
    return batch;
  }

  // Consumer: a batch it has read, for the producer to refill.
  void give_back(Batch* batch) {
    {
      std::lock_guard lock(mutex_);
      empty_.push_back(batch);
    }
    changed_.notify_all();
  }

  // Consumer: tells the producer to stop; take_empty() returns nullptr from now on.
  void stop() {
    {
      std::lock_guard lock(mutex_);  // so a producer about to wait cannot miss it
      stop_.store(true, std::memory_order_relaxed);
    }
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Batch*> empty_;  // guarded by mutex_, as full_ and done_
  std::deque<Batch*> full_;
  bool done_ = false;
  std::atomic<bool> stop_{false};  // written under mutex_; also read without it
};

}  // namespace kakehashi
