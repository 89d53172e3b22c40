// The coordinator's work queue: what is due or overdue, grouped. Live over `watch work-queue`;
// with an "as of" it reads GET /v1/work-queue?as_of= once.
import * as api from './api.js';
import { h, clear, loading, error_box, short_id } from './dom.js';
import { t, municipality_name, format_time } from './i18n.js';

const sections = [
  'check_ins_overdue',
  'proposals_awaiting_decision',
  'hearings_without_requirements',
  'check_ins_due',
  'appointments_ending',
  'fiscal_year_renewals',
];

function item_el(kind, item) {
  const muni = municipality_name(item.lg_code);
  let detail = '';
  switch (kind) {
    case 'hearings_without_requirements':
      detail = item.last_activity ? t('board.last_activity', { date: format_time(item.last_activity) }) : '';
      break;
    case 'proposals_awaiting_decision':
      detail = t('queue.waiting_days', { n: item.waiting_days });
      break;
    case 'check_ins_due':
    case 'check_ins_overdue':
      detail = `${t('queue.due_on', { date: item.due_on })} ・ ${t(`queue.party.${item.party}`)}`;
      break;
    default:
      detail = t('queue.ends_on', { date: item.ends_on, n: item.days_left });
  }
  const label = h('span', { class: 'muni' }, muni || '—');
  const id = item.need_id || item.appointment_id || item.candidacy_id;
  const content = [label, h('span', { class: 'detail' }, detail), h('span', { class: 'id' }, short_id(id))];
  return h('li', { class: ['queue-item', kind === 'check_ins_overdue' && 'overdue'] },
    item.need_id ? h('a', { href: `#/case/${item.need_id}` }, content) : h('span', {}, content));
}

export function mount(root, ctx) {
  const meta = h('p', { class: 'meta' });
  const body = h('div', { class: 'queue' }, loading());
  root.append(h('div', { class: 'view-head' }, h('h1', {}, t('queue.title')), meta), body);

  function show(view, pos) {
    meta.textContent = [view.today ? t('queue.today', { date: view.today }) : '',
      pos ?? view.position ? `${t('position')} ${pos ?? view.position}` : ''].filter(Boolean).join(' ・ ');
    clear(body);
    for (const kind of sections) {
      const items = view[kind] ?? [];
      body.append(h('section', { class: ['queue-section', `q-${kind}`], 'aria-labelledby': `q-${kind}` },
        h('h2', { id: `q-${kind}` }, t(`queue.${kind}`), h('span', { class: 'count' }, String(items.length))),
        items.length ? h('ul', {}, items.map((it) => item_el(kind, it))) : h('p', { class: 'state empty small' }, t('empty'))));
    }
  }

  if (ctx.as_of) {
    let cancelled = false;
    const load = () => {
      clear(body).append(loading());
      api.get('/v1/work-queue', { as_of: ctx.as_of })
        .then((v) => { if (!cancelled) show(v); })
        .catch((err) => { if (!cancelled) clear(body).append(error_box(err.message, load)); });
    };
    load();
    return () => { cancelled = true; };
  }
  return ctx.stream.watch('work-queue', '', {
    snapshot: show,
    update: show,
    error: (msg) => clear(body).append(error_box(msg.code === 'forbidden' ? t('error.ws_forbidden') : (msg.message || msg.code))),
  });
}
