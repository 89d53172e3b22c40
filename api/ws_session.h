// One WebSocket connection of `GET /v1/stream` (API.md, "WebSocket"; messages in
// api/ws_protocol.h). An http_session that accepted the handshake (api/stream_service.h) hands
// over its socket, the upgrade request and the principal; Beast answers 101, and from then on
// this session frames every byte itself (api/ws_frame.h), so that many messages go out in one
// write: one send per batch, not per event per subscriber.
//
// Flow control, so a connection's memory is bounded whatever the client does:
//   - Outgoing messages wait in a queue bounded in bytes (websocket_options::max_queued_bytes,
//     overshooting by at most one message; the bytes being written count until written).
//     Events are taken from a subscription only while the queue has room; meanwhile the store
//     subscription's own bounded buffer fills and it falls back to reading from the store
//     (engine/event_store.h), so a slow client is caught up from disk, never dropped for being
//     slow. Events keep position order, each exactly once.
//   - Client messages are read only while the queue has room, so replies cannot pile up; a
//     client message is at most max_message_bytes (larger: close 1009 on its frame header).
//   - Nothing received for idle_timeout closes the connection; a ping goes out when nothing has
//     been received for half of it. The opening and closing handshakes are bounded by
//     handshake_timeout.
//   - Batching: a wake-up from a subscription takes everything its live buffer holds by then,
//     and everything queued goes out in one write of up to 64 KiB; with a coalesce_delay
//     (0 by default: none) events are taken at most once per delay, an idle connection's first
//     event at once.
//
// Per-event authorization (api/event_access.h): hidden events are skipped, redacted ones carry
// no personal data. For a municipality the decision needs the read model to know the event's
// aggregate, so such a subscription delivers an event only once the projection runner has
// applied its position (polled with a short backoff on this strand; nothing blocks).
//
// Revocation: the token is checked at the handshake and again (stream_service::recheck_token,
// cheap) before anything is queued for the client, before each client message and at each idle
// tick; once it no longer stands the connection closes with 1008 token_revoked (1013
// tokens_unavailable while the token file cannot be read), dropping what was queued.
//
// Watches: a snapshot at once, then an update (the whole view) whenever the view changed,
// checked every watch_interval (250 ms by default): updates are debounced to at most one per
// interval, and while the queue is full an update waits for the next tick (the newest view
// wins).
//
// Threading: one strand (the socket's executor) runs every handler; start(), shutdown() and
// force_close() post onto it and may be called from any thread. Subscriptions' on_ready
// callbacks (sequencer thread) only post onto the strand. The session keeps itself alive through
// shared_from_this in pending operations; it leaves the connection registry on destruction.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/connection.h"
#include "api/http.h"
#include "api/stream_service.h"
#include "api/ws_frame.h"
#include "api/ws_protocol.h"
#include "engine/event_store.h"
#include "events/roles.h"

namespace kakehashi::api {

struct session_context;

class ws_session final : public connection, public std::enable_shared_from_this<ws_session> {
 public:
  // `token` as the handshake checked `who`'s token (stream_service::recheck_token).
  ws_session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<session_context> context,
             principal who, stream_service::token_check token);
  ~ws_session() override;

  // Answers the upgrade request (101 with the kakehashi.v1 subprotocol) and starts reading.
  void start(http_request upgrade);
  // Sends a close frame (1001 going away) after the write in progress, then waits for the
  // peer's close frame at most handshake_timeout.
  void shutdown() override;
  void force_close() override;
  // A subscription has something new (via stream_service::wake_later): posts wake() onto the
  // strand. Any thread.
  void wake_soon();
  // As wake_soon, but runs wake() at once when the strand is free and the caller is an I/O
  // thread of the same io_context (else it is queued on the strand, as wake_soon).
  void wake_here();

 private:
  using error_code = boost::system::error_code;
  using clock = std::chrono::steady_clock;

  struct stream_sub {
    std::unique_ptr<subscription> feed;
    std::shared_ptr<const std::string> head;  // ws::event_message_head(id)
    std::deque<event_ptr> pending;            // taken from the feed, not yet queued
    std::optional<position_t> caught_up_at;   // send caught_up once pending is delivered
    bool caught_up_sent = false;
    bool needs_model = false;  // municipality: wait for the read model to reach each event
  };
  struct watch_sub {
    ws::view_kind kind = ws::view_kind::headline;
    std::string lg_code;
    std::size_t last_hash = 0;  // of the last view text sent
    position_t last_position = 0;
  };
  enum class pump_step : std::uint8_t { progress, idle, failed };

  void on_accept(error_code ec);
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void handle_frame(ws::frame_event& frame);
  void handle_message(std::string_view text);
  void subscribe(ws::client_op op);
  void watch(ws::client_op op);
  void unsubscribe(const std::string& id);

  // Appends one frame (payload a + b + c, copied) to the staging batch.
  void enqueue_frame(ws::opcode op, std::string_view a, std::string_view b = {},
                     std::string_view c = {});
  // Appends one event message (head + *text + tail) to the staging batch, sharing *text.
  void enqueue_event(std::string_view head, std::shared_ptr<const std::string> text);
  void after_enqueue(ws::opcode op);
  void send_text(std::string_view text) { enqueue_frame(ws::opcode::text, text); }
  // Staged plus being written, in bytes on the wire: what the connection has queued. (Its own
  // memory is less: the encoded events in it are shared with other connections.)
  std::size_t queued_bytes() const { return staging_.size() + write_batch_.size(); }
  void sync_stats();
  void send_error(std::string_view sub, std::string_view code, std::string_view message);
  void schedule_write();
  void do_write();
  // Sends what the socket takes now of write_buffers_ (from write_next_ on) with sendmsg, and
  // waits for room for the rest; on_write (posted) once all is written or on an error.
  void write_some();
  void on_write(error_code ec, std::size_t bytes);
  bool queue_full() const;

  // From a subscription's on_ready: pump now, or once coalesce_delay has passed since the last.
  void wake();
  void pump();
  // One round for one subscription: progress when it took events and may have more; failed
  // when the subscription must be dropped (its error has been queued).
  pump_step pump_one(const std::string& id, stream_sub& sub);
  // Queues pending events in order while there is room; false when blocked (queue full, or a
  // municipality's event the model has not reached yet).
  bool deliver_pending(const std::string& id, stream_sub& sub);
  void arm_model_timer();
  void arm_watch_timer();
  void on_watch_tick();
  void arm_idle_timer();
  void on_idle_tick();

  // Ends the conversation with a close frame carrying `code` (dropping what is queued), then
  // closes the socket: at once after writing it when `wait_for_peer` is false, else when the
  // peer's close frame arrives or handshake_timeout runs out.
  void begin_close(std::uint16_t code, bool wait_for_peer, std::string_view reason = {});
  // Whether the token still stands (stream_service::recheck_token); when not, begins the close
  // (1008 token_revoked, or 1013 tokens_unavailable while the token file cannot be read) and
  // answers false. Asked before anything is queued for the client and before each client op;
  // never while iterating subs_ or watches_ (the close clears them).
  bool token_stands();
  void close_socket();
  void stop_work();

  boost::asio::ip::tcp::socket socket_;
  std::shared_ptr<session_context> context_;
  stream_service& service_;
  principal who_;
  stream_service::token_check token_;
  // Only during the opening handshake: Beast validates the request and writes the 101.
  std::unique_ptr<boost::beast::websocket::stream<boost::beast::tcp_stream>> handshake_;
  http_request upgrade_;

  ws::frame_parser parser_;
  std::string inbox_;  // received bytes not yet parsed; at most one frame plus one read
  // When the peer last showed it is alive: a read from it, or a write it took from us.
  clock::time_point last_alive_;
  bool ping_outstanding_ = false;

  // Outgoing frames, already encoded: staging_ collects them while write_batch_ is written
  // (through write_buffers_, which point into it); then they swap.
  ws::frame_batch staging_;
  ws::frame_batch write_batch_;
  std::vector<boost::asio::const_buffer> write_buffers_;
  std::size_t write_next_ = 0;       // the first of write_buffers_ not yet wholly written
  std::size_t published_bytes_ = 0;  // queued_bytes() as last added to stats().queued_bytes
  bool close_in_staging_ = false;
  bool pumping_ = false;
  bool writing_ = false;
  bool write_scheduled_ = false;
  bool reading_ = false;
  bool open_ = false;               // the handshake completed and the socket is ours
  bool closing_ = false;            // no more subscriptions, watches or client messages
  bool close_queued_ = false;       // a close frame is queued or written; nothing follows it
  bool close_after_write_ = false;  // close the socket once the close frame is out
  bool close_in_write_ = false;     // the close frame is in write_buffer_
  bool close_written_ = false;
  bool closed_ = false;        // the socket is closed
  bool counted_ = false;       // counted in stats().connections
  bool pump_blocked_ = false;  // pumping stopped for a full queue; resume when it drains

  std::map<std::string, stream_sub, std::less<>> subs_;
  std::map<std::string, watch_sub, std::less<>> watches_;

  boost::asio::steady_timer model_timer_;
  bool model_timer_armed_ = false;
  std::chrono::milliseconds model_backoff_{1};
  boost::asio::steady_timer watch_timer_;
  bool watch_timer_armed_ = false;
  std::string watch_day_;  // the Tokyo date the watches were last computed for
  boost::asio::steady_timer flush_timer_;
  bool flush_timer_armed_ = false;
  clock::time_point last_pump_{};
  boost::asio::steady_timer idle_timer_;  // idle pings and timeouts; also bounds the close
};

}  // namespace kakehashi::api
