// A small fixed pool of threads for handlers that block: commands wait for their group commit
// (fsync), as-of queries fold the log, min_position waits for the read model. Running those on
// the server's I/O threads would stall every connection on them.
//
// The queue is bounded: submit() refuses work beyond max_queued, and the handler answers 429
// instead of letting memory grow. Tasks run in submission order per thread, any thread.
//
// Thread safety: submit() and queued() from any thread. Lifetime: the destructor runs whatever
// is still queued, then joins (a queued task holds a reply its client is waiting for).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kakehashi::api {

class worker_pool {
 public:
  worker_pool(std::size_t threads, std::size_t max_queued);
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  // False (and `task` dropped) when the queue is full.
  bool submit(std::function<void()> task);
  std::size_t queued() const;

 private:
  void work();

  const std::size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kakehashi::api
