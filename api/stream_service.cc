#include "api/stream_service.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/serialize.hpp>

#include "api/auth.h"
#include "api/authenticator.h"
#include "api/router.h"
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
  request_view view;
  view.message = &req;
  std::tie(view.path, view.query) = split_target(req.target());
  view.client_address = client_address;
  std::string_view token = bearer_token(view, token_source::header_or_query);
  auto who = auth_->authenticate(token, client_address);
  if (!who) return refuse(auth_error_response(who.err(), auth_->retry_after(), !token.empty()));
  out.who = std::move(*who);
  return out;
}

result<std::shared_ptr<const std::string>> stream_service::encoded(const event_ptr& event,
                                                                   delivery how,
                                                                   std::uint64_t erasures) {
  const auto key = std::make_pair(event->position, how);
  {
    std::lock_guard lock(cache_mutex_);
    if (erasures > cache_erasures_) {
      // Someone's personal data became unreadable: nothing decoded before may be served again.
      cache_.clear();
      cache_bytes_ = 0;
      cache_erasures_ = erasures;
    }
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.id == event->id && it->second.erasures >= erasures) {
      stats_->encode_cache_hits.fetch_add(1, std::memory_order_relaxed);
      return it->second.text;
    }
  }
  stats_->encode_cache_misses.fetch_add(1, std::memory_order_relaxed);
  auto object = cloud_event(*event, parts_.store->keys(), how);
  if (!object) return object.take_err();
  auto text = std::make_shared<const std::string>(boost::json::serialize(*object));

  std::lock_guard lock(cache_mutex_);
  if (erasures < cache_erasures_) return text;  // decoded before an erasure: use once, keep not
  auto [it, inserted] = cache_.insert_or_assign(key, cached{event->id, erasures, text});
  (void)it;
  (void)inserted;
  cache_bytes_ += text->size();
  // Oldest positions first: live subscribers all want the newest ones.
  while (cache_bytes_ > options_.event_cache_bytes && !cache_.empty()) {
    cache_bytes_ -= cache_.begin()->second.text->size();
    cache_.erase(cache_.begin());
  }
  return text;
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
        out.view = views::pipeline(m, lg, today);
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
