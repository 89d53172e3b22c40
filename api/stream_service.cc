#include "api/stream_service.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/serialize.hpp>

#include "api/auth.h"
#include "api/authenticator.h"
#include "api/input.h"
#include "api/router.h"
#include "api/ws_session.h"
#include "events/ids.h"
#include "projections/runner.h"
#include "projections/views.h"

namespace kakehashi::api {

namespace {

constexpr std::string_view stream_path = "/v1/stream";

// The comma-separated tokens of every Sec-WebSocket-Protocol header include `wanted`.
bool offers_subprotocol(const http_request& req, std::string_view wanted) {
  auto range = req.equal_range(http::field::sec_websocket_protocol);
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view list = it->value();
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
        item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
        item.remove_suffix(1);
      if (item == wanted) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return false;
}

}  // namespace

stream_service::stream_service(const server_options& options, backend parts,
                               std::shared_ptr<authenticator> auth)
    : options_(options.websocket),
      allow_origins_(options.allow_origins),
      parts_(parts),
      auth_(std::move(auth)),
      stats_(options.websocket.stats ? options.websocket.stats
                                     : std::make_shared<websocket_stats>()) {
  for (auto& origin : allow_origins_)
    while (!origin.empty() && origin.back() == '/')
      origin.pop_back();
}

void stream_service::set_executor(boost::asio::any_io_executor executor) {
  std::lock_guard lock(wake_mutex_);
  executor_ = std::move(executor);
}

void stream_service::wake_later(std::weak_ptr<ws_session> session) {
  std::unique_lock lock(wake_mutex_);
  if (!executor_) {
    lock.unlock();
    if (auto s = session.lock()) s->wake_soon();
    return;
  }
  wake_ready_.push_back(std::move(session));
  if (wake_posted_) return;
  wake_posted_ = true;
  auto ex = *executor_;
  lock.unlock();
  boost::asio::post(ex, [self = shared_from_this()] { self->drain_wakeups(); });
}

void stream_service::drain_wakeups() {
  // Taken whole: once wake_posted_ is false again, the next publish posts another drain, which
  // may run on the other I/O thread while this one is still waking connections.
  auto ready = std::make_shared<std::vector<std::weak_ptr<ws_session>>>();
  {
    std::lock_guard lock(wake_mutex_);
    ready->swap(wake_ready_);
    wake_ready_.reserve(ready->size());
    wake_posted_ = false;
  }
  run_wakeups(std::move(ready), 0);
}

void stream_service::run_wakeups(wake_list ready, std::size_t from) {
  // Each connection is woken right here, on its strand (wake_here), rather than posted as a
  // handler of its own: a post per connection per event went through the scheduler's queue and
  // its lock, which the I/O threads then fought over. So that every I/O thread still takes a
  // share, and no task runs long, a task wakes a chunk and first hands the rest on as one task.
  constexpr std::size_t chunk = 64;
  std::size_t to = std::min(ready->size(), from + chunk);
  if (to < ready->size()) {
    boost::asio::any_io_executor ex;
    {
      std::lock_guard lock(wake_mutex_);
      ex = *executor_;  // set: this runs as a task posted to it
    }
    boost::asio::post(ex, [self = shared_from_this(), ready, to] { self->run_wakeups(ready, to); });
  }
  // Tasks read disjoint parts of the list, which nothing changes any more.
  for (std::size_t i = from; i < to; ++i)
    if (auto session = (*ready)[i].lock()) session->wake_here();
}

bool stream_service::is_stream_target(const http_request& req) {
  return split_target(req.target()).first == stream_path;
}

bool stream_service::origin_allowed(const http_request& req) const {
  auto origin_field = req.find(http::field::origin);
  if (origin_field == req.end()) return true;  // not a browser
  std::string_view origin = origin_field->value();
  for (const auto& allowed : allow_origins_)
    if (origin == allowed) return true;
  // The server's own origin: the page that opens the socket was served by this server.
  auto host_field = req.find(http::field::host);
  if (host_field == req.end() || host_field->value().empty()) return false;
  std::string_view host = host_field->value();
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (origin.size() == scheme.size() + host.size() && origin.substr(0, scheme.size()) == scheme &&
        boost::beast::iequals(origin.substr(scheme.size()), host))
      return true;
  }
  return false;
}

stream_service::handshake stream_service::check_handshake(const http_request& req,
                                                          std::string_view client_address) const {
  handshake out;
  auto refuse = [&](http_response res) {
    stats_->refused.fetch_add(1, std::memory_order_relaxed);
    out.refusal = std::move(res);
    return out;
  };
  if (req.method() != http::verb::get || !boost::beast::websocket::is_upgrade(req)) {
    http_response res = error_response(http::status::upgrade_required, "upgrade_required",
                                       "GET /v1/stream is a WebSocket endpoint (RFC 6455)");
    res.set(http::field::upgrade, "websocket");
    return refuse(std::move(res));
  }
  if (!origin_allowed(req))
    return refuse(error_response(http::status::forbidden, "origin_not_allowed",
                                 "this origin may not open the stream", "Origin"));
  if (!offers_subprotocol(req, ws::subprotocol))
    return refuse(error_response(http::status::bad_request, "subprotocol_required",
                                 "offer the kakehashi.v1 subprotocol", "Sec-WebSocket-Protocol"));
  if (auto once = at_most_once(req, "Authorization"); !once)
    return refuse(error_response(once.err()));
  request_view view;
  view.message = &req;
  std::tie(view.path, view.query) = split_target(req.target());
  view.client_address = client_address;
  std::string_view token = bearer_token(view, token_source::header_or_query);
  // Read before the check: a change after it moves the generation, so the connection looks again.
  out.token = {auth_->generation(), std::chrono::steady_clock::now()};
  auto who = auth_->authenticate(token, client_address);
  if (!who) return refuse(auth_error_response(who.err(), auth_->retry_after(), !token.empty()));
  out.who = std::move(*who);
  return out;
}

status stream_service::recheck_token(const principal& who, token_check& seen) const {
  auto generation = auth_->generation();
  auto now = std::chrono::steady_clock::now();
  if (generation == seen.generation && now - seen.checked < auth_->recheck_interval()) return {};
  if (auto valid = auth_->still_valid(who.token_id); !valid) return valid;
  // `generation` as read before the lookup: had the lookup re-read the file, the next call
  // looks once more, which costs one lookup and misses nothing.
  seen = {generation, now};
  return {};
}

result<std::shared_ptr<const std::string>> stream_service::encoded(const recorded_event& event,
                                                                   delivery how,
                                                                   std::uint64_t erasures) {
  std::shared_ptr<const std::string> out;
  const recorded_event* one = &event;
  encoded_batch(&one, &how, 1, erasures, &out);
  if (!out) return make_error(errc::internal, "event_unreadable", "the event cannot be encoded");
  return out;
}

void stream_service::encoded_batch(const recorded_event* const* events, const delivery* how,
                                   std::size_t n, std::uint64_t erasures,
                                   std::shared_ptr<const std::string>* out) {
  std::size_t missing = 0;
  {
    std::shared_lock lock(cache_mutex_);
    bool stale = erasures > cache_erasures_;
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = nullptr;
      if (how[i] == delivery::hidden) continue;
      if (!stale) {
        auto it = cache_.find(std::make_pair(events[i]->position, how[i]));
        if (it != cache_.end() && it->second.id == events[i]->id &&
            it->second.erasures >= erasures) {
          out[i] = it->second.text;
          continue;
        }
      }
      ++missing;
    }
  }
  stats_->encode_cache_hits.fetch_add(n - missing, std::memory_order_relaxed);
  if (missing == 0) return;
  stats_->encode_cache_misses.fetch_add(missing, std::memory_order_relaxed);

  for (std::size_t i = 0; i < n; ++i) {
    if (out[i] || how[i] == delivery::hidden) continue;
    auto object = cloud_event(*events[i], *parts_.store, how[i]);
    if (!object) continue;  // stays null: the caller reports it
    auto text = std::make_shared<const std::string>(boost::json::serialize(*object));
    out[i] = text;

    std::unique_lock lock(cache_mutex_);
    if (erasures > cache_erasures_) {
      // Someone's personal data became unreadable: nothing decoded before may be served again.
      cache_.clear();
      cache_bytes_ = 0;
      cache_erasures_ = erasures;
    }
    if (erasures < cache_erasures_) continue;  // decoded before an erasure: use once, keep not
    auto key = std::make_pair(events[i]->position, how[i]);
    auto [it, inserted] = cache_.try_emplace(key, cached{events[i]->id, erasures, text});
    if (!inserted) {
      cache_bytes_ -= it->second.text->size();
      it->second = cached{events[i]->id, erasures, text};
    }
    cache_bytes_ += text->size();
    // Oldest positions first: live subscribers all want the newest ones.
    while (cache_bytes_ > options_.event_cache_bytes && !cache_.empty()) {
      cache_bytes_ -= cache_.begin()->second.text->size();
      cache_.erase(cache_.begin());
    }
  }
}

std::string stream_service::effective_lg_code(const principal& who, ws::view_kind kind,
                                              const std::string& lg_code) {
  if (kind == ws::view_kind::pipeline && lg_code.empty() && who.role == access_role::municipality)
    return who.lg_code;
  return lg_code;
}

result<stream_service::view_result> stream_service::view(const principal& who, ws::view_kind kind,
                                                         const std::string& lg_code) const {
  // Views across every municipality need the right to read them all; a municipality watches
  // only its own pipeline.
  std::string lg = effective_lg_code(who, kind, lg_code);
  if (!can_read_municipality(who, kind == ws::view_kind::pipeline ? lg : std::string()))
    return make_error(errc::forbidden, "forbidden",
                      "this token may not watch that view of that municipality", "lg_code");
  if (!parts_.projections)
    return make_error(errc::unavailable, "unavailable", "the read model is not available");
  std::string today = views::tokyo_date(now_micros());
  return parts_.projections->read([&](const read_model& m) {
    view_result out;
    out.position = m.position;
    switch (kind) {
      case ws::view_kind::pipeline:
        out.view = views::pipeline(m, lg, today, {}, who.role == access_role::municipality);
        break;
      case ws::view_kind::headline:
        out.view = views::headline(m);
        break;
      case ws::view_kind::work_queue:
        out.view = views::work_queue(m, today);
        break;
    }
    return out;
  });
}

}  // namespace kakehashi::api
