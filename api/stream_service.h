// What every WebSocket connection of `GET /v1/stream` shares: the handshake checks, the backend
// it streams from, the encoded-event cache and the counters. One per server, owned by a
// shared_ptr in the session context, so it outlives the last connection.
//
// Handshake (before upgrading, answered as plain HTTP when refused):
//   - a WebSocket upgrade (`Upgrade: websocket`) of GET /v1/stream, else 426 upgrade_required;
//   - Origin: absent (not a browser: nothing ambient to abuse), listed in allow_origins (exact
//     match, as for CORS), or the server's own origin (`http(s)://` + the Host header: the
//     dashboard page the server served itself), else 403 origin_not_allowed. Tokens are never
//     ambient (no cookies), so the check is defence in depth against cross-site WebSocket
//     hijacking rather than the only barrier;
//   - the client offers the `kakehashi.v1` subprotocol, else 400 subprotocol_required;
//   - a bearer token in `Authorization` or `?access_token=`: 401/429/503 as on every route.
//
// Encoded events: the CloudEvent text of an event is the same for every connection with the
// same delivery (full or redacted), so it is made once and shared (`encoded`). The cache is
// bounded in bytes; an erasure (key_vault::stats().erasures moving) invalidates every entry,
// so personal data of an erased subject is never served from it.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/backend.h"
#include "api/event_access.h"
#include "api/http.h"
#include "api/server.h"
#include "api/ws_protocol.h"
#include "events/roles.h"

namespace kakehashi::api {

class authenticator;
class ws_session;

// Counters of the WebSocket side, for tests, benchmarks and metrics. All monotonic except
// `connections` and `queued_bytes` (current values).
struct websocket_stats {
  std::atomic<std::uint64_t> connections{0};   // open now
  std::atomic<std::uint64_t> accepted{0};      // upgrades completed
  std::atomic<std::uint64_t> refused{0};       // handshakes answered with an HTTP error
  std::atomic<std::uint64_t> queued_bytes{0};  // waiting to be written, all connections, now
  // The most any one connection has had waiting to be written: stays under
  // websocket_options::max_queued_bytes plus one message.
  std::atomic<std::uint64_t> peak_connection_queued_bytes{0};
  // The most any store subscription has held in its live buffer when sampled (while its
  // connection's queue was full): stays under subscription_buffer_bytes.
  std::atomic<std::uint64_t> peak_subscription_buffered_bytes{0};
  std::atomic<std::uint64_t> messages_sent{0};
  std::atomic<std::uint64_t> events_sent{0};
  std::atomic<std::uint64_t> events_hidden{0};  // skipped by per-event authorization
  std::atomic<std::uint64_t> view_updates{0};
  std::atomic<std::uint64_t> errors_sent{0};
  // Times a connection stopped pumping because its write queue was full (backpressure).
  std::atomic<std::uint64_t> backpressure_pauses{0};
  std::atomic<std::uint64_t> encode_cache_hits{0};
  std::atomic<std::uint64_t> encode_cache_misses{0};

  static void raise_to(std::atomic<std::uint64_t>& peak, std::uint64_t value) {
    auto seen = peak.load(std::memory_order_relaxed);
    while (value > seen && !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
  }
};

class stream_service : public std::enable_shared_from_this<stream_service> {
 public:
  stream_service(const server_options& options, backend parts, std::shared_ptr<authenticator> auth);

  // Whether `req` is for the stream endpoint (the path, whatever the method).
  static bool is_stream_target(const http_request& req);

  // What a connection knows about its token's validity: the authenticator's generation and
  // the time when it was last found valid (see recheck_token).
  struct token_check {
    std::uint64_t generation = 0;
    std::chrono::steady_clock::time_point checked{};
  };

  struct handshake {
    std::optional<http_response> refusal;  // set: answer this and do not upgrade
    principal who;
    token_check token;
  };
  handshake check_handshake(const http_request& req, std::string_view client_address) const;

  // Whether `who`'s token still stands, for a connection that checked it as `seen` says. A
  // connection authenticates once, at the handshake, and may stay open for days, so before it
  // delivers anything or accepts an op it asks again: a revocation must end what the token can
  // read the moment requests are refused. Cheap enough to ask per batch: nothing but an atomic
  // load and a clock read while the authenticator's table is unchanged, and a lookup by id
  // (the file stat at most every recheck_interval) when it moved or the interval passed; the
  // latter makes a revocation by the CLI count with no HTTP request around to notice it.
  // Errors as authenticator::still_valid.
  status recheck_token(const principal& who, token_check& seen) const;

  // The CloudEvent text of `event` for `how` (not hidden); `erasures` is
  // store().keys().stats().erasures read before the caller decided anything about the event.
  result<std::shared_ptr<const std::string>> encoded(const recorded_event& event, delivery how,
                                                     std::uint64_t erasures);
  // encoded() for n events at once (one lock for the lookups): out[i] is null for a hidden
  // event and for one that cannot be encoded.
  void encoded_batch(const recorded_event* const* events, const delivery* how, std::size_t n,
                     std::uint64_t erasures, std::shared_ptr<const std::string>* out);

  // The view for a watch, computed from the live model. Errors: forbidden when `who` may not
  // read it; unavailable without a read model.
  struct view_result {
    position_t position = 0;
    boost::json::value view;
  };
  result<view_result> view(const principal& who, ws::view_kind kind,
                           const std::string& lg_code) const;
  // The lg_code a watch of `kind` is about: a municipality's pipeline without one is its own.
  static std::string effective_lg_code(const principal& who, ws::view_kind kind,
                                       const std::string& lg_code);

  // Wake-ups from subscriptions (on_ready, on the sequencer thread) for many connections at
  // once: the sequencer makes one post per published group, not one per connection (a post
  // from outside the I/O threads may cost a syscall to wake one; a thousand would stall the
  // sequencer for milliseconds). An I/O thread then wakes each connection on its strand.
  // Before set_executor (never, in a server) each wake-up is posted directly.
  void set_executor(boost::asio::any_io_executor executor);
  void wake_later(std::weak_ptr<ws_session> session);

  const websocket_options& options() const { return options_; }
  const backend& parts() const { return parts_; }
  websocket_stats& stats() { return *stats_; }

 private:
  bool origin_allowed(const http_request& req) const;

  websocket_options options_;
  std::vector<std::string> allow_origins_;
  backend parts_;
  std::shared_ptr<authenticator> auth_;
  std::shared_ptr<websocket_stats> stats_;

  struct cached {
    uuid id;
    std::uint64_t erasures = 0;
    std::shared_ptr<const std::string> text;
  };
  void drain_wakeups();
  using wake_list = std::shared_ptr<const std::vector<std::weak_ptr<ws_session>>>;
  void run_wakeups(wake_list ready, std::size_t from);

  std::mutex wake_mutex_;
  std::optional<boost::asio::any_io_executor> executor_;
  std::vector<std::weak_ptr<ws_session>> wake_ready_;
  bool wake_posted_ = false;

  std::shared_mutex cache_mutex_;
  std::map<std::pair<position_t, delivery>, cached> cache_;
  std::size_t cache_bytes_ = 0;
  std::uint64_t cache_erasures_ = 0;
};

}  // namespace kakehashi::api
