#include "api/ws_session.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <functional>
#include <limits>

#include "api/event_access.h"
#include "api/session_context.h"
#include "api/stream_service.h"
#include "api/ws_keepalive.h"
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
// Write buffers larger than this are given back when the connection has been quiet for a
// while, so an idle connection holds little memory whatever its busiest moment was.
constexpr std::size_t max_idle_buffer_bytes = 64 * 1024;
constexpr std::size_t read_chunk_bytes = 16 * 1024;
// Buffers per sendmsg: two per event, so a full queue (64 KiB of ~1 KiB events) goes in one.
constexpr std::size_t write_iov_max = 256;

// Non-municipality roles never consult the model (api/event_access.h).
const read_model& no_model() {
  static const read_model empty;
  return empty;
}

}  // namespace

ws_session::ws_session(net::ip::tcp::socket&& socket, std::shared_ptr<session_context> context,
                       principal who, stream_service::token_check token)
    : socket_(socket.get_executor()),
      context_(std::move(context)),
      service_(*context_->streams),
      who_(std::move(who)),
      token_(token),
      handshake_(std::make_unique<websocket::stream<beast::tcp_stream>>(std::move(socket))),
      parser_(service_.options().max_message_bytes),
      model_timer_(socket_.get_executor()),
      watch_timer_(socket_.get_executor()),
      flush_timer_(socket_.get_executor()),
      idle_timer_(socket_.get_executor()) {}

ws_session::~ws_session() {
  auto& stats = service_.stats();
  stats.queued_bytes.fetch_sub(published_bytes_, std::memory_order_relaxed);
  if (counted_) stats.connections.fetch_sub(1, std::memory_order_relaxed);
  subs_.clear();  // detaches from the live feed before the registry lets shutdown finish
  context_->connections.remove(this);
}

void ws_session::start(http_request upgrade) {
  net::dispatch(
      socket_.get_executor(), [self = shared_from_this(), req = std::move(upgrade)]() mutable {
        self->upgrade_ = std::move(req);
        self->counted_ = true;
        self->service_.stats().connections.fetch_add(1, std::memory_order_relaxed);
        auto& hs = *self->handshake_;
        beast::get_lowest_layer(hs).expires_after(self->service_.options().handshake_timeout);
        hs.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
          res.set(http::field::server, "kakehashi");
          res.set(http::field::sec_websocket_protocol, ws::subprotocol);
        }));
        hs.async_accept(self->upgrade_, beast::bind_front_handler(&ws_session::on_accept, self));
      });
}

void ws_session::shutdown() {
  net::post(socket_.get_executor(), [self = shared_from_this()] {
    if (!self->open_) return self->close_socket();
    self->begin_close(ws::close_code::going_away, true);
  });
}

void ws_session::force_close() {
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->close_socket(); });
}

void ws_session::on_accept(error_code ec) {
  upgrade_ = {};
  auto& tcp = beast::get_lowest_layer(*handshake_);
  if (ec || closed_) {
    error_code ignored;
    tcp.socket().close(ignored);
    handshake_.reset();
    closed_ = true;
    return;
  }
  // From here on every byte is framed here (api/ws_frame.h).
  tcp.expires_never();
  socket_ = tcp.release_socket();
  handshake_.reset();
  open_ = true;
  service_.stats().accepted.fetch_add(1, std::memory_order_relaxed);
  last_alive_ = clock::now();
  arm_idle_timer();
  do_read();
}

// ---- closing

void ws_session::stop_work() {
  closing_ = true;
  subs_.clear();
  watches_.clear();
  model_timer_.cancel();
  watch_timer_.cancel();
  flush_timer_.cancel();
}

void ws_session::begin_close(std::uint16_t code, bool wait_for_peer, std::string_view reason) {
  if (closed_) return;
  stop_work();
  if (close_queued_) return;
  close_queued_ = true;
  close_after_write_ = !wait_for_peer;
  // What is still queued will not be read by anyone.
  staging_.clear();
  sync_stats();
  std::string frame = ws::close_frame(code, reason);
  enqueue_frame(ws::opcode::close, std::string_view(frame).substr(2));
  // Bounds the wait for the peer's close frame (and a write the peer never reads).
  idle_timer_.expires_after(service_.options().handshake_timeout);
  idle_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->close_socket();
  });
}

bool ws_session::token_stands() {
  auto valid = service_.recheck_token(who_, token_);
  if (valid) return true;
  // begin_close also drops what is queued and not yet written.
  bool unavailable = valid.err().kind == errc::unavailable;
  begin_close(unavailable ? ws::close_code::try_again_later : ws::close_code::policy_violation,
              true, valid.err().code);
  return false;
}

void ws_session::close_socket() {
  if (closed_) return;
  closed_ = true;
  stop_work();
  idle_timer_.cancel();
  error_code ignored;
  if (handshake_) {
    beast::get_lowest_layer(*handshake_)
        .socket()
        .shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*handshake_).close();
    return;
  }
  socket_.shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);  // cancels whatever is pending; the handlers then let the session end
}

// ---- reading client frames

bool ws_session::queue_full() const {
  return queued_bytes() >= service_.options().max_queued_bytes;
}

void ws_session::do_read() {
  if (reading_ || closed_ || !open_) return;
  if (queue_full() && !close_queued_) return;  // on_write resumes reading once there is room
  reading_ = true;
  std::size_t had = inbox_.size();
  inbox_.resize(had + read_chunk_bytes);
  socket_.async_read_some(net::buffer(inbox_.data() + had, read_chunk_bytes),
                          [self = shared_from_this(), had](error_code ec, std::size_t bytes) {
                            self->inbox_.resize(had + bytes);
                            self->on_read(ec, bytes);
                          });
}

void ws_session::on_read(error_code ec, std::size_t) {
  reading_ = false;
  if (ec) return close_socket();  // the peer went away, or we closed the socket
  last_alive_ = clock::now();
  ping_outstanding_ = false;
  std::size_t used = 0;
  while (!closed_) {
    ws::frame_event frame;
    bool produced = false;
    std::size_t n = parser_.parse(std::string_view(inbox_).substr(used), frame, produced);
    if (n == 0) break;
    used += n;
    if (produced) handle_frame(frame);
    if (frame.what == ws::frame_event::kind::fail && produced) break;
  }
  if (closed_ || close_after_write_) return;  // nothing more is read after a close frame
  inbox_.erase(0, used);
  // The parser fails a frame over the limit on its header, so the inbox stays within one frame
  // and one read; anything else is a bug, not a client to serve.
  if (inbox_.size() > parser_.max_frame_bytes() + read_chunk_bytes) return close_socket();
  do_read();
}

void ws_session::handle_frame(ws::frame_event& frame) {
  using kind = ws::frame_event::kind;
  switch (frame.what) {
    case kind::text:
      if (!closing_) handle_message(frame.payload);
      return;
    case kind::binary:
      if (!closing_) send_error("", "bad_message", "messages are JSON text, not binary");
      return;
    case kind::ping:
      if (!close_queued_) enqueue_frame(ws::opcode::pong, frame.payload);
      return;
    case kind::pong:
      return;
    case kind::close:
      if (close_written_) return close_socket();  // the answer to ours: done
      if (close_queued_) {
        close_after_write_ = true;  // both sides are closing: ours goes out, then done
        return;
      }
      // Echo the peer's code (RFC 6455 5.5.1), then close once it is written.
      begin_close(frame.code == 1005 ? ws::close_code::normal : frame.code, false);
      return;
    case kind::fail:
      begin_close(frame.code, false);
      return;
  }
}

void ws_session::handle_message(std::string_view text) {
  if (!token_stands()) return;
  ws::parse_result parsed = ws::parse_client_op(text);
  if (!parsed.ok) return send_error(parsed.error.sub, parsed.error.code, parsed.error.message);
  switch (parsed.op.op) {
    case ws::op_kind::ping:
      return send_text(ws::pong_message());
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
  options.on_ready = [service = service_.shared_from_this(), weak = weak_from_this()] {
    service->wake_later(weak);
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
  send_text(ws::view_message("snapshot", id, view->position, text));
  arm_watch_timer();
}

void ws_session::unsubscribe(const std::string& id) {
  if (subs_.erase(id) || watches_.erase(id)) return;
  send_error(id, "unknown_subscription", "no subscription or watch with this id is open");
}

// ---- writing

void ws_session::send_error(std::string_view sub, std::string_view code, std::string_view message) {
  service_.stats().errors_sent.fetch_add(1, std::memory_order_relaxed);
  send_text(ws::error_message(sub, code, message));
}

// The shared counters follow at batch boundaries, not per frame: they are contended between
// the I/O threads, and only their values between handlers matter.
void ws_session::sync_stats() {
  auto& stats = service_.stats();
  std::size_t now = queued_bytes();
  if (now > published_bytes_) {
    stats.queued_bytes.fetch_add(now - published_bytes_, std::memory_order_relaxed);
    websocket_stats::raise_to(stats.peak_connection_queued_bytes, now);
  } else if (now < published_bytes_) {
    stats.queued_bytes.fetch_sub(published_bytes_ - now, std::memory_order_relaxed);
  }
  published_bytes_ = now;
}

void ws_session::enqueue_frame(ws::opcode op, std::string_view a, std::string_view b,
                               std::string_view c) {
  if (closed_ || (close_queued_ && op != ws::opcode::close)) return;
  staging_.add(op, a, b, c);
  after_enqueue(op);
}

void ws_session::enqueue_event(std::string_view head, std::shared_ptr<const std::string> text) {
  if (closed_ || close_queued_) return;
  staging_.add_shared(ws::opcode::text, head, std::move(text), ws::event_message_tail);
  after_enqueue(ws::opcode::text);
}

void ws_session::after_enqueue(ws::opcode op) {
  if (op == ws::opcode::close) close_in_staging_ = true;
  // Inside pump() the write starts when the pump is done; elsewhere after this handler.
  if (!pumping_) schedule_write();
}

// Writes after the current handler has queued everything it will, so it all goes in one write.
void ws_session::schedule_write() {
  if (writing_ || write_scheduled_ || !open_ || closed_) return;
  write_scheduled_ = true;
  net::post(socket_.get_executor(), [self = shared_from_this()] {
    self->write_scheduled_ = false;
    self->do_write();
  });
}

void ws_session::do_write() {
  sync_stats();
  if (writing_ || staging_.empty() || closed_ || !open_) return;
  write_batch_.swap(staging_);
  staging_.clear();
  close_in_write_ = close_in_staging_;
  close_in_staging_ = false;
  service_.stats().messages_sent.fetch_add(write_batch_.frames(), std::memory_order_relaxed);
  writing_ = true;
  write_batch_.buffers(write_buffers_);
  write_next_ = 0;
  write_some();
}

// Why not net::async_write: for a list of buffers it passes at most 16 to each sendmsg, and an
// event takes two (its frame header and message head, copied; its shared text), so a batch of
// 60 events would cost 8 system calls where one does. This is Asio's own speculative write
// (try now, wait for room only if the socket is full), with all the buffers in each call.
void ws_session::write_some() {
  if (closed_) return on_write(net::error::operation_aborted, 0);
  for (;;) {
    std::array<::iovec, write_iov_max> iov;
    std::size_t n = 0;
    for (std::size_t i = write_next_; i < write_buffers_.size() && n < iov.size(); ++i, ++n)
      iov[n] = ::iovec{const_cast<void*>(write_buffers_[i].data()), write_buffers_[i].size()};
    ::msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = n;
    ssize_t sent = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // Re-arms the socket's readiness in the reactor, so room made meanwhile is not missed.
        socket_.async_wait(net::socket_base::wait_write,
                           [self = shared_from_this()](error_code ec) {
                             if (ec) return self->on_write(ec, 0);
                             self->write_some();
                           });
        return;
      }
      error_code ec(errno, boost::system::system_category());
      net::post(socket_.get_executor(), [self = shared_from_this(), ec] { self->on_write(ec, 0); });
      return;
    }
    // Drop what went out: whole buffers, then the written front of a partly written one.
    auto left = static_cast<std::size_t>(sent);
    while (write_next_ < write_buffers_.size() && left >= write_buffers_[write_next_].size())
      left -= write_buffers_[write_next_++].size();
    if (left > 0) write_buffers_[write_next_] += left;
    if (write_next_ == write_buffers_.size()) {
      // All written at once, the usual case. on_write runs here when all it would do is tidy
      // up: no pump to resume (it would pump, write and complete again, nesting without bound
      // while a catch-up has more), no close frame written, a read pending (none to start in
      // the middle of on_read's parsing), and staging_ empty (swapped just now). That saves a
      // handler per send, one per event per subscriber at light load. Otherwise on_write runs
      // as a handler of its own, as Asio completes a write that succeeded at once.
      if (!pump_blocked_ && !close_in_write_ && reading_ && staging_.empty())
        return on_write(error_code(), 0);
      net::post(socket_.get_executor(),
                [self = shared_from_this()] { self->on_write(error_code(), 0); });
      return;
    }
  }
}

void ws_session::on_write(error_code ec, std::size_t) {
  writing_ = false;
  sync_stats();  // the largest this connection's output gets: staging filled meanwhile
  // Keeps the memory for copies for the next write (see on_idle_tick); lets the events go.
  write_batch_.clear();
  write_buffers_.clear();
  sync_stats();
  if (ec) return close_socket();
  // The peer took what we wrote: it is alive, even if we are not reading it now. While the
  // queue is full do_read() waits (so a client cannot make us queue replies it does not read),
  // and its pongs wait in the socket with it; counting only what we received would drop a
  // client that reads steadily but slower than the events come, which must never happen.
  last_alive_ = clock::now();
  if (close_in_write_) {
    close_written_ = true;
    // The close frame is out: close now, or wait (reading) for the peer's answer.
    if (close_after_write_) return close_socket();
    error_code ignored;
    socket_.shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    return do_read();
  }
  if (closed_) return;
  // Resume taking events once half the queue is free, so it is refilled in large steps.
  if (pump_blocked_ && queued_bytes() <= service_.options().max_queued_bytes / 2) {
    pump_blocked_ = false;
    pump();
  }
  do_read();
  do_write();
}

// ---- idle

void ws_session::arm_idle_timer() {
  if (closed_ || close_queued_) return;
  // When the next ping or the close may be due (api/ws_keepalive.h); the tick re-checks, as
  // signs of life keep moving last_alive_ meanwhile.
  auto step =
      ws::keepalive(clock::now(), last_alive_, ping_outstanding_, service_.options().idle_timeout);
  idle_timer_.expires_at(step.next);
  idle_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->on_idle_tick();
  });
}

void ws_session::on_idle_tick() {
  // A revoked token's quiet connection is closed too, not only one that has something to send.
  if (closed_ || close_queued_ || !token_stands()) return;
  // Give back what a burst made the buffers grow to, once there is nothing to write: freeing
  // them after every large write would fault their pages in again for the next.
  if (!writing_ && staging_.empty()) {
    if (write_batch_.capacity_bytes() > max_idle_buffer_bytes) write_batch_.release_memory();
    if (staging_.capacity_bytes() > max_idle_buffer_bytes) staging_.release_memory();
    if (write_buffers_.capacity() * sizeof(net::const_buffer) > max_idle_buffer_bytes)
      std::vector<net::const_buffer>().swap(write_buffers_);
  }
  auto step =
      ws::keepalive(clock::now(), last_alive_, ping_outstanding_, service_.options().idle_timeout);
  if (step.what == ws::keepalive_step::action::close) return close_socket();
  if (step.what == ws::keepalive_step::action::ping) {
    ping_outstanding_ = true;
    enqueue_frame(ws::opcode::ping, {});
  }
  arm_idle_timer();
}

// ---- subscriptions

void ws_session::wake_soon() {
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->wake(); });
}

void ws_session::wake_here() {
  net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->wake(); });
}

void ws_session::wake() {
  if (closing_ || !open_ || flush_timer_armed_) return;
  auto due = last_pump_ + service_.options().coalesce_delay;
  if (due <= clock::now()) return pump();
  flush_timer_armed_ = true;
  flush_timer_.expires_at(due);
  flush_timer_.async_wait([self = shared_from_this()](error_code ec) {
    self->flush_timer_armed_ = false;
    if (!ec) self->pump();
  });
}

void ws_session::pump() {
  if (closing_ || !open_ || pumping_) return;
  last_pump_ = clock::now();
  pumping_ = true;
  struct done_pumping {
    ws_session* self;
    ~done_pumping() {
      self->pumping_ = false;
      self->do_write();  // everything this pump queued, in one write
    }
  } finally{this};
  bool progress = true;
  while (progress && !queue_full()) {
    progress = false;
    if (!token_stands()) break;  // cleared subs_, and what earlier rounds queued
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
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->pump(); });
    return pump_step::idle;
  }
  for (auto& e : batch->events)
    sub.pending.push_back(std::move(e));
  // Caught up: the live buffer is empty, and its next event calls on_ready. Asking next()
  // again now would only find nothing, and an empty next() is not cheap (it waits on a
  // condition variable, however briefly).
  bool drained = batch->caught_up;
  if (!deliver_pending(id, sub)) return pump_step::idle;
  return drained ? pump_step::idle : pump_step::progress;
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
      // The CloudEvent texts for the visible ones, from the shared cache (one lock).
      std::array<const recorded_event*, pump_batch> events{};
      std::array<std::shared_ptr<const std::string>, pump_batch> texts{};
      for (std::size_t i = 0; i < n; ++i)
        events[i] = sub.pending[i].get();
      service_.encoded_batch(events.data(), decided.data(), n, erasures, texts.data());
      std::uint64_t sent = 0, hidden = 0;
      std::size_t taken = 0;
      for (; taken < n && !queue_full(); ++taken) {
        const recorded_event& e = *events[taken];
        if (decided[taken] == delivery::hidden) {
          ++hidden;
          continue;
        }
        if (!texts[taken]) {
          // A stored payload that does not decode: say so rather than skip it silently.
          send_error(id, "event_unreadable",
                     "the event at position " + std::to_string(e.position) +
                         " could not be encoded and was skipped");
          continue;
        }
        enqueue_event(*sub.head, std::move(texts[taken]));
        ++sent;
      }
      sub.pending.erase(sub.pending.begin(),
                        sub.pending.begin() + static_cast<std::ptrdiff_t>(taken));
      stats.events_sent.fetch_add(sent, std::memory_order_relaxed);
      stats.events_hidden.fetch_add(hidden, std::memory_order_relaxed);
    }
    if (!sub.pending.empty()) return false;
  }
  if (sub.caught_up_at && !sub.caught_up_sent) {
    sub.caught_up_sent = true;
    send_text(ws::caught_up_message(id, *sub.caught_up_at));
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
  if (closing_ || watches_.empty() || !token_stands()) return;
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
      send_text(ws::view_message("update", id, view->position, text));
      stats.view_updates.fetch_add(1, std::memory_order_relaxed);
    }
  }
  arm_watch_timer();
}

}  // namespace kakehashi::api
