// One case (a need): its state, requirements, hearings, candidates, appointments and the
// timeline with who did what (and on whose behalf). GET /v1/needs/{id}, read again when one of
// its events arrives. Hearing notes and other personal fields are shown only to roles that may
// read personal data (the server strips them for the others anyway).
import * as api from './api.js';
import { h, clear, loading, error_box, debounce, short_id } from './dom.js';
import { t, has, event_name, format_time, municipality_name, category_name } from './i18n.js';

const personal_keys = new Set(['notes', 'attendees', 'decided_by', 'approved_by', 'contact', 'display_name',
  'email', 'phone', 'employer']);
// Data fields worth a line in the timeline, in this order; ids and personal fields aside.
const shown_keys = ['department', 'problem', 'origin', 'held_on', 'findings', 'notes', 'attendees', 'role_category',
  'tier', 'skills', 'work_forms', 'hours_per_week', 'duration_months', 'openings', 'mode', 'url', 'closes_on',
  'direction', 'source', 'match_score', 'accepted', 'decided_by', 'entered_on_behalf', 'form', 'starts_on',
  'ends_on', 'scope', 'kind', 'effective_on', 'party', 'rating', 'due_on', 'reason', 'supersedes'];

function value_text(key, value) {
  if (value === null || value === undefined) return '';
  if (key === 'role_category') return category_name('role', value);
  if (key === 'skills' && Array.isArray(value)) return value.map((v) => category_name('skill', v)).join('、');
  if (key === 'tier') return t(`tier.${value}`);
  if (key === 'work_forms' && Array.isArray(value)) return value.map((v) => t(`form.${v}`)).join('、');
  if (key === 'form') return t(`form.${value}`);
  if (['origin', 'direction', 'mode', 'party', 'kind', 'reason'].includes(key) && has(`value.${value}`)) return t(`value.${value}`);
  if (typeof value === 'boolean') return t(value ? 'value.yes' : 'value.no');
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : v)).join('、');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function fields(data, may_see_personal) {
  const rows = [];
  for (const key of shown_keys) {
    if (!(key in (data ?? {}))) continue;
    if (personal_keys.has(key) && !may_see_personal) continue;
    const text = value_text(key, data[key]);
    if (text === '') continue;
    rows.push(h('div', { class: 'kv' }, h('dt', {}, has(`field.${key}`) ? t(`field.${key}`) : key), h('dd', {}, text)));
  }
  return rows.length ? h('dl', { class: 'ev-data' }, rows) : null;
}

// Timeline entries may be CloudEvents (actorid, actorrole, occurredat) or envelope-shaped
// (actor {id, role, on_behalf_of}, occurred_at, recorded_at).
function normalise_event(e) {
  const actor = e.actor ?? {};
  return {
    position: e.position,
    type: e.type,
    occurred: e.occurredat ?? e.occurred_at ?? e.time,
    recorded: e.time ?? e.recorded_at,
    actor_id: e.actorid ?? actor.id ?? '',
    actor_role: e.actorrole ?? actor.role ?? '',
    on_behalf_of: e.onbehalfof ?? e.actoronbehalfof ?? actor.on_behalf_of ?? '',
    voided: Boolean(e.voided),
    data: e.data ?? {},
  };
}

function timeline(events, may_see_personal) {
  if (!events.length) return h('p', { class: 'state empty small' }, t('empty'));
  return h('ol', { class: 'timeline' }, events.map(normalise_event).map((e) => h('li', {
    class: ['tl-item', e.voided && 'voided'], dataset: { position: String(e.position ?? ''), type: e.type },
  },
  h('div', { class: 'tl-head' },
    h('span', { class: 'ev-type' }, event_name(e.type)),
    h('time', { datetime: e.occurred ?? '' }, format_time(e.occurred)),
    e.position ? h('span', { class: 'ev-pos' }, `#${e.position}`) : null),
  h('div', { class: 'tl-actor' },
    `${t('case.actor')}: `, e.actor_role ? (has(`role.${e.actor_role}`) ? t(`role.${e.actor_role}`) : e.actor_role) : '—',
    e.actor_id ? h('span', { class: 'id' }, ` ${short_id(e.actor_id)}`) : null,
    e.on_behalf_of ? ` （${t('case.on_behalf_of', { who: e.on_behalf_of })}）` : null),
  fields(e.data, may_see_personal))));
}

function requirements_el(req) {
  if (!req) return h('p', { class: 'state empty small' }, t('empty'));
  const keys = ['role_category', 'tier', 'skills', 'work_forms', 'hours_per_week', 'duration_months', 'openings'];
  return h('dl', { class: 'facts' }, keys.filter((k) => req[k] !== undefined).map((k) =>
    [h('dt', {}, t(`req.${k}`)), h('dd', {}, value_text(k, req[k]))]));
}

// Hearings as the timeline tells them: HearingRecorded, with the latest HearingNoteCorrected
// applied (the state lists only hearing ids; the notes live in the events).
function hearings_from(timeline, state_hearings) {
  const by_id = new Map();
  for (const hr of Array.isArray(state_hearings) ? state_hearings : []) by_id.set(hr.hearing_id, { ...hr });
  for (const e of timeline) {
    const d = e.data ?? {};
    if (e.type === 'HearingRecorded') by_id.set(d.hearing_id, { ...(by_id.get(d.hearing_id) ?? {}), ...d });
    if (e.type === 'HearingNoteCorrected' && by_id.has(d.hearing_id)) {
      const hr = by_id.get(d.hearing_id);
      if (d.notes !== undefined) hr.notes = d.notes;
      hr.corrected = true;
    }
  }
  return [...by_id.values()];
}

function hearings_el(list, may_see_personal) {
  const items = list.map((hr) => h('li', { class: 'hearing' },
    h('div', { class: 'tl-head' }, h('strong', {}, hr.held_on ?? ''),
      hr.corrected ? h('span', { class: 'badge' }, t('case.corrected')) : null,
      h('span', { class: 'id' }, short_id(hr.hearing_id))),
    hr.findings ? h('p', {}, value_text('findings', hr.findings)) : null,
    may_see_personal && hr.notes ? h('p', { class: 'notes' }, value_text('notes', hr.notes)) : null,
    may_see_personal && hr.attendees ? h('p', { class: 'muted' }, value_text('attendees', hr.attendees)) : null));
  return [
    items.length ? h('ul', { class: 'hearings' }, items) : h('p', { class: 'state empty small' }, t('empty')),
    may_see_personal ? null : h('p', { class: 'notice', id: 'notes-hidden' }, t('case.hearing_notes_hidden')),
  ];
}

function candidacies_el(list) {
  const items = Array.isArray(list) ? list : Object.entries(list ?? {}).map(([id, v]) => (typeof v === 'object' ? { candidacy_id: id, ...v } : { candidacy_id: id, talent_id: v }));
  if (!items.length) return h('p', { class: 'state empty small' }, t('empty'));
  return h('ul', { class: 'chips wide' }, items.map((c) => h('li', { class: `chip c-${c.stage ?? ''}` },
    c.stage ? `${t(`cstage.${c.stage}`)} ` : '', h('span', { class: 'id' }, short_id(c.talent_id ?? c.candidacy_id)))));
}

function appointments_el(list) {
  const items = (Array.isArray(list) ? list : Object.entries(list ?? {}).map(([id, v]) => (typeof v === 'object' ? { appointment_id: id, ...v } : { appointment_id: v })))
    .map((a) => (typeof a === 'string' ? { appointment_id: a } : a));
  if (!items.length) return h('p', { class: 'state empty small' }, t('empty'));
  return h('ul', { class: 'plain' }, items.map((a) => h('li', {},
    [a.form ? t(`form.${a.form}`) : '', a.starts_on && a.ends_on ? `${a.starts_on} 〜 ${a.ends_on}` : '', a.status ?? '']
      .filter(Boolean).join(' ・ '), ' ', h('span', { class: 'id' }, short_id(a.appointment_id ?? a.id)))));
}

export function mount(root, ctx, need_id) {
  const may_see_personal = Boolean(ctx.me.personal_data);
  const body = h('div', { class: 'case' }, loading());
  root.append(h('p', {}, h('a', { href: '#/board', class: 'back' }, `← ${t('case.back')}`)), body);
  let cancelled = false;
  let seq = 0;

  function show(data) {
    const need = data.need ?? data.state ?? data;
    const events = data.timeline ?? data.events ?? [];
    const opened = events.find((e) => e.type === 'NeedOpened')?.data ?? {};
    const department = need.department ?? opened.department;
    const problem = need.problem ?? opened.problem;
    const lg = need.lg_code ?? opened.lg_code ?? '';
    const stage = need.stage ?? '';
    clear(body).append(
      h('div', { class: 'view-head' },
        h('h1', { id: 'case-title' }, municipality_name(lg, need.municipality), ' ',
          h('span', { class: 'muted' }, t('case.title'))),
        h('p', { class: 'meta' },
          stage ? h('span', { class: 'badge' }, t(`stage.${stage}`)) : null,
          need.on_hold ? h('span', { class: 'badge hold-badge' }, t('board.on_hold')) : null,
          need.stale ? h('span', { class: 'badge stale-badge' }, t('board.stale')) : null,
          ` ${short_id(need_id)}`,
          data.position ? ` ・ ${t('position')} ${data.position}` : '')),
      h('div', { class: 'case-grid' },
        h('section', { class: 'panel', 'aria-labelledby': 'summary-title' },
          h('h2', { id: 'summary-title' }, t('case.summary')),
          h('dl', { class: 'facts' },
            h('dt', {}, t('case.department')), h('dd', {}, department || '—'),
            h('dt', {}, t('case.problem')), h('dd', { class: 'long' }, problem || '—'),
            need.origin ? [h('dt', {}, t('field.origin')), h('dd', {}, value_text('origin', need.origin))] : null,
            need.sourcing_mode ? [h('dt', {}, t('field.mode')), h('dd', {}, value_text('mode', need.sourcing_mode))] : null,
            need.close_reason ? [h('dt', {}, t('field.reason')), h('dd', {}, value_text('reason', need.close_reason))] : null)),
        h('section', { class: 'panel', 'aria-labelledby': 'req-title' },
          h('h2', { id: 'req-title' }, t('case.requirements')), requirements_el(need.requirements)),
        h('section', { class: 'panel', 'aria-labelledby': 'hearings-title' },
          h('h2', { id: 'hearings-title' }, t('case.hearings')), hearings_el(hearings_from(events, need.hearings), may_see_personal)),
        h('section', { class: 'panel', 'aria-labelledby': 'cand-title' },
          h('h2', { id: 'cand-title' }, t('case.candidacies')), candidacies_el(need.candidacies ?? data.candidacies)),
        h('section', { class: 'panel', 'aria-labelledby': 'appt-title' },
          h('h2', { id: 'appt-title' }, t('case.appointments')), appointments_el(need.appointments ?? data.appointments))),
      h('section', { class: 'panel', 'aria-labelledby': 'timeline-title' },
        h('h2', { id: 'timeline-title' }, t('case.timeline')), timeline(events, may_see_personal)));
  }

  function load(min_position) {
    const mine = ++seq;
    api.get(`/v1/needs/${encodeURIComponent(need_id)}`, { as_of: ctx.as_of, min_position })
      .then((data) => { if (!cancelled && mine === seq) show(data); })
      .catch((err) => {
        if (cancelled || mine !== seq) return;
        const message = err.status === 404 || err.status === 403 ? t('case.not_found') : err.message;
        clear(body).append(error_box(message, () => load()));
      });
  }
  load();
  if (ctx.as_of) return () => { cancelled = true; };

  let latest = 0;
  const refresh = debounce(() => load(latest), 300);
  const on_event = (e) => {
    const ev = e.detail;
    if (ev.subject !== `need-${need_id}` && ev.data?.need_id !== need_id) return;
    latest = Math.max(latest, Number(ev.position) || 0);
    refresh();
  };
  ctx.bus.addEventListener('event', on_event);
  return () => {
    cancelled = true;
    refresh.cancel();
    ctx.bus.removeEventListener('event', on_event);
  };
}
