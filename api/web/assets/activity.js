// The live log: the latest events this principal may see, newest first, from the shell's
// `$all` subscription (which resumes after a drop without gaps or repeats).
import { h, clear, short_id } from './dom.js';
import { t, event_name, format_time, municipality_name, subject_kind } from './i18n.js';

function summary(ev) {
  const d = ev.data ?? {};
  const parts = [];
  if (d.lg_code) parts.push(municipality_name(d.lg_code));
  if (d.department) parts.push(d.department);
  if (d.reason) parts.push(d.reason);
  return parts.join(' ・ ');
}

export function event_row(ev) {
  const subject = ev.subject ?? '';
  const need = subject.startsWith('need-') ? subject.slice(5) : (ev.data?.need_id ?? '');
  const label = h('span', { class: 'ev-type' }, event_name(ev.type));
  return h('li', { class: 'event', dataset: { position: String(ev.position), type: ev.type, subject } },
    h('span', { class: 'ev-pos' }, `#${ev.position}`),
    need ? h('a', { href: `#/case/${need}` }, label) : label,
    h('span', { class: 'ev-summary' }, summary(ev)),
    h('span', { class: 'ev-subject' }, h('span', { class: 'kind' }, subject_kind(subject)), ' ',
      h('span', { class: 'id' }, short_id(subject.replace(/^[a-z]+-/, '')))),
    // Business time: when it happened, which is what people ask about (recorded time is the
    // server's, and the same for a whole imported history).
    h('time', { class: 'ev-time', datetime: ev.occurredat ?? ev.time ?? '' }, format_time(ev.occurredat ?? ev.time)));
}

export function mount(root, ctx) {
  const meta = h('p', { class: 'meta', id: 'activity-meta' });
  const list = h('ol', { class: 'events', id: 'activity-list', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  root.append(h('div', { class: 'view-head' }, h('h1', {}, t('activity.title')), meta), list);

  function render() {
    const pos = Math.max(Number(ctx.caught_up) || 0, Number(ctx.feed_position) || 0);
    meta.textContent = [ctx.feed_error, pos ? t('activity.caught_up', { p: pos }) : ''].filter(Boolean).join(' ・ ');
    clear(list);
    if (!ctx.feed.length) list.append(h('li', { class: 'state empty' }, t('activity.empty')));
    else list.append(...ctx.feed.slice(0, 100).map(event_row));
  }
  render();
  const on_feed = () => render();
  ctx.bus.addEventListener('feed', on_feed);
  return () => ctx.bus.removeEventListener('feed', on_feed);
}
