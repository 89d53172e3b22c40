// The pipeline board (カンバン): needs by stage, each card with its candidacies, stale and on-hold
// marks, counts per column, filters by municipality and role category. Live over `watch
// pipeline`; with an "as of" it reads GET /v1/pipeline?as_of= once.
import * as api from './api.js';
import { h, clear, loading, empty, error_box, short_id } from './dom.js';
import { t, category_name, municipality_name, format_time } from './i18n.js';

const stages = ['consulted', 'hearing', 'requirements_defined', 'sourcing', 'filled', 'closed'];
const column_limit = 60; // cards shown per column before "show all"
const candidacy_order = ['identified', 'contacted', 'interested', 'proposed', 'accepted', 'appointed',
  'declined', 'rejected', 'archived'];

export function mount(root, ctx) {
  const own_lg = ctx.me.role === 'municipality' ? ctx.me.lg_code : '';
  let view = null;
  let position = null;
  const expanded = new Set();

  const header = h('div', { class: 'view-head' });
  const body = h('div', { class: 'board-body' }, loading());
  root.append(header, body);

  function filters() {
    return {
      lg: own_lg || ctx.params.get('lg') || '',
      role: ctx.params.get('role') || '',
      stale: ctx.params.get('stale') === '1',
    };
  }

  function all_cards() {
    if (!view?.columns) return [];
    return stages.flatMap((st) => view.columns[st] ?? []);
  }

  // The header is built once and updated in place, so a live update never takes the keyboard
  // focus away from a filter.
  const muni_select = h('select', { id: 'filter-lg', name: 'lg', disabled: !!own_lg });
  const role_select = h('select', { id: 'filter-role', name: 'role' });
  const stale_box = h('input', { type: 'checkbox', id: 'filter-stale', name: 'stale' });
  const total = h('p', { class: 'meta', id: 'board-total' });
  muni_select.addEventListener('change', () => { ctx.set_param('lg', muni_select.value); render(); });
  role_select.addEventListener('change', () => { ctx.set_param('role', role_select.value); render(); });
  stale_box.addEventListener('change', () => { ctx.set_param('stale', stale_box.checked ? '1' : ''); render(); });
  header.append(
    h('h1', {}, t('board.title')),
    h('div', { class: 'filters', role: 'group', 'aria-label': t('board.title') },
      h('label', { for: 'filter-lg' }, t('board.filter.municipality')), muni_select,
      h('label', { for: 'filter-role' }, t('board.filter.role')), role_select,
      h('label', { class: 'check', for: 'filter-stale' }, stale_box, t('board.filter.stale'))),
    total);
  if (own_lg) header.append(h('p', { class: 'notice' }, t('board.own_only', { name: municipality_name(own_lg) })));

  function sync_options(select, values, label, selected) {
    const key = JSON.stringify(values);
    if (select.dataset.values !== key) {
      select.dataset.values = key;
      select.replaceChildren(h('option', { value: '' }, t('board.filter.all')),
        ...values.map((v) => h('option', { value: v }, label(v))));
    }
    // A filter from the URL may name something not on the board (yet): keep it selectable.
    if (selected && !values.includes(selected)) select.append(h('option', { value: selected }, label(selected)));
    select.value = selected;
  }

  function render_header() {
    const f = filters();
    const cards = all_cards();
    const names = new Map(cards.map((c) => [c.lg_code, c.municipality]));
    const lgs = [...names.keys()].sort();
    const roles = [...new Set(cards.map((c) => c.role_category).filter(Boolean))].sort();
    sync_options(muni_select, lgs, (lg) => municipality_name(lg, names.get(lg)), f.lg);
    sync_options(role_select, roles, (r) => category_name('role', r), f.role);
    stale_box.checked = f.stale;
    total.textContent = t('board.total', { n: visible_cards().length }) +
      (position !== null ? ` ・ ${t('position')} ${position}` : '') + (view?.today ? ` ・ ${view.today}` : '');
  }

  function keep(card) {
    const f = filters();
    if (own_lg && card.lg_code !== own_lg) return false; // the server filters too; never show others
    if (f.lg && card.lg_code !== f.lg) return false;
    if (f.role && card.role_category !== f.role) return false;
    if (f.stale && !card.stale) return false;
    return true;
  }

  function visible_cards() {
    return all_cards().filter(keep);
  }

  function candidacy_summary(list) {
    const counts = new Map();
    for (const c of list ?? []) counts.set(c.stage, (counts.get(c.stage) ?? 0) + 1);
    const keys = [...counts.keys()].sort((a, b) => candidacy_order.indexOf(a) - candidacy_order.indexOf(b));
    if (!keys.length) return null;
    return h('ul', { class: 'chips', 'aria-label': t('board.candidacies', { n: list.length }) },
      keys.map((k) => h('li', { class: `chip c-${k}` }, `${t(`cstage.${k}`)} ${counts.get(k)}`)));
  }

  function card_el(card) {
    const muni = municipality_name(card.lg_code, card.municipality);
    const role = card.role_category ? category_name('role', card.role_category) : t('board.no_role');
    return h('li', {},
      h('a', {
        class: ['card', card.stale && 'stale', card.on_hold && 'on-hold'], href: `#/case/${card.need_id}`,
        dataset: { needId: card.need_id, lgCode: card.lg_code, stage: card.stage, stale: card.stale ? '1' : '0' },
      },
      h('span', { class: 'card-top' },
        h('span', { class: 'muni' }, muni),
        card.stale ? h('span', { class: 'badge stale-badge' }, t('board.stale')) : null,
        card.on_hold ? h('span', { class: 'badge hold-badge' }, t('board.on_hold')) : null),
      h('span', { class: ['role', !card.role_category && 'muted'] }, role),
      h('span', { class: 'card-meta' },
        card.openings > 0 ? h('span', {}, t('board.openings', { filled: card.filled ?? 0, openings: card.openings })) : null,
        card.last_activity ? h('span', {}, t('board.last_activity', { date: format_time(card.last_activity) })) : null,
        h('span', { class: 'id' }, short_id(card.need_id))),
      candidacy_summary(card.candidacies)));
  }

  function render_columns() {
    const columns = h('div', { class: 'board', role: 'list' });
    for (const st of stages) {
      const cards = (view.columns[st] ?? []).filter(keep);
      cards.sort((a, b) => (b.stale - a.stale) || String(b.last_activity).localeCompare(String(a.last_activity)));
      const limit = expanded.has(st) ? cards.length : column_limit;
      const list = h('ul', { class: 'cards' }, cards.slice(0, limit).map(card_el));
      const more = cards.length > limit
        ? h('button', { type: 'button', class: 'more', onclick: () => { expanded.add(st); render(); } },
          `+${cards.length - limit}`)
        : null;
      columns.append(h('section', { class: 'column', role: 'listitem', dataset: { stage: st }, 'aria-labelledby': `col-${st}` },
        h('h2', { id: `col-${st}` },
          h('span', {}, t(`stage.${st}`)),
          h('span', { class: 'count', dataset: { count: String(cards.length) } }, t('board.count', { n: cards.length }))),
        cards.length ? list : h('p', { class: 'state empty small' }, t('board.empty_column')),
        more));
    }
    return columns;
  }

  function render() {
    render_header();
    if (!view) return;
    if (!all_cards().length) {
      clear(body).append(empty());
      return;
    }
    // Keep the keyboard focus on the same card across a live update.
    const focused = document.activeElement?.closest?.('.card')?.dataset.needId;
    const scroll = [...body.querySelectorAll('.cards')].map((el) => el.scrollTop);
    clear(body).append(render_columns());
    body.querySelectorAll('.cards').forEach((el, i) => { el.scrollTop = scroll[i] ?? 0; });
    if (focused) body.querySelector(`.card[data-need-id="${CSS.escape(focused)}"]`)?.focus();
  }

  function show(next, pos) {
    view = next;
    position = pos ?? next?.position ?? null;
    render();
  }

  render_header();
  if (ctx.as_of) {
    let cancelled = false;
    const load = () => {
      clear(body).append(loading());
      api.get('/v1/pipeline', { as_of: ctx.as_of, lg_code: own_lg })
        .then((v) => { if (!cancelled) show(v); })
        .catch((err) => { if (!cancelled) clear(body).append(error_box(err.message, load)); });
    };
    load();
    return () => { cancelled = true; };
  }
  return ctx.stream.watch('pipeline', own_lg, {
    snapshot: show,
    update: show,
    error: (msg) => clear(body).append(error_box(msg.code === 'forbidden' ? t('error.ws_forbidden') : (msg.message || msg.code))),
  });
}
