// Headline counters and the funnel. The headline is live over `watch headline`; the funnel is
// read with GET /v1/metrics/funnel and read again (min_position = the event's position, so it
// includes it) when events arrive. With an "as of" both are read once at that point.
import * as api from './api.js';
import { h, clear, loading, error_box, debounce } from './dom.js';
import { t, format_number, format_percent } from './i18n.js';
import { bar_chart, ratio_ring, grouped_columns } from './charts.js';

const headline_keys = [
  ['registrants', 'metrics.unit.people'],
  ['appointments', 'metrics.unit.cases'],
  ['municipalities_with_appointments', 'metrics.unit.municipalities'],
];
const funnel_steps = ['identified', 'contacted', 'interested', 'proposed', 'accepted', 'appointed'];

// The three headline figures as tiles; shared with the audit view.
export function headline_tiles(view) {
  return h('div', { class: 'tiles', id: 'headline' },
    headline_keys.map(([key, unit]) => h('div', { class: 'tile', dataset: { metric: key } },
      h('span', { class: 'tile-label' }, t(`metrics.${key}`)),
      h('span', { class: 'tile-value' },
        h('span', { class: 'number', dataset: { value: String(view?.[key] ?? '') } }, format_number(view?.[key])),
        h('span', { class: 'unit' }, t(unit))))));
}

function funnel_section(f) {
  const all = f.funnels?.all ?? {};
  const rows = [{ label: t('funnel.registered'), value: f.registered ?? 0 }]
    .concat(funnel_steps.map((k) => ({ label: t(`funnel.${k}`), value: all[k] ?? 0 })));
  const out = [h('section', { class: 'panel', 'aria-labelledby': 'funnel-title' },
    h('h2', { id: 'funnel-title' }, t('metrics.funnel')),
    bar_chart(rows, { title: t('metrics.funnel'), share_of_previous: true, css: 'bars funnel' }))];

  // Splits by route: need- vs talent-driven, scouting vs public posting, hands-on vs CIO advisor.
  const split_names = Object.keys(f.funnels ?? {}).filter((k) => k !== 'all').sort();
  if (split_names.length) {
    const steps = ['identified', 'proposed', 'appointed'];
    const groups = split_names.map((name) => ({
      label: t(`split.${name}`),
      values: steps.map((st) => ({ label: t(`funnel.${st}`), value: f.funnels[name][st] ?? 0 })),
    }));
    out.push(h('section', { class: 'panel', 'aria-labelledby': 'split-title' },
      h('h2', { id: 'split-title' }, t('metrics.split')),
      h('ul', { class: 'legend' }, steps.map((st, i) => h('li', { class: `series-${i}` }, t(`funnel.${st}`)))),
      grouped_columns(groups, steps, { title: t('metrics.split') })));
  }

  const rates = ['proposal_acceptance_rate', 'check_in_completion_rate', 'early_termination_rate'];
  out.push(h('section', { class: 'panel', 'aria-labelledby': 'rates-title' },
    h('h2', { id: 'rates-title' }, t('metrics.rates')),
    h('div', { class: 'rings' }, rates.map((r) => h('figure', { class: 'ring-figure', dataset: { rate: r } },
      ratio_ring(f[r], { title: t(`metrics.${r}`) }),
      h('figcaption', {}, t(`metrics.${r}`))))),
    h('dl', { class: 'facts' },
      h('dt', {}, t('metrics.time_to_fill')),
      h('dd', {}, f.time_to_fill?.median_days === null || f.time_to_fill?.median_days === undefined
        ? t('metrics.none')
        : `${t('metrics.median', { n: format_number(f.time_to_fill.median_days) })} ・ ${t('metrics.p90', { n: format_number(f.time_to_fill.p90_days) })}`))));

  if (f.retained) {
    const keys = ['3_months', '6_months', '12_months'];
    out.push(h('section', { class: 'panel', 'aria-labelledby': 'retained-title' },
      h('h2', { id: 'retained-title' }, t('metrics.retained')),
      bar_chart([{ label: t('funnel.appointed'), value: f.appointed ?? 0 }]
        .concat(keys.map((k) => ({ label: t(`retained.${k}`), value: f.retained[k] ?? 0 }))),
      { title: t('metrics.retained'), css: 'bars retained' })));
  }
  return out;
}

export function mount(root, ctx) {
  const meta = h('p', { class: 'meta' });
  const tiles = h('div', { class: 'headline-wrap' }, loading());
  const funnel = h('div', { class: 'metrics-grid' }, loading());
  root.append(h('div', { class: 'view-head' }, h('h1', {}, t('metrics.title')), meta), tiles, funnel);
  let cancelled = false;

  function show_headline(view, pos) {
    clear(tiles).append(headline_tiles(view));
    meta.textContent = `${t('position')} ${pos ?? view.position ?? ''}`;
  }

  let funnel_seq = 0;
  function load_funnel(min_position) {
    const seq = ++funnel_seq;
    api.get('/v1/metrics/funnel', { as_of: ctx.as_of, min_position })
      .then((f) => {
        if (cancelled || seq !== funnel_seq) return;
        clear(funnel).append(...funnel_section(f));
      })
      .catch((err) => {
        if (cancelled || seq !== funnel_seq) return;
        clear(funnel).append(error_box(err.message, () => load_funnel()));
      });
  }

  if (ctx.as_of) {
    const load = () => api.get('/v1/metrics/headline', { as_of: ctx.as_of })
      .then((v) => { if (!cancelled) show_headline(v); })
      .catch((err) => { if (!cancelled) clear(tiles).append(error_box(err.message, load)); });
    load();
    load_funnel();
    return () => { cancelled = true; };
  }

  let latest = 0;
  const refresh = debounce(() => load_funnel(latest), 400);
  const on_event = (e) => {
    latest = Math.max(latest, Number(e.detail.position) || 0);
    refresh();
  };
  ctx.bus.addEventListener('event', on_event);
  load_funnel();
  const unwatch = ctx.stream.watch('headline', '', {
    snapshot: show_headline,
    update: show_headline,
    error: (msg) => clear(tiles).append(error_box(msg.code === 'forbidden' ? t('error.ws_forbidden') : (msg.message || msg.code))),
  });
  return () => {
    cancelled = true;
    refresh.cancel();
    ctx.bus.removeEventListener('event', on_event);
    unwatch();
  };
}
