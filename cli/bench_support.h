// What the network benchmarks (`bench fanout`, `bench load`) share: the clock and the event time
// format they compute delivery latency with, a latency histogram, and a process's resident set.
// Pure helpers; the histogram is safe to fill from many threads at once.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace kakehashi::cli::bench {

// µs since the Unix epoch, by the system clock (the clock the server stamps recorded_at with).
std::int64_t system_micros();

// The CloudEvent "time" as api::rfc3339 writes it ("2025-12-01T01:00:00.123456Z") -> µs since the
// epoch; -1 when `t` is not exactly that shape.
std::int64_t parse_event_time(std::string_view t);

// What follows the first occurrence of `key` in `text`; empty when absent. For picking a field out
// of a server message without parsing all of it.
std::string_view after_key(std::string_view text, std::string_view key);

// The decimal digits at the start of `text` as a number (0 when none).
std::uint64_t leading_number(std::string_view text);

// VmRSS of a process in MiB (`pid` 0: this process); 0 when it cannot be read (e.g. it exited).
double rss_mb(pid_t pid = 0);

// Latencies in µs, log-linear buckets: exact below 128 µs, then 64 buckets per power of two
// (at most 1.6% high), up to 2^40 µs. add() may be called from any thread (relaxed atomics).
class latency_histogram {
 public:
  void add_us(std::int64_t us);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // The q-quantile (0..1) in ms, as its bucket's upper bound; 0 when empty.
  double quantile_ms(double q) const;
  double max_ms() const {
    return static_cast<double>(max_us_.load(std::memory_order_relaxed)) / 1e3;
  }

 private:
  static constexpr std::size_t linear = 128;
  static constexpr std::size_t per_octave = 64;
  static constexpr std::size_t buckets = linear + (40 - 7) * per_octave;
  static std::size_t bucket_of(std::uint64_t us);
  static std::uint64_t upper_bound_of(std::size_t bucket);

  std::array<std::atomic<std::uint64_t>, buckets> counts_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::int64_t> max_us_{0};
};

}  // namespace kakehashi::cli::bench
