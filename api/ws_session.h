// One WebSocket connection of `GET /v1/stream` (API.md, "WebSocket"; messages in
// api/ws_protocol.h). An http_session that accepted the handshake (api/stream_service.h) hands
// over its socket, the upgrade request and the principal; the ws_session answers 101 and then
// serves subscriptions and watches until either side closes.
//
// Flow control, so a connection's memory is bounded whatever the client does:
//   - Outgoing messages wait in a queue bounded in bytes (websocket_options::max_queued_bytes,
//     overshooting by at most one message). Events are taken from a subscription only while the
//     queue has room; meanwhile the store subscription's own bounded buffer fills and it falls
//     back to reading from the store (engine/event_store.h), so a slow client is caught up from
//     disk, never dropped for being slow. Events keep position order, each exactly once.
//   - Client messages are read only while the queue has room, so replies cannot pile up; each
//     client message is at most max_message_bytes (larger: close 1009, by Beast).
//   - Nothing received for idle_timeout (a ping goes out at half) closes the connection; the
//     opening and closing handshakes are bounded by handshake_timeout.
//
// Per-event authorization (api/event_access.h): hidden events are skipped, redacted ones carry
// no personal data. For a municipality the decision needs the read model to know the event's
// aggregate, so such a subscription delivers an event only once the projection runner has
// applied its position (polled with a short backoff on this strand; nothing blocks).
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
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "api/connection.h"
#include "api/http.h"
#include "api/ws_protocol.h"
#include "engine/event_store.h"
#include "events/roles.h"

namespace kakehashi::api {

struct session_context;
class stream_service;

class ws_session final : public connection, public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<session_context> context,
             principal who);
  ~ws_session() override;

  // Answers the upgrade request (101 with the kakehashi.v1 subprotocol) and starts reading.
  void start(http_request upgrade);
  // Sends a close frame (1001 going away) once the message being written is out, then waits
  // for the peer's close frame at most handshake_timeout.
  void shutdown() override;
  void force_close() override;

 private:
  using error_code = boost::system::error_code;

  // A control message (`text`), or an event: the subscription's message head, the CloudEvent
  // text shared with every other connection sending it, and the tail.
  struct outgoing {
    std::string text;
    std::shared_ptr<const std::string> head;
    std::shared_ptr<const std::string> body;
    std::size_t size() const {
      return text.size() + (head ? head->size() + body->size() + ws::event_message_tail.size() : 0);
    }
  };
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

  void on_accept(error_code ec);
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void handle_message(std::string_view text);
  void subscribe(ws::client_op op);
  void watch(ws::client_op op);
  void unsubscribe(const std::string& id);

  void enqueue(outgoing message);
  void send_error(std::string_view sub, std::string_view code, std::string_view message);
  void do_write();
  void on_write(error_code ec, std::size_t bytes);
  bool queue_full() const;

  enum class pump_step : std::uint8_t { progress, idle, failed };
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

  void begin_close();
  void close_socket();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  std::shared_ptr<session_context> context_;
  stream_service& service_;
  principal who_;
  http_request upgrade_;
  boost::beast::flat_buffer read_buffer_;

  std::deque<outgoing> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool reading_ = false;
  bool open_ = false;          // the handshake completed
  bool closing_ = false;       // no more work: a close is under way or the socket failed
  bool close_wanted_ = false;  // send a close frame once the current write is done
  bool close_sent_ = false;
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
};

}  // namespace kakehashi::api
