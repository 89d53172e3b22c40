// The dashboard shell: sign-in, the role's navigation, the live connection and its state, the
// auditor's "as of" control, and a hash router (#/board, #/case/ID, ...) so the server only
// ever serves "/". Views are modules with mount(root, ctx) -> unmount().
import * as api from './api.js';
import { h, clear, error_box, loading } from './dom.js';
import { t, lang, set_lang, on_lang_change, load_reference_data, municipality_name } from './i18n.js';
import { live_stream } from './stream.js';
import * as board from './board.js';
import * as queue from './queue.js';
import * as metrics from './metrics.js';
import * as coverage from './coverage.js';
import * as activity from './activity.js';
import * as casepage from './case.js';
import * as audit from './audit.js';
import * as signin from './signin.js';

const views = { board, queue, metrics, coverage, activity, case: casepage, audit };

// What each role sees, in navigation order; the first is where it lands.
const role_views = {
  admin: ['board', 'queue', 'metrics', 'coverage', 'activity', 'audit'],
  coordinator: ['board', 'queue', 'metrics', 'coverage', 'activity'],
  municipality: ['board', 'activity'],
  auditor: ['audit', 'board', 'queue', 'metrics', 'coverage', 'activity'],
  dashboard: ['metrics', 'coverage', 'board', 'activity'],
};
const as_of_roles = new Set(['auditor', 'admin']);
const feed_limit = 200;

// Shared by the views: the signed-in principal, the connection, the recent events.
const ctx = {
  me: null,
  stream: null,
  as_of: null,
  feed: [],
  feed_position: null,
  bus: new EventTarget(), // 'event' (CloudEvent), 'feed' (feed changed)
  params: new URLSearchParams(),
  navigate,
  set_param,
};
window.kakehashi = ctx; // for the browser tests and for curious operators

let unmount = null;
let unsubscribe_feed = null;

function $(id) {
  return document.getElementById(id);
}

function parse_hash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const [name = '', ...rest] = path.split('/');
  return { name, arg: rest.join('/'), params: new URLSearchParams(query) };
}

export function navigate(name, arg = '', params = {}) {
  const query = new URLSearchParams(params).toString();
  location.hash = `#/${name}${arg ? `/${arg}` : ''}${query ? `?${query}` : ''}`;
}

// Changes one query parameter of the current view without re-mounting it.
function set_param(key, value) {
  const { name, arg, params } = parse_hash();
  if (value === null || value === undefined || value === '') params.delete(key);
  else params.set(key, value);
  ctx.params = params;
  const query = params.toString();
  history.replaceState(null, '', `#/${name}${arg ? `/${arg}` : ''}${query ? `?${query}` : ''}`);
}

function render_chrome() {
  document.title = t('app.title');
  $('skip').textContent = t('app.skip');
  $('brand-sub').textContent = lang() === 'en' ? 'Kakehashi' : 'Kakehashi';
  $('lang').textContent = t('lang.toggle');
  $('lang').setAttribute('aria-label', t('lang.toggle.label'));
  $('signout').textContent = t('signout');
  $('conn').setAttribute('aria-label', t('conn.label'));
  render_nav();
  render_who();
  render_conn();
  render_as_of();
}

function render_nav() {
  const nav = clear($('nav'));
  nav.setAttribute('aria-label', t('nav.label'));
  if (!ctx.me) return;
  const current = parse_hash().name;
  const list = h('ul');
  for (const name of role_views[ctx.me.role] ?? []) {
    list.append(h('li', {}, h('a', {
      href: `#/${name}`, 'aria-current': current === name ? 'page' : null, dataset: { view: name },
    }, t(`nav.${name}`))));
  }
  nav.append(list);
}

function render_who() {
  const who = clear($('who'));
  if (!ctx.me) return;
  const role = t(`role.${ctx.me.role}`);
  const where = ctx.me.lg_code ? `・${municipality_name(ctx.me.lg_code)}` : '';
  who.append(role + where);
  if (ctx.me.name) who.title = ctx.me.name;
}

let conn_detail = { state: 'closed' };
let countdown = null;
function render_conn() {
  const el = $('conn');
  const { state, retry_at } = conn_detail;
  el.dataset.state = state;
  // The state is announced (role=status); the countdown beside it is not, or a screen reader
  // would read it every half second.
  if (el.textContent !== t(`conn.${state}`)) el.textContent = t(`conn.${state}`);
  const waiting = state === 'reconnecting' && retry_at && retry_at > Date.now();
  $('conn-retry').textContent = waiting ? t('conn.retry_in', { s: Math.ceil((retry_at - Date.now()) / 1000) }) : '';
  clearTimeout(countdown);
  if (waiting) countdown = setTimeout(render_conn, 500);
}

// The auditor's control: a date or a log position; views then read the past through HTTP.
function render_as_of() {
  const bar = clear($('asof'));
  const banner = $('asof-banner');
  const allowed = ctx.me && as_of_roles.has(ctx.me.role);
  bar.hidden = !allowed;
  banner.hidden = !ctx.as_of;
  if (ctx.as_of) banner.textContent = t('as_of.banner', { when: /^\d+$/.test(ctx.as_of) ? `${t('position')} ${ctx.as_of}` : ctx.as_of });
  if (!allowed) return;
  const is_position = ctx.as_of && /^\d+$/.test(ctx.as_of);
  const date = h('input', { type: 'date', id: 'asof-date', name: 'as_of_date', value: !is_position && ctx.as_of ? ctx.as_of : '' });
  const position = h('input', {
    type: 'number', id: 'asof-position', name: 'as_of_position', min: 1, step: 1, inputmode: 'numeric',
    value: is_position ? ctx.as_of : '',
  });
  const message = h('span', { class: 'asof-message', role: 'alert' });
  const form = h('form', { class: 'asof-form', 'aria-label': t('as_of.label') },
    h('span', { class: 'asof-title' }, t('as_of.label')),
    h('label', { for: 'asof-date' }, t('as_of.date')), date,
    h('label', { for: 'asof-position' }, t('as_of.position')), position,
    h('button', { type: 'submit', id: 'asof-apply' }, t('as_of.apply')),
    h('button', { type: 'button', id: 'asof-clear', disabled: !ctx.as_of, onclick: () => set_as_of(null) }, t('as_of.clear')),
    message);
  date.addEventListener('input', () => { if (date.value) position.value = ''; });
  position.addEventListener('input', () => { if (position.value) date.value = ''; });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = position.value.trim() || date.value.trim();
    if (!value || !(/^\d{4}-\d{2}-\d{2}$/.test(value) || /^[1-9]\d*$/.test(value))) {
      message.textContent = t('as_of.invalid');
      return;
    }
    set_as_of(value);
  });
  bar.append(form);
}

function set_as_of(value) {
  ctx.as_of = value || null;
  set_param('as_of', ctx.as_of);
  render_as_of();
  route();
  // The form was rebuilt: keep the keyboard where it was.
  document.getElementById(value ? 'asof-apply' : 'asof-date')?.focus();
}

function route() {
  if (!ctx.me) return;
  const allowed = role_views[ctx.me.role] ?? [];
  let { name, arg, params } = parse_hash();
  if (name !== 'case' && !allowed.includes(name)) {
    navigate(allowed[0]);
    return;
  }
  // The as-of point sticks across navigation (nav links and cards do not carry it) until the
  // auditor clears it; it stays in the URL so a reload or a shared link shows the same past.
  let as_of = as_of_roles.has(ctx.me.role) ? params.get('as_of') : null;
  if (as_of === null && ctx.as_of && as_of_roles.has(ctx.me.role)) {
    as_of = ctx.as_of;
    params.set('as_of', as_of);
    history.replaceState(null, '', `#/${name}${arg ? `/${arg}` : ''}?${params}`);
  }
  ctx.params = params;
  if (as_of !== ctx.as_of) {
    ctx.as_of = as_of;
    render_as_of();
  }
  render_nav();
  if (unmount) unmount();
  unmount = null;
  const main = clear($('main'));
  main.dataset.view = name;
  try {
    unmount = views[name].mount(main, ctx, arg) ?? null;
  } catch (err) {
    main.append(error_box(t('error.generic', { message: err.message })));
  }
}

// The live feed of events this principal may see ($all, filtered by the server), shared by
// the views: the activity list shows it, the others refresh from it.
function start_feed(head) {
  const from = head > 0 ? Math.max(1, head - 29) : 'start';
  unsubscribe_feed = ctx.stream.subscribe('$all', from, {
    event(ev) {
      ctx.feed.unshift(ev);
      if (ctx.feed.length > feed_limit) ctx.feed.length = feed_limit;
      ctx.feed_position = ev.position;
      ctx.bus.dispatchEvent(new CustomEvent('event', { detail: ev }));
      ctx.bus.dispatchEvent(new CustomEvent('feed'));
    },
    caught_up(position) {
      ctx.caught_up = position;
      ctx.bus.dispatchEvent(new CustomEvent('feed'));
    },
    error(msg) {
      ctx.feed_error = msg.message || msg.code;
      ctx.bus.dispatchEvent(new CustomEvent('feed'));
    },
  });
}

async function head_position() {
  try {
    const res = await fetch('/healthz', { cache: 'no-store' });
    const body = await res.json();
    return Number(body.head_position) || 0;
  } catch {
    return 0;
  }
}

async function start_session() {
  const main = clear($('main'));
  main.append(loading());
  try {
    ctx.me = await api.get('/v1/whoami');
  } catch (err) {
    if (err.status === 401 || !api.token()) return show_signin(err.status === 401 ? err.message : '');
    main.replaceChildren(error_box(err.message, start_session));
    return;
  }
  document.body.dataset.role = ctx.me.role;
  $('signout').hidden = false;
  ctx.stream = new live_stream(api.token());
  ctx.stream.addEventListener('state', (e) => {
    conn_detail = e.detail;
    render_conn();
    if (e.detail.reason === 'unauthorized') show_signin(t('error.401'));
  });
  ctx.stream.start();
  start_feed(await head_position());
  render_chrome();
  route();
}

function show_signin(message = '') {
  if (unmount) unmount();
  unmount = null;
  if (unsubscribe_feed) unsubscribe_feed();
  unsubscribe_feed = null;
  if (ctx.stream) ctx.stream.stop();
  ctx.stream = null;
  ctx.me = null;
  ctx.feed = [];
  api.set_token('');
  document.body.dataset.role = '';
  $('signout').hidden = true;
  conn_detail = { state: 'closed' };
  render_chrome();
  const main = clear($('main'));
  main.dataset.view = 'signin';
  signin.mount(main, {
    message,
    submit(token) {
      api.set_token(token);
      start_session();
    },
  });
}

function init() {
  document.documentElement.lang = lang();
  $('lang').addEventListener('click', () => set_lang(lang() === 'ja' ? 'en' : 'ja'));
  $('signout').addEventListener('click', () => show_signin());
  on_lang_change(() => {
    render_chrome();
    if (ctx.me) route();
    else show_signin();
  });
  api.set_unauthorized_handler(() => show_signin(t('error.401')));
  window.addEventListener('hashchange', route);
  load_reference_data().finally(() => {
    render_chrome();
    if (api.token()) start_session();
    else show_signin();
  });
}

init();
