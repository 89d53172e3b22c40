#include "api/api_metrics.h"

#include <cstdio>

#include "engine/event_store.h"
#include "projections/runner.h"

namespace kakehashi::api {

namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void gauge(std::string& out, std::string_view name, std::string_view help, double value) {
  header(out, name, help, "gauge");
  out += name;
  out += ' ' + number(value) + '\n';
}

void counter(std::string& out, std::string_view name, std::string_view help,
             const std::string& value) {
  header(out, name, help, "counter");
  out += name;
  out += ' ' + value + '\n';
}

double seconds(std::chrono::nanoseconds ns) {
  return static_cast<double>(ns.count()) / 1e9;
}

}  // namespace

void latency_histogram::record(std::chrono::microseconds elapsed) {
  double seconds = static_cast<double>(elapsed.count()) / 1e6;
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i])
    ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(elapsed.count()), std::memory_order_relaxed);
}

void latency_histogram::write(std::string& out, std::string_view name,
                              std::string_view help) const {
  header(out, name, help, "histogram");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    out += name;
    out += "_bucket{le=\"";
    out += i < bounds.size() ? number(bounds[i]) : "+Inf";
    out += "\"} " + std::to_string(cumulative) + '\n';
  }
  out += name;
  out += "_sum " + number(static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6) +
         '\n';
  out += name;
  out += "_count " + std::to_string(cumulative) + '\n';
}

void api_metrics::record_reply(unsigned status, std::chrono::microseconds elapsed) {
  if (status < statuses_.size()) statuses_[status].fetch_add(1, std::memory_order_relaxed);
  requests_.record(elapsed);
}

void api_metrics::record_command(std::string_view type, std::string_view outcome,
                                 std::chrono::microseconds elapsed) {
  commands_.record(elapsed);
  std::lock_guard lock(mutex_);
  ++commands_by_type_[{std::string(type), std::string(outcome)}];
}

void api_metrics::record_personal_data_read() {
  personal_reads_.fetch_add(1, std::memory_order_relaxed);
}

void api_metrics::record_personal_data_read_failure() {
  personal_read_failures_.fetch_add(1, std::memory_order_relaxed);
}

std::string api_metrics::prometheus(const backend& parts, std::size_t worker_queue_depth) const {
  std::string out;
  header(out, "kakehashi_http_responses_total", "HTTP responses sent, by status code.", "counter");
  for (std::size_t code = 0; code < statuses_.size(); ++code) {
    auto n = statuses_[code].load(std::memory_order_relaxed);
    if (n == 0) continue;
    out += "kakehashi_http_responses_total{code=\"" + std::to_string(code) + "\"} " +
           std::to_string(n) + '\n';
  }
  requests_.write(out, "kakehashi_http_request_duration_seconds",
                  "Time from routing a request to its reply.");
  commands_.write(out, "kakehashi_command_duration_seconds",
                  "Time to execute one command through the command service, durable append "
                  "included.");
  header(out, "kakehashi_commands_total", "Commands by event type and outcome.", "counter");
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, n] : commands_by_type_)
      out += "kakehashi_commands_total{type=\"" + key.first + "\",outcome=\"" + key.second +
             "\"} " + std::to_string(n) + '\n';
  }
  counter(out, "kakehashi_personal_data_reads_total",
          "Responses that carried personal data to the reader.",
          std::to_string(personal_reads_.load(std::memory_order_relaxed)));
  counter(out, "kakehashi_personal_data_read_log_failures_total",
          "Personal-data reads the read log failed to record.",
          std::to_string(personal_read_failures_.load(std::memory_order_relaxed)));
  gauge(out, "kakehashi_worker_queue_depth", "Blocking requests waiting for a worker thread.",
        static_cast<double>(worker_queue_depth));
  if (parts.store) {
    gauge(out, "kakehashi_log_head_position", "The last committed log position.",
          static_cast<double>(parts.store->head_position()));
    gauge(out, "kakehashi_store_writes_failed",
          "1 once a write failed and the store refuses appends until reopened.",
          parts.store->writes_failed() ? 1 : 0);
    // The disk's share of append latency: sync seconds per sync, and events per sync.
    auto commits = parts.store->commit_statistics();
    counter(out, "kakehashi_wal_syncs_total", "WAL syncs that made appended events durable.",
            std::to_string(commits.syncs));
    counter(out, "kakehashi_wal_synced_events_total", "Events made durable by those syncs.",
            std::to_string(commits.events));
    counter(out, "kakehashi_wal_overlapped_syncs_total",
            "Of those syncs, the ones in overlap mode (the engine worked during the sync before).",
            std::to_string(commits.overlapped_syncs));
    counter(out, "kakehashi_wal_sync_seconds_total", "Time spent in those syncs.",
            number(seconds(commits.sync_time)));
    gauge(out, "kakehashi_wal_sync_seconds_max", "The slowest WAL sync since the store opened.",
          seconds(commits.slowest_sync));
  }
  if (parts.projections) {
    gauge(out, "kakehashi_read_model_position", "The last log position the read model applied.",
          static_cast<double>(parts.projections->position()));
    gauge(out, "kakehashi_read_model_lag_events", "Log head minus the read model's position.",
          static_cast<double>(parts.projections->lag()));
  }
  return out;
}

}  // namespace kakehashi::api
