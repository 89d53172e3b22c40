#include "cli/fanout_latency.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <limits>

namespace kakehashi::cli::bench {

namespace {

// The decimal at the front of `text` (digits only, no sign), advancing past it; false when there
// are no digits or the value is above `max`.
bool take_decimal(std::string_view& text, std::uint64_t max, std::uint64_t& out) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || out > max) return false;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return true;
}

bool take_space(std::string_view& text) {
  if (text.empty() || text[0] != ' ') return false;
  text.remove_prefix(1);
  return true;
}

error bad_table(std::string message) {
  return make_error(errc::invalid_argument, "bad_ack_table", std::move(message));
}

}  // namespace

void sample_log::add(delivery_sample s) {
  if (size_ % block_samples == 0)
    blocks_.push_back(std::make_unique_for_overwrite<delivery_sample[]>(block_samples));
  blocks_.back()[size_ % block_samples] = s;
  ++size_;
}

std::string encode_ack_table(const ack_table& table) {
  std::string out =
      "acks " + std::to_string(table.first) + " " + std::to_string(table.offset_us.size());
  out.reserve(out.size() + table.offset_us.size() * 6);
  for (std::int32_t v : table.offset_us) {
    out += ' ';
    if (v == ack_table::none)
      out += '-';
    else
      out += std::to_string(v);
  }
  return out;
}

std::size_t ack_line_max_bytes(std::size_t entries) {
  // "acks " and two 20-digit numbers with their space; " 2147483647" per entry.
  return 5 + 20 + 1 + 20 + entries * 11;
}

result<ack_table> decode_ack_table(std::string_view line, const ack_table_limits& limits) {
  constexpr std::string_view prefix = "acks ";
  if (line.substr(0, prefix.size()) != prefix) return bad_table("not an acks line");
  line.remove_prefix(prefix.size());
  std::uint64_t first = 0, count = 0;
  if (!take_decimal(line, std::numeric_limits<std::uint64_t>::max(), first) || !take_space(line) ||
      !take_decimal(line, std::numeric_limits<std::uint64_t>::max(), count))
    return bad_table("expected: acks FIRST COUNT OFFSET...");
  if (count > limits.max_entries)
    return make_error(
        errc::too_large, "ack_table_too_large",
        std::to_string(count) + " entries, at most " + std::to_string(limits.max_entries));
  if (count > 0 &&
      (first < limits.min_first || first > limits.max_last || count - 1 > limits.max_last - first))
    return make_error(errc::too_large, "ack_table_out_of_range",
                      "positions " + std::to_string(first) + " + " + std::to_string(count) +
                          " outside " + std::to_string(limits.min_first) + ".." +
                          std::to_string(limits.max_last));
  ack_table table;
  table.first = first;
  table.offset_us.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    if (!take_space(line)) return bad_table("fewer entries than the count");
    if (!line.empty() && line[0] == '-' && (line.size() == 1 || line[1] == ' ')) {
      line.remove_prefix(1);
      table.offset_us.push_back(ack_table::none);
      continue;
    }
    std::uint64_t v = 0;
    if (!take_decimal(line, static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()),
                      v))
      return bad_table("entry " + std::to_string(i) + ": not '-' or 0.." +
                       std::to_string(std::numeric_limits<std::int32_t>::max()));
    table.offset_us.push_back(static_cast<std::int32_t>(v));
  }
  if (!line.empty()) return bad_table("bytes after the last entry");
  return table;
}

latency_quantiles quantiles_of(std::vector<std::int32_t>& us) {
  latency_quantiles q;
  q.count = us.size();
  if (us.empty()) return q;
  // Ascending quantiles: each nth_element only has to look right of the one before.
  auto at = [&](double quantile, std::size_t from) {
    auto k = static_cast<std::size_t>(quantile * static_cast<double>(us.size() - 1));
    std::nth_element(us.begin() + static_cast<std::ptrdiff_t>(from),
                     us.begin() + static_cast<std::ptrdiff_t>(k), us.end());
    return k;
  };
  auto ms = [&](std::size_t k) { return static_cast<double>(us[k]) / 1e3; };
  std::size_t k50 = at(0.50, 0);
  q.p50_ms = ms(k50);
  std::size_t k90 = at(0.90, k50);
  q.p90_ms = ms(k90);
  std::size_t k99 = at(0.99, k90);
  q.p99_ms = ms(k99);
  q.max_ms = static_cast<double>(
                 *std::max_element(us.begin() + static_cast<std::ptrdiff_t>(k99), us.end())) /
             1e3;
  return q;
}

fanout_latency summarize_fanout(const std::vector<const sample_log*>& logs, std::uint64_t base,
                                std::uint64_t measure_from, const ack_table* acks) {
  fanout_latency out;
  std::size_t total = 0;
  for (const sample_log* log : logs)
    total += log->size();
  // One buffer for the four sets, one after the other: 4 bytes a delivery on top of the samples.
  std::vector<std::int32_t> us;
  us.reserve(total);
  auto collect = [&](bool measured, auto latency_of) {
    us.clear();
    for (const sample_log* log : logs)
      for (std::size_t i = 0; i < log->size(); ++i) {
        const delivery_sample& s = (*log)[i];
        if ((base + s.index >= measure_from) != measured) continue;
        std::int32_t v = 0;
        if (latency_of(s, v)) us.push_back(v);
      }
    return quantiles_of(us);
  };
  auto from_time = [](const delivery_sample& s, std::int32_t& v) {
    v = std::max(s.from_time_us, 0);
    return true;
  };
  out.from_time = collect(true, from_time);
  out.from_time_warmup = collect(false, from_time);
  if (!acks) {
    out.primary = out.from_time;
    out.primary_warmup = out.from_time_warmup;
    return out;
  }
  auto from_commit = [&](const delivery_sample& s, std::int32_t& v) {
    const std::uint64_t position = base + s.index;
    if (position < acks->first || position - acks->first >= acks->offset_us.size()) {
      ++out.without_ack;
      return false;
    }
    const std::int32_t offset = acks->offset_us[position - acks->first];
    if (offset == ack_table::none) {
      ++out.without_ack;
      return false;
    }
    // In 64 bits: a from_time_us near INT32_MIN minus the offset would not fit in 32.
    const std::int64_t d = std::int64_t{s.from_time_us} - offset;
    if (d < 0) {
      ++out.before_ack;
      out.before_ack_max_ms = std::max(out.before_ack_max_ms, static_cast<double>(-d) / 1e3);
    }
    v = static_cast<std::int32_t>(std::max<std::int64_t>(d, 0));  // offset >= 0: d <= INT32_MAX
    return true;
  };
  out.primary = collect(true, from_commit);
  out.primary_warmup = collect(false, from_commit);
  return out;
}

bool line_reader::read(std::string& line, std::size_t max_bytes) {
  for (;;) {
    std::string_view pending(buffer_.data() + used_, buffer_.size() - used_);
    if (auto newline = pending.find('\n'); newline != std::string_view::npos) {
      if (newline > max_bytes) return false;
      line.assign(pending.substr(0, newline));
      used_ += newline + 1;
      return true;
    }
    if (pending.size() > max_bytes) return false;
    // Keep only the unread part, then read more after it.
    buffer_.erase(0, used_);
    used_ = 0;
    const std::size_t had = buffer_.size();
    buffer_.resize(had + 64 * 1024);
    ssize_t n;
    do {
      n = ::read(fd_, buffer_.data() + had, buffer_.size() - had);
    } while (n < 0 && errno == EINTR);
    buffer_.resize(had + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n <= 0) return false;
  }
}

}  // namespace kakehashi::cli::bench
