// The live connection: one WebSocket to /v1/stream (subprotocol kakehashi.v1) shared by every
// view. It reconnects after a drop with exponential backoff and jitter, and on reconnect
// re-sends every open subscription: `subscribe` resumes from the last position it saw + 1 (so
// nothing appended meanwhile is missed, and events already seen are dropped if repeated),
// `watch` asks again and gets a fresh snapshot.
//
// States: connecting (first attempt), open, reconnecting (after a drop, waiting or trying),
// closed (signed out, token refused, or the browser is offline).

import { set_token } from './api.js';

const backoff_first_ms = 500;
const backoff_max_ms = 10_000;
const ping_every_ms = 20_000;
const pong_timeout_ms = 10_000;

// RFC 6902 JSON Patch, for `update` messages that carry {patch: [...]} instead of a whole view.
export function apply_patch(doc, patch) {
  let root = structuredClone(doc);
  const parse = (pointer) => pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const get = (obj, path) => path.reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), obj);
  const parent_of = (path) => (path.length === 1 ? root : get(root, path.slice(0, -1)));
  const remove = (path) => {
    const parent = parent_of(path);
    const key = path[path.length - 1];
    const value = parent[key];
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
    return value;
  };
  const add = (path, value) => {
    if (path.length === 0) {
      root = value;
      return;
    }
    const parent = parent_of(path);
    const key = path[path.length - 1];
    if (Array.isArray(parent)) {
      if (key === '-') parent.push(value);
      else parent.splice(Number(key), 0, value);
    } else parent[key] = value;
  };
  for (const op of patch) {
    const path = parse(op.path ?? '');
    switch (op.op) {
      case 'add': add(path, structuredClone(op.value)); break;
      case 'remove': remove(path); break;
      case 'replace':
        if (path.length === 0) root = structuredClone(op.value);
        else {
          const parent = parent_of(path);
          parent[path[path.length - 1]] = structuredClone(op.value);
        }
        break;
      case 'move': add(path, remove(parse(op.from))); break;
      case 'copy': add(path, structuredClone(get(root, parse(op.from)))); break;
      case 'test': break;
      default: throw new Error(`unknown patch op ${op.op}`);
    }
  }
  return root;
}

export class live_stream extends EventTarget {
  constructor(token) {
    super();
    this.token = token;
    this.ws = null;
    this.state = 'closed';
    this.attempt = 0;
    this.retry_at = 0;
    this.timer = null;
    this.ping_timer = null;
    this.pong_timer = null;
    this.stopped = true;
    this.next_id = 1;
    this.subs = new Map(); // id -> {msg, handlers, last_position}
    this.on_online = () => this.stopped || this.connect_now();
    this.on_offline = () => this.stopped || this.drop('closed');
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.on_online);
    window.addEventListener('offline', this.on_offline);
    this.open('connecting');
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.on_online);
    window.removeEventListener('offline', this.on_offline);
    clearTimeout(this.timer);
    this.drop('closed');
  }

  // Follows the events of `stream` ("$all", "$ce-need", "need-…") from `from` ("start", "end"
  // or a position). handlers: {event(ev), caught_up(position), error(msg)}. Returns a function
  // that unsubscribes.
  subscribe(stream, from, handlers, types) {
    const id = `s${this.next_id++}`;
    const msg = { op: 'subscribe', id, stream, from };
    if (types) msg.types = types;
    return this.add(id, msg, handlers);
  }

  // Follows a read model: handlers.snapshot(view, position) first, then handlers.update(view,
  // position) with the whole new view (patches are applied here).
  watch(view, lg_code, handlers) {
    const id = `w${this.next_id++}`;
    const msg = { op: 'watch', id, view };
    if (lg_code) msg.lg_code = lg_code;
    return this.add(id, msg, handlers);
  }

  add(id, msg, handlers) {
    const sub = { msg, handlers, last_position: null, view: null };
    this.subs.set(id, sub);
    if (this.state === 'open') this.send(this.resume_message(sub));
    return () => {
      if (!this.subs.delete(id)) return;
      if (this.state === 'open') this.send({ op: 'unsubscribe', id });
    };
  }

  resume_message(sub) {
    if (sub.msg.op === 'subscribe' && sub.last_position !== null)
      return { ...sub.msg, from: sub.last_position + 1 };
    return sub.msg;
  }

  set_state(state, detail = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, ...detail } }));
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/v1/stream?access_token=${encodeURIComponent(this.token)}`;
  }

  open(state) {
    if (this.stopped) return;
    if (!navigator.onLine) return this.set_state('closed', { reason: 'offline' });
    this.set_state(state);
    let ws;
    try {
      ws = new WebSocket(this.url(), 'kakehashi.v1');
    } catch {
      return this.schedule();
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      this.set_state('open');
      for (const sub of this.subs.values()) this.send(this.resume_message(sub));
      this.start_ping();
    });
    ws.addEventListener('message', (e) => {
      if (ws === this.ws) this.on_message(e.data);
    });
    ws.addEventListener('close', (e) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.stop_ping();
      if (this.stopped) return;
      this.closed_by_server(e);
    });
    ws.addEventListener('error', () => {});  // a close event always follows
  }

  // The handshake or the connection failed. A refused token looks like any failed handshake
  // to a browser, so ask the HTTP API whether the token still works before retrying forever.
  async closed_by_server() {
    this.schedule();
    try {
      const res = await fetch('/v1/whoami', { headers: { Authorization: `Bearer ${this.token}` }, cache: 'no-store' });
      if (res.status === 401 && !this.stopped) {
        this.stopped = true;
        clearTimeout(this.timer);
        set_token('');
        this.set_state('closed', { reason: 'unauthorized' });
      }
    } catch {
      // The server is unreachable: keep retrying.
    }
  }

  schedule() {
    clearTimeout(this.timer);
    const base = Math.min(backoff_max_ms, backoff_first_ms * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt += 1;
    this.retry_at = Date.now() + delay;
    this.set_state('reconnecting', { retry_at: this.retry_at });
    this.timer = setTimeout(() => this.open('reconnecting'), delay);
  }

  connect_now() {
    clearTimeout(this.timer);
    if (this.ws) return;
    this.attempt = 0;
    this.open('reconnecting');
  }

  // Closes the socket without waiting for the server; `then` is the state to show.
  drop(then) {
    this.stop_ping();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
    }
    this.set_state(then);
  }

  // For tests and for the "reconnect" button: drop the connection as a network failure would.
  simulate_drop() {
    if (!this.ws) return;
    this.stop_ping();
    const ws = this.ws;
    this.ws = null;
    ws.close(4000);
    this.schedule();
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  start_ping() {
    this.stop_ping();
    this.ping_timer = setInterval(() => {
      this.send({ op: 'ping' });
      clearTimeout(this.pong_timer);
      // No answer: the connection is dead even if the socket has not noticed.
      this.pong_timer = setTimeout(() => this.simulate_drop(), pong_timeout_ms);
    }, ping_every_ms);
  }

  stop_ping() {
    clearInterval(this.ping_timer);
    clearTimeout(this.pong_timer);
  }

  on_message(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.op === 'pong') {
      clearTimeout(this.pong_timer);
      return;
    }
    const sub = this.subs.get(msg.sub);
    if (!sub) return;
    const on = sub.handlers;
    switch (msg.op) {
      case 'event': {
        const pos = Number(msg.event?.position);
        // Exactly once: a resumed subscription may repeat what was seen before the drop.
        if (sub.last_position !== null && pos <= sub.last_position) return;
        sub.last_position = pos;
        on.event?.(msg.event);
        break;
      }
      case 'caught_up':
        if (typeof msg.position === 'number' && (sub.last_position === null || msg.position > sub.last_position))
          sub.last_position = msg.position;
        on.caught_up?.(msg.position);
        break;
      case 'snapshot':
        sub.view = msg.view;
        on.snapshot?.(msg.view, msg.position);
        break;
      case 'update': {
        if (msg.view !== undefined) sub.view = msg.view;
        else if (Array.isArray(msg.patch) && sub.view !== null) sub.view = apply_patch(sub.view, msg.patch);
        else return;
        on.update?.(sub.view, msg.position);
        break;
      }
      case 'error':
        on.error?.(msg);
        break;
      default:
        break;
    }
  }
}
