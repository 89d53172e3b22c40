// What the API measures about itself, exposed as Prometheus text on GET /metrics: responses by
// status, request and command latency histograms, commands by type and outcome, reads of
// personal data, plus gauges read at scrape time (log head, read-model position and lag, the
// worker queue). Labels are status codes, event types and outcomes only: no ids, no paths with
// ids, no personal data.
//
// Thread safety: every member may be called from any thread (atomics; one mutex for the small
// per-type table).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "api/backend.h"

namespace kakehashi::api {

// A fixed-bucket latency histogram in seconds.
class latency_histogram {
 public:
  static constexpr std::array<double, 14> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  void record(std::chrono::microseconds elapsed);
  // `name`_bucket{le=...}, `name`_sum, `name`_count lines (with HELP/TYPE).
  void write(std::string& out, std::string_view name, std::string_view help) const;

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_micros_{0};
};

class api_metrics {
 public:
  void record_reply(unsigned status, std::chrono::microseconds elapsed);
  void record_command(std::string_view type, std::string_view outcome,
                      std::chrono::microseconds elapsed);
  void record_personal_data_read();
  // The read log refused a record (engine/read_log.h).
  void record_personal_data_read_failure();

  // The whole exposition; `parts` may have null members (their gauges are left out).
  std::string prometheus(const backend& parts, std::size_t worker_queue_depth) const;

 private:
  std::array<std::atomic<std::uint64_t>, 600> statuses_{};
  latency_histogram requests_;
  latency_histogram commands_;
  std::atomic<std::uint64_t> personal_reads_{0};
  std::atomic<std::uint64_t> personal_read_failures_{0};
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> commands_by_type_;
};

}  // namespace kakehashi::api
