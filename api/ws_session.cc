#include "api/ws_session.h"

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/json/serialize.hpp>
#include <functional>
#include <limits>

#include "api/event_access.h"
#include "api/session_context.h"
#include "api/stream_service.h"
#include "events/ids.h"
#include "projections/runner.h"
#include "projections/views.h"

namespace kakehashi::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

// Events taken from a subscription at a time, and decided under one read-model lock.
constexpr std::size_t pump_batch = 64;
// While a municipality's events wait for the read model: first retry, and the longest pause.
constexpr std::chrono::milliseconds model_retry_min{1};
constexpr std::chrono::milliseconds model_retry_max{100};

// Non-municipality roles never consult the model (api/event_access.h).
const read_model& no_model() {
  static const read_model empty;
  return empty;
}

}  // namespace

ws_session::ws_session(net::ip::tcp::socket&& socket, std::shared_ptr<session_context> context,
                       principal who)
    : ws_(std::move(socket)),
      context_(std::move(context)),
      service_(*context_->streams),
      who_(std::move(who)),
      model_timer_(ws_.get_executor()),
      watch_timer_(ws_.get_executor()) {}

ws_session::~ws_session() {
  auto& stats = service_.stats();
  stats.queued_bytes.fetch_sub(queued_bytes_, std::memory_order_relaxed);
  if (counted_) stats.connections.fetch_sub(1, std::memory_order_relaxed);
  subs_.clear();  // detaches from the live feed before the registry lets shutdown finish
  context_->connections.remove(this);
}

void ws_session::start(http_request upgrade) {
  net::dispatch(ws_.get_executor(), [self = shared_from_this(),
                                     req = std::move(upgrade)]() mutable {
    self->upgrade_ = std::move(req);
    self->counted_ = true;
    self->service_.stats().connections.fetch_add(1, std::memory_order_relaxed);
    const websocket_options& opts = self->service_.options();
    // The WebSocket layer owns the timeouts from here; the TCP stream's would cut it off.
    beast::get_lowest_layer(self->ws_).expires_never();
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = opts.handshake_timeout;
    timeouts.idle_timeout = opts.idle_timeout;
    timeouts.keep_alive_pings = true;
    self->ws_.set_option(timeouts);
    self->ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "kakehashi");
      res.set(http::field::sec_websocket_protocol, ws::subprotocol);
    }));
    self->ws_.read_message_max(opts.max_message_bytes);
    // One frame per message: one gather write, never a frame per 4 KiB.
    self->ws_.auto_fragment(false);
    self->ws_.text(true);
    self->ws_.async_accept(self->upgrade_, beast::bind_front_handler(&ws_session::on_accept, self));
  });
}

void ws_session::shutdown() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    if (!self->open_) return self->close_socket();
    self->close_wanted_ = true;
    self->begin_close();
  });
}

void ws_session::force_close() {
  net::post(ws_.get_executor(), [self = shared_from_this()] { self->close_socket(); });
}

void ws_session::on_accept(error_code ec) {
  upgrade_ = {};
  if (ec) return close_socket();
  open_ = true;
  service_.stats().accepted.fetch_add(1, std::memory_order_relaxed);
  if (close_wanted_) return begin_close();
  do_read();
}

// ---- closing

void ws_session::begin_close() {
  closing_ = true;
  model_timer_.cancel();
  watch_timer_.cancel();
  if (close_sent_ || !open_) return;
  if (writing_) return;  // on_write comes back here: a close may not overlap a write
  close_sent_ = true;
  ws_.async_close(websocket::close_code::going_away, [self = shared_from_this()](error_code) {
    // Beast has torn the connection down (or the handshake timed out); make sure.
    self->close_socket();
  });
}

void ws_session::close_socket() {
  closing_ = true;
  model_timer_.cancel();
  watch_timer_.cancel();
  auto& tcp = beast::get_lowest_layer(ws_);
  error_code ignored;
  tcp.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  tcp.close();  // cancels whatever is pending; the handlers then let the session end
}

// ---- reading client messages

bool ws_session::queue_full() const {
  return queued_bytes_ >= service_.options().max_queued_bytes;
}

void ws_session::do_read() {
  if (reading_ || closing_ || !open_) return;
  if (queue_full()) return;  // on_write resumes reading once the queue has room
  reading_ = true;
  ws_.async_read(read_buffer_, beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
}

void ws_session::on_read(error_code ec, std::size_t) {
  reading_ = false;
  if (ec) {
    // The peer closed, went idle, broke the protocol or sent too large a message (Beast has
    // answered with the close code already), or we are shutting down.
    if (!close_sent_) close_socket();
    return;
  }
  if (closing_) return;
  if (!ws_.got_text()) {
    send_error("", "bad_message", "messages are JSON text, not binary");
  } else {
    auto data = read_buffer_.data();
    handle_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
  }
  read_buffer_.consume(read_buffer_.size());
  do_read();
}

void ws_session::handle_message(std::string_view text) {
  ws::parse_result parsed = ws::parse_client_op(text);
  if (!parsed.ok) return send_error(parsed.error.sub, parsed.error.code, parsed.error.message);
  switch (parsed.op.op) {
    case ws::op_kind::ping:
      return enqueue({ws::pong_message(), nullptr, nullptr});
    case ws::op_kind::subscribe:
      return subscribe(std::move(parsed.op));
    case ws::op_kind::watch:
      return watch(std::move(parsed.op));
    case ws::op_kind::unsubscribe:
      return unsubscribe(parsed.op.id);
  }
}

void ws_session::subscribe(ws::client_op op) {
  const std::string& id = op.id;
  if (subs_.count(id) || watches_.count(id))
    return send_error(id, "duplicate_id", "a subscription or watch with this id is open");
  if (subs_.size() + watches_.size() >= service_.options().max_subscriptions)
    return send_error(id, "too_many_subscriptions",
                      "this connection has as many subscriptions and watches as it may");
  auto filter = event_filter::parse(op.stream, std::move(op.types));
  if (!filter)  // the types were checked by the parser: it is the stream name
    return send_error(id, "invalid_stream",
                      "stream is $all, $ce-<category> or a stream name such as need-<id>");
  const backend& parts = service_.parts();
  bool needs_model = who_.role == access_role::municipality;
  if (needs_model && !parts.projections)
    return send_error(id, "unavailable", "the read model is not available");

  subscription_options options;
  options.filter = std::move(*filter);
  switch (op.from) {
    case ws::start_kind::start:
      options.from_position = 1;
      break;
    case ws::start_kind::end:
      options.from_position = parts.store->head_position() + 1;
      break;
    case ws::start_kind::position:
      options.from_position = std::max<position_t>(op.from_position, 1);
      break;
  }
  options.max_buffered_bytes = service_.options().subscription_buffer_bytes;
  // Runs on the sequencer thread: only hand the work to this connection's strand.
  options.on_ready = [weak = weak_from_this(), ex = ws_.get_executor()] {
    net::post(ex, [weak] {
      if (auto self = weak.lock()) self->pump();
    });
  };
  auto feed = parts.store->subscribe(std::move(options));
  if (!feed) return send_error(id, "unavailable", "the store cannot be subscribed to now");

  stream_sub sub;
  sub.feed = std::move(*feed);
  sub.head = std::make_shared<const std::string>(ws::event_message_head(id));
  sub.needs_model = needs_model;
  subs_.emplace(id, std::move(sub));
  pump();
}

void ws_session::watch(ws::client_op op) {
  const std::string& id = op.id;
  if (subs_.count(id) || watches_.count(id))
    return send_error(id, "duplicate_id", "a subscription or watch with this id is open");
  if (subs_.size() + watches_.size() >= service_.options().max_subscriptions)
    return send_error(id, "too_many_subscriptions",
                      "this connection has as many subscriptions and watches as it may");
  auto view = service_.view(who_, op.view, op.lg_code);
  if (!view) return send_error(id, view.err().code, view.err().message);
  std::string text = boost::json::serialize(view->view);
  watch_sub w;
  w.kind = op.view;
  w.lg_code = op.lg_code;
  w.last_hash = std::hash<std::string>{}(text);
  w.last_position = view->position;
  watches_.emplace(id, std::move(w));
  if (watch_day_.empty()) watch_day_ = views::tokyo_date(now_micros());
  enqueue({ws::view_message("snapshot", id, view->position, text), nullptr, nullptr});
  arm_watch_timer();
}

void ws_session::unsubscribe(const std::string& id) {
  if (subs_.erase(id) || watches_.erase(id)) return;
  send_error(id, "unknown_subscription", "no subscription or watch with this id is open");
}

// ---- writing

void ws_session::send_error(std::string_view sub, std::string_view code, std::string_view message) {
  service_.stats().errors_sent.fetch_add(1, std::memory_order_relaxed);
  enqueue({ws::error_message(sub, code, message), nullptr, nullptr});
}

void ws_session::enqueue(outgoing message) {
  if (closing_) return;
  std::size_t bytes = message.size();
  queued_bytes_ += bytes;
  auto& stats = service_.stats();
  stats.queued_bytes.fetch_add(bytes, std::memory_order_relaxed);
  websocket_stats::raise_to(stats.peak_connection_queued_bytes, queued_bytes_);
  queue_.push_back(std::move(message));
  do_write();
}

void ws_session::do_write() {
  if (writing_ || queue_.empty() || closing_ || !open_) return;
  writing_ = true;
  const outgoing& m = queue_.front();
  auto done = beast::bind_front_handler(&ws_session::on_write, shared_from_this());
  if (m.head) {
    std::array<net::const_buffer, 3> parts{
        net::buffer(*m.head), net::buffer(*m.body),
        net::buffer(ws::event_message_tail.data(), ws::event_message_tail.size())};
    ws_.async_write(parts, std::move(done));
  } else {
    ws_.async_write(net::buffer(m.text), std::move(done));
  }
}

void ws_session::on_write(error_code ec, std::size_t) {
  writing_ = false;
  if (ec) return close_socket();
  std::size_t bytes = queue_.front().size();
  queued_bytes_ -= bytes;
  auto& stats = service_.stats();
  stats.queued_bytes.fetch_sub(bytes, std::memory_order_relaxed);
  stats.messages_sent.fetch_add(1, std::memory_order_relaxed);
  queue_.pop_front();
  if (close_wanted_) return begin_close();
  if (closing_) return;
  // Resume taking events once half the queue is free, so it is refilled in large steps.
  if (pump_blocked_ && queued_bytes_ <= service_.options().max_queued_bytes / 2) {
    pump_blocked_ = false;
    pump();
  }
  do_read();
  do_write();
}

// ---- subscriptions

void ws_session::pump() {
  if (closing_ || !open_) return;
  bool progress = true;
  while (progress && !queue_full()) {
    progress = false;
    // Round robin, so one busy subscription does not starve the connection's others.
    for (auto it = subs_.begin(); it != subs_.end() && !queue_full();) {
      switch (pump_one(it->first, it->second)) {
        case pump_step::progress:
          progress = true;
          ++it;
          break;
        case pump_step::idle:
          ++it;
          break;
        case pump_step::failed:
          it = subs_.erase(it);
          break;
      }
    }
  }
  if (queue_full() && !pump_blocked_) {
    pump_blocked_ = true;
    auto& stats = service_.stats();
    stats.backpressure_pauses.fetch_add(1, std::memory_order_relaxed);
    for (auto& [id, sub] : subs_)
      websocket_stats::raise_to(stats.peak_subscription_buffered_bytes,
                                sub.feed->stats().buffered_bytes);
  }
}

ws_session::pump_step ws_session::pump_one(const std::string& id, stream_sub& sub) {
  if (!deliver_pending(id, sub) || queue_full()) return pump_step::idle;
  auto batch = sub.feed->next(pump_batch, std::chrono::milliseconds(0));
  if (!batch) {
    send_error(id, "unavailable",
               "the store could not be read; subscribe again from the last position received + 1");
    return pump_step::failed;
  }
  if (batch->caught_up && !sub.caught_up_sent && !sub.caught_up_at)
    sub.caught_up_at = batch->next_position - 1;
  if (batch->events.empty()) {
    if (batch->caught_up) {
      deliver_pending(id, sub);  // the caught_up message, the first time
      return pump_step::idle;    // on_ready wakes us for the next event
    }
    // Behind, and this round examined only events the filter skips, or the log moved on while
    // the feed was joining the live list: no on_ready will come, so go round again after the
    // strand's other work.
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->pump(); });
    return pump_step::idle;
  }
  for (auto& e : batch->events)
    sub.pending.push_back(std::move(e));
  return pump_step::progress;
}

bool ws_session::deliver_pending(const std::string& id, stream_sub& sub) {
  if (!sub.pending.empty()) {
    const backend& parts = service_.parts();
    // Read before deciding anything: an erasure after this makes the cache re-encode.
    std::uint64_t erasures = parts.store->keys().stats().erasures;
    position_t applied =
        sub.needs_model ? parts.projections->position() : std::numeric_limits<position_t>::max();
    std::array<delivery, pump_batch> decided{};
    auto& stats = service_.stats();
    while (!sub.pending.empty() && !queue_full()) {
      std::size_t n = 0;
      while (n < sub.pending.size() && n < pump_batch && sub.pending[n]->position <= applied)
        ++n;
      if (n == 0) {
        arm_model_timer();  // the model has not reached the next event yet
        return false;
      }
      model_backoff_ = model_retry_min;
      if (sub.needs_model) {
        parts.projections->read([&](const read_model& m) {
          for (std::size_t i = 0; i < n; ++i)
            decided[i] = event_delivery(who_, *sub.pending[i], m);
          return 0;
        });
      } else {
        for (std::size_t i = 0; i < n; ++i)
          decided[i] = event_delivery(who_, *sub.pending[i], no_model());
      }
      for (std::size_t i = 0; i < n && !queue_full(); ++i) {
        event_ptr e = std::move(sub.pending.front());
        sub.pending.pop_front();
        if (decided[i] == delivery::hidden) {
          stats.events_hidden.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        auto text = service_.encoded(e, decided[i], erasures);
        if (!text) {
          // A stored payload that does not decode: say so rather than skip it silently.
          send_error(id, "event_unreadable",
                     "the event at position " + std::to_string(e->position) +
                         " could not be encoded and was skipped");
          continue;
        }
        enqueue({std::string(), sub.head, std::move(*text)});
        stats.events_sent.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (!sub.pending.empty()) return false;
  }
  if (sub.caught_up_at && !sub.caught_up_sent) {
    sub.caught_up_sent = true;
    enqueue({ws::caught_up_message(id, *sub.caught_up_at), nullptr, nullptr});
    sub.caught_up_at.reset();
  }
  return true;
}

void ws_session::arm_model_timer() {
  if (model_timer_armed_ || closing_) return;
  model_timer_armed_ = true;
  model_timer_.expires_after(model_backoff_);
  model_backoff_ = std::min(model_backoff_ * 2, model_retry_max);
  model_timer_.async_wait([self = shared_from_this()](error_code ec) {
    self->model_timer_armed_ = false;
    if (!ec) self->pump();
  });
}

// ---- watches

void ws_session::arm_watch_timer() {
  if (watch_timer_armed_ || closing_ || watches_.empty()) return;
  watch_timer_armed_ = true;
  watch_timer_.expires_after(service_.options().watch_interval);
  watch_timer_.async_wait([self = shared_from_this()](error_code ec) {
    self->watch_timer_armed_ = false;
    if (!ec) self->on_watch_tick();
  });
}

void ws_session::on_watch_tick() {
  if (closing_ || watches_.empty()) return;
  const backend& parts = service_.parts();
  if (parts.projections && !queue_full()) {
    position_t now = parts.projections->position();
    std::string day = views::tokyo_date(now_micros());
    bool new_day = day != watch_day_;
    watch_day_ = day;
    auto& stats = service_.stats();
    for (auto& [id, w] : watches_) {
      if (queue_full()) break;  // the rest next tick; the newest view wins
      if (w.last_position == now && !new_day) continue;
      auto view = service_.view(who_, w.kind, w.lg_code);
      if (!view) continue;  // cannot happen for a watch that was allowed; try again next tick
      std::string text = boost::json::serialize(view->view);
      std::size_t hash = std::hash<std::string>{}(text);
      w.last_position = view->position;
      if (hash == w.last_hash) continue;
      w.last_hash = hash;
      enqueue({ws::view_message("update", id, view->position, text), nullptr, nullptr});
      stats.view_updates.fetch_add(1, std::memory_order_relaxed);
    }
  }
  arm_watch_timer();
}

}  // namespace kakehashi::api
