// The server's side of the token file (api/token_store.h): turns a presented bearer token into
// a principal, and slows down clients that keep presenting bad ones. Created with
// authenticator::open; the implementation is hidden.
//
// Freshness: an unknown token makes the check stat the token file (one syscall) and re-read it
// if it changed, so a token issued by `kakehashi token issue` in another process is accepted at
// once. A known token is checked against the file at most every recheck_interval, so a
// revocation by the CLI takes effect within that interval (one through the HTTP API at once:
// the route calls refresh()); a stat per request would cost more than the rest of the check.
// Re-reads are rate-bounded by a token bucket (reload_burst, reload_per_second); while the
// budget is spent the previous table serves a little longer. A file that stops validating fails
// closed: every check answers unavailable until the file changes and validates again (skipping
// a bad line could resurrect a revoked token).
//
// Bad tokens: a client address (IPv6: its /64) may fail bad_token_burst times, then once per
// 60/bad_tokens_per_minute seconds; meanwhile every check from it answers overloaded (429)
// without looking at the token. A missing token is not a failure (browsers first try without).
// At most max_tracked_clients addresses are tracked.
//
// Thread safety: every member may be called from any thread concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/token_store.h"
#include "events/result.h"
#include "events/roles.h"

namespace kakehashi::api {

struct authenticator_options {
  // The data directory holding tokens.tsv. Empty: there is no token file and every token is
  // refused.
  std::string data_dir;
  std::chrono::milliseconds recheck_interval{100};
  unsigned reload_burst = 8;
  double reload_per_second = 4;
  unsigned bad_token_burst = 10;
  unsigned bad_tokens_per_minute = 10;
  std::size_t max_tracked_clients = 4096;
  // The time source for both rate limits; steady_clock::now when empty. Tests freeze it.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

class authenticator {
 public:
  // Reads the token file once; errors as token_store::load (a corrupt file refuses to start).
  static result<std::unique_ptr<authenticator>> open(authenticator_options options);

  virtual ~authenticator() = default;
  authenticator(const authenticator&) = delete;
  authenticator& operator=(const authenticator&) = delete;

  // The principal `bearer` stands for, as presented by `client_address` (the peer's IP as text).
  // Errors (code in quotes): unauthorized "unauthorized" for a missing, malformed, unknown or
  // revoked token; overloaded "too_many_requests" while the client is being slowed down;
  // unavailable "tokens_unavailable" while the token file does not validate.
  virtual result<principal> authenticate(std::string_view bearer,
                                         std::string_view client_address) = 0;

  // The file, for the routes that issue and revoke tokens.
  virtual const token_store& tokens() const = 0;
  // Re-reads the file now if it changed, outside the reload budget: called right after this
  // process wrote to it, so its own writes count at once whatever the budget.
  virtual status refresh() = 0;
  // How long a client told "too many requests" should wait: one refill interval.
  virtual std::chrono::seconds retry_after() const = 0;
  // How many times the file has been (re)read since open, the first read included.
  virtual std::uint64_t reloads() const = 0;

  // For connections that outlive the request that authenticated them (the WebSocket stream):
  // generation() moves whenever the table checks answer from changes (a re-read, the file turning
  // unreadable), before any request can see the change, so a token checked at one generation
  // stands until it moves. still_valid() looks `token_id` up as authenticate() would (first
  // looking at the file when recheck_interval has passed), without charging the bad-token
  // limit. Errors: unauthorized "token_revoked" (revoked, or gone from the file), unavailable
  // "tokens_unavailable".
  virtual std::uint64_t generation() const = 0;
  virtual status still_valid(const uuid& token_id) = 0;
  virtual std::chrono::milliseconds recheck_interval() const = 0;

 protected:
  authenticator() = default;
};

}  // namespace kakehashi::api
