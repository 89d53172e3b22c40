// The latency arithmetic of `kakehashi bench fanout` (cli/bench_fanout.cc), apart from its
// sockets and processes so it can be tested: the clients' per-delivery samples, the table of
// acknowledgement times the server process sends the client process, and the exact quantiles of
// commit-to-delivery (and of delivery minus the event's "time") computed from both.
//
// Why a table: an event's "time" (recorded_at) is stamped when the sequencer stages its group,
// before the group's write and fsync, so receipt minus "time" includes the durable commit. The
// server process knows when each append became durable (append_result::committed_at, stamped
// when the WAL sync returned, before the store publishes) and sends, per position, that minus
// recorded_at (the "ack" of the names below); the client process subtracts it from each
// delivery's receipt minus "time". Every delivery is kept, so the quantiles are exact (no
// histogram buckets, no sampling).
//
// Thread safety: a sample_log has one writer (its client I/O thread) and is read only after that
// thread stopped; everything else is plain values and free functions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.h"

namespace kakehashi::cli::bench {

// One delivery: its position minus the run's base position (every delivery of a run is above the
// head at the time the clients connected), and µs from the event's "time" to its receipt,
// saturated to the int32 range (about 35 minutes). 8 bytes: 5 M deliveries (1,000 subscribers x
// 500 events/s x 10 s) take 40 MB.
struct delivery_sample {
  std::uint32_t index = 0;
  std::int32_t from_time_us = 0;
};

// Samples in fixed blocks, so adding one never copies the ones before: a reallocation of tens of
// MB on a client's I/O thread would itself show up as delivery latency.
class sample_log {
 public:
  void add(delivery_sample s);
  std::size_t size() const { return size_; }
  const delivery_sample& operator[](std::size_t i) const {
    return blocks_[i / block_samples][i % block_samples];
  }

 private:
  static constexpr std::size_t block_samples = std::size_t{1} << 16;  // 512 KiB a block
  std::vector<std::unique_ptr<delivery_sample[]>> blocks_;
  std::size_t size_ = 0;
};

// Per position from `first` on: µs from the event's recorded_at to its append's commit, or
// ack_table::none where none is known (an event the benchmark did not append).
struct ack_table {
  static constexpr std::int32_t none = -1;
  std::uint64_t first = 0;
  std::vector<std::int32_t> offset_us;
};

// One line, without the newline: "acks FIRST COUNT" and COUNT entries, each " -" (none) or " N"
// (decimal µs, 0..INT32_MAX).
std::string encode_ack_table(const ack_table& table);
// The longest line a table of `entries` encodes to, for bounding the reader.
std::size_t ack_line_max_bytes(std::size_t entries);
// The most entries a table may have (one per event appended in a run, warm-up included): about
// 46 MB of line at most, and 16 MB once decoded.
constexpr std::size_t ack_table_max_entries = std::size_t{1} << 22;

// What the client process will accept: the table covers only positions in [min_first, max_last]
// (above the base, up to the last position it was told of) and at most max_entries of them.
struct ack_table_limits {
  std::uint64_t min_first = 1;
  std::uint64_t max_last = 0;
  std::size_t max_entries = 0;
};
// The table a line holds. invalid_argument for anything but exactly the encoded shape (a
// negative, oversized or non-decimal offset, a count that does not match its entries, trailing
// bytes); too_large for more entries than the limits allow or positions outside them.
result<ack_table> decode_ack_table(std::string_view line, const ack_table_limits& limits);

// Exact figures of a set of latencies, each quantile the element at floor(q * (count - 1)) of
// them sorted (as latency_histogram::quantile_ms counts, minus its bucket rounding).
struct latency_quantiles {
  std::uint64_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};
// Reorders `us`; all zero for an empty one.
latency_quantiles quantiles_of(std::vector<std::int32_t>& us);

struct fanout_latency {
  // From commit when there is a table, else (no table) from the event's "time".
  latency_quantiles primary, primary_warmup;
  // Receipt minus the event's "time", negatives counted as 0.
  latency_quantiles from_time, from_time_warmup;
  // Deliveries received before their append's commit time (receipt minus "time" below the
  // table's offset; only a clock step makes one): counted in the commit figures as 0, and here.
  std::uint64_t before_ack = 0;
  // How far before its commit time the earliest of those arrived.
  double before_ack_max_ms = 0;
  // Deliveries of a position the table has no acknowledgement for: out of the commit figures.
  std::uint64_t without_ack = 0;
};
// Samples with index >= measure_from are the measured part, the rest the warm-up. `base` is the
// position index 0 stands for; `acks` may be null (no commit figures: primary is from "time").
fanout_latency summarize_fanout(const std::vector<const sample_log*>& logs, std::uint64_t base,
                                std::uint64_t measure_from, const ack_table* acks);

// Reads newline-terminated lines from a file descriptor it does not own, through a buffer (a
// table line can be megabytes). A line longer than max_bytes, end of file or a read error ends
// the read with false; after a false the reader is not to be used again.
class line_reader {
 public:
  explicit line_reader(int fd) : fd_(fd) {}
  bool read(std::string& line, std::size_t max_bytes);

 private:
  int fd_;
  std::string buffer_;
  std::size_t used_ = 0;
};

}  // namespace kakehashi::cli::bench
