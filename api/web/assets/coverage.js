// Coverage of Tokyo's 62 municipalities by region (23区 / 多摩 / 島しょ): which have had an
// appointment, open needs and active appointments. GET /v1/municipalities, read again when
// events arrive (or once, as of a past point).
import * as api from './api.js';
import { h, s, clear, loading, error_box, debounce } from './dom.js';
import { t, municipality, municipality_name, region_name, format_number, all_municipalities } from './i18n.js';

const region_order = ['23区', '多摩', '島しょ'];

// Accepts {regions: {name: [...]}} or {municipalities: [...]} or a bare list; fills the region
// from the reference data when the answer lacks it.
function normalise(body) {
  let list = [];
  if (Array.isArray(body)) list = body;
  else if (body?.regions && typeof body.regions === 'object')
    list = Object.entries(body.regions).flatMap(([region, items]) => items.map((m) => ({ region, ...m })));
  else if (Array.isArray(body?.municipalities)) list = body.municipalities;
  return list.map((m) => ({
    ...m,
    region: m.region ?? municipality(m.lg_code)?.region ?? '',
    ever: Boolean(m.ever_appointed ?? (m.appointments ?? 0) > 0),
    open: m.open_needs ?? 0,
    active: m.active_appointments ?? 0,
  }));
}

function meter(part, whole) {
  const w = Math.round((part / Math.max(1, whole)) * 1000) / 10;
  return s('svg', { class: 'meter', viewBox: '0 0 100 4', preserveAspectRatio: 'none', role: 'img', 'aria-label': `${part} / ${whole}` },
    s('rect', { class: 'track', x: 0, y: 0, width: 100, height: 4 }),
    s('rect', { class: 'fill', x: 0, y: 0, width: w, height: 4 }));
}

export function mount(root, ctx) {
  const summary = h('p', { class: 'meta', id: 'coverage-summary' });
  const body = h('div', { class: 'coverage' }, loading());
  root.append(h('div', { class: 'view-head' }, h('h1', {}, t('coverage.title')), summary,
    h('ul', { class: 'legend', 'aria-label': t('coverage.legend') },
      h('li', { class: 'ever' }, t('coverage.ever')), h('li', { class: 'never' }, t('coverage.never')))), body);
  let cancelled = false;
  let seq = 0;

  function show(data) {
    const list = normalise(data);
    const total = list.length || all_municipalities().length;
    const covered = list.filter((m) => m.ever).length;
    summary.textContent = t('coverage.summary', { covered, total });
    summary.dataset.covered = String(covered);
    clear(body);
    const regions = [...new Set([...region_order, ...list.map((m) => m.region)])].filter((r) => list.some((m) => m.region === r));
    for (const region of regions) {
      const items = list.filter((m) => m.region === region).sort((a, b) => a.lg_code.localeCompare(b.lg_code));
      const got = items.filter((m) => m.ever).length;
      const id = `region-${region_order.indexOf(region)}`;
      body.append(h('section', { class: 'region', 'aria-labelledby': id, dataset: { region } },
        h('h2', { id }, t('coverage.region', { region: region_name(region), covered: got, total: items.length })),
        meter(got, items.length),
        h('ul', { class: 'munis' }, items.map((m) => h('li', {},
          h('a', {
            class: ['muni-tile', m.ever ? 'ever' : 'never', m.open > 0 && 'has-open'],
            href: `#/board?lg=${m.lg_code}`, dataset: { lgCode: m.lg_code },
            title: `${municipality_name(m.lg_code, m.name_ja)} ${m.lg_code}`,
          },
          h('span', { class: 'muni-name' }, municipality_name(m.lg_code, m.name_ja)),
          h('span', { class: 'muni-counts' },
            h('span', {}, t('coverage.open_needs', { n: format_number(m.open) })),
            h('span', {}, t('coverage.active', { n: format_number(m.active) })))))))));
    }
  }

  function load(min_position) {
    const mine = ++seq;
    api.get('/v1/municipalities', { as_of: ctx.as_of, min_position })
      .then((data) => { if (!cancelled && mine === seq) show(data); })
      .catch((err) => { if (!cancelled && mine === seq) clear(body).append(error_box(err.message, () => load())); });
  }
  load();
  if (ctx.as_of) return () => { cancelled = true; };

  let latest = 0;
  const refresh = debounce(() => load(latest), 500);
  const on_event = (e) => {
    const type = e.detail.type ?? '';
    if (!/^(Need|Appointment|Municipality)/.test(type)) return;
    latest = Math.max(latest, Number(e.detail.position) || 0);
    refresh();
  };
  ctx.bus.addEventListener('event', on_event);
  return () => {
    cancelled = true;
    refresh.cancel();
    ctx.bus.removeEventListener('event', on_event);
  };
}
