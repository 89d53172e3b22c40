// Rate limits keyed by client: a token bucket per client address, in a table of bounded size.
// Used to slow down repeated failed token checks from one address (api/authenticator.h).
//
// Time is passed in by the caller, so tests drive it without sleeping.
// Thread safety: client_limiter is internally locked; token_bucket is plain data.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kakehashi::api {

using steady_time = std::chrono::steady_clock::time_point;

// Holds up to `burst` tokens, refilled continuously at `per_second`; starts full.
struct token_bucket {
  double tokens = -1;  // < 0: not started yet (full)
  steady_time last{};

  void refill(steady_time now, double burst, double per_second);
  // Refills, then takes one token if there is one.
  bool take(steady_time now, double burst, double per_second);
};

class client_limiter {
 public:
  // Each client may fail `burst` times in a row, then once per 1/per_second seconds. At most
  // `capacity` clients are tracked at once.
  client_limiter(unsigned burst, double per_second, std::size_t capacity);

  // False while `client` has no attempt left.
  bool allows(std::string_view client, steady_time now);
  // Charges one failed attempt to `client`. False when the table is full of clients that are
  // all still being penalized: the caller then refuses the attempt, so a flood of addresses
  // cannot grow memory nor push out the clients being slowed down.
  bool charge(std::string_view client, steady_time now);

  std::size_t tracked() const;

  // The key a client address is tracked under: the address itself for IPv4, the /64 prefix for
  // IPv6 (one host can hold a whole /64), the text unchanged when it does not parse.
  static std::string key_of(std::string_view address);

 private:
  // Drops the clients whose bucket has refilled (they are not being penalized any more).
  void sweep(steady_time now);

  const double burst_;
  const double per_second_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, token_bucket> buckets_;
  bool swept_ = false;
  steady_time last_sweep_{};
};

}  // namespace kakehashi::api
