// The Node.js peer of the fan-out benchmark: a `ws` broadcast server, as a team would write one
// to push events to browsers without Kakehashi (the broadcast loop of the `ws` README).
//
//   node bench/node/fanout_server.mjs [PORT]     (0 or nothing: any free port)
//
// Listens on 127.0.0.1 and prints `listening PORT` on stdout once it does. A connection to
// /publish is the publisher: every text message it sends is sent as is to every subscriber.
// Any other path is a subscriber: its first message (`{"op":"subscribe",...}`, the one
// Kakehashi's clients send) makes it a subscriber and is answered with a `caught_up` marker,
// so `kakehashi bench fanout --peer-port PORT` drives it with the very clients it points at
// Kakehashi. What this server does not do, and Kakehashi does: store the event durably before
// it goes out, check each subscriber's role against each event, resume from a position, bound
// the memory a slow subscriber holds (ws buffers without limit).
import { WebSocketServer, WebSocket } from 'ws';

const port = Number(process.argv[2] ?? 0);
const subscribers = new Set();
// The same message limit as Kakehashi's /v1/stream (64 KiB); no compression, as neither the
// benchmark's clients nor Kakehashi use it.
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  maxPayload: 64 * 1024,
  perMessageDeflate: false,
  clientTracking: false,
});

wss.on('connection', (socket, request) => {
  socket.on('error', () => {});
  if (request.url === '/publish') {
    socket.on('message', (data, isBinary) => {
      for (const client of subscribers) {
        if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
      }
    });
    return;
  }
  socket.once('message', (data) => {
    let op;
    try {
      op = JSON.parse(data);
    } catch {
      socket.close(1007, 'bad_message');
      return;
    }
    if (op?.op !== 'subscribe') {
      socket.close(1008, 'expected subscribe');
      return;
    }
    subscribers.add(socket);
    socket.send(JSON.stringify({ op: 'caught_up', sub: String(op.id ?? ''), position: 0 }));
  });
  socket.on('close', () => subscribers.delete(socket));
});

wss.on('listening', () => {
  process.stdout.write(`listening ${wss.address().port}\n`);
});
wss.on('error', (err) => {
  process.stderr.write(`fanout_server: ${err.message}\n`);
  process.exit(1);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const client of subscribers) client.terminate();
    wss.close(() => process.exit(0));
  });
}
