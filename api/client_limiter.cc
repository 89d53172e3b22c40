#include "api/client_limiter.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>

namespace kakehashi::api {

void token_bucket::refill(steady_time now, double burst, double per_second) {
  if (tokens < 0) {
    tokens = burst;
    last = now;
    return;
  }
  if (now > last) {
    std::chrono::duration<double> elapsed = now - last;
    tokens = std::min(burst, tokens + elapsed.count() * per_second);
    last = now;
  }
}

bool token_bucket::take(steady_time now, double burst, double per_second) {
  refill(now, burst, per_second);
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}

client_limiter::client_limiter(unsigned burst, double per_second, std::size_t capacity)
    : burst_(burst), per_second_(per_second), capacity_(capacity) {}

bool client_limiter::allows(std::string_view client, steady_time now) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(client));
  if (it == buckets_.end()) return burst_ >= 1;
  it->second.refill(now, burst_, per_second_);
  return it->second.tokens >= 1;
}

bool client_limiter::charge(std::string_view client, steady_time now) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(client));
  if (it == buckets_.end()) {
    // A sweep walks the whole table: at most one a second, so a flood of new addresses cannot
    // turn every failed attempt into a full scan.
    if (buckets_.size() >= capacity_ && (!swept_ || now - last_sweep_ >= std::chrono::seconds(1))) {
      sweep(now);
      swept_ = true;
      last_sweep_ = now;
    }
    if (buckets_.size() >= capacity_) return false;
    it = buckets_.emplace(std::string(client), token_bucket{}).first;
  }
  return it->second.take(now, burst_, per_second_);
}

void client_limiter::sweep(steady_time now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it->second.refill(now, burst_, per_second_);
    if (it->second.tokens >= burst_)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

std::size_t client_limiter::tracked() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

std::string client_limiter::key_of(std::string_view address) {
  boost::system::error_code ec;
  auto parsed = boost::asio::ip::make_address(std::string(address), ec);
  if (ec) return std::string(address);
  if (parsed.is_v4()) return parsed.to_string();
  auto v6 = parsed.to_v6();
  if (v6.is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace kakehashi::api
