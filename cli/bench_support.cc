#include "cli/bench_support.h"

#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace kakehashi::cli::bench {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// -1 unless s[at, at + n) are all digits.
int digits(std::string_view s, std::size_t at, std::size_t n) {
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[at + i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

std::int64_t system_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t parse_event_time(std::string_view t) {
  if (t.size() < 27) return -1;
  t = t.substr(0, 27);
  if (t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != '.' ||
      t[26] != 'Z')
    return -1;
  int year = digits(t, 0, 4), month = digits(t, 5, 2), day = digits(t, 8, 2);
  int hour = digits(t, 11, 2), minute = digits(t, 14, 2), second = digits(t, 17, 2);
  int micros = digits(t, 20, 6);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || minute < 0 ||
      second < 0 || micros < 0)
    return -1;
  std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second;
  return secs * 1'000'000 + micros;
}

std::string_view after_key(std::string_view text, std::string_view key) {
  const void* at = ::memmem(text.data(), text.size(), key.data(), key.size());
  if (!at) return {};
  return text.substr(static_cast<std::size_t>(static_cast<const char*>(at) - text.data()) +
                     key.size());
}

std::uint64_t leading_number(std::string_view text) {
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') break;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

double rss_mb(pid_t pid) {
  std::string path = pid == 0 ? "/proc/self/status" : "/proc/" + std::to_string(pid) + "/status";
  std::ifstream status(path);
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

std::size_t latency_histogram::bucket_of(std::uint64_t us) {
  if (us < linear) return static_cast<std::size_t>(us);
  us = std::min<std::uint64_t>(us, (std::uint64_t{1} << 40) - 1);
  const auto width = static_cast<std::size_t>(std::bit_width(us));    // 8..40
  const auto mantissa = static_cast<std::size_t>(us >> (width - 7));  // 64..127
  return linear + (width - 8) * per_octave + (mantissa - per_octave);
}

std::uint64_t latency_histogram::upper_bound_of(std::size_t bucket) {
  if (bucket < linear) return bucket + 1;
  const std::size_t width = (bucket - linear) / per_octave + 8;
  const std::uint64_t mantissa = (bucket - linear) % per_octave + per_octave;
  return (mantissa + 1) << (width - 7);
}

void latency_histogram::add_us(std::int64_t us) {
  if (us < 0) us = 0;
  counts_[bucket_of(static_cast<std::uint64_t>(us))].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  auto seen = max_us_.load(std::memory_order_relaxed);
  while (us > seen && !max_us_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
  }
}

double latency_histogram::quantile_ms(double q) const {
  const std::uint64_t total = count();
  if (total == 0) return 0;
  auto target = static_cast<std::uint64_t>(q * static_cast<double>(total - 1)) + 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets; ++i) {
    seen += counts_[i].load(std::memory_order_relaxed);
    if (seen >= target) return static_cast<double>(upper_bound_of(i)) / 1e3;
  }
  return max_ms();
}

}  // namespace kakehashi::cli::bench
