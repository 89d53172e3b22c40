// Tiny DOM helpers. Text always goes in as text nodes (never innerHTML), so data from the
// server (names, notes) cannot inject markup; the CSP forbids inline scripts and styles anyway.
import { t } from './i18n.js';

// h('a', {href: '#/x', class: 'card', dataset: {needId: id}}, 'text', child, [more])
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  set_attrs(el, attrs);
  append(el, children);
  return el;
}

const svg_ns = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(svg_ns, tag);
  set_attrs(el, attrs);
  append(el, children);
  return el;
}

function set_attrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function loading() {
  return h('p', { class: 'state loading', role: 'status', 'aria-live': 'polite' }, t('loading'));
}

export function empty(text = t('empty')) {
  return h('p', { class: 'state empty' }, text);
}

// An error in words, with a retry button when `retry` is given.
export function error_box(message, retry) {
  return h('div', { class: 'state error', role: 'alert' },
    h('p', {}, message),
    retry ? h('button', { type: 'button', onclick: retry }, t('retry')) : null);
}

// Runs `fn` at most once per `ms`, trailing: bursts of events cause one refresh.
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

export function short_id(id) {
  if (!id) return '';
  const text = String(id);
  return text.length > 13 ? `${text.slice(0, 8)}…${text.slice(-4)}` : text;
}
